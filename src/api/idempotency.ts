import { createHash, randomUUID } from 'node:crypto';
import type { RedisClient } from '../store/index.js';
import { CrosslineError, isCrosslineError } from '../errors.js';

/** A response as it is stored and replayed. */
export interface StoredResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface IdempotencyScope {
  owner: string;
  /** The Idempotency-Key header, already checked against its grammar. */
  key: string;
  /** {@link fingerprint} of the request. */
  fingerprint: string;
}

type Entry =
  | { state: 'in-flight'; fingerprint: string; token: string }
  | { state: 'done'; fingerprint: string; response: StoredResponse };

/** How long a claim lasts when the process dies mid-request; the full TTL starts once a response is stored. */
const IN_FLIGHT_TTL_SEC = 60;

// Both only act while the entry still holds our claim: a claim that expired and was taken over is not ours to touch.
const STORE_IF_OURS = `
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current).token == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return false`;
const RELEASE_IF_OURS = `
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current).token == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** JSON with object keys sorted at every level, so that key order does not change the fingerprint. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** SHA-256 of the operation and its canonical body. */
export function fingerprint(operation: string, body: unknown): string {
  return createHash('sha256').update(`${operation}\n${canonicalJson(body)}`).digest('hex');
}

/**
 * Stripe's idempotency semantics over Redis (`<prefix>:idem:<owner>:<key>`): the first response to
 * a key — success or 4xx — is stored for the TTL and replayed for the same body; another body is
 * IDEMPOTENCY_KEY_REUSED; a request still in flight is IDEMPOTENCY_KEY_IN_USE; a 5xx or a 429
 * (retryable errors) releases the key.
 */
export class IdempotencyStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly ttlSec: number,
  ) {}

  private redisKey(scope: IdempotencyScope): string {
    return `${this.keyPrefix}:idem:${scope.owner}:${scope.key}`;
  }

  /**
   * Runs `produce` once per key. A CrosslineError below 500 is stored as the response that
   * `errorResponse` renders and rethrown (so it is logged and sent like any error); any other
   * failure releases the key and is rethrown.
   */
  async run(
    scope: IdempotencyScope,
    produce: () => Promise<StoredResponse>,
    errorResponse: (err: CrosslineError) => StoredResponse,
  ): Promise<{ response: StoredResponse; replayed: boolean; storeError?: unknown }> {
    const key = this.redisKey(scope);
    const token = randomUUID();
    const claim = await this.claim(key, scope.fingerprint, token);
    if (claim) return { response: claim, replayed: true };

    let response: StoredResponse;
    try {
      response = await produce();
    } catch (err) {
      // a 429 is about this moment, not this request: a retry with the key after Retry-After runs again
      if (isCrosslineError(err) && err.status < 500 && !err.retryable) {
        await this.store(key, token, { state: 'done', fingerprint: scope.fingerprint, response: errorResponse(err) });
      } else {
        await this.release(key, token);
      }
      throw err;
    }
    const storeError = await this.store(key, token, { state: 'done', fingerprint: scope.fingerprint, response });
    return { response, replayed: false, ...(storeError !== undefined ? { storeError } : {}) };
  }

  /** Claims the key (undefined) or returns the stored response to replay; throws the 409s. */
  private async claim(key: string, fp: string, token: string): Promise<StoredResponse | undefined> {
    const entry: Entry = { state: 'in-flight', fingerprint: fp, token };
    // a claim that expires between SET NX and GET is retried once, then the key is treated as busy
    for (let tries = 0; tries < 2; tries++) {
      const claimed = await this.command(() => this.redis.set(key, JSON.stringify(entry), 'EX', Math.min(IN_FLIGHT_TTL_SEC, this.ttlSec), 'NX'));
      if (claimed === 'OK') return undefined;
      const raw = await this.command(() => this.redis.get(key));
      if (raw === null) continue;
      const existing = JSON.parse(raw) as Entry;
      if (existing.fingerprint !== fp) throw new CrosslineError('IDEMPOTENCY_KEY_REUSED');
      if (existing.state === 'in-flight') throw new CrosslineError('IDEMPOTENCY_KEY_IN_USE');
      return existing.response;
    }
    throw new CrosslineError('IDEMPOTENCY_KEY_IN_USE');
  }

  /**
   * The work is done: a store that fails must not turn it into an error response. The failure is
   * returned for the log; the claim then expires and a retry with the key runs again.
   */
  private async store(key: string, token: string, entry: Entry): Promise<unknown> {
    try {
      await this.redis.eval(STORE_IF_OURS, 1, key, token, JSON.stringify(entry), this.ttlSec);
      return undefined;
    } catch (err) {
      return err ?? new Error('store failed');
    }
  }

  private async release(key: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE_IF_OURS, 1, key, token).catch(() => undefined);
  }

  private async command<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new CrosslineError('STORE_UNAVAILABLE', undefined, [], { cause: err });
    }
  }
}
