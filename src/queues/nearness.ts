/**
 * The callback flow's question "is an agent near for this callback?" answered from the call
 * center's queue: its source (from the directory), read through the queue service.
 */
import type { AgentNearness } from '../callbacks/agent-wait.js';
import type { Callback } from '../callbacks/types.js';
import type { CallCenterQueueSources } from './routes.js';
import type { QueueService } from './service.js';

export interface NearnessDeps {
  /** Read at each look: the queue service and the directory may start after the worker. */
  queues: () => QueueService | undefined;
  sources: () => CallCenterQueueSources | undefined;
  /** The call center a callback's callee is, by name; undefined for a plain number. */
  callCenterOf: (callback: Callback) => string | undefined;
}

export function queueNearness(deps: NearnessDeps): AgentNearness {
  return {
    async expectedWait(callback) {
      const center = deps.callCenterOf(callback);
      const queues = deps.queues();
      const sources = deps.sources();
      if (center === undefined || !queues || !sources) return 'no-queue';
      const source = await sources.queueSourceOf(callback.owner, center);
      if (source.type === 'none') return 'no-queue';
      const reading = await queues.read(source);
      return reading.expectedWaitSeconds === undefined ? {} : { expectedWaitSeconds: reading.expectedWaitSeconds };
    },
  };
}

/**
 * The name of the call center a callback's callee is (the directory snapshots it on the callee as
 * `callCenter: {name, route, numbers}`); undefined for a plain number or SIP URI.
 */
export function callCenterNameOf(callback: Callback): string | undefined {
  return callback.request.callee.callCenter?.name;
}
