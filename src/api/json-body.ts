import express, { type RequestHandler } from 'express';
import { CrosslineError } from '../errors.js';

/** Largest accepted JSON body. */
export const BODY_LIMIT_BYTES = 16 * 1024;

const hasBody = (headers: Record<string, string | string[] | undefined>): boolean =>
  headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');

// The charset parameter of a Content-Type, quoted or not (RFC 9110 §8.3.2).
const CHARSET = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i;

/** The contract says UTF-8 (RFC 8259 §8.1): body-parser would also decode UTF-16 and UTF-7, whose bytes slip past filters. */
function isUtf8(contentType: string): boolean {
  const match = CHARSET.exec(contentType);
  if (!match) return true;
  const charset = (match[1] ?? match[2] ?? '').toLowerCase();
  return charset === 'utf-8' || charset === 'utf8';
}

/**
 * Parses an `application/json` body of at most 16 kB, in UTF-8. A body of another type or charset is 415; no body at
 * all leaves `req.body` undefined for the schema to refuse. Parse failures reach the error
 * middleware as body-parser errors (MALFORMED_JSON, PAYLOAD_TOO_LARGE).
 */
export function jsonBody(): RequestHandler[] {
  return [
    (req, _res, next) => {
      if (hasBody(req.headers) && !req.is('application/json')) return next(new CrosslineError('UNSUPPORTED_MEDIA_TYPE'));
      if (hasBody(req.headers) && !isUtf8(req.get('content-type') ?? '')) {
        return next(new CrosslineError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be UTF-8 JSON.', [{ path: 'header.Content-Type', message: 'charset must be utf-8' }]));
      }
      next();
    },
    express.json({ limit: BODY_LIMIT_BYTES, strict: true, type: 'application/json' }),
  ];
}
