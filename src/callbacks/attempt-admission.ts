/**
 * Before a new attempt of a callback to a call center (or with a caller window) is started: is the
 * center open (and the caller's window), and does the center's pacing let one more in? If not,
 * the callback waits as a step that leaves the worker (wait.ts): `waiting-for-hours` until the
 * next opening (status `scheduled`), `waiting-for-pacing` until its turn (status `queued`). No
 * attempt is used by waiting. The in-progress slot taken here is given back when the attempt
 * ends (releasePacing), or lapses with its lease if every process that could give it back died.
 */
import type { Logger } from 'pino';
import type { AttemptScheduler, CallCenterDirectory, CallCenterPacer, CallbackNotifier, CallbackRepository, CancelSignal } from './ports.js';
import { nextAllowedAt } from './policies/hours.js';
import { schedulesOf } from './policies/schedule.js';
import { isFinal, record, transition } from './state-machine.js';
import type { Callback, TimelineEntry } from './types.js';
import { waitFor, type AttemptOutcome } from './wait.js';

export interface AdmissionDeps {
  repository: CallbackRepository;
  notifier: CallbackNotifier;
  cancelSignal: CancelSignal;
  /** The owners' call centers: hours and pacing are read at every attempt. @defaultValue none: no center is known, only windows apply */
  callCenters?: CallCenterDirectory;
  /** Per-center pacing shared by every worker. @defaultValue none: not paced */
  pacer?: CallCenterPacer;
  clock: () => Date;
  logger: Logger;
}

/** How long an in-progress slot is held without being renewed (a bridged call renews it at each wake-up), ms. */
const LEASE_BEYOND_RINGING_MS = 15 * 60_000;
/** A center that never opens within the horizon is asked again after this long (its hours may change), ms. */
const NEVER_OPEN_RECHECK_MS = 24 * 3_600_000;
/** Opening sooner than this is as good as open (the wake-up's own lateness), ms. */
const OPEN_SLACK_MS = 1_000;

export const pacingLeaseMs = (callback: Callback): number => 2 * callback.request.ringTimeoutSec * 1000 + LEASE_BEYOND_RINGING_MS;

/**
 * undefined when attempt `attemptNumber` may start now (its pacing slot taken); otherwise the wait
 * (then `callback`, as read by the caller, has been saved: it must be read again before more
 * changes). Only a new attempt is checked: one already begun (a takeover, a wait for the switch)
 * goes on.
 */
export async function admitAttempt(
  deps: AdmissionDeps,
  callback: Callback,
  attemptNumber: number,
  /** A further hold checked once the center is open, before a pacing slot is taken (an agent near). */
  beforePacing?: () => Promise<AttemptOutcome | undefined>,
): Promise<AttemptOutcome | undefined> {
  if (isFinal(callback.status)) return undefined;
  const callbackId = callback.id;
  const ref = callback.request.callee.callCenter;
  const { window } = callback.request;
  if (!ref && !window) return undefined;
  if (attemptNumber !== callback.attempts.length + 1) return undefined;
  // A cancel is the attempt's business (it ends the callback without dialling).
  if (await deps.cancelSignal.isRequested(callbackId)) return undefined;
  const center = ref && deps.callCenters ? await deps.callCenters.find(callback.owner, ref.name) : undefined;
  const log = deps.logger.child({ callbackId, attempt: attemptNumber, callCenter: ref?.name });

  const now = deps.clock().getTime();
  const schedules = schedulesOf(center, window);
  if (schedules.length > 0) {
    const next = nextAllowedAt(schedules, now);
    if (next === undefined || next - now > OPEN_SLACK_MS) {
      // Closed: the slot (if a previous wake-up took one) goes back, and the job sleeps until the opening.
      if (center && deps.pacer) await deps.pacer.release(callback.owner, center.name, callbackId);
      const wakeAt = next ?? now + NEVER_OPEN_RECHECK_MS;
      const detail = next === undefined ? 'no opening within the horizon; asking again in 24 h' : `closed; next opening ${new Date(next).toISOString()}`;
      await waitRecorded(deps, callback, attemptNumber, 'scheduled', 'waiting-for-hours', detail, new Date(wakeAt).toISOString());
      log.info({ wakeAt: new Date(wakeAt).toISOString() }, 'callback waits for the call center to open');
      return waitFor('call-center-hours', wakeAt - now);
    }
  }
  const heldBefore = await beforePacing?.();
  if (heldBefore) return heldBefore;
  if (center?.pacing && deps.pacer) {
    const decision = await deps.pacer.acquire(callback.owner, center.name, callbackId, center.pacing, pacingLeaseMs(callback));
    if (!decision.granted) {
      await waitRecorded(deps, callback, attemptNumber, 'queued', 'waiting-for-pacing', decision.reason, undefined);
      log.debug({ reason: decision.reason, ahead: decision.ahead, retryInMs: decision.retryInMs }, 'callback waits for the call center pacing');
      return waitFor('call-center-pacing', decision.retryInMs);
    }
  }
  return undefined;
}

