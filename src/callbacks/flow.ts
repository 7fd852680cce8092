import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { CrosslineError, isCrosslineError } from '../errors.js';
import { parseHangupCause, type DialRequest, type HangupCause, type LegResult, type QueueEndpoint, type Telephony } from '../telephony/types.js';
import { admitAttempt, releasePacing, renewPacing, retryDueAt } from './attempt-admission.js';
import { calleeEndpointFor } from './call-center.js';
import { holdForAgent, type AgentWaitDeps } from './agent-wait.js';
import { factsOf, inConversation, settleConversation } from './call-end.js';
import type { LegFactsRepository } from './ports.js';
import { decideResume, type LegEvidence, type LegFinding, type ResumeDecision } from './resume.js';
import type { AttemptScheduler, CallbackNotifier, CallbackRepository, CallCenterDirectory, CallCenterPacer, CancelSignal, OriginateGate, SwitchRouter, SwitchWaitReason } from './ports.js';
import { gateOf, telephonyOf } from './switch-of.js';
import { isFinal, record, transition } from './state-machine.js';
import type { Attempt, Callback, CallbackStatus, Endpoint, Leg, LegRole, TimelineEntry, TimelineEvent } from './types.js';
import { DONE, waitFor, type AttemptOutcome } from './wait.js';
import { confirmParty, detectMachine, holdPlace, keepsPlace, leaveMessage, queueEndpointOf, walkIvr, type KeepPlaceConfig, type StepContext } from './attempt/steps/index.js';
import { ivrStepsOf } from './ivr.js';

/**
 * How a freshly answered leg came through its checks and IVR: `up`; `hung-up` (recorded ended);
 * `not-a-person` (an answering machine, or no 1 pressed: it counts as not answered); or
 * `message-left` (a message was left on a machine, and the callback ends).
 */
type AfterAnswer = 'up' | 'hung-up' | 'not-a-person' | 'message-left';

export interface FlowDeps {
  repository: CallbackRepository;
  telephony: Telephony;
  scheduler: AttemptScheduler;
  notifier: CallbackNotifier;
  cancelSignal: CancelSignal;
  /**
   * The switch's capacity guard, asked before every originate. @defaultValue none: every leg is
   * dialled at once
   */
  gate?: OriginateGate;
  /**
   * The pool of switches, when ESL_URL names several: a new attempt goes to the switch it picks,
   * and every command of the attempt to that switch. @defaultValue none: `telephony` and `gate`
   */
  switches?: SwitchRouter;
  messages: {
    /** Spoken to the callee when the caller never answers. */
    callerNoAnswer: string;
    /** Spoken to the caller when the callee cannot be reached (caller-first order). */
    calleeUnavailable: string;
    /**
     * Keep-your-place: spoken to the agent who picked the place up while the caller rings;
     * `{caller}` is replaced by the caller's name (or "your caller"). @defaultValue 'Connecting you to {caller}.'
     */
    agentConnecting?: string;
  };
  /** Caller id presented when the request gives none. */
  defaultCallerId: string | undefined;
  /**
   * How long a bridged call's job sleeps between two looks at the switch (the reconciliation that
   * records an end nobody heard), ms.
   */
  callEndReconcileMs: number;
  /** The switch's own record of each leg once it ended (its CDRs): what a successor decides from. */
  legFacts: LegFactsRepository;
  /** The owners' call centers: their hours are checked before each attempt. @defaultValue none */
  callCenters?: CallCenterDirectory;
  /** Per-center pacing shared by every worker. @defaultValue none: not paced */
  pacer?: CallCenterPacer;
  /** Holding a maxWaitSeconds callback until an agent is near. @defaultValue none: never held */
  agentWait?: AgentWaitDeps['agentWait'];
  /**
   * Keep-your-place: where queue legs stand in their queues, and how long they may wait there.
   * @defaultValue none: a keep-your-place callback's attempt fails (its queue cannot be watched)
   */
  keepPlace?: KeepPlaceConfig;
  clock: () => Date;
  logger: Logger;
}

// Causes that say the number itself is wrong: trying again later cannot help.
const NOT_RETRYABLE: ReadonlySet<HangupCause> = new Set<HangupCause>([
  'UNALLOCATED_NUMBER',
  'INVALID_NUMBER_FORMAT',
  'NUMBER_CHANGED',
  'INCOMPATIBLE_DESTINATION',
  'OUTGOING_CALL_BARRED',
  'INVALID_GATEWAY',
  'INVALID_PROFILE',
  'INVALID_URL',
]);

/** Extra time given to a resumed ringing leg beyond its ring timeout, for the switch's own timer. */
const RESUME_RING_SLACK_MS = 5_000;

/**
 * A DESTINATION_OUT_OF_ORDER this soon after the originate was sent is the switch refusing to
 * create the channel (over its sessions-per-second or session limit, which it answers at once and
 * without a CHANNEL_CREATE), not the far end: the leg waits for capacity instead of failing. A far
 * end that really is out of order is reached through a channel and a gateway, which takes longer;
 * one that answers that fast anyway counts as failed after MAX_SWITCH_REFUSALS.
 */
const REFUSED_AT_ONCE_MS = 1_500;
const MAX_SWITCH_REFUSALS = 3;
/** How soon a leg the switch refused at once asks again: its sessions-per-second budget is per second. */
const SWITCH_REFUSAL_RETRY_MS = 1_000;

/** The switch has no room for the first leg of an attempt now: the job sleeps and asks again. */
class SwitchCapacityWait extends Error {
  constructor(readonly retryInMs: number) {
    super('waiting for switch capacity');
    this.name = 'SwitchCapacityWait';
  }
}

/** A keep-your-place leg is still in line: the job sleeps and looks again (or is woken by the pickup). */
class QueuePlaceWait extends Error {
  constructor(readonly retryInMs: number) {
    super('waiting in the queue for an agent');
    this.name = 'QueuePlaceWait';
  }
}

class CanceledError extends Error {
  constructor() {
    super('callback canceled');
    this.name = 'CanceledError';
  }
}

/** A previous attempt is still open (its job has not finished): this job must wait and retry. */
export class AttemptStillOpenError extends Error {
  constructor(callbackId: string, attempt: number) {
    super(`callback ${callbackId}: attempt ${attempt} is still open`);
    this.name = 'AttemptStillOpenError';
  }
}

const endpointText = (endpoint: Endpoint | QueueEndpoint): string =>
  endpoint.kind === 'number' ? endpoint.e164 : endpoint.kind === 'sip' ? endpoint.uri : `queue:${endpoint.queue}`;
const other = (role: LegRole): LegRole => (role === 'callee' ? 'caller' : 'callee');

/**
 * Runs (or resumes) attempt `attemptNumber` of a callback: the called party first, then the
 * caller, then the bridge (or the other way round for caller-first). Every step is written to the
 * store before and after it touches the switch, so a worker that takes over after a crash carries
 * on from what is stored and what the switch says exists: it never dials a leg twice.
 *
 * Once bridged, the conversation is a wait that leaves the worker: the outcome says when to look
 * again. Run again (the wake-up), it reconciles: records an end nobody heard and completes the
 * callback, or waits again while both parties are on.
 */
