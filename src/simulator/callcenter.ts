/**
 * mod_callcenter, emulated: queues, agents with a scripted answer behaviour, members that wait and
 * are offered to agents, the `callcenter_config` replies and the `CUSTOM callcenter::info` events,
 * with the framing, headers, header order and event order of the real module (p-callcenter in
 * shared/esl-traces):
 *
 *   member-queue-start + members-count + PRESENCE_IN → agent-state-change Receiving + agent-offering
 *   → (agent answers) bridge-agent-start + members-count + PRESENCE_IN → agent-state-change
 *   In a queue call → … → bridge-agent-end + member-queue-end (Terminated) + agent-state-change
 *   Waiting; then the agent's wrap-up time, during which it is offered nothing.
 *
 * Members are served highest score first, score = base_score + seconds in the queue (so a member
 * joining with `cc_base_score` = N seconds stands in line as if it had joined N seconds earlier).
 *
 * Agents are picked as the `longest-idle-agent` strategy does (mod_callcenter.c: ORDER BY tier
 * level, last_offered_call, tier position), among those Available, Waiting, past their wrap-up and
 * their ready_time. An agent that lets an offer ring out (its contact's leg_timeout) is a no-answer
 * as the real module handles one: the member goes back to Waiting, the agent's no_answer_count
 * grows, its ready_time moves by no_answer_delay_time, at max_no_answer it is put On Break
 * (agent-status-change), then `bridge-agent-fail` (CC-Hangup-Cause NO_ANSWER, no channel data) and
 * agent-state-change Waiting.
 *
 * A member joins either through the test API (joinQueue) or as the real switch does: an originate
 * to `loopback/<ext>/<context>` whose extension runs `answer` + `callcenter <queue>` (ext 7000 of
 * context default → support@default, as on the test bundle): the loopback-a leg answers, and the
 * member is its loopback-b leg, which carries the A leg's origination variables (cc_base_score
 * among them) and `other_loopback_leg_uuid`; the A leg hanging up takes the member out.
 *
 * What is not modelled: the member's and the agent's own channel life-cycle events (CHANNEL_CREATE,
 * CHANNEL_BRIDGE… of loopback/<ext>-b and of the agent leg); strategies other than
 * longest-idle-agent; tier rules (tier-rules-apply false, the default).
 */
import { randomUUID } from 'node:crypto';
import { profileHeaders, emptyTimes, type CallerProfile } from './caller-profile.js';
import type { SwitchContext } from './context.js';
import type { Header } from './event.js';
import { nowMicros } from './switch-core.js';

export interface QueueAgent {
  name: string;
  contact: string;
  status: string;
  state: string;
}

/** What a test can say about a queue without running it: a fixed count and agent list. */
export interface QueueState {
  /** Callers waiting in the queue (`queue count members`). @defaultValue 0 */
  waiting: number;
  /** @defaultValue one available agent */
  agents?: QueueAgent[];
}

/** How an emulated agent behaves when offered a member. */
export interface AgentSpec {
  /** `1000@default` */
  name: string;
  /** The queues it is tiered to. */
  queues: readonly string[];
  /** Its phone, E.164: the agent leg is `sofia/internal/<number>`. @defaultValue '+12025550121' */
  number?: string;
  /** Simulated ms from the offer to the agent's answer (bridge-agent-start). @defaultValue 1000 */
  answerAfterMs?: number;
  /** Simulated ms the agent talks before hanging up; undefined: until the member leaves. @defaultValue undefined */
  talkMs?: number;
  /** Seconds after a call before the agent is offered the next (wrap_up_time). @defaultValue 10 */
  wrapUpSec?: number;
  /** @defaultValue 'Available' */
  status?: 'Available' | 'On Break' | 'Logged Out';
  /** Its tier's level in each of its queues (lower is offered first). @defaultValue 1 */
  level?: number;
  /** Its tier's position (lower first among agents of one level and idle time). @defaultValue 1 */
  position?: number;
  /** How many offers it lets ring out (no answer) before it answers one; Infinity: never answers. @defaultValue 0 */
  missOffers?: number;
  /** Its contact's leg_timeout: an offer not answered within it is a no-answer, simulated s. @defaultValue 10 */
  legTimeoutSec?: number;
  /** max_no_answer: put On Break after this many no-answers in a row (0: never). @defaultValue 3 */
  maxNoAnswer?: number;
  /** no_answer_delay_time: not offered again for this long after a no-answer, simulated s. @defaultValue 0 */
  noAnswerDelaySec?: number;
}

/** The dialplan's queue extensions and the member legs they make (dial.ts). */
export interface QueueDialplan {
  /** The queue `loopback/<extension>/<context>` reaches, if that extension runs `callcenter`. */
  queueAt(extension: string, context: string): string | undefined;
  join(queue: string, spec: MemberSpec, hooks?: { sessionUuid?: string }): string;
  leave(sessionUuid: string): void;
}

