import { createHash } from 'node:crypto';
import type { CallCenterPacer, PacingDecision, PacingWaitReason } from '../../callbacks/ports.js';
import { CrosslineError } from '../../errors.js';
import type { RedisClient } from '../../store/index.js';

/** The window `originatesPerMinute` counts over, ms. */
export const PACING_WINDOW_MS = 60_000;

/**
 * One script per decision, on four keys of one center that share a hash tag (one Redis Cluster
 * slot): `active` (callback → lease end, ms), `log` (one member per attempt started, scored by
 * when), `line` (waiters → the order they first asked in, from a counter in `seen`) and `seen` (waiter → by when it is expected to
 * ask again; one that never comes back, canceled or deleted, leaves the line). Time is Redis's own
 * (TIME), so workers on machines whose clocks differ agree.
 *
 * The line orders waiters without blocking anyone: a slot goes to whoever asks while there is
 * room, and a waiter's place in line sets how often it asks (the longest waiting ask every fraction
 * of a second, those far back every few seconds), so service is first come, first served in the
 * main while a waiter asleep at the head never holds the others up (strict FIFO did: a head that
 * was told to sleep 15 s while the line moved blocked every slot behind it).
 *
 * Replies {granted, reason, rank, retryInMs}: reason 1 = in-progress limit, 2 = originate rate.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, lease = ARGV[1], tonumber(ARGV[2])
local maxActive, perMinute, window, expectIn = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local ttl = lease + window + expectIn + 60000
local function keep(key)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if redis.call('ZSCORE', KEYS[1], id) then
  redis.call('ZADD', KEYS[1], now + lease, id)
  keep(KEYS[1])
  return {1, 0, 0, 0}
end
if not redis.call('ZSCORE', KEYS[3], id) then
  redis.call('ZADD', KEYS[3], redis.call('HINCRBY', KEYS[4], '#seq', 1), id)
end
redis.call('HSET', KEYS[4], id, now + expectIn)
for _, head in ipairs(redis.call('ZRANGE', KEYS[3], 0, 31)) do
  if head ~= id and tonumber(redis.call('HGET', KEYS[4], head) or '0') < now then
    redis.call('ZREM', KEYS[3], head)
    redis.call('HDEL', KEYS[4], head)
  end
end
keep(KEYS[3])
keep(KEYS[4])
local rank = redis.call('ZRANK', KEYS[3], id)
local free = maxActive - redis.call('ZCARD', KEYS[1])
if free <= 0 then return {0, 1, rank, 0} end
local used = redis.call('ZCARD', KEYS[2])
if used >= perMinute then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {0, 2, rank, tonumber(oldest[2]) + window - now}
end
redis.call('ZREM', KEYS[3], id)
redis.call('HDEL', KEYS[4], id)
redis.call('ZADD', KEYS[1], now + lease, id)
redis.call('ZADD', KEYS[2], now, id .. ':' .. now .. ':' .. redis.call('ZCARD', KEYS[2]))
keep(KEYS[1])
keep(KEYS[2])
return {1, 0, 0, 0}
`;

const RELEASE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
`;

/** The first waiter in line still expected to ask again (one past its grace is left for ACQUIRE to drop). */
const NEXT_IN_LINE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, head in ipairs(redis.call('ZRANGE', KEYS[1], 0, 31)) do
  if tonumber(redis.call('HGET', KEYS[2], head) or '0') >= now then return head end
end
return false
`;

const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1]) == 1 and redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) + 60000 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 60000)
end
return 1
`;

