import type { RequestHandler, Response } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { CrosslineError } from '../errors.js';
import type { RedisClient } from '../store/index.js';
import { ownerOf } from './context.js';

const WINDOW_SEC = 60;

function setRateLimitHeaders(res: Response, limit: number, r: RateLimiterRes): void {
  res.setHeader('RateLimit-Limit', String(limit));
  res.setHeader('RateLimit-Remaining', String(r.remainingPoints));
  res.setHeader('RateLimit-Reset', String(Math.ceil(r.msBeforeNext / 1000)));
}

/**
 * `perMinute` requests per owner in a fixed one-minute window, counted in Redis so every API
 * process shares the budget. Over it: 429 RATE_LIMITED with Retry-After. Redis not ready:
 * 503 STORE_UNAVAILABLE at once (no queueing behind a reconnect).
 */
export function rateLimit(redis: RedisClient, keyPrefix: string, perMinute: number): RequestHandler {
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${keyPrefix}:rl`,
    points: perMinute,
    duration: WINDOW_SEC,
    rejectIfRedisNotReady: true,
  });
  return async (_req, res, next) => {
    let outcome: RateLimiterRes | Error;
    try {
      outcome = await limiter.consume(ownerOf(res));
    } catch (err) {
      outcome = err instanceof RateLimiterRes ? err : new CrosslineError('STORE_UNAVAILABLE', undefined, [], { cause: err });
      if (outcome instanceof RateLimiterRes) {
        setRateLimitHeaders(res, perMinute, outcome);
        res.setHeader('Retry-After', String(Math.max(1, Math.ceil(outcome.msBeforeNext / 1000))));
        return next(new CrosslineError('RATE_LIMITED'));
      }
      return next(outcome);
    }
    setRateLimitHeaders(res, perMinute, outcome);
    next();
  };
}

/** Counts failed authentications per client address, and refuses an address that failed too often. */
export interface AuthFailureLimit {
  /** Rejects with RATE_LIMITED (Retry-After set) while `address` is over its budget. */
  check(address: string, res: Response): Promise<void>;
  /** Counts one failed authentication from `address`. */
  record(address: string): Promise<void>;
}

/**
 * `perMinute` failed authentications per client address. Once over, the address is refused for
 * the rest of the window whatever key it sends, so that a right guess looks no different from a
 * wrong one. Behind a proxy, the address is the one `trust proxy` yields (TRUST_PROXY).
 */
export function authFailureLimit(redis: RedisClient, keyPrefix: string, perMinute: number): AuthFailureLimit {
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${keyPrefix}:authfail`,
    points: perMinute,
    duration: WINDOW_SEC,
    rejectIfRedisNotReady: true,
  });
  const storeError = (err: unknown): CrosslineError => new CrosslineError('STORE_UNAVAILABLE', undefined, [], { cause: err });
  return {
    async check(address, res) {
      let state: RateLimiterRes | null;
      try {
        state = await limiter.get(address);
      } catch (err) {
        throw storeError(err);
      }
      if (state === null || state.consumedPoints < perMinute) return;
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(state.msBeforeNext / 1000))));
      throw new CrosslineError('RATE_LIMITED', 'Too many failed authentications from this address; retry later.');
    },
    async record(address) {
      try {
        await limiter.consume(address);
      } catch (err) {
        // over the budget already: the next request is refused by check()
        if (!(err instanceof RateLimiterRes)) throw storeError(err);
      }
    },
  };
}