export async function runAttempt(deps: FlowDeps, callbackId: string, attemptNumber: number): Promise<AttemptOutcome> {
  const callback = await deps.repository.get(callbackId);
  if (!callback || isFinal(callback.status)) return DONE;
  if (inConversation(callback, attemptNumber)) return reconcileConversation(deps, callbackId, attemptNumber);
  // A call center's hours and pacing (and the caller's window) may hold a new attempt back; between
  // the two, a maxWaitSeconds callback waits for an agent to be near (before it takes a pacing slot).
  const held = await admitAttempt(deps, callback, attemptNumber, () => holdForAgent(deps, callback, attemptNumber));
  if (held) return held;
  let bridged: boolean;
  try {
    bridged = await new AttemptRun(deps, callback, attemptNumber).run();
  } catch (err) {
    if (err instanceof SwitchCapacityWait) return waitFor('switch-capacity', err.retryInMs);
    if (err instanceof QueuePlaceWait) {
      // The attempt is in progress while it waits in line: its pacing slot is kept.
      await renewPacing(deps, callbackId);
      return waitFor('queue-place', err.retryInMs);
    }
    throw err;
  }
  if (bridged) return reconcileConversation(deps, callbackId, attemptNumber);
  await releasePacing(deps, callbackId);
  return DONE;
}

/**
 * Asks the switch whether both parties are still on: a leg gone (its hangup missed, or just
 * before the bridge was saved) ends the call; otherwise the job sleeps again. A switch that does
 * not answer now is asked at the next wake-up: a live call is never failed for it.
 */
async function reconcileConversation(deps: FlowDeps, callbackId: string, attemptNumber: number): Promise<AttemptOutcome> {
  try {
    const state = await settleConversation(deps, callbackId, attemptNumber, { askSwitch: true });
    if (state === 'not-bridged') deps.logger.warn({ callbackId, attempt: attemptNumber }, 'conversation job found no conversation');
    if (state === 'up') {
      await renewPacing(deps, callbackId);
      return waitFor('call-end', deps.callEndReconcileMs);
    }
    await releasePacing(deps, callbackId);
    return DONE;
  } catch (err) {
    if (!(err instanceof CrosslineError) || !err.retryable) throw err;
    deps.logger.warn({ err, callbackId, attempt: attemptNumber }, 'live call not reconciled; asking again at the next wake-up');
    return waitFor('call-end', deps.callEndReconcileMs);
  }
}

/**
 * Gives up on a callback whose job cannot be completed (the switch or store stayed down through
 * every retry): hangs up what is still up and ends it `failed`, so nothing stays stuck.
 */
export async function abandonCallback(deps: FlowDeps, callbackId: string, reason: string): Promise<void> {
  const callback = await deps.repository.get(callbackId);
  if (!callback || isFinal(callback.status)) return;
  const previous = callback.status;
  const now = deps.clock();
  const live = callback.attempts.flatMap((a) => a.legs.map((leg) => ({ attempt: a, leg }))).filter(({ leg }) => leg.state !== 'ended');
  if (live.length > 0) {
    // Written ahead, as every hang-up: whoever reads this callback later knows these ends were ours.
    for (const { attempt, leg } of live) {
      record(callback, { event: 'hangup-requested', attempt: attempt.number, role: leg.role, uuid: leg.uuid, hangupCause: 'NORMAL_TEMPORARY_FAILURE' }, now);
    }
    await deps.repository.save(callback, previous);
  }
  for (const { attempt, leg } of live) {
    // Each leg on its attempt's switch; a switch that cannot be had is as good as a failed hang-up.
    await Promise.resolve()
      .then(() => telephonyOf(deps, attempt).hangup(leg.uuid, 'NORMAL_TEMPORARY_FAILURE'))
      .catch(() => undefined);
    Object.assign(leg, { state: 'ended', endedAt: now.toISOString(), hangupCause: 'UNKNOWN' });
  }
  const last = callback.attempts[callback.attempts.length - 1];
  if (last && !last.endedAt) last.endedAt = now.toISOString();
  callback.failureCause = 'UNKNOWN';
  delete callback.nextAttemptAt;
  const entry = transition(callback, 'failed', { event: 'failed', detail: reason }, now);
  await deps.repository.save(callback, previous);
  await releasePacing(deps, callbackId);
  await notify(deps, callback, entry);
}

async function notify(deps: FlowDeps, callback: Callback, entry: TimelineEntry): Promise<void> {
  try {
    await deps.notifier.statusChanged(callback, entry);
  } catch (err) {
    deps.logger.warn({ err, callbackId: callback.id, status: entry.status }, 'status notification could not be queued');
  }
}

class AttemptRun {
  private storedStatus: CallbackStatus;
  /** Status changes made since the last save; announced to the notifier once saved. */
  private pending: TimelineEntry[] = [];
  private readonly cancel = new AbortController();
  private readonly log: Logger;

  constructor(private readonly deps: FlowDeps, private readonly callback: Callback, private readonly attemptNumber: number) {
    this.storedStatus = callback.status;
    this.log = deps.logger.child({ callbackId: callback.id, attempt: attemptNumber });
  }

  /** The switch this attempt's legs are on (see telephonyOf). */
  private get telephony(): Telephony {
    return telephonyOf(this.deps, this.callback.attempts.find((a) => a.number === this.attemptNumber));
  }

  /** Drives the attempt until it has ended or is bridged; true when bridged (the conversation is left to the caller). */
  async run(): Promise<boolean> {
    // Watched first, then the flag read once: a cancel raised before the read is in the flag, one
    // raised after it reaches the watcher.
    const stopWatching = await this.deps.cancelSignal.watch(this.callback.id, () => this.cancel.abort());
    let attempt: Attempt | undefined;
    try {
      const requested = await this.deps.cancelSignal.isRequested(this.callback.id);
      const open = this.callback.attempts.find((a) => a.number === this.attemptNumber && !a.endedAt);
      // Canceled before this attempt began: end it without dialling anything.
      if (requested && !open) {
        await this.finishCanceled(undefined);
        return false;
      }
      attempt = await this.openAttempt();
      if (!attempt) return false;
      if (requested) this.cancel.abort();
      if (this.switchLost(attempt)) return await this.leaveLostSwitch(attempt);
      return await (this.tookOver(attempt) ? this.resume(attempt) : this.drive(attempt));
    } catch (err) {
      if (attempt === undefined || (!(err instanceof CanceledError) && !this.cancel.signal.aborted)) throw err;
      await this.finishCanceled(attempt);
      return false;
    } finally {
      stopWatching();
    }
  }

