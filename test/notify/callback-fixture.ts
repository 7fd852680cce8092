import { randomUUID } from 'node:crypto';
import type { Callback, CallbackStatus, TimelineEntry } from '../../src/callbacks/types.js';
import { callbackFixture } from '../fixtures/callback.js';

/** A stored callback with a webhook, and a helper that appends a status change the way the domain does. */
export function callbackWithWebhook(webhook: string | undefined): Callback {
  const at = '2024-06-10T09:00:00.000Z';
  return callbackFixture(
    {
      id: `cb_${randomUUID()}`,
      timeline: [
        { at, event: 'created' },
        { at, event: 'queued', status: 'queued' },
      ],
      createdAt: at,
      updatedAt: at,
      owner: 'key_1',
      revision: 1,
    },
    {
      caller: { endpoint: { kind: 'number', e164: '+12025550100', country: 'US' }, name: 'Ada' },
      callee: { endpoint: { kind: 'number', e164: '+12025550111', country: 'US' }, dtmf: '1w2#' },
      ...(webhook !== undefined ? { webhook } : {}),
    },
  );
}

export function changeStatus(callback: Callback, status: CallbackStatus, event: TimelineEntry['event']): TimelineEntry {
  const entry: TimelineEntry = { at: new Date().toISOString(), event, status };
  callback.timeline.push(entry);
  callback.status = status;
  callback.updatedAt = entry.at;
  return entry;
}
