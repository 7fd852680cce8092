import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { apiKeyId } from '../config/index.js';
import { CrosslineError } from '../errors.js';
import { contextOf } from './context.js';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * The stable id of an API key ({@link apiKeyId}): what the domain stores as a callback's owner
 * and what logs show; the key itself is never kept or logged.
 */
export const apiKeyOwner = apiKeyId;

/** `Bearer <token>`, the token being printable ASCII without spaces (RFC 6750 allows less). */
const BEARER = /^Bearer +([!-~]+) *$/i;

/**
 * `Authorization: Bearer <key>` against the configured keys. Keys are compared as SHA-256 digests
 * with timingSafeEqual, against every configured key, so neither the key's length nor which key
 * matched shows in the timing.
 */
export function authenticate(apiKeys: readonly string[]): RequestHandler {
  const digests = apiKeys.map(sha256);
  return (req, res, next) => {
    const match = BEARER.exec(req.get('authorization') ?? '');
    if (!match?.[1]) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="crossline"');
      return next(new CrosslineError('UNAUTHENTICATED'));
    }
    const key = match[1];
    const presented = sha256(key);
    let valid = false;
    for (const digest of digests) valid = timingSafeEqual(digest, presented) || valid;
    if (!valid) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="crossline", error="invalid_token"');
      return next(new CrosslineError('UNAUTHENTICATED'));
    }
    const ctx = contextOf(res);
    ctx.owner = apiKeyOwner(key);
    ctx.log = ctx.log.child({ owner: ctx.owner });
    next();
  };
}
