import express, { Router } from 'express';
import type { Outbox } from '../../channels/email/outbox.js';
import { CrosslineError } from '../../errors.js';
import type { OpenApi } from '../../api/openapi.js';
import type { EmailIntake } from './intake.js';

export interface EmailRoutesDeps {
  api: OpenApi;
  intake: EmailIntake;
  mailbox: string;
  maxBytes: number;
}

/**
 * `POST /v1/inbound/email`: a raw RFC 5322 message (`Content-Type: message/rfc822`), for providers
 * that forward mail by HTTP. The same pipeline as SMTP; SPF cannot apply (no client address), so
 * the message must carry a DKIM signature aligned with its From.
 */
export function inboundEmailRoutes({ intake, mailbox, maxBytes }: EmailRoutesDeps): Router {
  const router = Router();
  router.post(
    '/',
    (req, _res, next) => {
      if (!req.is('message/rfc822')) return next(new CrosslineError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be message/rfc822 (a raw e-mail).'));
      next();
    },
    express.raw({ type: 'message/rfc822', limit: maxBytes }),
    async (req, res) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (raw.length === 0) throw new CrosslineError('VALIDATION_FAILED', 'The request body is empty.', [{ path: 'body', message: 'a raw e-mail is required' }]);
      const outcome = await intake.accept(raw, { rcptTo: [mailbox] });
      res.status(202).json({ outcome });
    },
  );
  return router;
}

/** `GET /v1/outbox`: what the embedded default "sent" by e-mail, newest first. */
export function outboxRoutes({ api, outbox }: { api: OpenApi; outbox: Outbox }): Router {
  const router = Router();
  const validateQuery = api.validateParameters<{ limit?: number }>('listOutbox', 'query');
  router.get('/', async (req, res) => {
    const { limit } = validateQuery(req.query as Record<string, unknown>);
    const messages = await outbox.list(limit ?? 20);
    res.json({ items: messages.map(({ raw: _raw, ...rest }) => rest) });
  });
  return router;
}
