import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures, in the scheme Stripe and jambonz use:
 *
 *     Crossline-Signature: t=1718000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
 *
 * `v1` is the hex HMAC-SHA256, keyed with the shared secret, of `"<t>.<raw body>"`. Signing the
 * timestamp with the body lets a receiver refuse replays older than its tolerance. While a secret
 * is being rotated the header carries one `v1` per secret; a receiver accepts any that matches.
 */

/** The request header that carries the signature. */
export const SIGNATURE_HEADER = 'Crossline-Signature';

/** Default age, in seconds, beyond which {@link verifySignature} refuses a signature. */
export const DEFAULT_SIGNATURE_TOLERANCE_SEC = 300;

type Body = string | Uint8Array;

const secretsOf = (secret: string | readonly string[]): readonly string[] => (typeof secret === 'string' ? [secret] : secret);

function hmacHex(secret: string, timestamp: number, body: Body): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/**
 * Builds the `Crossline-Signature` header value for `body` (the exact bytes sent) at `timestamp`.
 *
 * @param secret - the shared secret, or several during a rotation (one `v1` each)
 * @param timestamp - unix time in seconds
 */
export function signPayload(secret: string | readonly string[], body: Body, timestamp: number): string {
  const secrets = secretsOf(secret);
  if (secrets.length === 0 || secrets.some((s) => s.length === 0)) throw new TypeError('signPayload needs a non-empty secret');
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new TypeError('signPayload needs a unix timestamp in seconds');
  return [`t=${timestamp}`, ...secrets.map((s) => `v1=${hmacHex(s, timestamp, body)}`)].join(',');
}

export interface ParsedSignature {
  timestamp: number;
  /** Every `v1` value, lower-cased hex. */
  signatures: string[];
}

/** Splits a `Crossline-Signature` value; undefined when it is malformed (no single `t`, no `v1`). */
export function parseSignatureHeader(header: string): ParsedSignature | undefined {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,12}$/.test(value)) return undefined;
      timestamp = Number(value);
    } else if (key === 'v1' && /^[0-9a-fA-F]{64}$/.test(value)) {
      signatures.push(value.toLowerCase());
    }
  }
  return timestamp !== undefined && signatures.length > 0 ? { timestamp, signatures } : undefined;
}

export interface VerifyOptions {
  /** Largest accepted difference between `t` and `now`, either way, in seconds. @defaultValue 300 */
  toleranceSec?: number;
  /** The current unix time in seconds. @defaultValue the clock */
  now?: number;
}

/**
 * True when `header` carries a `v1` signature of `body` made with `secret` (or one of several
 * secrets) and its timestamp is within the tolerance. `body` must be the raw request bytes, not
 * re-serialised JSON. Comparisons are constant-time.
 */
export function verifySignature(
  secret: string | readonly string[],
  header: string | undefined,
  body: Body,
  { toleranceSec = DEFAULT_SIGNATURE_TOLERANCE_SEC, now = Math.floor(Date.now() / 1000) }: VerifyOptions = {},
): boolean {
  if (header === undefined) return false;
  const parsed = parseSignatureHeader(header);
  if (!parsed || Math.abs(now - parsed.timestamp) > toleranceSec) return false;
  const secrets = secretsOf(secret).filter((s) => s.length > 0);
  let matched = false;
  // Every pair is compared, so the time taken does not reveal which one matched.
  for (const s of secrets) {
    const expected = Buffer.from(hmacHex(s, parsed.timestamp, body), 'hex');
    for (const candidate of parsed.signatures) {
      if (timingSafeEqual(expected, Buffer.from(candidate, 'hex'))) matched = true;
    }
  }
  return matched;
}