  /**
   * The attempt's switch is lost (down past its grace) with legs dialled on it and no bridge asked
   * for: those legs cannot be asked about and went with the switch.
   */
  private switchLost(attempt: Attempt): boolean {
    const { switches } = this.deps;
    if (!switches || attempt.switchId === undefined) return false;
    if (!attempt.legs.some((l) => l.state === 'dialing' || l.state === 'answered')) return false;
    if (this.done(attempt, 'bridge-requested')) return false;
    return switches.isLost(attempt.switchId);
  }

  /**
   * Closes an attempt whose switch was lost: each leg still dialling or answered is recorded ended
   * (NORMAL_TEMPORARY_FAILURE, detail `switch lost`), and the attempt fails with that retryable
   * cause, so the retry policy dials a next attempt (new leg UUIDs) on another switch. Nothing is
   * doubled: the next attempt starts only once this one is closed.
   */
  private async leaveLostSwitch(attempt: Attempt): Promise<false> {
    const cause: HangupCause = 'NORMAL_TEMPORARY_FAILURE';
    const live = attempt.legs.filter((l) => l.state === 'dialing' || l.state === 'answered');
    const role = live[0]?.role ?? 'callee';
    this.log.warn({ switchId: attempt.switchId, legs: live.length }, 'switch lost; the attempt fails and is retried on another switch');
    for (const leg of live) {
      const event = leg.state === 'answered' ? 'leg-ended' : 'leg-failed';
      await this.endLeg(leg, cause, event, `switch ${attempt.switchId ?? ''} lost`);
    }
    // Canceled meanwhile: nothing is left on a switch to hang up, and nothing is retried.
    if (this.cancel.signal.aborted || (await this.deps.cancelSignal.isRequested(this.callback.id))) {
      await this.finishCanceled(attempt);
      return false;
    }
    return this.attemptFailed(attempt, cause, role);
  }

  /** Finds or starts this job's attempt; undefined when there is nothing (left) to do. */
  private async openAttempt(): Promise<Attempt | undefined> {
    const { attempts } = this.callback;
    const existing = attempts.find((a) => a.number === this.attemptNumber);
    if (existing?.endedAt) {
      await this.ensureFollowUp();
      return undefined;
    }
    if (existing) {
      // Waking from a wait for the switch is not a takeover: nothing was dialled.
      if (this.callback.timeline.at(-1)?.event === 'waiting-for-switch' && existing.legs.every((l) => l.state === 'reserved')) return existing;
      // Nor is waking in a queue (keep-your-place): the leg waits there by design, and is looked at again.
      if (this.waitsInQueue(existing)) return existing;
      this.note('resumed', { detail: 'a worker took over this attempt' });
      await this.commit();
      return existing;
    }
    const last = attempts[attempts.length - 1];
    if (this.attemptNumber !== attempts.length + 1) {
      this.log.warn({ stored: attempts.length }, 'stale attempt job ignored');
      return undefined;
    }
    if (last && !last.endedAt) throw new AttemptStillOpenError(this.callback.id, last.number);
    const attempt: Attempt = { number: this.attemptNumber, startedAt: this.now(), legs: [] };
    attempts.push(attempt);
    delete this.callback.nextAttemptAt;
    // Not saved on its own: nothing reaches the switch before the next save (every step that
    // sends a command saves first), and a crash before it leaves no trace to resume from.
    this.note('attempt-started', {});
    return attempt;
  }

  /** A keep-your-place attempt whose call-center leg is in its queue and no agent has picked it up yet. */
  private waitsInQueue(attempt: Attempt): boolean {
    if (!keepsPlace(this.callback) || this.callback.status !== 'waiting-for-agent') return false;
    return attempt.legs.length === 1 && attempt.legs[0]?.role === 'callee' && attempt.legs[0].state === 'answered';
  }

  /** The attempt ended but this job was run again (crash after the save): make sure the next one is queued. */
  private async ensureFollowUp(): Promise<void> {
    const { status, nextAttemptAt, attempts } = this.callback;
    if (status !== 'scheduled' && status !== 'queued') return;
    const delay = nextAttemptAt ? Date.parse(nextAttemptAt) - this.deps.clock().getTime() : 0;
    await this.deps.scheduler.enqueue(this.callback.id, attempts.length + 1, Math.max(0, delay));
  }

  /**
   * The attempt up to the bridge; true once bridged (a cancel that arrives after the bridge was
   * saved is seen by the conversation's reconciliation). Failures end the attempt here.
   */
  private async drive(attempt: Attempt): Promise<boolean> {
    const firstRole: LegRole = this.callback.request.order === 'caller-first' ? 'caller' : 'callee';
    const secondRole = other(firstRole);
    const first = await this.reachLeg(attempt, firstRole, this.cancel.signal);
    if (first.result.outcome === 'failed') return this.attemptFailed(attempt, first.result.cause, firstRole);
    let connecting: Promise<void> | undefined;
    if (keepsPlace(this.callback)) {
      // The call-center leg waits in the queue; the caller is rung once an agent has picked it up.
      const place = await this.holdPlace(attempt, first.leg);
      if (place.kind === 'left') return this.attemptFailed(attempt, place.cause, firstRole);
      connecting = (await this.tellAgent(attempt, first.leg))?.said;
    } else {
      const firstUp = await this.afterAnswer(attempt, first.leg);
      if (firstUp !== 'up') return this.notReached(attempt, first.leg, firstUp);
    }

    const reached = await this.reachSecondLeg(attempt, secondRole, first.leg);
    // The agent hears who is being rung while the caller rings; what is said next waits for it to end.
    await connecting;
    const second = reached;
    if (second === 'first-hung-up') return this.attemptFailed(attempt, first.leg.hangupCause ?? 'UNKNOWN', firstRole);
    if (second.result.outcome === 'failed') {
      await this.dismissWaitingLeg(attempt, first.leg);
      return this.attemptFailed(attempt, second.result.cause, secondRole);
    }
    const secondUp = await this.afterAnswer(attempt, second.leg);
    if (secondUp !== 'up') {
      // A machine or a silent party is let go of first; the one waiting is told, and is never bridged to it.
      if (secondUp !== 'hung-up') await this.hangupLeg(second.leg, 'NORMAL_CLEARING');
      await this.dismissWaitingLeg(attempt, first.leg);
      return this.notReached(attempt, second.leg, secondUp);
    }
    const gone = await this.bridge(attempt, first.leg, second.leg);
    if (gone) {
      const survivor = gone === first.leg ? second.leg : first.leg;
      await this.dismissWaitingLeg(attempt, survivor);
      return this.attemptFailed(attempt, gone.hangupCause ?? 'UNKNOWN', gone.role);
    }
    return true;
  }

