import type { Callback, CallbackStatus, TimelineEntry } from './types.js';

/**
 * The callback lifecycle. Every status change goes through {@link transition}, which refuses
 * any move not listed here and writes the timeline entry that records it.
 *
 * scheduled → queued → calling-callee → callee-answered → calling-caller → bridged → completed
 * (caller-first: queued → calling-caller → calling-callee → callee-answered → bridged).
 * Any active status may fall back to scheduled/queued (a retry is due) or end failed/canceled.
 */
const TRANSITIONS: Readonly<Record<CallbackStatus, readonly CallbackStatus[]>> = {
  scheduled: ['queued', 'waiting-for-agent', 'calling-callee', 'calling-caller', 'failed', 'canceled'],
  queued: ['waiting-for-agent', 'calling-callee', 'calling-caller', 'scheduled', 'failed', 'canceled'],
  'waiting-for-agent': ['queued', 'calling-callee', 'calling-caller', 'scheduled', 'failed', 'canceled'],
  // Keep-your-place: the call-center leg answered into the queue and waits there for an agent.
  'calling-callee': ['callee-answered', 'waiting-for-agent', 'scheduled', 'queued', 'failed', 'canceled'],
  'callee-answered': ['calling-caller', 'bridged', 'scheduled', 'queued', 'failed', 'canceled'],
  'calling-caller': ['calling-callee', 'bridged', 'scheduled', 'queued', 'failed', 'canceled'],
  bridged: ['completed', 'failed', 'canceled'],
  completed: [],
  failed: [],
  canceled: [],
};

export class IllegalTransitionError extends Error {
  constructor(readonly from: CallbackStatus, readonly to: CallbackStatus) {
    super(`Illegal callback transition ${from} → ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export const isFinal = (status: CallbackStatus): boolean => TRANSITIONS[status].length === 0;

export const canTransition = (from: CallbackStatus, to: CallbackStatus): boolean => TRANSITIONS[from].includes(to);

/** Moves `callback` to `to` (mutating it) and appends the timeline entry; returns that entry. */
export function transition(callback: Callback, to: CallbackStatus, entry: Omit<TimelineEntry, 'at' | 'status'>, now: Date): TimelineEntry {
  if (!canTransition(callback.status, to)) throw new IllegalTransitionError(callback.status, to);
  callback.status = to;
  return record(callback, { ...entry, status: to }, now);
}

/** Appends a timeline entry that does not change the status. */
export function record(callback: Callback, entry: Omit<TimelineEntry, 'at'>, now: Date): TimelineEntry {
  const full: TimelineEntry = { at: now.toISOString(), ...entry };
  callback.timeline.push(full);
  callback.updatedAt = full.at;
  return full;
}
