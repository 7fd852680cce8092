/** REST for call-alert registrations (API key) and the operator's approval (OPS_TOKEN). */
import { Router } from 'express';
import { ownerOf } from '../api/context.js';
import { jsonBody } from '../api/json-body.js';
import type { OpenApi } from '../api/openapi.js';
import { CrosslineError } from '../errors.js';
import type { AlertService } from './service.js';
import type { Interest, InterestInput } from './types.js';

const view = (i: Interest): Omit<Interest, 'owner'> => {
  const { owner: _owner, ...rest } = i;
  return rest;
};

export function alertRoutes(api: OpenApi, alerts: AlertService): Router {
  const router = Router();
  const validateCreate = api.validateBody<InterestInput>('createAlertInterest');
  const validateVerify = api.validateBody<{ code: string }>('verifyAlertInterest');
  const validateCode = api.validateBody<{ via?: 'call' | 'sms' }>('sendAlertInterestCode');
  const idPath = api.validateParameters<{ interestId: string }>('deleteAlertInterest', 'path');
  const idOf = (params: Record<string, unknown>): string => {
    try {
      return idPath({ interestId: params.interestId }).interestId;
    } catch {
      throw new CrosslineError('INTEREST_NOT_FOUND');
    }
  };
  router.post('/interests', ...jsonBody(), async (req, res) => {
    const interest = await alerts.register(validateCreate(req.body), ownerOf(res));
    res.status(201).setHeader('Location', `/v1/alerts/interests/${interest.id}`).json(view(interest));
  });
  router.get('/interests', async (_req, res) => {
    res.json({ items: (await alerts.list(ownerOf(res))).map(view) });
  });
  router.delete('/interests/:interestId', async (req, res) => {
    await alerts.remove(idOf(req.params), ownerOf(res));
    res.status(204).end();
  });
  router.post('/interests/:interestId/code', ...jsonBody(), async (req, res) => {
    const id = idOf(req.params);
    const body = req.body === undefined || (typeof req.body === 'object' && req.body !== null && Object.keys(req.body as object).length === 0) ? {} : validateCode(req.body);
    res.status(202).json(await alerts.sendCode(id, ownerOf(res), body.via ?? 'call'));
  });
  router.post('/interests/:interestId/verify', ...jsonBody(), async (req, res) => {
    const id = idOf(req.params);
    res.json(view(await alerts.verify(id, validateVerify(req.body).code, ownerOf(res))));
  });
  return router;
}

export function alertAdminRoutes(api: OpenApi, alerts: AlertService): Router {
  const router = Router();
  const idPath = api.validateParameters<{ interestId: string }>('approveAlertInterest', 'path');
  router.post('/interests/:interestId/approve', async (req, res) => {
    let id: string;
    try {
      id = idPath({ interestId: req.params.interestId }).interestId;
    } catch {
      throw new CrosslineError('INTEREST_NOT_FOUND');
    }
    res.json(view(await alerts.approve(id)));
  });
  return router;
}