  /**
   * Dials a leg, or picks up a leg that an earlier worker dialled, until answered or failed. A leg
   * is dialled only once the switch's originate budget has room for it (see waitForSwitch).
   */
  private async reachLeg(attempt: Attempt, role: LegRole, signal: AbortSignal): Promise<{ leg: Leg; result: LegResult }> {
    const existing = attempt.legs.find((l) => l.role === role);
    // A reserved leg was never dialled (the switch had no room): it asks the budget again, below.
    if (existing && existing.state !== 'reserved') return { leg: existing, result: await this.resumeLeg(existing, signal) };

    // A switch that is down now would make this leg a phantom that a retry must count as failed;
    // refuse before it is recorded, so the job retries and the attempt is not used up.
    // In a pool, the attempt's switch is picked before its first leg exists, and stored with that
    // leg's UUID (write-ahead): every later command of the attempt goes there.
    // A switch lost before anything was dialled on it is let go of: the reserved leg's room is
    // freed there and asked for on the switch picked now.
    if (this.deps.switches && attempt.switchId !== undefined && attempt.legs.every((l) => l.state === 'reserved')) {
      const current = this.deps.switches.telephonyFor(attempt.switchId);
      if (!current?.status().connected) {
        for (const l of attempt.legs) await this.releaseSlot(l);
        delete attempt.switchId;
      }
    }
    if (this.deps.switches && attempt.switchId === undefined) {
      const picked = await this.deps.switches.pick();
      if (picked === undefined) throw new CrosslineError('SWITCH_UNAVAILABLE', 'no switch of the pool is connected and not drained');
      attempt.switchId = picked;
    }
    if (!this.telephony.status().connected) throw new CrosslineError('SWITCH_UNAVAILABLE');
    const { callee, caller } = this.callback.request;
    // A call center's numbers are dialled in turn from one attempt to the next; a kept place is its queue.
    const queue = role === 'callee' ? queueEndpointOf(this.callback, this.deps.clock().getTime()) : undefined;
    const party = role === 'callee' ? { ...callee, endpoint: queue ?? calleeEndpointFor(callee, attempt.number) } : caller;
    // The first leg asks the switch's budget for room for the whole call (its own session and the
    // other party's, which is dialled later): a second leg that had to wait for room while the first
    // party holds could wait for ever, each call holding what the others need.
    let gate = gateOf(this.deps, attempt);
    const gated = gate !== undefined && attempt.legs.every((l) => l.role === role || l.state === 'ended');
    let leg = existing;
    if (!leg) {
      leg = { role, endpoint: endpointText(party.endpoint), uuid: randomUUID(), state: 'reserved', startedAt: this.now() };
      attempt.legs.push(leg);
      // Stored before its room is asked for: a successor asks again for the same UUID (no slot leaks).
      if (gated) await this.commit();
    }
    let refusals = 0;
    const tried = new Set<string>();
    for (;;) {
      const decision = gated && gate ? await gate.acquire(leg.uuid) : ({ granted: true } as const);
      if (!decision.granted) {
        if (gated && (await this.moveToRoomierSwitch(attempt, tried))) {
          gate = gateOf(this.deps, attempt);
          continue;
        }
        if ((await this.waitForSwitch(attempt, leg, decision.reason, decision.retryInMs, signal)) === 'retry') continue;
        return { leg, result: { outcome: 'failed', cause: 'ORIGINATOR_CANCEL' } };
      }
      leg.state = 'dialing';
      leg.startedAt = this.now();
      // The UUID is stored before the originate is sent: a successor asks the switch about it instead of redialling.
      const dialing = role === 'callee' ? 'calling-callee' : 'calling-caller';
      if (this.callback.status === dialing) this.note('leg-dialing', { role, uuid: leg.uuid });
      else this.move(dialing, 'leg-dialing', { role, uuid: leg.uuid });
      await this.commit();
      this.throwIfCanceled();

      const result = await this.dialLeg(leg, party.endpoint, signal);
      if (result !== 'refused' || ++refusals > MAX_SWITCH_REFUSALS) {
        const outcome: LegResult = result === 'refused' ? { outcome: 'failed', cause: 'DESTINATION_OUT_OF_ORDER' } : result;
        await this.settleLeg(leg, outcome);
        return { leg, result: outcome };
      }
      // The switch made no channel: the same leg, under a new UUID (the refused one may still have facts), waits its turn.
      Object.assign(leg, { uuid: randomUUID(), state: 'reserved' });
      if ((await this.waitForSwitch(attempt, leg, 'SWITCH_REFUSED', SWITCH_REFUSAL_RETRY_MS, signal)) === 'gone') {
        return { leg, result: { outcome: 'failed', cause: 'ORIGINATOR_CANCEL' } };
      }
    }
  }

  /**
   * In a pool, a first leg (nothing of the attempt dialled yet) that its switch refused asks the
   * next switch with room before it waits: two workers that picked the same switch for its last
   * room get one grant between them (the gate's claim is one Lua script), and the other is placed
   * elsewhere. The new switch is saved before its room is asked for (write-ahead, as the first
   * pick). False when there is no other switch with room: the leg then waits on its own switch.
   */
  private async moveToRoomierSwitch(attempt: Attempt, tried: Set<string>): Promise<boolean> {
    const { switches } = this.deps;
    if (!switches || attempt.switchId === undefined || !attempt.legs.every((l) => l.state === 'reserved')) return false;
    tried.add(attempt.switchId);
    const next = await switches.pick({ exclude: tried, withRoom: true });
    if (next === undefined) return false;
    this.log.debug({ from: attempt.switchId, to: next }, 'switch full; the first leg asks another');
    tried.add(next);
    attempt.switchId = next;
    await this.commit();
    return true;
  }

  /**
   * The switch has no room for `leg` now. Recorded as `waiting-for-switch` (the reason in
   * `detail`, each reason once per leg), and no attempt is used. The first leg of an attempt waits outside
   * the worker: the job sleeps (SwitchCapacityWait) and its wake-up finds the leg reserved and asks
   * again. A second leg, whose party is already on the line, waits here; 'gone' when that party
   * hung up meanwhile (the reserved leg is then dropped: it never existed).
   */
  private async waitForSwitch(attempt: Attempt, leg: Leg, reason: SwitchWaitReason, retryInMs: number, signal: AbortSignal): Promise<'retry' | 'gone'> {
    const alone = attempt.legs.every((l) => l === leg || l.state === 'ended');
    // Each reason once per leg: a leg that waits long is not a timeline of its retries.
    if (!this.callback.timeline.some((e) => e.event === 'waiting-for-switch' && e.uuid === leg.uuid && e.detail === reason)) {
      // A first leg the switch refused had been announced as dialling: it is back in the queue.
      if (alone && (this.callback.status === 'calling-callee' || this.callback.status === 'calling-caller')) {
        this.move('queued', 'waiting-for-switch', { role: leg.role, uuid: leg.uuid, detail: reason });
      } else {
        this.note('waiting-for-switch', { role: leg.role, uuid: leg.uuid, detail: reason });
      }
      await this.commit();
    }
    this.log.info({ role: leg.role, reason, retryInMs }, 'leg waits for the switch');
    if (alone) throw new SwitchCapacityWait(retryInMs);
    try {
      await sleep(retryInMs, undefined, { signal });
      return 'retry';
    } catch {
      this.throwIfCanceled();
      attempt.legs.splice(attempt.legs.indexOf(leg), 1);
      return 'gone';
    }
  }

