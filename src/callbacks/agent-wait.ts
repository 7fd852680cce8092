/**
 * Ring the caller when an agent is near: a callback whose request says `maxWaitSeconds` is held
 * before its attempt starts until the call center's expected wait is at or below it. The hold is a
 * wait that leaves the worker (the job sleeps, step `agent`) and looks again at each wake-up; no
 * leg exists meanwhile. A queue that cannot be read keeps the callback waiting: nothing is dialled
 * on a provider's error. A hold longer than the configured limit fails the callback.
 */
import type { Logger } from 'pino';
import { isCrosslineError } from '../errors.js';
import type { CallbackNotifier, CallbackRepository, CancelSignal } from './ports.js';
import { isFinal, record, transition } from './state-machine.js';
import type { Callback, CallbackStatus, TimelineEntry } from './types.js';
import { DONE, waitFor, type AttemptOutcome } from './wait.js';

/** What the hold asks: the expected wait of the callback's call center now. */
export interface AgentNearness {
  /**
   * `{ expectedWaitSeconds }` (undefined when no agent is staffed: the wait is unbounded), or
   * 'no-queue' when the callee has no queue to wait for. Throws when the queue cannot be read.
   */
  expectedWait(callback: Callback): Promise<{ expectedWaitSeconds?: number } | 'no-queue'>;
}

export interface AgentWaitDeps {
  repository: CallbackRepository;
  notifier: CallbackNotifier;
  cancelSignal: CancelSignal;
  agentWait?: {
    nearness: AgentNearness;
    /** Shortest and longest sleep between two looks, ms. */
    recheckMinMs: number;
    recheckMaxMs: number;
    /** Longest hold before the callback fails (ALLOTTED_TIMEOUT), ms. */
    maxHoldMs: number;
  };
  clock: () => Date;
  logger: Logger;
}

/**
 * Holds `callback` before attempt `attemptNumber` while its call center's expected wait is above
 * the request's maxWaitSeconds. Returns the outcome of the hold (sleep again, or done when it failed
 * the callback), or undefined when the attempt may go ahead now.
 */
export async function holdForAgent(deps: AgentWaitDeps, callback: Callback, attemptNumber: number): Promise<AttemptOutcome | undefined> {
  const maxWait = callback.request.maxWaitSec;
  const config = deps.agentWait;
  if (maxWait === undefined || !config || isFinal(callback.status)) return undefined;
  // Only before the attempt starts; a cancel is the attempt's to carry out.
  if (callback.attempts.some((a) => a.number === attemptNumber)) return undefined;
  if (await deps.cancelSignal.isRequested(callback.id)) return undefined;
  const now = deps.clock();
  const log = deps.logger.child({ callbackId: callback.id, attempt: attemptNumber });
  const previous = callback.status;
  const changes: TimelineEntry[] = [];

  let expected: number | undefined;
  try {
    const answer = await config.nearness.expectedWait(callback);
    if (answer === 'no-queue') return undefined;
    expected = answer.expectedWaitSeconds;
  } catch (err) {
    if (!isCrosslineError(err)) throw err;
    if (callback.request.callee.callCenter?.callOnQueueError) {
      // The center's policy: a provider error does not hold the call back.
      log.warn({ code: err.code, reason: err.message }, 'queue not read; calling anyway, as the call center asks');
      const detail = `${err.message}; calling anyway (the call center's onQueueError policy)`;
      if (callback.status === 'waiting-for-agent') changes.push(transition(callback, 'queued', { event: 'queue-lookup-failed', attempt: attemptNumber, detail }, now));
      else record(callback, { event: 'queue-lookup-failed', attempt: attemptNumber, detail }, now);
      await finish(deps, callback, previous, changes, DONE);
      return undefined;
    }
    log.warn({ code: err.code, reason: err.message }, 'queue not read; the callback keeps waiting for an agent');
    const last = callback.timeline.at(-1);
    if (!(last?.event === 'queue-lookup-failed' && last.detail === err.message)) {
      if (callback.status !== 'waiting-for-agent') changes.push(transition(callback, 'waiting-for-agent', { event: 'queue-lookup-failed', attempt: attemptNumber, detail: err.message }, now));
      else record(callback, { event: 'queue-lookup-failed', attempt: attemptNumber, detail: err.message }, now);
    }
    return finish(deps, callback, previous, changes, overLimit(deps, callback, attemptNumber, now) ?? waitFor('agent', config.recheckMaxMs));
  }

  const figures = expected === undefined ? `no agent staffed; at most ${maxWait} s wanted` : `expected wait ${expected} s; at most ${maxWait} s wanted`;
  if (expected !== undefined && expected <= maxWait) {
    if (callback.status === 'waiting-for-agent') changes.push(transition(callback, 'queued', { event: 'agent-near', attempt: attemptNumber, detail: figures }, now));
    else record(callback, { event: 'agent-near', attempt: attemptNumber, detail: figures }, now);
    log.info({ expected, maxWait }, 'agent near: placing the call');
    await finish(deps, callback, previous, changes, DONE);
    return undefined;
  }
  if (callback.status !== 'waiting-for-agent') changes.push(transition(callback, 'waiting-for-agent', { event: 'waiting-for-agent', attempt: attemptNumber, detail: figures }, now));
  // Look again sooner when the wait is close to what the caller accepts.
  const gapMs = expected === undefined ? config.recheckMaxMs : ((expected - maxWait) * 1000) / 2;
  const recheck = Math.min(config.recheckMaxMs, Math.max(config.recheckMinMs, gapMs));
  return finish(deps, callback, previous, changes, overLimit(deps, callback, attemptNumber, now) ?? waitFor('agent', recheck));
}

/** Fails the callback when it has been held longer than the limit; undefined otherwise. */
function overLimit(deps: AgentWaitDeps, callback: Callback, attemptNumber: number, now: Date): AttemptOutcome | undefined {
  const limit = deps.agentWait?.maxHoldMs ?? Number.POSITIVE_INFINITY;
  const since = callback.timeline.find((e) => e.attempt === attemptNumber && (e.event === 'waiting-for-agent' || e.event === 'queue-lookup-failed'));
  if (!since || now.getTime() - Date.parse(since.at) <= limit) return undefined;
  callback.failureCause = 'ALLOTTED_TIMEOUT';
  delete callback.nextAttemptAt;
  transition(callback, 'failed', { event: 'failed', attempt: attemptNumber, detail: `no agent near within ${Math.round(limit / 60_000)} min` }, now);
  return DONE;
}

async function finish(deps: AgentWaitDeps, callback: Callback, previous: CallbackStatus, changes: TimelineEntry[], outcome: AttemptOutcome): Promise<AttemptOutcome> {
  if (callback.status === 'failed') changes.push(callback.timeline.at(-1) as TimelineEntry);
  await deps.repository.save(callback, previous);
  for (const entry of changes) {
    try {
      await deps.notifier.statusChanged(callback, entry);
    } catch (err) {
      deps.logger.warn({ err, callbackId: callback.id, status: entry.status }, 'status notification could not be queued');
    }
  }
  return outcome;
}