/**
 * Records the wait once per reason (a callback polled a hundred times is not a timeline of its
 * polls), moving it to `status` (`scheduled` with `nextAttemptAt`, or `queued`).
 */
async function waitRecorded(
  deps: AdmissionDeps,
  callback: Callback,
  attemptNumber: number,
  status: 'scheduled' | 'queued',
  event: 'waiting-for-hours' | 'waiting-for-pacing',
  detail: string,
  nextAttemptAt: string | undefined,
): Promise<void> {
  const last = callback.timeline.at(-1);
  // Pacing reasons alternate while a callback moves up the line: the first one stays on record.
  const same = last?.event === event && (event === 'waiting-for-pacing' || last.detail === detail);
  if (same && callback.status === status && callback.nextAttemptAt === nextAttemptAt) return;
  const previous = callback.status;
  if (nextAttemptAt === undefined) delete callback.nextAttemptAt;
  else callback.nextAttemptAt = nextAttemptAt;
  const entry: Omit<TimelineEntry, 'at' | 'status'> = { event, attempt: attemptNumber, detail };
  const changed = previous !== status ? transition(callback, status, entry, deps.clock()) : record(callback, entry, deps.clock());
  await deps.repository.save(callback, previous);
  if (previous === status) return;
  try {
    await deps.notifier.statusChanged(callback, changed);
  } catch (err) {
    deps.logger.warn({ err, callbackId: callback.id }, 'status notification could not be queued');
  }
}

/**
 * Gives back the callback's in-progress slot at its center once no attempt of it is open (ended,
 * failed, canceled, completed): the next callback in line may start. Never throws: a slot not given
 * back lapses with its lease.
 */
export async function releasePacing(deps: Pick<AdmissionDeps, 'repository' | 'pacer' | 'logger'> & { scheduler?: { wake?: AttemptScheduler['wake'] } }, callbackId: string): Promise<void> {
  if (!deps.pacer) return;
  let center: { owner: string; name: string } | undefined;
  try {
    const callback = await deps.repository.get(callbackId);
    const ref = callback?.request.callee.callCenter;
    if (!callback || !ref) return;
    if (!isFinal(callback.status) && callback.attempts.some((a) => a.endedAt === undefined)) return;
    await deps.pacer.release(callback.owner, ref.name, callbackId);
    center = { owner: callback.owner, name: ref.name };
  } catch (err) {
    deps.logger.warn({ err, callbackId }, 'call-center pacing slot not released; it lapses with its lease');
  }
  if (center) await wakeNextInLine(deps, center);
}

/**
 * A slot freed: the callback that has waited longest is woken now rather than at its next look
 * (which may be seconds away for one far back when it last asked). It asks like any waiter: if the
 * originate rate or another worker gets there first, it sleeps again. Never throws.
 */
async function wakeNextInLine(deps: Pick<AdmissionDeps, 'repository' | 'pacer' | 'logger'> & { scheduler?: { wake?: AttemptScheduler['wake'] } }, center: { owner: string; name: string }): Promise<void> {
  const { pacer, scheduler } = deps;
  if (!pacer?.nextInLine || !scheduler?.wake) return;
  try {
    const next = await pacer.nextInLine(center.owner, center.name);
    if (next === undefined) return;
    const waiting = await deps.repository.get(next);
    if (!waiting || isFinal(waiting.status)) return;
    await scheduler.wake(next, waiting.attempts.length + 1);
  } catch (err) {
    deps.logger.debug({ err, center: center.name }, 'next callback in line not woken; it asks at its own time');
  }
}

/** Renews the slot of a live conversation (its job wakes up periodically while the parties talk). */
export async function renewPacing(deps: Pick<AdmissionDeps, 'repository' | 'pacer' | 'logger'>, callbackId: string): Promise<void> {
  if (!deps.pacer) return;
  try {
    const callback = await deps.repository.get(callbackId);
    const ref = callback?.request.callee.callCenter;
    if (!callback || !ref) return;
    await deps.pacer.renew(callback.owner, ref.name, callbackId, pacingLeaseMs(callback));
  } catch (err) {
    deps.logger.warn({ err, callbackId }, 'call-center pacing slot not renewed');
  }
}

/**
 * The time a retry may start: `dueMs` moved to the next opening of the center and the caller
 * window when it falls outside them.
 */
export async function retryDueAt(deps: Pick<AdmissionDeps, 'callCenters'>, callback: Callback, dueMs: number): Promise<number> {
  const ref = callback.request.callee.callCenter;
  const center = ref && deps.callCenters ? await deps.callCenters.find(callback.owner, ref.name) : undefined;
  const schedules = schedulesOf(center, callback.request.window);
  if (schedules.length === 0) return dueMs;
  return nextAllowedAt(schedules, dueMs) ?? dueMs;
}