  /**
   * Sends the originate and follows the leg until it is answered or fails. A reply that does not
   * come in time (SWITCH_TIMEOUT, or the connection lost after sending) does not mean the originate
   * was lost: the leg is followed by its UUID and only the switch's word on it counts, so a slow
   * switch uses up no attempt. 'refused' when the switch refused to create the channel at once.
   */
  private async dialLeg(leg: Leg, endpoint: Endpoint | QueueEndpoint, signal: AbortSignal): Promise<LegResult | 'refused'> {
    const sentAt = this.deps.clock().getTime();
    let result: LegResult;
    try {
      result = await this.telephony.dial(this.dialRequest(leg, leg.role, endpoint), signal);
    } catch (err) {
      if (!isCrosslineError(err) || (err.code !== 'SWITCH_TIMEOUT' && err.code !== 'SWITCH_UNAVAILABLE')) {
        await this.releaseSlot(leg);
        throw err;
      }
      this.log.warn({ err, uuid: leg.uuid }, 'the originate was not acknowledged in time; following the leg by its UUID');
      result = await this.telephony.awaitAnswer(leg.uuid, this.callback.request.ringTimeoutSec * 1000 + RESUME_RING_SLACK_MS, signal);
    }
    if (result.outcome === 'answered') return result;
    await this.releaseSlot(leg);
    const atOnce = this.deps.clock().getTime() - sentAt < REFUSED_AT_ONCE_MS;
    return result.cause === 'DESTINATION_OUT_OF_ORDER' && atOnce && !signal.aborted ? 'refused' : result;
  }

  /** Frees the leg's slot in the switch's budget (the call-end listener frees it too when the leg ends). */
  private async releaseSlot(leg: Leg): Promise<void> {
    const attempt = this.callback.attempts.find((a) => a.legs.includes(leg));
    await gateOf(this.deps, attempt)?.release(leg.uuid).catch((err: unknown) => this.log.warn({ err, uuid: leg.uuid }, 'switch slot not released; it lapses by itself'));
  }

  private dialRequest(leg: Leg, role: LegRole, endpoint: Endpoint | QueueEndpoint): DialRequest {
    const { request } = this.callback;
    // A queue member shows the agent the customer's own number (CC-Member-CID-Number).
    const customer = endpoint.kind === 'queue' && request.caller.endpoint.kind === 'number' ? request.caller.endpoint.e164 : undefined;
    const callerIdNumber = customer ?? request.callerId ?? this.deps.defaultCallerId;
    // Each party sees the other's name, so the phone shows who the call is for.
    const callerIdName = (role === 'callee' ? request.caller.name : request.callee.name) ?? 'Crossline';
    return {
      uuid: leg.uuid,
      endpoint,
      ...(callerIdNumber !== undefined ? { callerIdNumber } : {}),
      callerIdName,
      ringTimeoutSec: request.ringTimeoutSec,
      // crossline_callback_id, crossline_role, crossline_attempt on the switch.
      tags: { callback_id: this.callback.id, role, attempt: String(this.attemptNumber) },
    };
  }

  private async resumeLeg(leg: Leg, signal: AbortSignal): Promise<LegResult> {
    const { telephony } = this;
    if (leg.state === 'ended') return { outcome: 'failed', cause: leg.hangupCause ?? 'UNKNOWN' };
    if (leg.state === 'answered') {
      const state = await telephony.channelState(leg.uuid);
      if (state === 'answered') return { outcome: 'answered' };
      return this.endedUnwatched(leg);
    }
    const ringMs = this.callback.request.ringTimeoutSec * 1000;
    const remaining = Date.parse(leg.startedAt) + ringMs + RESUME_RING_SLACK_MS - this.deps.clock().getTime();
    const result = await telephony.awaitAnswer(leg.uuid, Math.max(remaining, 1_000), signal);
    // Gone before this worker heard anything: the switch's CDR says whether it answered, and why it ended.
    if (result.outcome === 'failed' && result.cause === 'UNKNOWN') return this.endedUnwatched(leg);
    await this.settleLeg(leg, result);
    return result;
  }

  /** A leg found gone that nobody heard end: recorded from its CDR when the switch sent one, else UNKNOWN. */
  private async endedUnwatched(leg: Leg): Promise<LegResult> {
    const facts = await factsOf(this.deps, leg.uuid);
    const cause: HangupCause = facts ? parseHangupCause(facts.hangupCause) : 'UNKNOWN';
    this.applyFinding(leg, { uuid: leg.uuid, kind: 'ended', answered: facts?.answered ?? leg.state === 'answered', cause, source: facts ? 'cdr' : 'unknown', ...(facts ? { facts } : {}) });
    await this.commit();
    return { outcome: 'failed', cause };
  }

  /** Records how a dialling leg came out. */
  private async settleLeg(leg: Leg, result: LegResult): Promise<void> {
    if (leg.state !== 'dialing') return;
    this.throwIfCanceled();
    if (result.outcome === 'failed') return this.endLeg(leg, result.cause, 'leg-failed');
    leg.state = 'answered';
    leg.answeredAt = this.now();
    // A leg with a person check counts as answered only once it passed (checkPerson).
    const checked = this.callback.request.humanCheck?.[leg.role] !== undefined;
    if (leg.role === 'callee' && keepsPlace(this.callback)) {
      // The queue took the leg: nobody is on it until an agent picks it up (holdPlace).
      this.note('leg-answered', { role: leg.role, uuid: leg.uuid, detail: 'answered into the queue' });
      await this.commit();
      return;
    }
    if (leg.role === 'callee' && !checked) this.move('callee-answered', 'leg-answered', { role: leg.role, uuid: leg.uuid });
    else this.note('leg-answered', { role: leg.role, uuid: leg.uuid, ...(checked ? { detail: 'answered; checking that a person is there' } : {}) });
    // A status change (or a person check to come) is saved now; a bare note rides on the next
    // save, which every step makes before it sends the switch anything (a successor asks the
    // switch about a leg it finds dialling, so an unsaved answer is found again).
    if (this.pending.length > 0 || checked) await this.commit();
  }

  private async endLeg(leg: Leg, cause: HangupCause, event: 'leg-failed' | 'leg-ended', detail?: string): Promise<void> {
    if (leg.state === 'ended') return;
    leg.state = 'ended';
    leg.endedAt = this.now();
    leg.hangupCause = cause;
    this.note(event, { role: leg.role, uuid: leg.uuid, hangupCause: cause, ...(detail !== undefined ? { detail } : {}) });
    await this.commit();
  }

