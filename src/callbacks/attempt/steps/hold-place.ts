/**
 * Keep-your-place (issue 8, item 4): the verb that holds the customer's place in a call center's
 * mod_callcenter queue. The call-center leg was originated into the queue (`loopback/<ext>/<ctx>`,
 * the extension that runs `callcenter <queue>`) with `cc_base_score` = the seconds since the
 * customer asked, so it stands in line as if it had joined then. This step finds the member it
 * became, then looks where it stands: an agent picked it up (the attempt rings the caller now), it
 * left the queue (the attempt fails, retried per policy), or it is still waiting — then the job
 * sleeps (`queue-place`) and holds no worker: an agent picking up wakes it (QueuePlaces' listener),
 * and a wake-up looks again.
 */
import type { Logger } from 'pino';
import { isCrosslineError } from '../../../errors.js';
import type { HangupCause, QueueEndpoint } from '../../../telephony/types.js';
import type { QueuePlace, QueuePlaces } from '../../ports.js';
import type { Callback } from '../../types.js';
import { entriesOf, type StepContext } from './context.js';

export interface KeepPlaceConfig {
  places: QueuePlaces;
  /** How long the queue has to take the leg (member-queue-start) once it answered, ms. */
  joinTimeoutMs: number;
  /** How long the job sleeps between two looks while the member waits, ms (an agent's pickup wakes it sooner). */
  recheckMs: number;
  /** Longest a place is held without an agent before the attempt gives up, ms. */
  maxHoldMs: number;
}

export type PlaceOutcome =
  /** An agent answered the member: ring the caller now. */
  | { kind: 'picked-up'; agent: string }
  /**
   * The member left the queue without an agent (the leg is recorded ended): `cause` is what the
   * attempt fails with (NO_ANSWER: let go by the queue; ALLOTTED_TIMEOUT: held too long;
   * NORMAL_TEMPORARY_FAILURE: the queue never took it).
   */
  | { kind: 'left'; cause: HangupCause }
  /** Still in line: the job sleeps this long (or until woken). */
  | { kind: 'wait'; wakeInMs: number };

/** The queue leg a keep-your-place callback dials, its score the seconds since the customer asked. */
export function queueEndpointOf(callback: Callback, nowMs: number): QueueEndpoint | undefined {
  const keep = callback.request.callee.callCenter?.keepPlace;
  if (!keep) return undefined;
  const baseScore = Math.max(0, Math.floor((nowMs - Date.parse(callback.createdAt)) / 1000));
  return { kind: 'queue', queue: keep.queue, extension: keep.extension, context: keep.context, baseScore };
}

/** Whether this callback's call-center leg waits in a queue (keep-your-place). */
export const keepsPlace = (callback: Callback): boolean => callback.request.callee.callCenter?.keepPlace !== undefined;

const MEMBER = /member ([0-9a-f-]{36})/;

/**
 * Holds the place. `joined` is told (once) when the member is first found, so the attempt records
 * the status change (`waiting-for-agent`).
 */
export async function holdPlace(ctx: StepContext, config: KeepPlaceConfig, switchId: string | undefined, joined: (detail: string) => Promise<void>): Promise<PlaceOutcome> {
  const keep = ctx.callback.request.callee.callCenter?.keepPlace;
  if (!keep) throw new Error('holdPlace on a callback that keeps no place');
  const entries = entriesOf(ctx);
  const pickedUp = entries.find((e) => e.event === 'agent-answered');
  if (pickedUp) return { kind: 'picked-up', agent: pickedUp.detail ?? '' };
  const joinedEntry = entries.find((e) => e.event === 'queue-joined');
  let place: QueuePlace | undefined;
  const recorded = joinedEntry?.detail !== undefined ? MEMBER.exec(joinedEntry.detail)?.[1] : undefined;
  if (recorded !== undefined) {
    place = { queue: keep.queue, sessionUuid: recorded, memberUuid: '' };
  } else {
    place = await config.places.memberOf(ctx.leg.uuid, config.joinTimeoutMs, ctx.signal, switchId);
    ctx.throwIfCanceled();
    if (!place) return leave(ctx, `the queue ${keep.queue} did not take the call within ${Math.round(config.joinTimeoutMs / 1000)} s`, 'NORMAL_TEMPORARY_FAILURE');
    const score = Math.max(0, Math.floor((Date.parse(ctx.leg.startedAt) - Date.parse(ctx.callback.createdAt)) / 1000));
    await joined(`${place.queue}: member ${place.sessionUuid}, in line as if it had joined ${score} s earlier (when the customer asked)`);
  }
  const standing = await lookSafely(ctx.log, () => config.places.standing(place, switchId));
  ctx.throwIfCanceled();
  if (standing?.state === 'answered') {
    ctx.note('agent-answered', standing.agent);
    await ctx.commit();
    return { kind: 'picked-up', agent: standing.agent };
  }
  // The leg itself: gone means the queue let it go (max wait reached) or the switch lost it.
  const legState = await ctx.telephony.channelState(ctx.leg.uuid);
  if (legState === 'absent') {
    await ctx.legEnded(await ctx.telephony.awaitHangup(ctx.leg.uuid, ctx.signal), 'left the queue');
    return leave(ctx, `the member left ${keep.queue} before an agent answered`, 'NO_ANSWER');
  }
  if (standing?.state === 'gone') return leave(ctx, `${keep.queue} no longer lists the member`, 'NO_ANSWER');
  const since = Date.parse(ctx.callback.timeline.find((e) => e.attempt === ctx.attempt.number && e.event === 'queue-joined')?.at ?? ctx.leg.startedAt);
  if (ctx.now() - since > config.maxHoldMs) return leave(ctx, `no agent within ${Math.round(config.maxHoldMs / 60_000)} min in ${keep.queue}`, 'ALLOTTED_TIMEOUT');
  return { kind: 'wait', wakeInMs: config.recheckMs };
}

/** The place is given up: the leg is hung up (if still up) and `queue-left` recorded. */
async function leave(ctx: StepContext, why: string, cause: HangupCause): Promise<PlaceOutcome> {
  ctx.note('queue-left', why);
  await ctx.commit();
  await ctx.hangup('NORMAL_CLEARING');
  return { kind: 'left', cause };
}

/** A switch that cannot be asked now is asked at the next wake-up: the place is not given up for it. */
async function lookSafely<T>(log: Logger, look: () => Promise<T>): Promise<T | undefined> {
  try {
    return await look();
  } catch (err) {
    if (!isCrosslineError(err) || !err.retryable) throw err;
    log.warn({ err }, 'queue not read; looking again at the next wake-up');
    return undefined;
  }
}