/** A member that joins a queue without a Crossline leg (another customer calling in). */
export interface MemberSpec {
  cidNumber: string;
  cidName: string;
  /** cc_base_score. @defaultValue 0 */
  baseScore?: number;
  /** The dialled extension, for the member leg's name (`loopback/<ext>-b`). @defaultValue '7000' */
  extension?: string;
  /** The extension's dialplan context. @defaultValue 'default' */
  context?: string;
  /** Variables of the member leg (a loopback-b leg carries its A leg's origination variables). */
  variables?: ReadonlyArray<readonly [string, string]>;
}

interface Agent {
  name: string;
  number: string;
  contact: string;
  queues: Set<string>;
  answerAfterMs: number;
  talkMs: number | undefined;
  wrapUpSec: number;
  status: string;
  level: number;
  position: number;
  missOffers: number;
  legTimeoutSec: number;
  maxNoAnswer: number;
  noAnswerDelaySec: number;
  noAnswerCount: number;
  cancelRing: (() => void) | undefined;
  state: 'Waiting' | 'Receiving' | 'In a queue call' | 'Idle';
  /** Real ms (Date.now) before which it is in wrap-up. */
  readyAt: number;
  lastBridgeStart: number;
  lastBridgeEnd: number;
  lastOffered: number;
  /** Real ms of the last offer, to order offers made in the same second. */
  lastOfferedMs: number;
  lastStatusChange: number;
  callsAnswered: number;
  talkTime: number;
  member: Member | undefined;
  legUuid: string | undefined;
  calledAt: number;
  answeredAt: number;
}

interface Member {
  uuid: string;
  sessionUuid: string;
  queue: string;
  cidNumber: string;
  cidName: string;
  baseScore: number;
  /** Epoch seconds. */
  joined: number;
  /** Real ms, for ordering members that joined in the same second. */
  joinedMs: number;
  state: 'Waiting' | 'Trying' | 'Answered' | 'Abandoned';
  abandonedEpoch: number;
  agent: Agent | undefined;
  extension: string;
  context: string;
  variables: Header[];
  createdMicros: number;
  bridgeEpoch: number;
  cancelTalk: (() => void) | undefined;
  /** Told when an agent answers this member (keep-your-place legs). */
  onBridge: ((agent: { name: string; uuid: string }) => void) | undefined;
}

const AGENT_COLUMNS = 'name|instance_id|uuid|type|contact|status|state|max_no_answer|wrap_up_time|reject_delay_time|busy_delay_time|no_answer_delay_time|last_bridge_start|last_bridge_end|last_offered_call|last_status_change|no_answer_count|calls_answered|talk_time|ready_time|external_calls_count';
const MEMBER_COLUMNS = 'queue|instance_id|uuid|session_uuid|cid_number|cid_name|system_epoch|joined_epoch|rejoined_epoch|bridge_epoch|abandoned_epoch|base_score|skill_score|serving_agent|serving_system|state|score';

const DEFAULT_AGENT: QueueAgent = {
  name: '1000@default', contact: '[leg_timeout=10,ignore_early_media=true]sofia/internal/1500@127.0.0.1:5090',
  status: 'Available', state: 'Waiting',
};

/** The offer follows the agent becoming free by about this much (80 ms in the capture). */
const OFFER_DELAY_MS = 80;
/** discard-abandoned-after of the test switch's queue, simulated ms. */
const DISCARD_ABANDONED_AFTER_MS = 60_000;
/** From bridge-agent-start to `In a queue call` (the CHANNEL_BRIDGE in between): ~45 ms in the capture. */
const IN_CALL_DELAY_MS = 45;
/** Where mod_callcenter fires each event from (p-callcenter). */
const SITES: Record<string, readonly [string, number]> = {
  'member-queue-start': ['callcenter_function', 3113],
  'members-count': ['cc_queue_count', 878],
  'agent-status-change': ['cc_agent_update', 1043],
  'agent-state-change': ['cc_agent_update', 1067],
  'agent-contact-change': ['cc_agent_update', 1091],
  'agent-offering': ['outbound_agent_thread_run', 1717],
  'bridge-agent-start': ['outbound_agent_thread_run', 1934],
  'bridge-agent-end': ['outbound_agent_thread_run', 2062],
  'member-queue-end': ['outbound_agent_thread_run', 2098],
  // Not captured: the line of its switch_event_fire in 1.10.12 counted from the source (member-queue-end's + 76).
  'bridge-agent-fail': ['outbound_agent_thread_run', 2174],
  // An abandon is reported by the member's own thread (checked on the real switch).
  'member-queue-end/cancel': ['callcenter_function', 3274],
  presence: ['cc_send_presence', 3392],
};

const epoch = (): number => Math.floor(Date.now() / 1000);
const words = (arg: string | undefined): string[] => {
  // `agent set status 1000@default 'On Break'`: single quotes keep a value with a space together.
  const out: string[] = [];
  for (const m of (arg ?? '').matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? '');
  return out;
};

