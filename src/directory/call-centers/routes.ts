import { Router, type ErrorRequestHandler, type Request } from 'express';
import { ownerOf } from '../../api/context.js';
import { jsonBody } from '../../api/json-body.js';
import type { OpenApi } from '../../api/openapi.js';
import { CrosslineError } from '../../errors.js';
import type { CallCenterInput } from './parse.js';
import type { CallCenterAdmin } from './service.js';

/** /v1/call-centers (API-key door): validate against openapi.yaml, call the admin service. */
export function callCenterRoutes(api: OpenApi, admin: CallCenterAdmin): Router {
  const router = Router();
  const validateCreate = api.validateBody<CallCenterInput>('createCallCenter');
  const validateReplace = api.validateBody<CallCenterInput>('replaceCallCenter');
  const validatePath = api.validateParameters<{ name: string }>('getCallCenter', 'path');

  // A name that cannot exist is simply not found, as for callback ids.
  const nameOf = (req: Request): string => {
    try {
      return validatePath({ name: req.params.name }).name;
    } catch {
      throw new CrosslineError('CALL_CENTER_NOT_FOUND');
    }
  };

  router.post('/', ...jsonBody(), async (req, res) => {
    const center = await admin.create(validateCreate(req.body), ownerOf(res));
    res.status(201).setHeader('Location', `/v1/call-centers/${center.name}`).json(center);
  });
  router.get('/', async (_req, res) => {
    res.json({ items: await admin.list(ownerOf(res)) });
  });
  router.get('/:name', async (req, res) => {
    res.json(await admin.get(nameOf(req), ownerOf(res)));
  });
  router.put('/:name', ...jsonBody(), async (req, res) => {
    const name = nameOf(req);
    res.json(await admin.replace(name, validateReplace(req.body), ownerOf(res)));
  });
  router.delete('/:name', async (req, res) => {
    await admin.delete(nameOf(req), ownerOf(res));
    res.status(204).end();
  });
  router.use(((err, _req, _res, next) => {
    next(err instanceof URIError ? new CrosslineError('CALL_CENTER_NOT_FOUND') : err);
  }) as ErrorRequestHandler);
  return router;
}
