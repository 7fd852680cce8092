import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The dashboard's cookie name. */
export const SESSION_COOKIE = 'crossline_ops';

/**
 * Signed operator sessions: `<expiry unix s>.<nonce>.<HMAC>` in an HttpOnly, SameSite=Strict
 * cookie. The signing key is derived from OPS_TOKEN, so every API process accepts a session any of
 * them issued, and changing OPS_TOKEN ends every session. The CSRF token is derived from the
 * session (HMAC of its nonce): a page of another origin can neither read nor forge it.
 */
export class OperatorSessions {
  private readonly key: Buffer;

  constructor(opsToken: string, private readonly ttlSec: number) {
    this.key = createHmac('sha256', opsToken).update('crossline-dashboard-session/v1').digest();
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }

  issue(now = Date.now()): { cookie: string; maxAgeSec: number } {
    const expires = Math.floor(now / 1000) + this.ttlSec;
    const nonce = randomBytes(16).toString('base64url');
    return { cookie: `${expires}.${nonce}.${this.mac(`session|${expires}|${nonce}`)}`, maxAgeSec: this.ttlSec };
  }

  /** The session's nonce when `cookie` is a valid, unexpired session; undefined otherwise. */
  verify(cookie: string | undefined, now = Date.now()): string | undefined {
    const match = /^([0-9]{10,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(cookie ?? '');
    if (!match) return undefined;
    const [, expires = '', nonce = '', mac = ''] = match;
    if (!same(mac, this.mac(`session|${expires}|${nonce}`)) || Number(expires) * 1000 <= now) return undefined;
    return nonce;
  }

  csrfToken(nonce: string): string {
    return this.mac(`csrf|${nonce}`);
  }

  checkCsrf(nonce: string, presented: string | undefined): boolean {
    return presented !== undefined && same(presented, this.csrfToken(nonce));
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** One cookie's value from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
