import { Router } from 'express';
import type { OpenApi } from '../../api/openapi.js';
import { CrosslineError } from '../../errors.js';
import type { SmsLog } from './log.js';

/**
 * /v1/admin/sms (operator door): the text messages sent and what their delivery receipts said,
 * from the SMS log. Thin: validate, read the log, answer.
 */
export function smsAdminRoutes({ api, log }: { api: OpenApi; log: SmsLog }): Router {
  const router = Router();
  const validateList = api.validateParameters<{ limit?: number; to?: string }>('listSms', 'query');
  const validateId = api.validateParameters<{ smsId: string }>('getSms', 'path');
  router.get('/', async (req, res) => {
    const query = validateList({ ...(req.query as Record<string, unknown>) });
    const items = await log.list({ limit: query.limit ?? 50, ...(query.to !== undefined ? { to: query.to } : {}) });
    res.json({ items });
  });
  router.get('/:smsId', async (req, res) => {
    let id: string;
    try {
      id = validateId({ smsId: req.params.smsId }).smsId;
    } catch {
      throw new CrosslineError('SMS_NOT_FOUND');
    }
    const record = await log.get(id);
    if (record === undefined) throw new CrosslineError('SMS_NOT_FOUND');
    res.json(record);
  });
  return router;
}