const IN_PROGRESS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], now, '+inf')
`;

const REASONS: Record<number, PacingWaitReason> = { 1: 'CALL_CENTER_IN_PROGRESS_LIMIT', 2: 'CALL_CENTER_ORIGINATE_RATE' };
/** The soonest and latest a waiter asks again, ms. */
const MIN_RETRY_MS = 200;
const MAX_RETRY_MS = 15_000;
/** How long past its wake-up a waiter keeps its place (a busy worker may wake it late), ms. */
const LATE_GRACE_MS = 30_000;

/**
 * How long a waiter sleeps before asking again: the head of the line asks often, those far back
 * seldom (each wake-up is a job taken from the delayed set, so a thousand waiters polling fast
 * would load the queue). Waiting on the originate rate, the head wakes when the oldest start
 * leaves the minute.
 */
export function retryDelay(reason: PacingWaitReason, ahead: number, rateWaitMs: number, pacing: { maxInProgress: number; originatesPerMinute: number }, windowMs = PACING_WINDOW_MS): number {
  const spacing = windowMs / pacing.originatesPerMinute;
  const rounds = ahead / Math.max(1, Math.min(pacing.maxInProgress, pacing.originatesPerMinute));
  let ms: number;
  if (reason === 'CALL_CENTER_ORIGINATE_RATE') ms = rateWaitMs + ahead * spacing;
  else ms = Math.max(MIN_RETRY_MS * (1 + rounds) ** 2, ahead * spacing);
  const jitter = 0.9 + Math.random() * 0.2;
  return Math.round(Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, ms)) * jitter);
}

export interface PacerOptions {
  /** The window `originatesPerMinute` counts over, ms. @defaultValue 60000 (tests shorten it) */
  windowMs?: number;
  /** How long past its latest wake-up a waiter keeps its place in line, ms. @defaultValue 30000 */
  lateGraceMs?: number;
}

/** Per-center pacing over Redis, shared by every worker process (see ACQUIRE). */
export class RedisCallCenterPacer implements CallCenterPacer {
  private readonly windowMs: number;
  private readonly lateGraceMs: number;

  constructor(private readonly redis: RedisClient, private readonly prefix: string, options: PacerOptions = {}) {
    this.windowMs = options.windowMs ?? PACING_WINDOW_MS;
    this.lateGraceMs = options.lateGraceMs ?? LATE_GRACE_MS;
  }

  private keys(owner: string, center: string): string[] {
    const tag = createHash('sha256').update(`${owner}\n${center}`).digest('hex').slice(0, 20);
    const base = `${this.prefix}:cc-pacing:{${tag}}`;
    return [`${base}:active`, `${base}:log`, `${base}:line`, `${base}:seen`];
  }

  async acquire(owner: string, center: string, callbackId: string, pacing: { maxInProgress: number; originatesPerMinute: number }, leaseMs: number): Promise<PacingDecision> {
    let reply: [number, number, number, number];
    try {
      reply = (await this.redis.eval(ACQUIRE, 4, ...this.keys(owner, center), callbackId, String(Math.round(leaseMs)), String(pacing.maxInProgress), String(pacing.originatesPerMinute), String(this.windowMs), String(MAX_RETRY_MS + this.lateGraceMs))) as [number, number, number, number];
    } catch (err) {
      throw new CrosslineError('STORE_UNAVAILABLE', 'call-center pacing could not be read', [], { cause: err });
    }
    const [granted, code, rank, rateWaitMs] = reply;
    if (granted === 1) return { granted: true };
    const reason = REASONS[code] ?? 'CALL_CENTER_IN_PROGRESS_LIMIT';
    return { granted: false, reason, ahead: rank, retryInMs: retryDelay(reason, rank, rateWaitMs, pacing, this.windowMs) };
  }

  async renew(owner: string, center: string, callbackId: string, leaseMs: number): Promise<void> {
    await this.redis.eval(RENEW, 1, this.keys(owner, center)[0] as string, callbackId, String(Math.round(leaseMs)));
  }

  async release(owner: string, center: string, callbackId: string): Promise<void> {
    await this.redis.eval(RELEASE, 4, ...this.keys(owner, center), callbackId);
  }

  async nextInLine(owner: string, center: string): Promise<string | undefined> {
    const [, , line, seen] = this.keys(owner, center);
    const head = (await this.redis.eval(NEXT_IN_LINE, 2, line as string, seen as string)) as string | null;
    return head ?? undefined;
  }

  async inProgress(owner: string, center: string): Promise<number> {
    return Number(await this.redis.eval(IN_PROGRESS, 1, this.keys(owner, center)[0] as string));
  }
}
