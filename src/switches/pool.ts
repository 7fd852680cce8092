import type { OriginateGate, SwitchRouter } from '../callbacks/ports.js';
import type { PostedSwitch, RedisClient } from '../store/index.js';
import type { SwitchLoadSource, Telephony } from '../telephony/types.js';
import type { OriginateBudget } from './originate-budget.js';
import { budgetGate } from './originate-gate.js';

/** One switch of a worker's pool: its connection and its originate budget. */
export interface PoolMember {
  id: string;
  telephony: Telephony & SwitchLoadSource;
  budget: OriginateBudget;
}

/** The Redis set of drained switch ids, shared by every API process and worker. */
export const drainedKey = (keyPrefix: string): string => `${keyPrefix}:switches:drained`;

/** Drain state of the pool, kept in Redis: any API process drains, every worker sees it. */
export class SwitchDrains {
  constructor(private readonly redis: RedisClient, private readonly keyPrefix: string) {}

  async drain(id: string): Promise<void> {
    await this.redis.sadd(drainedKey(this.keyPrefix), id);
  }

  async undrain(id: string): Promise<void> {
    await this.redis.srem(drainedKey(this.keyPrefix), id);
  }

  async drained(): Promise<Set<string>> {
    return new Set(await this.redis.smembers(drainedKey(this.keyPrefix)));
  }
}

/**
 * The switches one worker dials through. A new attempt goes to the switch with the most free
 * room that is connected and not drained; every later command of that attempt goes to the same
 * switch (uuid_bridge needs both legs on one switch).
 */
export class SwitchPool implements SwitchRouter {
  readonly #members: ReadonlyMap<string, PoolMember & { gate: OriginateGate }>;

  constructor(members: readonly PoolMember[], private readonly drains: SwitchDrains, private readonly lostAfterMs = 10_000) {
    this.#members = new Map(members.map((m) => [m.id, { ...m, gate: budgetGate(m.budget) }]));
  }

  ids(): string[] {
    return [...this.#members.keys()];
  }

  members(): ReadonlyArray<PoolMember & { gate: OriginateGate }> {
    return [...this.#members.values()];
  }

  telephonyFor(id: string): Telephony | undefined {
    return this.#members.get(id)?.telephony;
  }

  gateFor(id: string): OriginateGate | undefined {
    return this.#members.get(id)?.gate;
  }

  isLost(id: string): boolean {
    const member = this.#members.get(id);
    if (!member) return true;
    const status = member.telephony.status();
    return !status.connected && Date.now() - Date.parse(status.since) > this.lostAfterMs;
  }

  /**
   * The switch for a new attempt; undefined when every switch is down, drained or excluded (or,
   * `withRoom`, has no free room). A ranking, not a reservation: the gate's acquire on the switch
   * picked is the atomic claim (one Lua script per switch, shared by every worker).
   */
  async pick(options: { exclude?: ReadonlySet<string>; withRoom?: boolean } = {}): Promise<string | undefined> {
    const drained = await this.drains.drained();
    const candidates = [...this.#members.values()].filter((m) => !drained.has(m.id) && !options.exclude?.has(m.id) && m.telephony.status().connected);
    const free = await Promise.all(candidates.map((m) => m.budget.freeSessions()));
    let best: { id: string; free: number } | undefined;
    candidates.forEach((m, i) => {
      const room = free[i] ?? 0;
      if (options.withRoom && room <= 0) return;
      if (best === undefined || room > best.free) best = { id: m.id, free: room };
    });
    return best?.id;
  }

  /** What this worker sees of each switch, for the status board (drain state is not part of it). */
  async report(): Promise<PostedSwitch[]> {
    return Promise.all([...this.#members.values()].map(async (m): Promise<PostedSwitch> => {
      const sessions = m.telephony.load()?.sessions;
      const freeSessions = await m.budget.freeSessions().catch(() => undefined);
      return { id: m.id, status: m.telephony.status(), ...(sessions !== undefined ? { sessions } : {}), ...(freeSessions !== undefined ? { freeSessions } : {}) };
    }));
  }
}
