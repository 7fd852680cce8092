/**
 * Reads a call center's queue through the provider its source names, and gives Crossline's
 * expected wait for a caller joining now: from the observations of a mod_callcenter queue
 * (src/queues/ewt.ts), or the ACD's own figure for an HTTP queue (Crossline sees none of its calls).
 */
import { estimateWait } from './ewt.js';
import type { QueueObservations } from './observations.js';
import type { QueueProvider, QueueReading, QueueSnapshot, QueueSource } from './types.js';

export interface QueueServiceDeps {
  freeswitch: QueueProvider;
  http: QueueProvider;
  observations: QueueObservations;
  /** Handle time assumed before any was observed, s. */
  defaultHandleSeconds: number;
  clock: () => Date;
}

export class QueueService {
  constructor(private readonly deps: QueueServiceDeps) {}

  /** Throws QUEUE_PROVIDER_FAILED, SWITCH_UNAVAILABLE, SWITCH_TIMEOUT, SWITCH_COMMAND_FAILED. */
  async read(source: QueueSource): Promise<QueueReading> {
    const at = this.deps.clock().toISOString();
    if (source.type === 'none') return { source: 'none', at };
    if (source.type === 'http') {
      const snap = await this.deps.http.snapshot(source);
      if (!snap) return { source: 'http', at };
      return {
        source: 'http', at, ...counts(snap),
        ...(snap.providerExpectedWaitSeconds !== undefined
          ? { expectedWaitSeconds: snap.providerExpectedWaitSeconds, method: 'provider' as const, providerExpectedWaitSeconds: snap.providerExpectedWaitSeconds }
          : {}),
      };
    }
    const snap = await this.deps.freeswitch.snapshot(source);
    if (!snap) return { source: 'freeswitch', at };
    const history = await this.deps.observations.history(source.queue);
    const estimate = estimateWait(
      { waiting: snap.waiting, agentsAvailable: snap.agentsAvailable, agentsBusy: snap.agentsBusy ?? 0, wrapUpSeconds: snap.wrapUpSeconds ?? 0 },
      history,
      { defaultHandleSeconds: this.deps.defaultHandleSeconds },
    );
    return {
      source: 'freeswitch', at, ...counts(snap),
      ...(estimate.expectedWaitSeconds !== undefined ? { expectedWaitSeconds: estimate.expectedWaitSeconds } : {}),
      method: 'observed',
      basis: { handleSeconds: Math.round(estimate.handleSeconds), calibration: Math.round(estimate.calibration * 100) / 100, handleSamples: estimate.samples.handle, waitSamples: estimate.samples.waits },
    };
  }
}

function counts(s: QueueSnapshot): Pick<QueueReading, 'waiting' | 'agentsAvailable' | 'agentsBusy' | 'oldestWaitSeconds'> {
  return {
    waiting: s.waiting,
    agentsAvailable: s.agentsAvailable,
    ...(s.agentsBusy !== undefined ? { agentsBusy: s.agentsBusy } : {}),
    ...(s.oldestWaitSeconds !== undefined ? { oldestWaitSeconds: s.oldestWaitSeconds } : {}),
  };
}
