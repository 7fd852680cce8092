import type { RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { CrosslineError } from '../errors.js';
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
export function rateLimit(redis: Redis, keyPrefix: string, perMinute: number): RequestHandler {
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
