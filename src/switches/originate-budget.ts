/**
 * A switch's originate budget, shared by every worker process through Redis: how many sessions
 * may be created per second and how many may be up at once, from configuration, tightened by what
 * the switch reports (the smaller of the two), and no originate while the switch answers slowly or
 * its idle CPU is low. A leg that is refused waits (`retryInMs`) instead of being dialled into a
 * DESTINATION_OUT_OF_ORDER.
 *
 * Per switch two Redis keys, changed together by one script (so they share a hash tag on a
 * cluster): `<p>:switch:<id>:sps`, a sliding log of the sessions granted in the last second, and
 * `<p>:switch:<id>:slots`, the legs holding a session slot, scored by when their slot lapses.
 */
import { Cluster } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { CrosslineError } from '../errors.js';
import type { RedisClient } from '../store/redis.js';
import type { SwitchLoad, SwitchLoadSource } from '../telephony/types.js';

/** Why a leg has to wait, as stable codes (shown to users as the reason a callback is queued). */
export type BudgetRefusal = 'SWITCH_SPS_BUDGET' | 'SWITCH_SESSIONS_FULL' | 'SWITCH_SLOW' | 'SWITCH_CPU_LOW';

export type BudgetDecision =
  | { granted: true; /** The slot ids to release when the legs end: the leg UUIDs given, or made up. */ slots: string[] }
  | { granted: false; reason: BudgetRefusal; /** When trying again may succeed, ms. */ retryInMs: number };

export interface BudgetLimits {
  /** Sessions the switch may create per second (`SWITCH_MAX_SPS`). */
  maxSessionsPerSecond: number;
  /** Sessions that may be up at once (`SWITCH_MAX_SESSIONS`). */
  maxSessions: number;
  /**
   * Sessions each leg takes on the switch (`SWITCH_SESSIONS_PER_LEG`): 1 when the far end is
   * elsewhere, 2 when it is a phone on the same switch (the test switch). @defaultValue 1
   */
  sessionsPerLeg?: number;
  /** Above this ESL reply time (p90, ms) the switch counts as slow (`SWITCH_SLOW_REPLY_MS`). */
  slowReplyMs: number;
  /** Below this idle CPU (%) the switch counts as busy; 0 turns the check off (`SWITCH_MIN_IDLE_CPU`). */
  minIdleCpu: number;
}

export interface OriginateBudgetOptions {
  redis: RedisClient;
  /** `KEY_PREFIX`. */
  keyPrefix: string;
  /** Which switch (one budget each); letters, digits and `._-`. */
  switchId: string;
  limits: BudgetLimits;
  /** What the switch reports (the ESL client); without it only the configured limits apply. */
  load?: SwitchLoadSource;
  /**
   * How long a slot lasts when no one releases it (every process missed its leg's end): the
   * longest call expected. @defaultValue 4 hours
   */
  slotTtlMs?: number;
}

/**
 * The sliding window of the sessions-per-second budget, ms: a second, plus room for the jitter
 * between our grant and the switch creating the session, so that no second of the switch's own
 * clock sees more than the budget.
 */
export const SPS_WINDOW_MS = 1100;
/** How soon to ask again when every session slot is taken: calls end at unknown times. */
export const SESSIONS_RETRY_MS = 1000;
/** How soon to ask again while the switch answers slowly (its latency is measured continually). */
export const SLOW_RETRY_MS = 1000;
/** The switch reports every 20 s; a report older than three of those is not trusted for load. */
const HEARTBEAT_MS = 20_000;
const STALE_AFTER_MS = 3 * HEARTBEAT_MS;
const DEFAULT_SLOT_TTL_MS = 4 * 3600_000;
const SWITCH_ID = /^[A-Za-z0-9._-]{1,64}$/;

