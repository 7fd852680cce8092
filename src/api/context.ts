import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { OpenApi } from './openapi.js';

/** What the middleware learns about a request, kept in `res.locals` and read through {@link contextOf}. */
export interface RequestContext {
  /** Echoed as X-Request-Id, in error bodies and on every log line. */
  requestId: string;
  /** The path template of openapi.yaml the request matched, or 'unmatched' (metric and log label). */
  route: string;
  /** Child logger with reqId, method and route; owner once authenticated. Never the API key. */
  log: Logger;
  /** Id of the API key (never the key), once authenticated. */
  owner?: string;
}

const CONTEXT = 'crossline';
/** An incoming X-Request-Id is kept when it is a short token; anything else is replaced. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function contextOf(res: Response): RequestContext {
  const ctx = res.locals[CONTEXT] as RequestContext | undefined;
  if (!ctx) throw new Error('requestContext middleware is not installed');
  return ctx;
}

/** The owner set by `authenticate`; routes behind it can rely on it. */
export function ownerOf(res: Response): string {
  const owner = contextOf(res).owner;
  if (owner === undefined) throw new Error('authenticate middleware is not installed');
  return owner;
}

export function requestContext(api: OpenApi, logger: Logger): RequestHandler {
  return (req: Request, res: Response, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const route = api.routeOf(req.path)?.template ?? 'unmatched';
    res.setHeader('X-Request-Id', requestId);
    const ctx: RequestContext = { requestId, route, log: logger.child({ reqId: requestId, method: req.method, route }) };
    res.locals[CONTEXT] = ctx;
    next();
  };
}