  /**
   * Dials the second leg while the first waits on the line. If the first hangs up meanwhile, the
   * second dial is called off: nobody would be there to talk to.
   */
  private async reachSecondLeg(attempt: Attempt, role: LegRole, first: Leg): Promise<{ leg: Leg; result: LegResult } | 'first-hung-up'> {
    const firstGone = new AbortController();
    const stopWatching = new AbortController();
    let firstCause: HangupCause | undefined;
    const watcher = this.telephony
      .awaitHangup(first.uuid, AbortSignal.any([stopWatching.signal, this.cancel.signal]))
      .then((cause) => {
        firstCause = cause;
        firstGone.abort();
      })
      .catch(() => undefined);
    try {
      const second = await this.reachLeg(attempt, role, AbortSignal.any([this.cancel.signal, firstGone.signal]));
      if (firstCause === undefined) return second;
      await this.endLeg(first, firstCause, 'leg-ended');
      if (second.result.outcome === 'answered') await this.hangupLeg(second.leg, 'NORMAL_CLEARING');
      return 'first-hung-up';
    } finally {
      stopWatching.abort();
      await watcher;
    }
  }

  /**
   * What a freshly answered leg goes through, each at most once per attempt: the person check
   * (answering-machine detection, press-1 confirmation), the announcement, then the IVR sequence
   * (callee only). See AfterAnswer.
   */
  private async afterAnswer(attempt: Attempt, leg: Leg): Promise<AfterAnswer> {
    const checked = await this.checkPerson(attempt, leg);
    if (checked !== 'up') return checked;
    const { request } = this.callback;
    const text = leg.role === 'callee' ? request.announce.callee : request.announce.caller;
    if (text !== undefined && !this.announced(attempt, leg.role, 'announcement-played')) {
      await this.announce(leg, text, 'announcement-played');
    }
    const steps = leg.role === 'callee' ? ivrStepsOf(request.callee) : undefined;
    if (steps === undefined) return 'up';
    return walkIvr(this.stepContext(attempt, leg), steps, request.values ?? {}, request.callee.ivr === undefined);
  }

  /**
   * The leg's person check, when the request (or its call center) asks for one: a machine is
   * detected first (a greeting is over by the time a press-1 prompt would end), then the party
   * must press 1. Only a leg that passes counts as answered (callee-answered).
   */
  private async checkPerson(attempt: Attempt, leg: Leg): Promise<AfterAnswer> {
    const check = this.callback.request.humanCheck?.[leg.role];
    if (!check) return 'up';
    const ctx = this.stepContext(attempt, leg);
    const machine = check.machineDetection;
    if (machine) {
      const verdict = await detectMachine(ctx, machine);
      if (verdict === 'hung-up') return 'hung-up';
      if (verdict === 'machine') {
        if (machine.onMachine !== 'leave-message' || machine.message === undefined) return 'not-a-person';
        const left = await leaveMessage(ctx, machine.message);
        return left === 'left' ? 'message-left' : left === 'hung-up' ? 'hung-up' : 'not-a-person';
      }
    }
    if (check.confirm) {
      const confirmed = await confirmParty(ctx, check.confirm);
      if (confirmed !== 'confirmed') return confirmed === 'hung-up' ? 'hung-up' : 'not-a-person';
    }
    if (leg.role === 'callee' && this.callback.status === 'calling-callee') {
      this.move('callee-answered', 'leg-answered', { role: leg.role, uuid: leg.uuid, detail: 'a person is there' });
      await this.commit();
    }
    return 'up';
  }

  /**
   * A leg that came up but not to a person (or hung up during its checks or IVR): the attempt
   * fails. A machine or a party that did not press 1 counts as NO_ANSWER, retried per policy; a
   * message left on a machine ends the callback (failed, NO_ANSWER, not retried: the party has been told).
   */
  private async notReached(attempt: Attempt, leg: Leg, outcome: Exclude<AfterAnswer, 'up'>): Promise<false> {
    if (outcome === 'hung-up') return this.attemptFailed(attempt, leg.hangupCause ?? 'UNKNOWN', leg.role);
    await this.hangupLeg(leg, 'NORMAL_CLEARING');
    if (outcome === 'not-a-person') return this.attemptFailed(attempt, 'NO_ANSWER', leg.role);
    for (const other of attempt.legs) if (other !== leg) await this.hangupLeg(other, 'NORMAL_CLEARING');
    attempt.endedAt = this.now();
    this.note('attempt-failed', { role: leg.role, hangupCause: 'NO_ANSWER', detail: 'an answering machine took a message' });
    this.callback.failureCause = 'NO_ANSWER';
    delete this.callback.nextAttemptAt;
    this.move('failed', 'failed', { role: leg.role, hangupCause: 'NO_ANSWER', detail: 'an answering machine answered; the message was left' });
    await this.commit();
    return false;
  }

  /**
   * Keep-your-place: holds the call-center leg's place in its queue until an agent picks it up, or
   * it leaves the queue (the leg recorded ended, and the cause the attempt fails with). Still in
   * line, the job sleeps (QueuePlaceWait) and holds no worker.
   */
  private async holdPlace(attempt: Attempt, leg: Leg): Promise<{ kind: 'picked-up'; agent: string } | { kind: 'left'; cause: HangupCause }> {
    const config = this.deps.keepPlace;
    if (!config) {
      this.log.error('keep-your-place callback but no queue watcher is configured');
      await this.hangupLeg(leg, 'NORMAL_CLEARING');
      return { kind: 'left', cause: 'NORMAL_TEMPORARY_FAILURE' };
    }
    const outcome = await holdPlace(this.stepContext(attempt, leg), config, attempt.switchId, async (detail) => {
      this.move('waiting-for-agent', 'queue-joined', { role: leg.role, uuid: leg.uuid, detail });
      await this.commit();
    });
    if (outcome.kind === 'wait') throw new QueuePlaceWait(outcome.wakeInMs);
    return outcome;
  }