// KEYS: sps log, slots. ARGV: sps limit, session limit, sessions per leg, sessions up on the
// switch (-1 when unknown), slot ttl ms, window ms, in-flight ms, then one slot id per leg.
// Returns {0} granted, {1, retryMs} over the sps budget, {2, retryMs} no session slot.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local spsLimit, sessionLimit, perLeg = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local switchSessions, ttl, window = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local inflightMs = tonumber(ARGV[7])
local legs = #ARGV - 7
local need = legs * perLeg
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local recent = redis.call('ZCARD', KEYS[1])
local used = redis.call('ZCARD', KEYS[2]) * perLeg
-- The switch's count (-1: unknown) lags our latest grants, whose channels may not exist yet: those
-- of the last in-flight time are added to it (a leg already counted is counted twice that long).
if switchSessions >= 0 then
  used = math.max(used, switchSessions + redis.call('ZCOUNT', KEYS[1], now - inflightMs, '+inf'))
end
if used + need > sessionLimit then return {2, ${SESSIONS_RETRY_MS}} end
if recent + need > spsLimit then
  local oldest = redis.call('ZRANGE', KEYS[1], recent + need - spsLimit - 1, recent + need - spsLimit - 1, 'WITHSCORES')
  if oldest[2] == nil then return {1, window} end
  return {1, math.max(1, tonumber(oldest[2]) + window - now)}
