import { Router } from 'express';
import { ownerOf } from '../api/context.js';
import { CrosslineError } from '../errors.js';
import type { OpenApi } from '../api/openapi.js';
import type { QueueService } from './service.js';
import type { QueueSource } from './types.js';

/**
 * Where a call center's queue source is found: the directory of call centers implements it. Throws
 * the directory's not-found error (404, with the owner's known names) for an unknown center.
 */
export interface CallCenterQueueSources {
  queueSourceOf(owner: string, callCenter: string): Promise<QueueSource>;
}

/** GET /v1/call-centers/{id}/queue, mounted at /v1/call-centers behind an API key. */
export function queueRoutes(deps: { api: OpenApi; queues: QueueService; sources: () => CallCenterQueueSources | undefined }): Router {
  const router = Router();
  const validatePath = deps.api.validateParameters<{ id: string }>('getCallCenterQueue', 'path');
  router.get('/:id/queue', async (req, res) => {
    const { id } = validatePath({ id: req.params.id });
    const sources = deps.sources();
    if (!sources) throw new CrosslineError('ROUTE_NOT_FOUND', 'Call centers are not configured on this server.');
    const source = await sources.queueSourceOf(ownerOf(res), id);
    res.json(await deps.queues.read(source));
  });
  return router;
}
