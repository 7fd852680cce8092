import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Callback, CallbackStatus, TimelineEntry } from '../callbacks/types.js';
import { toCallbackView, type CallbackView } from '../callbacks/view.js';

/** The only webhook event type so far. */
export const STATUS_CHANGED = 'callback.status_changed';

/** The JSON body of a webhook request. */
export interface WebhookEvent {
  /** Stable per event: every delivery attempt of one event carries the same id (also in `Crossline-Event-Id`). */
  id: string;
  type: typeof STATUS_CHANGED;
  /** When the status changed (the timeline entry's time). */
  createdAt: string;
  data: {
    /** The status before this change; absent for the first one. */
    previousStatus?: CallbackStatus;
    status: CallbackStatus;
    /** The timeline entry that recorded the change. */
    event: TimelineEntry;
    callback: CallbackView;
  };
}

/**
 * Where `entry` sits in the callback's timeline: by identity, else the last equal entry.
 * The timeline only grows, so the index names the event for good. -1 when it is not there.
 */
function timelineIndex(callback: Callback, entry: TimelineEntry): number {
  const byIdentity = callback.timeline.lastIndexOf(entry);
  if (byIdentity >= 0) return byIdentity;
  for (let i = callback.timeline.length - 1; i >= 0; i--) {
    if (isDeepStrictEqual(callback.timeline[i], entry)) return i;
  }
  return -1;
}

/**
 * The event id: a hash of the callback id and the entry's timeline index (or, for an entry that is
 * not in the timeline, the entry itself), so notifying the same change twice yields the same id.
 * Opaque, and free of `:` (BullMQ job ids may not contain one).
 */
export function eventIdFor(callback: Callback, entry: TimelineEntry): string {
  const index = timelineIndex(callback, entry);
  const key = index >= 0 ? `${callback.id}\n${index}` : `${callback.id}\n${JSON.stringify(entry)}`;
  return `evt_${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

/** The `callback.status_changed` event for `entry`, the timeline entry that recorded the change. */
export function buildStatusChangedEvent(callback: Callback, entry: TimelineEntry): WebhookEvent {
  const index = timelineIndex(callback, entry);
  const before = index >= 0 ? callback.timeline.slice(0, index) : callback.timeline;
  const previousStatus = before.findLast((e) => e.status !== undefined && e.status !== entry.status)?.status;
  return {
    id: eventIdFor(callback, entry),
    type: STATUS_CHANGED,
    createdAt: entry.at,
    data: {
      ...(previousStatus !== undefined ? { previousStatus } : {}),
      status: entry.status ?? callback.status,
      event: entry,
      callback: toCallbackView(callback),
    },
  };
}
