/**
 * Listens to mod_callcenter's events on the switch and records what Crossline needs for its
 * estimate: when each member joined (with the model's figure then), how long it waited for an
 * agent, and how long the agent talked. Runs in every worker; each fact is recorded once.
 */
import type { Logger } from 'pino';
import type { QueueEvent, QueueSwitch } from '../telephony/callcenter.js';
import { effectiveHandleSeconds, modelWaitSeconds } from './ewt.js';
import type { QueueObservations } from './observations.js';
import { snapshotOf } from './providers/freeswitch.js';

export interface QueueMonitorDeps {
  queues: QueueSwitch;
  observations: QueueObservations;
  defaultHandleSeconds: number;
  logger: Logger;
}

/**
 * Starts listening; returns the function that stops. The events of one queue are recorded one after
 * the other, in the switch's order: an answer that follows a join by milliseconds finds the join
 * recorded (its model needs a look at the queue first).
 */
export function startQueueMonitor(deps: QueueMonitorDeps): () => void {
  const chains = new Map<string, Promise<void>>();
  return deps.queues.onQueueEvent((event) => {
    if (!('queue' in event)) return;
    const previous = chains.get(event.queue) ?? Promise.resolve();
    const next = previous
      .then(() => record(deps, event))
      .catch((err: unknown) => deps.logger.warn({ err, action: event.type, queue: event.queue }, 'queue observation not recorded'));
    chains.set(event.queue, next);
    void next.then(() => {
      if (chains.get(event.queue) === next) chains.delete(event.queue);
    });
  });
}

async function record(deps: QueueMonitorDeps, event: QueueEvent): Promise<void> {
  const { observations } = deps;
  switch (event.type) {
    case 'member-joined': {
      if (!(await observations.claim(event.queue, event.memberUuid, 'join'))) return;
      // The queue as the member found it: the lists now include it, so it is not counted ahead of itself.
      const snap = snapshotOf(await deps.queues.queueStatus(event.queue), event.at);
      const now = { waiting: Math.max(0, snap.waiting - 1), agentsAvailable: snap.agentsAvailable, agentsBusy: snap.agentsBusy ?? 0, wrapUpSeconds: snap.wrapUpSeconds ?? 0 };
      const history = await observations.history(event.queue);
      const model = modelWaitSeconds(now, effectiveHandleSeconds(now, history, { defaultHandleSeconds: deps.defaultHandleSeconds }));
      if (model !== undefined) await observations.joined(event.queue, event.memberUuid, { at: event.at, modelSeconds: model });
      return;
    }
    case 'agent-answered': {
      if (!(await observations.claim(event.queue, event.memberUuid, 'answer'))) return;
      await observations.bridgedAt(event.queue, event.memberUuid, event.at);
      const join = await observations.joinOf(event.queue, event.memberUuid);
      if (join) await observations.answered(event.queue, event.memberUuid, { modelSeconds: join.modelSeconds, actualSeconds: Math.max(0, (event.at - join.at) / 1000) });
      return;
    }
    case 'agent-call-ended': {
      if (!(await observations.claim(event.queue, event.memberUuid, 'end'))) return;
      const answeredAt = (await observations.bridgedAt(event.queue, event.memberUuid)) ?? event.answeredAt;
      if (answeredAt > 0) await observations.handled(event.queue, Math.max(0, (event.at - answeredAt) / 1000));
      return;
    }
    default:
      return;
  }
}