export class CallCenter implements QueueDialplan {
  /** `<extension>@<context>` → queue: the dialplan extensions that run `callcenter <queue>`. */
  private readonly extensions = new Map<string, string>([['7000@default', 'support@default']]);
  /** Queues whose content a test fixed with set(): they report it as it is. */
  private readonly fixed = new Map<string, QueueState>([['support@default', { waiting: 0 }]]);
  private readonly agents = new Map<string, Agent>();
  private readonly members: Member[] = [];
  private ctx: SwitchContext | undefined;

  /** Connects the emulation to the switch's event bus and clock. */
  attach(ctx: SwitchContext): void {
    this.ctx = ctx;
  }

  /** Routes `loopback/<extension>/<context>` into `queue` (as a dialplan extension running `callcenter`). */
  setExtension(extension: string, context: string, queue: string): void {
    this.extensions.set(`${extension}@${context}`, queue);
  }

  queueAt(extension: string, context: string): string | undefined {
    return this.extensions.get(`${extension}@${context}`);
  }

  /** Fixes what a queue reports (count and agents), without running it. */
  set(queue: string, state: QueueState): void {
    this.fixed.set(queue, state);
  }

  /** Adds (or replaces) an emulated agent; the queues it serves run from now on. */
  addAgent(spec: AgentSpec): void {
    const number = spec.number ?? '+12025550121';
    const agent: Agent = {
      name: spec.name, number, contact: `[leg_timeout=10,ignore_early_media=true]sofia/internal/${number}`,
      queues: new Set(spec.queues), answerAfterMs: spec.answerAfterMs ?? 1000, talkMs: spec.talkMs, wrapUpSec: spec.wrapUpSec ?? 10,
      status: spec.status ?? 'Available', level: spec.level ?? 1, position: spec.position ?? 1, missOffers: spec.missOffers ?? 0,
      legTimeoutSec: spec.legTimeoutSec ?? 10, maxNoAnswer: spec.maxNoAnswer ?? 3, noAnswerDelaySec: spec.noAnswerDelaySec ?? 0,
      noAnswerCount: 0, cancelRing: undefined, state: 'Waiting', readyAt: 0, lastBridgeStart: 0, lastBridgeEnd: 0, lastOffered: 0, lastOfferedMs: 0,
      lastStatusChange: epoch(), callsAnswered: 0, talkTime: 0, member: undefined, legUuid: undefined, calledAt: 0, answeredAt: 0,
    };
    this.agents.set(spec.name, agent);
    for (const q of spec.queues) this.fixed.delete(q);
    this.dispatchSoon();
  }

  /** A member joins `queue` (mod_callcenter's `callcenter` app answered it); resolves to its session UUID. */
  join(queue: string, spec: MemberSpec, hooks: { onBridge?: Member['onBridge']; sessionUuid?: string } = {}): string {
    const now = Date.now();
    const member: Member = {
      uuid: randomUUID(), sessionUuid: hooks.sessionUuid ?? randomUUID(), queue, cidNumber: spec.cidNumber, cidName: spec.cidName,
      baseScore: spec.baseScore ?? 0, joined: Math.floor(now / 1000), joinedMs: now, state: 'Waiting', agent: undefined,
      extension: spec.extension ?? '7000', context: spec.context ?? 'default', variables: [...(spec.variables ?? [])], createdMicros: nowMicros(), bridgeEpoch: 0,
      cancelTalk: undefined, onBridge: hooks.onBridge, abandonedEpoch: 0,
    };
    this.fixed.delete(queue);
    this.members.push(member);
    this.fire('member-queue-start', this.memberLegData(member, false), [
      ['CC-Queue', queue], ['CC-Action', 'member-queue-start'], ['CC-Member-UUID', member.uuid],
      ['CC-Member-Session-UUID', member.sessionUuid], ['CC-Member-CID-Name', member.cidName], ['CC-Member-CID-Number', member.cidNumber],
    ]);
    this.membersCount(queue);
    this.presence(queue);
    this.dispatchSoon();
    return member.sessionUuid;
  }

  /**
   * The member's leg hangs up: while it waits (an abandon), or talking to its agent (the call
   * ends). Unknown sessions are ignored.
   */
  leave(sessionUuid: string): void {
    const member = this.members.find((m) => m.sessionUuid === sessionUuid && m.state !== 'Abandoned');
    if (!member) return;
    if (member.state === 'Answered' && member.agent) {
      this.endCall(member, member.agent);
      return;
    }
    // Abandoned members stay listed (session_uuid emptied) until discard-abandoned-after (60 s), as on the real switch.
    member.state = 'Abandoned';
    member.agent?.cancelRing?.();
    member.abandonedEpoch = epoch();
    this.ctx?.clock.after(DISCARD_ABANDONED_AFTER_MS, () => this.remove(member));
    if (member.agent) this.freeAgent(member.agent, false);
    member.agent = undefined;
    this.fire('member-queue-end', this.memberLegData(member, true), [
      ['CC-Queue', member.queue], ['CC-Action', 'member-queue-end'], ['CC-Member-Leaving-Time', String(epoch())],
      ['CC-Member-Joined-Time', String(member.joined)], ['CC-Cause', 'Cancel'], ['CC-Cancel-Reason', 'BREAK_OUT'],
      ['CC-Member-UUID', member.uuid], ['CC-Member-Session-UUID', member.sessionUuid],
      ['CC-Member-CID-Name', member.cidName], ['CC-Member-CID-Number', member.cidNumber],
    ], 'member-queue-end/cancel');
    this.membersCount(member.queue);
  }

