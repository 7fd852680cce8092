/**
 * Long waits leave the worker. A step that would block on something slow — the end of a
 * conversation today; an agent or a time window later — returns a {@link Wait} instead of
 * blocking, and the job processor puts the job to sleep (BullMQ delayed) so that it holds no
 * worker slot meanwhile. What ends the wait early (a hangup heard by the call-end recorder, a
 * cancel) acts on the store itself; the job's wake-up is then a reconciliation that finds the work
 * done, or does what was missed.
 */

/**
 * What a sleeping job waits for; its job data records it. `call-end`: a bridged conversation;
 * `switch-capacity`: the switch's originate budget, before the first leg of an attempt is dialled;
 * `call-center-hours`: a call center's opening (or the caller's window); `call-center-pacing`: a
 * call center's pacing (in-progress limit, originates a minute), before a new attempt starts;
 * `agent`: the call center's expected wait to come down to the caller's maxWaitSeconds;
 * `queue-place`: keep-your-place, the call-center leg waits in the queue for an agent to pick it up.
 */
export type WaitStep = 'call-end' | 'switch-capacity' | 'call-center-hours' | 'call-center-pacing' | 'agent' | 'queue-place';

export interface Wait {
  step: WaitStep;
  /** When to look again if nothing finishes the wait first, ms from now. */
  wakeInMs: number;
}

/** How far a job got: its work is over, or it waits (and must leave the worker). */
export type AttemptOutcome = { kind: 'done' } | { kind: 'wait'; wait: Wait };

export const DONE: AttemptOutcome = { kind: 'done' };

export const waitFor = (step: WaitStep, wakeInMs: number): AttemptOutcome => ({ kind: 'wait', wait: { step, wakeInMs } });
