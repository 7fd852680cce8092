import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { CrosslineError, type ErrorCode } from '../errors.js';
import { errorBody } from './errors.js';

/** What Node's HTTP parser refuses before Express sees a request, as catalogued errors. */
function toError(err: NodeJS.ErrnoException): CrosslineError {
  const code: ErrorCode =
    err.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'REQUEST_TIMEOUT' : 'MALFORMED_REQUEST';
  return new CrosslineError(code);
}

/**
 * Answers the requests Node refuses itself (headers over 16 kB, a stalled request, bytes that
 * are not HTTP) in the same error envelope as every other error, instead of Node's bare status
 * line, and closes the connection.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const error = toError(err);
    const body = JSON.stringify(errorBody(error, randomUUID()));
    socket.end(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}