  /** The agent hangs up the call it is on (or the test makes it). */
  agentHangup(name: string): void {
    const agent = this.agents.get(name);
    if (agent?.member?.state === 'Answered') this.endCall(agent.member, agent);
  }

  /** `callcenter_config <args>`. */
  command(arg: string | undefined): string {
    const [section, action, what, ...rest] = words(arg);
    if (section === 'agent' && action === 'set') return this.agentSet(what, rest[0], rest[1]);
    if (section !== 'queue') return '-ERR Unknown Command!\n';
    const queue = rest[0] ?? '';
    const fixed = this.fixed.get(queue);
    if (fixed) {
      const agents = fixed.agents ?? [DEFAULT_AGENT];
      if (action === 'count' && what === 'members') return `${fixed.waiting}\n`;
      if (action === 'count' && what === 'agents') return `${agents.length}\n`;
      if (action === 'list' && what === 'agents') return table(AGENT_COLUMNS, agents.map(fixedAgentRow));
      if (action === 'list' && what === 'members') return table(MEMBER_COLUMNS, []);
      return '-ERR Unknown Command!\n';
    }
    const members = this.members.filter((m) => m.queue === queue);
    const agents = [...this.agents.values()].filter((a) => a.queues.has(queue));
    if (action === 'count' && what === 'members') return `${members.length}\n`;
    if (action === 'count' && what === 'agents') return `${agents.length}\n`;
    if (action === 'list' && what === 'agents') return table(AGENT_COLUMNS, agents.map(agentRow));
    if (action === 'list' && what === 'members') return table(MEMBER_COLUMNS, members.map(memberRow));
    return '-ERR Unknown Command!\n';
  }

  private agentSet(field: string | undefined, name: string | undefined, value: string | undefined): string {
    const agent = name ? this.agents.get(name) : undefined;
    if (!agent || value === undefined) return '-ERR Invalid Agent!\n';
    if (field === 'status') {
      if (!['Available', 'On Break', 'Logged Out', 'Available (On Demand)'].includes(value)) return '-ERR Invalid Agent Status!\n';
      agent.status = value;
      agent.lastStatusChange = epoch();
      this.fire('agent-status-change', [], [['CC-Agent', agent.name], ['CC-Action', 'agent-status-change'], ['CC-Agent-Status', value]]);
      this.dispatchSoon();
      return '+OK\n';
    }
    if (field === 'state') {
      if (!['Waiting', 'Idle', 'Receiving', 'In a queue call'].includes(value)) return '-ERR Invalid Agent State!\n';
      agent.state = value as Agent['state'];
      this.agentState(agent);
      this.dispatchSoon();
      return '+OK\n';
    }
    if (field === 'contact') {
      agent.contact = value;
      const number = /sofia\/[^/]+\/(?:[^/]+\/)?(\+?\d+)/.exec(value)?.[1];
      if (number) agent.number = number;
      this.fire('agent-contact-change', [], [['CC-Agent', agent.name], ['CC-Action', 'agent-contact-change'], ['CC-Agent-Contact', value]]);
      return '+OK\n';
    }
    return '-ERR Unknown Command!\n';
  }

  private dispatchSoon(): void {
    this.ctx?.clock.after(OFFER_DELAY_MS, () => this.dispatch());
  }

  /** Offers the best-placed waiting member of each queue to a free agent tiered to it. */
  private dispatch(): void {
    const now = Date.now();
    const waiting = this.members
      .filter((m) => m.state === 'Waiting')
      .sort((a, b) => score(b, now) - score(a, now) || a.joinedMs - b.joinedMs);
    // longest-idle-agent: ORDER BY level, last_offered_call, position.
    const agents = [...this.agents.values()].sort((a, b) => a.level - b.level || a.lastOffered - b.lastOffered || a.lastOfferedMs - b.lastOfferedMs || a.position - b.position);
    for (const member of waiting) {
      const agent = agents.find(
        (a) => a.queues.has(member.queue) && a.status.startsWith('Available') && a.state === 'Waiting' && a.member === undefined && a.readyAt <= now,
      );
      if (agent) this.offer(member, agent);
    }
    const nextReady = Math.min(...[...this.agents.values()].filter((a) => a.readyAt > now && a.member === undefined).map((a) => a.readyAt));
    if (Number.isFinite(nextReady) && waiting.length > 0) this.ctx?.clock.after((nextReady - now) / (this.ctx.clock.timeScale || 1) + OFFER_DELAY_MS, () => this.dispatch());
  }

