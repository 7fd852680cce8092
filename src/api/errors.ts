import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { CrosslineError, isCrosslineError, type ErrorCode, type ErrorDetail } from '../errors.js';
import { contextOf } from './context.js';
import type { OpenApi } from './openapi.js';

/** The body of every error response, as openapi.yaml's `Error` schema documents it. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: ErrorDetail[]; requestId: string };
}

/** Seconds a client should wait after a retryable 5xx (store or switch down). */
const RETRY_AFTER_UNAVAILABLE_SEC = 5;

export function errorBody(err: CrosslineError, requestId: string): ErrorBody {
  // INTERNAL always carries the catalogue's generic message, whatever the code that raised it said
  const message = err.code === 'INTERNAL' ? new CrosslineError('INTERNAL').message : err.message;
  return { error: { code: err.code, message, details: err.code === 'INTERNAL' ? [] : err.details, requestId } };
}

/** body-parser's and the router's http-errors, by their `type`. */
interface HttpError extends Error {
  type?: string;
  status?: number;
  expose?: boolean;
}

/** Anything thrown on the way to a response, as a catalogued error. Unknown errors become INTERNAL (cause kept for the log). */
export function toCrosslineError(err: unknown): CrosslineError {
  if (isCrosslineError(err)) return err;
  const e = err as HttpError | undefined;
  switch (e?.type) {
    case 'entity.parse.failed':
      return new CrosslineError('MALFORMED_JSON', undefined, [{ message: e.message }]);
    case 'entity.too.large':
      return new CrosslineError('PAYLOAD_TOO_LARGE');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new CrosslineError('UNSUPPORTED_MEDIA_TYPE', undefined, [{ message: e.message }]);
    default:
      break;
  }
  if (err instanceof URIError && e?.status === 400) {
    // the router could not percent-decode a path parameter (`%E0%A4%A`, `%ZZ`)
    return new CrosslineError('VALIDATION_FAILED', 'The request path is not validly percent-encoded.', [], { cause: err });
  }
  if (e?.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    // other client errors from body-parser (aborted, bad length) and the router (undecodable path)
    return e.type?.startsWith('request.') || e.type?.startsWith('stream.')
      ? new CrosslineError('MALFORMED_JSON', 'The request body could not be read.', [], { cause: err })
      : new CrosslineError('VALIDATION_FAILED', 'The request could not be read.', [], { cause: err });
  }
  return new CrosslineError('INTERNAL', undefined, [], { cause: err });
}

/** Writes an error response; the one place error bodies are sent from. */
export function sendError(res: Response, err: CrosslineError): void {
  if (err.retryAfterSec !== undefined && !res.hasHeader('Retry-After')) res.setHeader('Retry-After', String(err.retryAfterSec));
  if (err.status === 503 && !res.hasHeader('Retry-After')) res.setHeader('Retry-After', String(RETRY_AFTER_UNAVAILABLE_SEC));
  if (err.code === 'UNAUTHENTICATED' && !res.hasHeader('WWW-Authenticate')) res.setHeader('WWW-Authenticate', 'Bearer realm="crossline"');
  res.status(err.status).json(errorBody(err, contextOf(res).requestId));
}

/**
 * The one error middleware: maps to the catalogue, logs 5xx at error (with the cause) and 4xx at
 * info, and never puts an internal message in a response.
 */
export function errorHandler(): ErrorRequestHandler {
  return (raw: unknown, _req, res, next) => {
    const err = toCrosslineError(raw);
    const { log } = contextOf(res);
    if (err.status >= 500) {
      log.error({ err: err.code === 'INTERNAL' ? err.cause ?? err : err, status: err.status, code: err.code }, 'request failed');
    } else {
      log.info({ status: err.status, code: err.code, details: err.details }, 'request refused');
    }
    // Express's own handler closes a response that has already started
    if (res.headersSent) return next(raw);
    sendError(res, err);
  };
}

/** Unknown route → 404 ROUTE_NOT_FOUND; a route of openapi.yaml with another method → 405 with Allow. */
export function routeNotFound(api: OpenApi): RequestHandler {
  return (req, res, next) => {
    const route = api.routeOf(req.path);
    if (route && route.methods.length > 0) {
      const allowed = route.methods.map((m) => m.toUpperCase());
      if (allowed.includes('GET')) allowed.push('HEAD');
      res.setHeader('Allow', allowed.join(', '));
      return next(new CrosslineError('METHOD_NOT_ALLOWED'));
    }
    next(new CrosslineError('ROUTE_NOT_FOUND'));
  };
}
