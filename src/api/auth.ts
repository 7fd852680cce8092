import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { apiKeyId } from '../config/index.js';
import { CrosslineError } from '../errors.js';
import { contextOf } from './context.js';
import type { AuthFailureLimit } from './rate-limit.js';

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
 * matched shows in the timing. With `failures`, an address that failed too often is refused
 * before its key is looked at (guessing keys is slowed to the budget).
 */
export function authenticate(apiKeys: readonly string[], failures?: AuthFailureLimit): RequestHandler {
  const digests = apiKeys.map(sha256);
  return async (req, res, next) => {
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    await failures?.check(address, res);
    const match = BEARER.exec(req.get('authorization') ?? '');
    const presented = match?.[1] === undefined ? undefined : sha256(match[1]);
    let valid = false;
    if (presented !== undefined) for (const digest of digests) valid = timingSafeEqual(digest, presented) || valid;
    if (!valid || match?.[1] === undefined) {
      // a missing or malformed header is a misconfigured client; a wrong key is a guess
      if (presented !== undefined) await failures?.record(address);
      res.setHeader('WWW-Authenticate', presented === undefined ? 'Bearer realm="crossline"' : 'Bearer realm="crossline", error="invalid_token"');
      return next(new CrosslineError('UNAUTHENTICATED'));
    }
    const key = match[1];
    const ctx = contextOf(res);
    ctx.owner = apiKeyOwner(key);
    ctx.log = ctx.log.child({ owner: ctx.owner });
    next();
  };
}