  private offer(member: Member, agent: Agent): void {
    member.state = 'Trying';
    member.agent = agent;
    agent.member = member;
    agent.state = 'Receiving';
    agent.lastOffered = epoch();
    agent.lastOfferedMs = Date.now();
    agent.calledAt = epoch();
    agent.legUuid = randomUUID();
    this.agentState(agent);
    this.fire('agent-offering', [], [
      ['CC-Queue', member.queue], ['CC-Action', 'agent-offering'], ['CC-Agent', agent.name], ['CC-Agent-Type', 'callback'],
      ['CC-Agent-System', 'single_box'], ['CC-Member-UUID', member.uuid], ['CC-Member-Session-UUID', member.sessionUuid],
      ['CC-Member-CID-Name', member.cidName], ['CC-Member-CID-Number', member.cidNumber],
    ]);
    if (agent.missOffers > 0) {
      agent.missOffers--;
      agent.cancelRing = this.ctx?.clock.after(agent.legTimeoutSec * 1000, () => this.noAnswer(member, agent));
      return;
    }
    agent.cancelRing = this.ctx?.clock.after(agent.answerAfterMs, () => this.bridge(member, agent));
  }

  /** The offer rang out (the contact's leg_timeout): mod_callcenter's no-answer path. */
  private noAnswer(member: Member, agent: Agent): void {
    if (agent.member !== member || member.state !== 'Trying') return;
    agent.cancelRing = undefined;
    member.state = 'Waiting';
    member.agent = undefined;
    agent.noAnswerCount++;
    if (agent.maxNoAnswer > 0 && agent.noAnswerCount >= agent.maxNoAnswer) {
      agent.status = 'On Break';
      agent.lastStatusChange = epoch();
      this.fire('agent-status-change', [], [['CC-Agent', agent.name], ['CC-Action', 'agent-status-change'], ['CC-Agent-Status', agent.status]]);
    }
    if (agent.noAnswerDelaySec > 0) agent.readyAt = Date.now() + agent.noAnswerDelaySec * 1000 * (this.ctx?.clock.timeScale ?? 1);
    this.fire('bridge-agent-fail', [], [
      ['CC-Queue', member.queue], ['CC-Action', 'bridge-agent-fail'], ['CC-Hangup-Cause', 'NO_ANSWER'], ['CC-Agent', agent.name],
      ['CC-Agent-System', 'single_box'], ['CC-Agent-Called-Time', String(agent.calledAt)], ['CC-Agent-Aborted-Time', String(epoch())],
      ['CC-Member-UUID', member.uuid], ['CC-Member-Session-UUID', member.sessionUuid], ['CC-Member-CID-Name', member.cidName],
      ['CC-Member-CID-Number', member.cidNumber], ['CC-Member-Joined-Time', String(member.joined)],
    ]);
    this.freeAgent(agent, false);
  }

  private bridge(member: Member, agent: Agent): void {
    if (agent.member !== member || member.state !== 'Trying') return;
    agent.cancelRing = undefined;
    agent.noAnswerCount = 0;
    member.state = 'Answered';
    member.bridgeEpoch = epoch();
    agent.answeredAt = epoch();
    agent.lastBridgeStart = agent.answeredAt;
    agent.callsAnswered++;
    this.fire('bridge-agent-start', this.agentLegData(agent, member, false), [
      ['CC-Queue', member.queue], ['CC-Action', 'bridge-agent-start'], ['CC-Agent', agent.name], ['CC-Agent-System', 'single_box'],
      ['CC-Agent-UUID', agent.legUuid ?? ''], ['CC-Agent-Called-Time', String(agent.calledAt)], ['CC-Agent-Answered-Time', String(agent.answeredAt)],
      ['CC-Member-Joined-Time', String(member.joined)], ['CC-Member-UUID', member.uuid], ['CC-Member-Session-UUID', member.sessionUuid],
      ['CC-Member-CID-Name', member.cidName], ['CC-Member-CID-Number', member.cidNumber],
    ]);
    this.membersCount(member.queue);
    this.presence(member.queue);
    this.ctx?.clock.after(IN_CALL_DELAY_MS, () => {
      if (agent.member !== member) return;
      agent.state = 'In a queue call';
      this.agentState(agent);
    });
    member.onBridge?.({ name: agent.name, uuid: agent.legUuid ?? '' });
    if (agent.talkMs !== undefined) member.cancelTalk = this.ctx?.clock.after(agent.talkMs, () => this.endCall(member, agent));
  }

