import express, { type RequestHandler } from 'express';
import { CrosslineError } from '../errors.js';

/** Largest accepted JSON body. */
export const BODY_LIMIT_BYTES = 16 * 1024;

const hasBody = (headers: Record<string, string | string[] | undefined>): boolean =>
  headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');

/**
 * Parses an `application/json` body of at most 16 kB. A body of another type is 415; no body at
 * all leaves `req.body` undefined for the schema to refuse. Parse failures reach the error
 * middleware as body-parser errors (MALFORMED_JSON, PAYLOAD_TOO_LARGE).
 */
export function jsonBody(): RequestHandler[] {
  return [
    (req, _res, next) => {
      if (hasBody(req.headers) && !req.is('application/json')) return next(new CrosslineError('UNSUPPORTED_MEDIA_TYPE'));
      next();
    },
    express.json({ limit: BODY_LIMIT_BYTES, strict: true, type: 'application/json' }),
  ];
}
