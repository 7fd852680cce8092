/**
 * When an attempt may start: the call center's business hours and the caller's window, together.
 * Used at intake (an `at` outside them is refused with the next opening; no `at` means the next
 * opening), at every attempt (the center may have changed its hours meanwhile) and for retries (a
 * retry that would fall outside them moves to the next opening).
 */
import { CrosslineError } from '../../errors.js';
import type { CallCenter } from '../call-center.js';
import { nextAllowedAt, windowHours, type BusinessHours, type CallWindow } from './hours.js';

/** The schedules that apply to a callback: its center's hours, its caller window. */
export function schedulesOf(center: Pick<CallCenter, 'hours'> | undefined, window: CallWindow | undefined): BusinessHours[] {
  return [...(center?.hours ? [center.hours] : []), ...(window ? [windowHours(window)] : [])];
}

const describe = (center: Pick<CallCenter, 'name'> | undefined, window: CallWindow | undefined): string =>
  [center ? `call center ${center.name}` : undefined, window ? `the caller window ${window.from}-${window.to} ${window.timeZone}` : undefined].filter(Boolean).join(' and ');

/**
 * The time of the first attempt, ms: `wantedMs` when every schedule allows it; otherwise, when the
 * time was asked for explicitly (`explicit`), CALL_CENTER_CLOSED with the next opening in
 * `details[0].nextOpenAt`, else the next opening. Throws CALL_CENTER_CLOSED too when nothing opens
 * within `horizonMs`.
 */
export function firstAttemptAt(
  schedules: readonly BusinessHours[],
  wantedMs: number,
  options: { explicit: boolean; horizonMs: number; path: string; center?: Pick<CallCenter, 'name'>; window?: CallWindow },
): number {
  if (schedules.length === 0) return wantedMs;
  const next = nextAllowedAt(schedules, wantedMs);
  const what = describe(options.center, options.window);
  if (next === undefined || next > options.horizonMs) {
    throw new CrosslineError('CALL_CENTER_CLOSED', `Neither ${what} allow a call within the scheduling horizon.`, [
      { path: options.path, message: `no opening of ${what} before ${new Date(options.horizonMs).toISOString()}` },
    ]);
  }
  if (options.explicit && next !== wantedMs) {
    const nextOpenAt = new Date(next).toISOString();
    throw new CrosslineError('CALL_CENTER_CLOSED', `Closed at ${new Date(wantedMs).toISOString()}: ${what} next allow a call at ${nextOpenAt}.`, [
      { path: options.path, message: `outside the hours of ${what}; next opening ${nextOpenAt}`, nextOpenAt },
    ]);
  }
  return next;
}