  private endCall(member: Member, agent: Agent): void {
    if (agent.member !== member) return;
    member.cancelTalk?.();
    const ended = epoch();
    agent.lastBridgeEnd = ended;
    agent.talkTime += ended - agent.answeredAt;
    this.fire('bridge-agent-end', this.agentLegData(agent, member, true), [
      ['CC-Queue', member.queue], ['CC-Action', 'bridge-agent-end'], ['CC-Hangup-Cause', 'SUCCESS'], ['CC-Agent', agent.name],
      ['CC-Agent-System', 'single_box'], ['CC-Agent-UUID', agent.legUuid ?? ''], ['CC-Agent-Bridged', 'true'],
      ['CC-Agent-Called-Time', String(agent.calledAt)], ['CC-Agent-Answered-Time', String(agent.answeredAt)],
      ['CC-Member-Joined-Time', String(member.joined)], ['CC-Bridge-Terminated-Time', String(ended)], ['CC-Member-UUID', member.uuid],
      ['CC-Member-Session-UUID', member.sessionUuid], ['CC-Member-CID-Name', member.cidName], ['CC-Member-CID-Number', member.cidNumber],
    ]);
    this.remove(member);
    this.fire('member-queue-end', this.memberLegData(member, true, agent), [
      ['CC-Queue', member.queue], ['CC-Action', 'member-queue-end'], ['CC-Hangup-Cause', 'SUCCESS'], ['CC-Cause', 'Terminated'],
      ['CC-Agent', agent.name], ['CC-Agent-System', 'single_box'], ['CC-Agent-UUID', agent.legUuid ?? ''],
      ['CC-Agent-Called-Time', String(agent.calledAt)], ['CC-Agent-Answered-Time', String(agent.answeredAt)],
      ['CC-Member-Leaving-Time', String(ended)], ['CC-Member-Joined-Time', String(member.joined)], ['CC-Member-UUID', member.uuid],
      ['CC-Member-Session-UUID', member.sessionUuid], ['CC-Member-CID-Name', member.cidName], ['CC-Member-CID-Number', member.cidNumber],
    ]);
    this.freeAgent(agent, true);
  }

  private freeAgent(agent: Agent, afterCall: boolean): void {
    agent.cancelRing?.();
    agent.cancelRing = undefined;
    agent.member = undefined;
    agent.state = 'Waiting';
    agent.legUuid = undefined;
    // Wrap-up is simulated time; readyAt is real ms.
    if (afterCall) agent.readyAt = Date.now() + agent.wrapUpSec * 1000 * (this.ctx?.clock.timeScale ?? 1);
    this.agentState(agent);
    this.dispatchSoon();
  }

  private remove(member: Member): void {
    const i = this.members.indexOf(member);
    if (i >= 0) this.members.splice(i, 1);
  }

  private agentState(agent: Agent): void {
    this.fire('agent-state-change', [], [['CC-Agent', agent.name], ['CC-Action', 'agent-state-change'], ['CC-Agent-State', agent.state]]);
  }

  private membersCount(queue: string): void {
    const count = this.members.filter((m) => m.queue === queue && m.state !== 'Abandoned').length;
    this.fire('members-count', [], [['CC-Queue', queue], ['CC-Action', 'members-count'], ['CC-Count', String(count)], ['CC-Selection', 'Single-Queue']]);
  }

  /** PRESENCE_IN with mod_callcenter's lower-case headers. */
  private presence(queue: string): void {
    if (!this.ctx) return;
    const waiting = this.members.filter((m) => m.queue === queue && (m.state === 'Waiting' || m.state === 'Trying')).length;
    const event = this.ctx.factory.create('PRESENCE_IN');
    retarget(event.headers, SITES.presence);
    event
      .add('proto', 'callcenter').add('login', queue).add('from', queue)
      .add('force-status', waiting > 0 ? `Active (${waiting} waiting)` : 'Idle')
      .add('rpid', 'unknown').add('event_type', 'presence').add('alt_event_type', 'dialog').add('event_count', '0')
      .add('channel-state', waiting > 0 ? 'CS_ROUTING' : 'CS_HANGUP').add('unique-id', queue)
      .add('answer-state', waiting > 0 ? 'confirmed' : 'terminated').add('presence-call-direction', 'inbound');

    this.ctx.fire(event);
  }

  /** One CUSTOM callcenter::info event: core headers, channel data if any, then the CC-* headers last. */
  private fire(action: string, channelData: readonly Header[], cc: readonly Header[], site: string = action): void {
    if (!this.ctx) return;
    const event = this.ctx.factory.create('CUSTOM', [['Event-Subclass', 'callcenter::info']]);
    retarget(event.headers, SITES[site]);
    event.addAll(channelData).addAll(cc);

    this.ctx.fire(event);
  }