end
local latest = now + ttl
for i = 8, #ARGV do
  for j = 1, perLeg do redis.call('ZADD', KEYS[1], now, ARGV[i] .. ':' .. j .. ':' .. now) end
  redis.call('ZADD', KEYS[2], latest, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], window)
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], last[2])
return {0}`;

/** The two keys of a switch: `{<prefix>:switch:<id>}:…` on a cluster (one slot), `<prefix>:switch:<id>:…` on one node. */
export function budgetKeys(prefix: string, switchId: string, cluster: boolean): { sps: string; slots: string } {
  const base = cluster ? `{${prefix}:switch:${switchId}}` : `${prefix}:switch:${switchId}`;
  return { sps: `${base}:sps`, slots: `${base}:slots` };
}

/** The limits in force: the configured ones, tightened by what the switch reports. */
export function effectiveLimits(limits: BudgetLimits, load: SwitchLoad | undefined, now: number): {
  maxSessionsPerSecond: number; maxSessions: number; /** The switch's fresh count; undefined when unknown or stale. */ sessionsUp: number | undefined;
} {
  // FreeSWITCH 1.10.12 lets N - 1 through under `sps N` and keeps N - 1 up under `max_sessions N`
  // (measured; see src/simulator/capacity.ts).
  const learntSps = load?.maxSessionsPerSecond === undefined ? Infinity : load.maxSessionsPerSecond - 1;
  const learntSessions = load === undefined ? Infinity : load.maxSessions - 1;
  const fresh = load !== undefined && now - load.at <= STALE_AFTER_MS;
  return {
    maxSessionsPerSecond: Math.min(limits.maxSessionsPerSecond, learntSps),
    maxSessions: Math.min(limits.maxSessions, learntSessions),
    sessionsUp: fresh ? load.sessions : undefined,
  };
}

/**
 * How long after a grant the switch's session count may not show the leg yet: its channel is made
 * about one reply time after the originate is sent, and its CHANNEL_CREATE takes as long to reach
 * us; three reply times (p90), at least 250 ms, at most the sps window.
 */
export function inFlightMs(replyMs: number | undefined): number {
  return replyMs === undefined ? SPS_WINDOW_MS : Math.min(SPS_WINDOW_MS, Math.max(250, Math.ceil(3 * replyMs)));
}

export class OriginateBudget {
  readonly #redis: RedisClient;
  readonly #keys: { sps: string; slots: string };
  readonly #limits: Required<BudgetLimits>;
  readonly #load: SwitchLoadSource | undefined;
  readonly #slotTtlMs: number;

  constructor(options: OriginateBudgetOptions) {
    if (!SWITCH_ID.test(options.switchId)) throw new TypeError(`switchId must be 1-64 of [A-Za-z0-9._-], got ${JSON.stringify(options.switchId)}`);
    const perLeg = options.limits.sessionsPerLeg ?? 1;
    for (const [name, value] of [['maxSessionsPerSecond', options.limits.maxSessionsPerSecond], ['maxSessions', options.limits.maxSessions], ['sessionsPerLeg', perLeg]] as const) {
      if (!(Number.isInteger(value) && value > 0)) throw new TypeError(`${name} must be a positive integer, got ${value}`);
    }
    this.#redis = options.redis;
    this.#keys = budgetKeys(options.keyPrefix, options.switchId, options.redis instanceof Cluster);
    this.#limits = { ...options.limits, sessionsPerLeg: perLeg };
    this.#load = options.load;
    this.#slotTtlMs = options.slotTtlMs ?? DEFAULT_SLOT_TTL_MS;
  }

  /**
   * Asks for `legs` originates now: a count, or the legs' UUIDs (which become their slot ids, so
   * that release(uuid) works from any process that hears the leg end). Granted, the legs count
   * against the sessions-per-second budget and hold a session slot each until released; refused,
   * nothing is taken. Throws STORE_UNAVAILABLE when Redis fails.
   */
  async tryAcquire(legs: number | readonly string[] = 1): Promise<BudgetDecision> {
    const slots = typeof legs === 'number' ? Array.from({ length: legs }, () => randomUUID()) : [...legs];
    if (slots.length === 0) return { granted: true, slots };
    const now = Date.now();
    const load = this.#load?.load();
    const fresh = load !== undefined && now - load.at <= STALE_AFTER_MS;
    if (load?.replyMs !== undefined && load.replyMs > this.#limits.slowReplyMs) {
      return { granted: false, reason: 'SWITCH_SLOW', retryInMs: SLOW_RETRY_MS };
    }
    if (fresh && this.#limits.minIdleCpu > 0 && load.idleCpu < this.#limits.minIdleCpu) {
      // Idle CPU is only reported with each heartbeat.
      return { granted: false, reason: 'SWITCH_CPU_LOW', retryInMs: Math.max(SLOW_RETRY_MS, load.at + HEARTBEAT_MS - now) };
    }
    const limits = effectiveLimits(this.#limits, load, now);
    let reply: unknown;
    try {
      reply = await this.#redis.eval(
        TAKE, 2, this.#keys.sps, this.#keys.slots,
        String(limits.maxSessionsPerSecond), String(limits.maxSessions), String(this.#limits.sessionsPerLeg),
        String(limits.sessionsUp ?? -1), String(this.#slotTtlMs), String(SPS_WINDOW_MS), String(inFlightMs(load?.replyMs)), ...slots,
      );
    } catch (err) {
      throw new CrosslineError('STORE_UNAVAILABLE', undefined, [], { cause: err });
    }
    const [code, retryInMs] = Array.isArray(reply) ? reply.map(Number) : [Number.NaN];
    if (code === 0) return { granted: true, slots };
    if (code === 1) return { granted: false, reason: 'SWITCH_SPS_BUDGET', retryInMs: retryInMs ?? SPS_WINDOW_MS };
    if (code === 2) return { granted: false, reason: 'SWITCH_SESSIONS_FULL', retryInMs: retryInMs ?? SESSIONS_RETRY_MS };
    throw new CrosslineError('STORE_UNAVAILABLE', `Unexpected reply from the originate budget script: ${JSON.stringify(reply)}`);
  }

  /** Frees the session slots of legs that have ended (or were never created); unknown ids are ignored. */
  async release(slots: string | readonly string[]): Promise<void> {
    const ids = typeof slots === 'string' ? [slots] : [...slots];
    if (ids.length === 0) return;
    try {
      await this.#redis.zrem(this.#keys.slots, ...ids);
    } catch (err) {
      throw new CrosslineError('STORE_UNAVAILABLE', undefined, [], { cause: err });
    }
  }

  /**
   * Sessions the switch has room for now: the limit in force less what is held (or what the switch
   * reports up, if more). What a pool ranks switches by.
   */
  async freeSessions(): Promise<number> {
    const now = Date.now();
    const limits = effectiveLimits(this.#limits, this.#load?.load(), now);
    const held = (await this.held()) * this.#limits.sessionsPerLeg;
    return limits.maxSessions - Math.max(held, limits.sessionsUp ?? 0);
  }

  /** Legs holding a slot now (for metrics and tests). */
  held(): Promise<number> {
    return this.#redis.zcount(this.#keys.slots, Date.now(), '+inf');
  }
}
