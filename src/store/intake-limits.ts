import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { LimitPolicy } from '../callbacks/limits.js';
import type { Admission, IntakeLimits } from '../callbacks/ports.js';
import { CrosslineError } from '../errors.js';
import type { RedisClient } from './redis.js';

/**
 * `<p>:active:<destination>`: the unfinished callbacks ringing one destination, as a sorted set of
 * callback ids scored by the time their slot lapses at the latest. The repository removes an id
 * in the same script that saves its final status, so a crash can neither keep nor lose a slot.
 */
export const activeSlotKey = (prefix: string, destination: string): string => `${prefix}:active:${destination}`;

// Drops lapsed slots, refuses (the index of the full key) or takes one slot on every key.
const TAKE_SLOTS = `
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  if redis.call('ZCARD', key) >= tonumber(ARGV[2]) then return i end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[4], ARGV[3])
  local latest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', key, latest[2])
end
return 0`;

/** How soon to try again when every slot of a destination is taken: calls are short, but unknown. */
const ACTIVE_RETRY_AFTER_SEC = 60;
const HOUR_SEC = 3600;
const DAY_SEC = 86_400;

const retryAfter = (res: RateLimiterRes): number => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

/**
 * {@link IntakeLimits} over Redis, shared by every API process: rate-limiter-flexible fixed
 * windows for the hourly destination and daily key budgets, and {@link activeSlotKey} sets for
 * callbacks in progress. A refused admission leaves every count as it was.
 */
export class RedisIntakeLimits implements IntakeLimits {
  private readonly perDestination: RateLimiterRedis;
  private readonly perKey: RateLimiterRedis;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly policy: LimitPolicy,
    private readonly clock: () => number = Date.now,
  ) {
    const common = { storeClient: redis, rejectIfRedisNotReady: true };
    this.perDestination = new RateLimiterRedis({ ...common, keyPrefix: `${prefix}:lim:dest`, points: policy.destinationPerHour, duration: HOUR_SEC });
    this.perKey = new RateLimiterRedis({ ...common, keyPrefix: `${prefix}:lim:key`, points: policy.keyPerDay, duration: DAY_SEC });
  }

  async admit(admission: Admission): Promise<void> {
    const { owner, destinations } = admission;
    await this.consume(this.perKey, owner, (res) =>
      new CrosslineError('DAILY_QUOTA_EXCEEDED', `This API key has used its ${this.policy.keyPerDay} callbacks for today.`, [], { retryAfterSec: retryAfter(res) }),
    );
    const counted: string[] = [];
    try {
      for (const d of destinations) {
        await this.consume(this.perDestination, d.key, (res) =>
          new CrosslineError('DESTINATION_RATE_LIMITED', `Too many callbacks to ${d.key} in the last hour.`, [{ path: d.path, message: `more than ${this.policy.destinationPerHour} per hour` }], {
            retryAfterSec: retryAfter(res),
          }),
        );
        counted.push(d.key);
      }
      await this.takeSlots(admission);
    } catch (err) {
      await this.giveBack(owner, counted);
      throw err;
    }
  }

  async refund(admission: Admission): Promise<void> {
    const keys = admission.destinations.map((d) => activeSlotKey(this.prefix, d.key));
    await Promise.all([
      this.giveBack(admission.owner, admission.destinations.map((d) => d.key)),
      ...keys.map((key) => this.redis.zrem(key, admission.callbackId).catch(() => 0)),
    ]);
  }

  /** Counts one point, or throws `refusal` (and takes the point back, so refusals do not pile up). */
  private async consume(limiter: RateLimiterRedis, key: string, refusal: (res: RateLimiterRes) => CrosslineError): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw new CrosslineError('STORE_UNAVAILABLE', undefined, [], { cause: err });
      await limiter.reward(key).catch(() => undefined);
      throw refusal(err);
    }
  }

  private async takeSlots(admission: Admission): Promise<void> {
    const { destinations, callbackId, holdUntilMs } = admission;
    if (destinations.length === 0) return;
    const keys = destinations.map((d) => activeSlotKey(this.prefix, d.key));
    let full: unknown;
    try {
      full = await this.redis.eval(TAKE_SLOTS, keys.length, ...keys, String(this.clock()), String(this.policy.destinationMaxActive), callbackId, String(holdUntilMs));
    } catch (err) {
      throw new CrosslineError('STORE_UNAVAILABLE', undefined, [], { cause: err });
    }
    const busy = typeof full === 'number' && full > 0 ? destinations[full - 1] : undefined;
    if (busy === undefined) return;
    throw new CrosslineError('DESTINATION_RATE_LIMITED', `${busy.key} already has ${this.policy.destinationMaxActive} callbacks in progress.`, [
      { path: busy.path, message: `more than ${this.policy.destinationMaxActive} in progress at once` },
    ], { retryAfterSec: ACTIVE_RETRY_AFTER_SEC });
  }

  private async giveBack(owner: string, destinations: readonly string[]): Promise<void> {
    await Promise.all([this.perKey.reward(owner), ...destinations.map((key) => this.perDestination.reward(key))]).catch(() => undefined);
  }
}