  /** The member leg (`loopback/<ext>-b`) as switch_channel_event_set_data writes it. */
  private memberLegData(member: Member, ended: boolean, bridgedTo?: Agent): Header[] {
    const name = `loopback/${member.extension}-b`;
    const profile = this.memberProfile(member, false);
    if (ended) profile.times.hangup = nowMicros();
    let other: Header[] = [];
    if (bridgedTo) {
      // Bridged to its agent (uuid_bridge): a second profile made at the answer, the agent as its originatee (p-callcenter).
      const answered = bridgedTo.answeredAt * 1_000_000;
      Object.assign(profile, {
        profileIndex: 2, calleeIdName: bridgedTo.number, calleeIdNumber: bridgedTo.number,
        transferSource: `${bridgedTo.answeredAt}:${randomUUID()}:uuid_br:${bridgedTo.legUuid ?? ''}`,
      });
      Object.assign(profile.times, { profileCreated: answered, bridged: answered + 40_000 });
      const agentProfile = this.agentProfile(bridgedTo, member);
      agentProfile.logicalDirection = 'inbound';
      agentProfile.times.profileCreated = answered;
      other = [['Other-Type', 'originatee'], ...profileHeaders('Other-Leg', agentProfile, false)];
    }
    const out: Header[] = [
      ['Channel-State', ended ? 'CS_REPORTING' : 'CS_EXECUTE'], ['Channel-Call-State', ended ? 'HANGUP' : 'ACTIVE'],
      ['Channel-State-Number', ended ? '12' : '4'], ['Channel-Name', name], ['Unique-ID', member.sessionUuid],
      ['Call-Direction', 'inbound'], ['Presence-Call-Direction', 'inbound'], ['Channel-HIT-Dialplan', 'true'],
      ['Channel-Call-UUID', member.sessionUuid], ['Answer-State', ended ? 'hangup' : 'answered'],
      ...(ended ? ([['Hangup-Cause', 'NORMAL_CLEARING']] as Header[]) : []),
      ['Channel-Read-Codec-Name', 'L16'], ['Channel-Read-Codec-Rate', '8000'], ['Channel-Read-Codec-Bit-Rate', '128000'],
      ['Channel-Write-Codec-Name', 'L16'], ['Channel-Write-Codec-Rate', '8000'], ['Channel-Write-Codec-Bit-Rate', '128000'],
      ...profileHeaders('Caller', profile, true),
      ...other,
    ];
    const vars: Header[] = [
      ['direction', 'inbound'], ['uuid', member.sessionUuid], ['session_id', String(this.ctx?.nextSessionId() ?? 1)], ['channel_name', name],
      ['read_codec', 'L16'], ['read_rate', '8000'], ['write_codec', 'L16'], ['write_rate', '8000'],
      ...member.variables,
      ['call_uuid', member.sessionUuid], ['endpoint_disposition', 'ANSWER'], ['current_application_data', member.queue],
      ['current_application', 'callcenter'], ['cc_side', 'member'], ['cc_member_uuid', member.uuid],
      ['cc_queue_joined_epoch', String(member.joined)], ['cc_queue', member.queue],
    ];
    return [...out, ...vars.map(([n, v]) => [`variable_${n}`, v] as const)];
  }

  /** The member leg's caller profile; `asOtherLeg`: as a bridge partner's Other-Leg-* shows it (times zeroed). */
  private memberProfile(member: Member, asOtherLeg: boolean): CallerProfile {
    const times = asOtherLeg ? emptyTimes(0) : { ...emptyTimes(member.createdMicros), answered: member.createdMicros };
    return {
      direction: 'inbound', logicalDirection: 'inbound', username: '', dialplan: 'xml', callerIdName: member.cidName,
      callerIdNumber: member.cidNumber, origCallerIdName: member.cidName, origCallerIdNumber: member.cidNumber,
      calleeIdName: 'Outbound Call', calleeIdNumber: member.context, networkAddr: '', ani: member.cidNumber,
      destinationNumber: member.extension, uniqueId: member.sessionUuid, source: 'mod_loopback', transferSource: '', context: member.context,
      channelName: `loopback/${member.extension}-b`, profileIndex: 1, times,
    };
  }

  /** The agent leg's caller profile (outbound, answered). */
  private agentProfile(agent: Agent, member: Member): CallerProfile {
    const name = `sofia/internal/${agent.number}`;
    const uuid = agent.legUuid ?? '';
    return {
      direction: 'outbound', logicalDirection: 'outbound', username: '', dialplan: '', callerIdName: member.cidName,
      callerIdNumber: member.cidNumber, origCallerIdName: member.cidName, origCallerIdNumber: member.cidNumber,
      calleeIdName: agent.number, calleeIdNumber: agent.number, networkAddr: '127.0.0.1', ani: member.cidNumber,
      destinationNumber: agent.number, uniqueId: uuid, source: 'src/switch_ivr_originate.c', transferSource: '', context: 'default',
      channelName: name, profileIndex: 1, times: { ...emptyTimes(agent.calledAt * 1_000_000), answered: agent.answeredAt * 1_000_000, progress: agent.calledAt * 1_000_000 },
    };
  }

