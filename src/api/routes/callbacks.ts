import { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import type { CallbackInput, CallbackService, ListQuery, RescheduleInput } from '../../callbacks/ports.js';
import { toCallbackView } from '../../callbacks/view.js';
import { CrosslineError } from '../../errors.js';
import { contextOf, ownerOf } from '../context.js';
import { errorBody } from '../errors.js';
import { fingerprint, type IdempotencyStore, type StoredResponse } from '../idempotency.js';
import { jsonBody } from '../json-body.js';
import type { OpenApi } from '../openapi.js';

export interface CallbackRoutesDeps {
  api: OpenApi;
  callbacks: CallbackService;
  idempotency: IdempotencyStore;
}

function send(res: Response, response: StoredResponse, replayed: boolean): void {
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  if (replayed) res.setHeader('Idempotent-Replayed', 'true');
  res.status(response.status).json(response.body);
}

/**
 * /v1/callbacks: validate against openapi.yaml, call the CallbackService, answer with the
 * callback view. Nothing of `req` or `res` goes further than this file.
 */
export function callbackRoutes({ api, callbacks, idempotency }: CallbackRoutesDeps): Router {
  const router = Router();
  const validateCreate = api.validateBody<CallbackInput>('createCallback');
  const isIdempotencyKey = api.parameterCheck('createCallback', 'header', 'Idempotency-Key');
  const validateListQuery = api.validateParameters<Omit<ListQuery, 'limit'> & { limit: number }>('listCallbacks', 'query');
  const validateGetPath = api.validateParameters<{ id: string }>('getCallback', 'path');
  const validateCancelPath = api.validateParameters<{ id: string }>('cancelCallback', 'path');
  const validateReschedule = api.validateBody<RescheduleInput>('rescheduleCallback');
  const validateReschedulePath = api.validateParameters<{ id: string }>('rescheduleCallback', 'path');

  // An id that cannot exist is simply not found: no 400 that tells ids from non-ids.
  const callbackId = (req: Request, validate: (v: Record<string, unknown>) => { id: string }): string => {
    try {
      return validate({ id: req.params.id }).id;
    } catch {
      throw new CrosslineError('CALLBACK_NOT_FOUND');
    }
  };

  router.post('/v1/callbacks', ...jsonBody(), async (req, res) => {
    const owner = ownerOf(res);
    const key = req.get('idempotency-key');
    if (key !== undefined && !isIdempotencyKey(key)) {
      throw new CrosslineError('INVALID_IDEMPOTENCY_KEY', undefined, [{ path: 'header.Idempotency-Key', message: 'must be 1-255 printable ASCII characters' }]);
    }
    const input = validateCreate(req.body);
    const create = async (): Promise<StoredResponse> => {
      const view = toCallbackView(await callbacks.create(input, owner));
      return { status: 202, body: view, headers: { Location: `/v1/callbacks/${view.id}` } };
    };
    if (key === undefined) return send(res, await create(), false);

    const ctx = contextOf(res);
    const outcome = await idempotency.run({ owner, key, fingerprint: fingerprint('createCallback', input) }, create, (err) => ({
      status: err.status,
      body: errorBody(err, ctx.requestId),
      headers: {},
    }));
    if (outcome.storeError !== undefined) ctx.log.warn({ err: outcome.storeError }, 'idempotent response not stored; a retry with this key will run again');
    send(res, outcome.response, outcome.replayed);
  });

  router.get('/v1/callbacks', async (req, res) => {
    const query = validateListQuery({ ...(req.query as Record<string, unknown>) });
    const page = await callbacks.list(query, ownerOf(res));
    res.json({ items: page.items.map(toCallbackView), nextCursor: page.nextCursor ?? null });
  });

  router.get('/v1/callbacks/:id', async (req, res) => {
    res.json(toCallbackView(await callbacks.get(callbackId(req, validateGetPath), ownerOf(res))));
  });

  router.patch('/v1/callbacks/:id', ...jsonBody(), async (req, res) => {
    const id = callbackId(req, validateReschedulePath);
    res.json(toCallbackView(await callbacks.reschedule(id, validateReschedule(req.body), ownerOf(res))));
  });

  router.delete('/v1/callbacks/:id', async (req, res) => {
    res.json(toCallbackView(await callbacks.cancel(callbackId(req, validateCancelPath), ownerOf(res))));
  });

  // An id the router cannot even percent-decode (`%E0%A4%A`) cannot exist either: not found, as above.
  router.use('/v1/callbacks', ((err, _req, _res, next) => {
    next(err instanceof URIError ? new CrosslineError('CALLBACK_NOT_FOUND') : err);
  }) as ErrorRequestHandler);

  return router;
}
