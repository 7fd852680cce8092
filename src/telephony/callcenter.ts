/**
 * mod_callcenter as the domain sees it: the queue port, what it reports, and the commands and
 * replies at its edge (`callcenter_config queue count|list …`), parsed here so that nothing past
 * telephony/ reads a pipe-separated table.
 */
import { CrosslineError } from '../errors.js';
import type { DialTags } from './types.js';

/** `support@default`: a queue name as mod_callcenter takes it, never anything that could split an ESL command. */
export const QUEUE_NAME = /^[A-Za-z0-9_.-]{1,64}@[A-Za-z0-9_.-]{1,64}$/;

export const isQueueName = (text: string): boolean => QUEUE_NAME.test(text);

/** One caller in a queue (`queue list members`). */
export interface QueueMember {
  /** The queue entry's UUID (CC-Member-UUID). */
  uuid: string;
  /** The member leg's UUID (a loopback-b leg when Crossline put it there). */
  sessionUuid: string;
  cidNumber: string;
  cidName: string;
  /** When it joined, epoch seconds. */
  joinedEpoch: number;
  baseScore: number;
  /** `Waiting`, `Trying` (being offered), `Answered`, or `Abandoned` (kept for discard-abandoned-after). */
  state: string;
  servingAgent?: string;
}

/** One agent tiered to a queue (`queue list agents`). */
export interface QueueAgentRow {
  name: string;
  /** `Available`, `Available (On Demand)`, `On Break`, `Logged Out`. */
  status: string;
  /** `Waiting`, `Receiving`, `In a queue call`, `Idle`. */
  state: string;
  wrapUpSeconds: number;
  /** Epoch seconds before which the agent is not offered calls (ready_time: reject and busy delays; 0 when none). */
  readyEpoch: number;
  /** When its last queue call ended, epoch seconds: it is in wrap-up until this plus wrapUpSeconds. */
  lastBridgeEndEpoch: number;
}

export interface QueueStatus {
  members: QueueMember[];
  agents: QueueAgentRow[];
}

/** What mod_callcenter announced (CUSTOM callcenter::info), with times in ms since the epoch. */
export type QueueEvent =
  | {
      type: 'member-joined';
      queue: string;
      memberUuid: string;
      sessionUuid: string;
      at: number;
      /** The leg Crossline originated when the member is a loopback-b leg (other_loopback_leg_uuid). */
      crosslineLeg?: string;
      /** That leg's tags (callback_id, role, attempt), which the loopback-b member inherits. */
      tags?: DialTags;
    }
  /** An agent offered the member did not take it (bridge-agent-fail: NO_ANSWER, USER_BUSY…); the member waits on. */
  | { type: 'agent-missed'; queue: string; memberUuid: string; sessionUuid: string; agent: string; at: number; cause: string }
  | { type: 'agent-answered'; queue: string; memberUuid: string; sessionUuid: string; agent: string; agentUuid: string; at: number; joinedAt: number }
  | { type: 'agent-call-ended'; queue: string; memberUuid: string; agent: string; at: number; answeredAt: number }
  | { type: 'member-left'; queue: string; memberUuid: string; sessionUuid: string; at: number; cause: string }
  | { type: 'agent-state'; agent: string; state: string; at: number }
  | { type: 'agent-status'; agent: string; status: string; at: number };

/** The queues on a switch Crossline drives; the ESL client implements it. */
export interface QueueSwitch {
  /** Members and agents of a queue now. Throws SWITCH_UNAVAILABLE / SWITCH_TIMEOUT / QUEUE_NOT_FOUND. */
  queueStatus(queue: string): Promise<QueueStatus>;
  /** Calls `listener` with every callcenter::info event; returns the function that stops listening. */
  onQueueEvent(listener: (event: QueueEvent) => void): () => void;
}

function checkQueue(queue: string): string {
  if (!isQueueName(queue)) throw new CrosslineError('INVALID_QUEUE', 'A queue name is name@domain, letters, digits and ._- only.');
  return queue;
}

export const listMembersCommand = (queue: string): string => `callcenter_config queue list members ${checkQueue(queue)}`;
export const listAgentsCommand = (queue: string): string => `callcenter_config queue list agents ${checkQueue(queue)}`;

/**
 * A `queue list …` reply: a header row, data rows, `+OK`; an empty list is `+OK` alone (checked on
 * the real switch). A reply that does not look like one (`-ERR …`) is SWITCH_COMMAND_FAILED.
 */
export function parseTable(reply: string): Array<Record<string, string>> {
  const lines = reply.split('\n').map((l) => l.trimEnd());
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  // An empty list is `+OK` alone: mod_callcenter prints the header row with the first data row.
  if (lines.length === 1 && lines[0] === '+OK') return [];
  if (lines.at(-1) !== '+OK' || lines.length < 2) {
    throw new CrosslineError('SWITCH_COMMAND_FAILED', `mod_callcenter did not list the queue: ${(lines[0] ?? '').slice(0, 80)}`);
  }
  const columns = (lines[0] ?? '').split('|');
  return lines.slice(1, -1).map((line) => {
    const cells = line.split('|');
    return Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? '']));
  });
}

const int = (text: string | undefined): number => {
  const n = Number.parseInt(text ?? '', 10);
  return Number.isFinite(n) ? n : 0;
};

export function parseMembers(reply: string): QueueMember[] {
  return parseTable(reply).map((r) => ({
    uuid: r.uuid ?? '',
    sessionUuid: r.session_uuid ?? '',
    cidNumber: r.cid_number ?? '',
    cidName: r.cid_name ?? '',
    joinedEpoch: int(r.joined_epoch),
    baseScore: int(r.base_score),
    state: r.state ?? '',
    ...(r.serving_agent ? { servingAgent: r.serving_agent } : {}),
  }));
}

export function parseAgents(reply: string): QueueAgentRow[] {
  return parseTable(reply).map((r) => ({
    name: r.name ?? '',
    status: r.status ?? '',
    state: r.state ?? '',
    wrapUpSeconds: int(r.wrap_up_time),
    readyEpoch: int(r.ready_time),
    lastBridgeEndEpoch: int(r.last_bridge_end),
  }));
}