  /** The agent leg (`sofia/internal/<number>`), outbound, answered (or hung up at the end). */
  private agentLegData(agent: Agent, member: Member, ended: boolean): Header[] {
    const name = `sofia/internal/${agent.number}`;
    const uuid = agent.legUuid ?? '';
    const profile = this.agentProfile(agent, member);
    if (ended) {
      // After the uuid_bridge to the member: a second profile, made at the answer, with the transfer (p-callcenter).
      const answered = agent.answeredAt * 1_000_000;
      Object.assign(profile, { profileIndex: 2, transferSource: `${agent.answeredAt}:${randomUUID()}:uuid_br:${member.sessionUuid}` });
      Object.assign(profile.times, { profileCreated: answered, hangup: nowMicros(), bridged: answered + 40_000 });
    }
    const out: Header[] = [
      ['Channel-State', ended ? 'CS_REPORTING' : 'CS_CONSUME_MEDIA'], ['Channel-Call-State', ended ? 'HANGUP' : 'ACTIVE'],
      ['Channel-State-Number', ended ? '12' : '7'], ['Channel-Name', name], ['Unique-ID', uuid], ['Call-Direction', 'outbound'],
      ['Presence-Call-Direction', 'outbound'], ['Channel-HIT-Dialplan', 'false'], ['Channel-Call-UUID', uuid],
      ['Answer-State', ended ? 'hangup' : 'answered'], ...(ended ? ([['Hangup-Cause', 'NORMAL_CLEARING']] as Header[]) : []),
      ['Channel-Read-Codec-Name', 'PCMU'], ['Channel-Read-Codec-Rate', '8000'], ['Channel-Read-Codec-Bit-Rate', '64000'],
      ['Channel-Write-Codec-Name', 'PCMU'], ['Channel-Write-Codec-Rate', '8000'], ['Channel-Write-Codec-Bit-Rate', '64000'],
      ...profileHeaders('Caller', profile, true),
      // The bridge's other leg (the member, loopback-b) once it has been bridged: its profile, times zeroed.
      ...(ended ? ([['Other-Type', 'originator'], ...profileHeaders('Other-Leg', this.memberProfile(member, true), false)] as Header[]) : []),
    ];
    const vars: Header[] = [
      ['direction', 'outbound'], ['uuid', uuid], ['call_uuid', uuid], ['channel_name', name], ['cc_queue', member.queue],
      ['cc_queue_joined_epoch', String(member.joined)], ['cc_member_uuid', member.uuid], ['cc_member_session_uuid', member.sessionUuid],
      ['cc_agent', agent.name], ['cc_agent_type', 'callback'], ['cc_side', 'agent'],
      ['origination_caller_id_name', member.cidName], ['origination_caller_id_number', member.cidNumber],
    ];
    return [...out, ...vars.map(([n, v]) => [`variable_${n}`, v] as const)];
  }
}

/** A `list` reply: the header row comes with the first data row, so an empty list is `+OK` alone (as on the real switch). */
function table(columns: string, rows: string[]): string {
  return rows.length === 0 ? '+OK\n' : [columns, ...rows, '+OK', ''].join('\n');
}

/** Members are served by score, highest first: base_score + seconds in the queue. */
function score(member: Member, nowMs: number): number {
  return member.baseScore + Math.floor(nowMs / 1000) - member.joined;
}

/** Sets the Event-Calling-* headers to mod_callcenter's call site. */
function retarget(headers: Header[], site: readonly [string, number] | undefined): void {
  if (!site) return;
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i]?.[0];
    if (name === 'Event-Calling-File') headers[i] = [name, 'mod_callcenter.c'];
    else if (name === 'Event-Calling-Function') headers[i] = [name, site[0]];
    else if (name === 'Event-Calling-Line-Number') headers[i] = [name, String(site[1])];
  }
}

function memberRow(m: Member): string {
  const now = Date.now();
  const serving = m.agent && m.state !== 'Waiting' ? [m.agent.name, 'single_box'] : ['', ''];
  const session = m.state === 'Abandoned' ? '' : m.sessionUuid;
  return [
    m.queue, 'single_box', m.uuid, session, m.cidNumber, m.cidName, String(m.joined), String(m.joined), '0', String(m.bridgeEpoch), String(m.abandonedEpoch),
    String(m.baseScore), '0', ...serving, m.state, String(score(m, now)),
  ].join('|');
}

function agentRow(a: Agent): string {
  return [
    a.name, 'single_box', '', 'callback', a.contact, a.status, a.state, '3', String(a.wrapUpSec), '10', '60', '0',
    String(a.lastBridgeStart), String(a.lastBridgeEnd), String(a.lastOffered), String(a.lastStatusChange), '0',
    String(a.callsAnswered), String(a.talkTime), '0', '0',
  ].join('|');
}

function fixedAgentRow(a: QueueAgent): string {
  const now = String(Math.floor(Date.now() / 1000));
  return [a.name, 'single_box', '', 'callback', a.contact, a.status, a.state, '3', '10', '10', '60', '0', '0', '0', '0', now, '0', '0', '0', '0', '0'].join('|');
}
