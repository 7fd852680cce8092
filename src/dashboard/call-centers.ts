import type { Logger } from 'pino';
import type { components } from '../api/contract.gen.js';
import type { CallCenterDirectory } from '../callbacks/ports.js';
import { isCrosslineError } from '../errors.js';
import type { CallCenterQueueSources, QueueService } from '../queues/index.js';

/** One call center's row of `GET /v1/admin/call-centers` (the contract's AdminCallCenterQueue). */
export type CallCenterQueueRow = components['schemas']['AdminCallCenterQueue'];

/** What the view reads, from the runtime's Services (undefined when that capability is not running). */
export interface CallCenterQueueDeps {
  owners: () => readonly string[];
  callCenters: () => CallCenterDirectory | undefined;
  sources: () => CallCenterQueueSources | undefined;
  queues: () => QueueService | undefined;
  logger: Logger;
  /** At most this many centers are read per request. @defaultValue 200 */
  max?: number;
}

/**
 * Every owner's call centers with their queue now, read through the queues capability's service
 * exactly as `GET /v1/call-centers/{id}/queue` reads one. A center whose queue cannot be read is
 * listed with the error, so one ACD that does not answer does not blank the others.
 */
export class CallCenterQueueView {
  constructor(private readonly deps: CallCenterQueueDeps) {}

  async list(): Promise<CallCenterQueueRow[]> {
    const directory = this.deps.callCenters();
    const sources = this.deps.sources();
    const queues = this.deps.queues();
    if (!directory || !sources || !queues) return [];
    const max = this.deps.max ?? 200;
    const centers: Array<{ owner: string; name: string }> = [];
    for (const owner of this.deps.owners()) {
      for (const name of await directory.names(owner)) {
        if (centers.length < max) centers.push({ owner, name });
      }
    }
    return Promise.all(
      centers.map(async ({ owner, name }): Promise<CallCenterQueueRow> => {
        try {
          const reading = await queues.read(await sources.queueSourceOf(owner, name));
          return { owner, callCenter: name, queue: reading };
        } catch (err) {
          if (isCrosslineError(err)) return { owner, callCenter: name, error: { code: err.code, message: err.message } };
          this.deps.logger.warn({ err, owner, callCenter: name }, 'call-center queue could not be read');
          return { owner, callCenter: name, error: { code: 'INTERNAL', message: 'The queue could not be read.' } };
        }
      }),
    );
  }
}
