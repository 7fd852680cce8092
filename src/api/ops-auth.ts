import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { CrosslineError } from '../errors.js';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
const BEARER = /^Bearer +([!-~]+) *$/i;

/**
 * Whether a request carries `Authorization: Bearer <OPS_TOKEN>`: the operator's view (metrics,
 * readiness details), which no tenant's API key opens. Without a token configured, nobody has it.
 */
export function opsTokenCheck(token: string | undefined): (req: Request) => boolean {
  const expected = token === undefined ? undefined : sha256(token);
  return (req) => {
    const presented = BEARER.exec(req.get('authorization') ?? '')?.[1];
    return expected !== undefined && presented !== undefined && timingSafeEqual(expected, sha256(presented));
  };
}

const OPERATOR_SESSION = 'crosslineOperatorSession';

/**
 * Marks a request as the operator's, authenticated by a mechanism of its own (the dashboard's
 * signed session cookie and CSRF token), checked by the module that calls this.
 */
export function markOperatorSession(res: Response): void {
  res.locals[OPERATOR_SESSION] = true;
}

/** 401 UNAUTHENTICATED unless the request carries the operations token (or an operator session). */
export function requireOpsToken(token: string | undefined): RequestHandler {
  const allowed = opsTokenCheck(token);
  return (req, res, next) => {
    if (allowed(req) || (token !== undefined && res.locals[OPERATOR_SESSION] === true)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer realm="crossline-operations"');
    next(new CrosslineError('UNAUTHENTICATED', 'This endpoint needs the operations token: Authorization: Bearer <OPS_TOKEN>.'));
  };
}
