import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Callback } from '../../callbacks/types.js';
import { CrosslineError } from '../../errors.js';

/**
 * What the visitor's widget shows, derived from the callback; nothing else of it (numbers, legs,
 * causes) leaves the server on this path.
 */
export type VisitorState = 'scheduled' | 'calling-site' | 'calling-you' | 'connected' | 'completed' | 'retrying' | 'failed' | 'canceled';

export interface VisitorStatus {
  state: VisitorState;
  /** When the call is due (scheduled) or retried (retrying), ISO 8601. */
  at?: string;
  final: boolean;
}

export function visitorStatus(callback: Callback): VisitorStatus {
  const at = callback.nextAttemptAt;
  // waiting for another attempt: the last one has ended and the next has a time
  const last = callback.attempts.at(-1);
  const retrying = last !== undefined && last.endedAt !== undefined && at !== undefined;
  switch (callback.status) {
    case 'scheduled':
    case 'queued':
    // Held until an agent is near: to the visitor, the site has not called yet.
    case 'waiting-for-agent':
      if (retrying) return { state: 'retrying', at, final: false };
      if (callback.status === 'waiting-for-agent') return { state: 'scheduled', final: false };
      return callback.status === 'scheduled' ? { state: 'scheduled', ...(at ? { at } : {}), final: false } : { state: 'calling-site', final: false };
    case 'calling-callee':
    case 'callee-answered':
      return { state: 'calling-site', final: false };
    case 'calling-caller':
      return { state: 'calling-you', final: false };
    case 'bridged':
      return { state: 'connected', final: false };
    case 'completed':
      return { state: 'completed', final: true };
    case 'failed':
      return { state: 'failed', final: true };
    case 'canceled':
      return { state: 'canceled', final: true };
  }
}

/**
 * Short-lived tokens that read one callback's visitor status and nothing else:
 * `<expiry unix s>.<site id>.<HMAC-SHA256(secret, "status|<callback id>|<site id>|<expiry>") base64url>`.
 */
export class StatusTokens {
  constructor(
    private readonly secret: string,
    private readonly ttlSec: number,
  ) {}

  private mac(callbackId: string, siteId: string, expires: number): Buffer {
    return createHmac('sha256', this.secret).update(`status|${callbackId}|${siteId}|${expires}`).digest();
  }

  issue(callbackId: string, siteId: string, now = Date.now()): { token: string; expiresAt: string } {
    const expires = Math.floor(now / 1000) + this.ttlSec;
    return { token: `${expires}.${siteId}.${this.mac(callbackId, siteId, expires).toString('base64url')}`, expiresAt: new Date(expires * 1000).toISOString() };
  }

  /** The site the token was issued through and its expiry (unix ms); throws STATUS_TOKEN_INVALID. */
  verify(token: string | undefined, callbackId: string, now = Date.now()): { siteId: string; expiresMs: number } {
    const match = /^([0-9]{10,12})\.([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(token ?? '');
    if (!match) throw new CrosslineError('STATUS_TOKEN_INVALID');
    const expires = Number(match[1]);
    const siteId = match[2] ?? '';
    const presented = Buffer.from(match[3] ?? '', 'base64url');
    const expected = this.mac(callbackId, siteId, expires);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) throw new CrosslineError('STATUS_TOKEN_INVALID');
    if (expires * 1000 <= now) throw new CrosslineError('STATUS_TOKEN_INVALID', 'The status token has expired.');
    return { siteId, expiresMs: expires * 1000 };
  }
}