  /**
   * The agent who picked the place up hears "connecting you to <caller>" (at most once, written
   * ahead as every announcement); resolves when it has been said. Never throws: the call goes on
   * without it.
   */
  private async tellAgent(attempt: Attempt, leg: Leg): Promise<{ said: Promise<void> } | undefined> {
    if (this.announced(attempt, leg.role, 'announcement-played')) return undefined;
    // Only what speak may say: a display name may hold characters the TTS grammar refuses.
    const name = this.callback.request.caller.name?.replace(/[^\p{L}\p{M}\p{N} .,'-]/gu, ' ').trim() || 'your caller';
    const text = (this.deps.messages.agentConnecting ?? 'Connecting you to {caller}.').replace('{caller}', name);
    // Started before the caller is dialled; its outcome is recorded once the caller's leg is settled.
    this.note('announcement-started', { role: leg.role, uuid: leg.uuid, detail: 'announcement' });
    await this.commit();
    const said = this.telephony.play(leg.uuid, { kind: 'speak', text }, this.cancel.signal).then(
      (result) => {
        if (result.outcome === 'played') this.note('announcement-played', { role: leg.role, uuid: leg.uuid, detail: 'to the agent' });
        else if (result.outcome === 'failed') this.note('announcement-failed', { role: leg.role, uuid: leg.uuid, detail: `announcement: ${result.reason}` });
      },
      (err: unknown) => {
        this.log.warn({ err }, 'agent announcement not played');
      },
    );    return { said };
  }

  /** The context the call steps (attempt/steps) run in, for one leg of this attempt. */
  private stepContext(attempt: Attempt, leg: Leg): StepContext {
    return {
      callback: this.callback,
      attempt,
      leg,
      telephony: this.telephony,
      signal: this.cancel.signal,
      log: this.log,
      now: () => this.deps.clock().getTime(),
      note: (event, detail) => this.note(event, { role: leg.role, uuid: leg.uuid, ...(detail !== undefined ? { detail } : {}) }),
      commit: () => this.commit(),
      throwIfCanceled: () => this.throwIfCanceled(),
      whileUp: (ms) => this.whileUp(leg, ms),
      legEnded: (cause, detail) => this.endLeg(leg, cause, 'leg-ended', detail),
      hangup: (cause) => this.hangupLeg(leg, cause),
    };
  }

  /**
   * Speaks `text` to a leg and records how it went: `played`, or `announcement-failed` with the
   * switch's reason (the call goes on without it, but not silently). A leg that hung up meanwhile
   * records nothing here; the step that waits on it sees the hangup.
   */
  private async announce(leg: Leg, text: string, played: 'announcement-played' | 'caller-no-answer-message-played'): Promise<void> {
    const what = announcementName(played);
    // Written ahead. The switch keeps no trace of a playback once it is over, so a successor that
    // finds this without an outcome does not play it again: an announcement is played at most once.
    this.note('announcement-started', { role: leg.role, uuid: leg.uuid, detail: what });
    await this.commit();
    const result = await this.telephony.play(leg.uuid, { kind: 'speak', text }, this.cancel.signal);
    this.throwIfCanceled();
    if (result.outcome === 'hung-up') return;
    if (result.outcome === 'failed') {
      this.log.warn({ role: leg.role, uuid: leg.uuid, reason: result.reason }, 'announcement not played');
      this.note('announcement-failed', { role: leg.role, uuid: leg.uuid, detail: `${what}: ${result.reason}` });
    } else {
      this.note(played, { role: leg.role, uuid: leg.uuid });
    }
    await this.commit();
  }

  /** Waits `ms` while the leg stays up; resolves with its hangup cause if it hangs up first. */
  private async whileUp(leg: Leg, ms: number): Promise<HangupCause | undefined> {
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, this.cancel.signal]);
    const elapsed = new Promise<undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve(undefined);
      }, { once: true });
    });
    // A failed watch (the switch connection is down) leaves the timer to decide; the next step will notice.
    const hungUp = this.telephony.awaitHangup(leg.uuid, signal).catch(() => new Promise<undefined>(() => undefined));
    try {
      return await Promise.race([elapsed, hungUp]);
    } finally {
      stop.abort();
    }
  }

  /** The other party never came (or left before the bridge): tell the one waiting so, then hang it up. */
  private async dismissWaitingLeg(attempt: Attempt, first: Leg): Promise<void> {
    if (first.state === 'ended') return;
    // The callee waiting hears that the caller did not come; a caller waiting, that the callee could not be reached.
    const text = first.role === 'callee' ? this.deps.messages.callerNoAnswer : this.deps.messages.calleeUnavailable;
    if (!this.announced(attempt, first.role, 'caller-no-answer-message-played')) await this.announce(first, text, 'caller-no-answer-message-played');
    await this.hangupLeg(first, 'NORMAL_CLEARING');
  }

  /**
   * Bridges the two legs. A party can hang up between answering and the bridge; the switch then
   * refuses it, and that leg is returned (ended, with its cause) instead of an error being thrown.
   */
  private async bridge(attempt: Attempt, a: Leg, b: Leg): Promise<Leg | undefined> {
    if (this.done(attempt, 'bridged')) return undefined;
    this.throwIfCanceled();
    const callee = a.role === 'callee' ? a : b;
    const caller = a.role === 'caller' ? a : b;
    // Written ahead: a successor that finds it without `bridged` asks the switch whether the parties were joined.
    this.note('bridge-requested', { uuid: caller.uuid, detail: `${callee.uuid} <-> ${caller.uuid}` });
    await this.commit();
    try {
      await this.telephony.bridge(callee.uuid, caller.uuid);
    } catch (err) {
      const gone = await this.legThatLeft([callee, caller]);
      if (!gone) throw err;
      return gone;
    }
    this.move('bridged', 'bridged', { uuid: caller.uuid, detail: `${callee.uuid} <-> ${caller.uuid}` });
    await this.commit();
    return undefined;
  }

  /** The first of `legs` the switch no longer has, recorded as ended with the cause the switch gave. */
  private async legThatLeft(legs: Leg[]): Promise<Leg | undefined> {
    for (const leg of legs) {
      if ((await this.telephony.channelState(leg.uuid)) !== 'absent') continue;
      await this.endLeg(leg, await this.telephony.awaitHangup(leg.uuid, this.cancel.signal), 'leg-ended');
      return leg;
    }
    return undefined;
  }

  private async attemptFailed(attempt: Attempt, cause: HangupCause, role: LegRole): Promise<false> {
    attempt.endedAt = this.now();
    this.note('attempt-failed', { role, hangupCause: cause });
    const { maxAttempts, delaySeconds } = this.callback.request.retry;
    if (NOT_RETRYABLE.has(cause) || attempt.number >= maxAttempts) {
      this.callback.failureCause = cause;
      this.move('failed', 'failed', { role, hangupCause: cause });
      await this.commit();
      return false;
    }
    // A retry that would fall outside the call center's hours (or the caller's window) moves to the next opening.
    const dueMs = await retryDueAt(this.deps, this.callback, this.deps.clock().getTime() + delaySeconds * 1000);
    const delayMs = Math.max(0, dueMs - this.deps.clock().getTime());
    this.callback.nextAttemptAt = new Date(dueMs).toISOString();
    this.move(delayMs > 0 ? 'scheduled' : 'queued', 'retry-scheduled', { detail: `attempt ${attempt.number + 1} at ${this.callback.nextAttemptAt}` });
    // Saved first, queued second: a crash in between is mended by ensureFollowUp when this job runs again.
    await this.commit();
    await this.deps.scheduler.enqueue(this.callback.id, attempt.number + 1, delayMs);
    return false;
  }

  private async finishCanceled(attempt: Attempt | undefined): Promise<void> {
    if (isFinal(this.callback.status)) return;
    this.note('cancel-requested', {});
    if (attempt) {
      for (const leg of attempt.legs) await this.hangupLeg(leg, 'ORIGINATOR_CANCEL');
      attempt.endedAt ??= this.now();
    }
    delete this.callback.nextAttemptAt;
    this.move('canceled', 'canceled', {});
    await this.commit();
  }

  private async hangupLeg(leg: Leg, cause: HangupCause): Promise<void> {
    if (leg.state === 'ended') return;
    // Written ahead: a successor that finds the leg gone knows its end was ours, not the party's.
    this.note('hangup-requested', { role: leg.role, uuid: leg.uuid, hangupCause: cause });
    await this.commit();
    await this.telephony.hangup(leg.uuid, cause);
    await this.endLeg(leg, cause, 'leg-ended');
  }

  /**
   * Whether an announcement was played, failed, or started (by a worker that may have died while
   * the switch played it: not repeated).
   */
  private announced(attempt: Attempt, role: LegRole, played: 'announcement-played' | 'caller-no-answer-message-played'): boolean {
    const what = announcementName(played);
    return this.callback.timeline.some(
      (e) =>
        e.attempt === attempt.number &&
        e.role === role &&
        (e.event === played || ((e.event === 'announcement-failed' || e.event === 'announcement-started') && e.detail?.startsWith(what) === true)),
    );
  }

  /** Whether this job took the attempt over from a worker that stopped (it just recorded `resumed`). */
  private tookOver(attempt: Attempt): boolean {
    const last = this.callback.timeline.at(-1);
    return last?.event === 'resumed' && last.attempt === attempt.number && attempt.legs.length > 0;
  }

  /**
   * A takeover: asks the switch about every leg the store has dialling or answered (and, once a
   * leg is gone, reads the switch's CDR of it), lets {@link decideResume} apply the resume rules,
   * records what was learnt, and acts on the decision. True once bridged, as drive().
   */
  private async resume(attempt: Attempt): Promise<boolean> {
    const bridgeAsked = this.done(attempt, 'bridge-requested');
    const evidence = new Map<string, LegEvidence>();
    for (const leg of attempt.legs) {
      if (leg.state !== 'dialing' && leg.state !== 'answered') continue;
      const state = await this.telephony.channelState(leg.uuid);
      if (state === 'absent') {
        // A leg that answered surely existed: its CDR is worth waiting for. One only dialled may
        // never have been created; if it was, resumeLeg reads its CDR once it has made sure.
        const facts = leg.state === 'answered' ? await factsOf(this.deps, leg.uuid) : await this.deps.legFacts.get(leg.uuid);
        evidence.set(leg.uuid, { state, ...(facts ? { facts } : {}) });
      } else {
        const bridgedTo = bridgeAsked ? await this.telephony.bridgedTo(leg.uuid) : undefined;
        evidence.set(leg.uuid, { state, ...(bridgedTo ? { bridgedTo } : {}) });
      }
    }
    const decision = decideResume(attempt, this.callback.timeline, evidence);
    this.log.info({ decision: decision.kind, findings: decision.findings.length }, 'resume decided from the switch and its CDRs');
    if (decision.kind === 'conversation') {
      const talked = decision.talkedSec === undefined ? '' : `; talked ${decision.talkedSec} s (switch CDR)`;
      const caller = attempt.legs.find((l) => l.role === 'caller');
      this.move('bridged', 'bridged', { ...(caller ? { uuid: caller.uuid } : {}), detail: `found bridged by the switch after a takeover${talked}` });
      this.record(attempt, decision);
      await this.commit();
      return true;
    }
    this.record(attempt, decision);
    if (decision.findings.length > 0) await this.commit();
    if (decision.kind === 'carry-on') return this.drive(attempt);
    const failed = attempt.legs.find((l) => l.role === decision.role);
    for (const leg of attempt.legs) {
      // Only legs the switch may have: a reserved one was never dialled.
      if (leg === failed || (leg.state !== 'dialing' && leg.state !== 'answered')) continue;
      if (decision.tellWaiting) await this.dismissWaitingLeg(attempt, leg);
      else await this.hangupLeg(leg, 'NORMAL_CLEARING');
    }
    return this.attemptFailed(attempt, decision.cause, decision.role);
  }

  /** Records what a takeover learnt: a leg answered, or ended (with its CDR's cause and times), while no worker watched. */
  private record(attempt: Attempt, decision: ResumeDecision): void {
    for (const finding of decision.findings) {
      const leg = attempt.legs.find((l) => l.uuid === finding.uuid);
      if (leg) this.applyFinding(leg, finding);
    }
  }

  private applyFinding(leg: Leg, finding: LegFinding): void {
    const { role, uuid } = leg;
    if (finding.kind === 'answered' || (finding.answered && leg.state === 'dialing')) {
      leg.state = 'answered';
      leg.answeredAt = finding.kind === 'ended' ? (finding.facts?.answeredAt ?? this.now()) : this.now();
      const detail = finding.kind === 'ended' ? 'while no worker watched (switch CDR)' : 'while no worker watched';
      if (role === 'callee' && this.callback.status === 'calling-callee') this.move('callee-answered', 'leg-answered', { role, uuid, detail });
      else this.note('leg-answered', { role, uuid, detail });
    }
    if (finding.kind !== 'ended') return;
    const wasAnswered = leg.state === 'answered';
    leg.state = 'ended';
    leg.endedAt = finding.facts?.endedAt ?? this.now();
    leg.hangupCause = finding.cause;
    const how = finding.source === 'cdr' ? 'switch CDR' : finding.source === 'our-hangup' ? 'the hang-up asked for' : 'nobody heard it; no CDR';
    this.note(wasAnswered ? 'leg-ended' : 'leg-failed', { role, uuid, hangupCause: finding.cause, detail: `ended while no worker watched (${how})` });
  }

  private done(attempt: Attempt, event: TimelineEvent, role?: LegRole): boolean {
    return this.callback.timeline.some((e) => e.attempt === attempt.number && e.event === event && (role === undefined || e.role === role));
  }

  private throwIfCanceled(): void {
    if (this.cancel.signal.aborted) throw new CanceledError();
  }

  private now(): string {
    return this.deps.clock().toISOString();
  }

  private note(event: TimelineEvent, fields: Omit<TimelineEntry, 'at' | 'event' | 'attempt'>): void {
    record(this.callback, { event, attempt: this.attemptNumber, ...fields }, this.deps.clock());
  }

  private move(to: CallbackStatus, event: TimelineEvent, fields: Omit<TimelineEntry, 'at' | 'event' | 'attempt' | 'status'>): void {
    this.pending.push(transition(this.callback, to, { event, attempt: this.attemptNumber, ...fields }, this.deps.clock()));
  }

  /** Saves, then tells the notifier about each status change made since the last save. */
  private async commit(): Promise<void> {
    await this.deps.repository.save(this.callback, this.storedStatus);
    this.storedStatus = this.callback.status;
    const changes = this.pending;
    this.pending = [];
    for (const entry of changes) {
      // One line per callback at info (its final status); the steps on the way at debug.
      this.log[entry.status !== undefined && isFinal(entry.status) ? 'info' : 'debug']({ status: entry.status, event: entry.event, hangupCause: entry.hangupCause }, 'callback status changed');
      await notify(this.deps, this.callback, entry);
    }
  }
}

const announcementName = (played: 'announcement-played' | 'caller-no-answer-message-played'): string =>
  played === 'announcement-played' ? 'announcement' : 'caller-no-answer message';
