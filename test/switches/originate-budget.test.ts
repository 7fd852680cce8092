/**
 * The originate budget against a real Redis: several processes' budgets share one limit, what the
 * switch reports tightens it, and session slots free up when legs end.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedisClient, type RedisClient } from '../../src/store/redis.js';
import { OriginateBudget, SPS_WINDOW_MS, budgetKeys, type BudgetLimits } from '../../src/switches/index.js';
import type { SwitchLoad, SwitchLoadSource } from '../../src/telephony/types.js';
import { redisClusterUnavailable, startRedisCluster, testRedisUrl, uniquePrefix } from '../support/redis.js';

const LIMITS: BudgetLimits = { maxSessionsPerSecond: 1000, maxSessions: 1000, slowReplyMs: 1000, minIdleCpu: 0 };

/** A switch that reports `load` (what the ESL client would expose). */
const reporting = (load: Partial<SwitchLoad>): SwitchLoadSource => ({
  load: () => ({ sessions: 0, maxSessions: 10_000, idleCpu: 99, at: Date.now(), ...load }),
  onLoad: () => () => undefined,
});

describe('the originate budget shared through Redis', () => {
  /** One client per simulated worker process. */
  const clients: RedisClient[] = [];
  let url: string;
  before(async () => {
    url = await testRedisUrl();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  const process = (keyPrefix: string, limits: Partial<BudgetLimits> = {}, extra: { load?: SwitchLoadSource; slotTtlMs?: number } = {}): OriginateBudget => {
    const redis = createRedisClient(url);
    clients.push(redis);
    return new OriginateBudget({ redis, keyPrefix, switchId: 'fs1', limits: { ...LIMITS, ...limits }, ...extra });
  };

  it('two worker processes share one sessions-per-second budget, and a refused leg learns when to try again', async () => {
    const prefix = uniquePrefix();
    const [a, b] = [process(prefix, { maxSessionsPerSecond: 5 }), process(prefix, { maxSessionsPerSecond: 5 })];
    const started = Date.now();
    const decisions = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).tryAcquire([randomUUID()])));
    const granted = decisions.filter((d) => d.granted);
    assert.equal(granted.length, 5);
    for (const d of decisions) {
      if (d.granted) continue;
      assert.equal(d.reason, 'SWITCH_SPS_BUDGET');
      assert.ok(d.retryInMs > 0 && d.retryInMs <= SPS_WINDOW_MS, `retryInMs ${d.retryInMs}`);
    }
    const wait = Math.max(...decisions.map((d) => (d.granted ? 0 : d.retryInMs)));
    await sleep(wait + 20);
    assert.ok(Date.now() - started >= SPS_WINDOW_MS - 50);
    assert.equal((await a.tryAcquire()).granted, true);
  });

  it('a leg holds a session slot until it is released, from whichever process hears it end', async () => {
    const prefix = uniquePrefix();
    const [a, b] = [process(prefix, { maxSessions: 3 }), process(prefix, { maxSessions: 3 })];
    const legs = [randomUUID(), randomUUID(), randomUUID()];
    assert.deepEqual(await a.tryAcquire(legs.slice(0, 2)), { granted: true, slots: legs.slice(0, 2) });
    assert.equal((await b.tryAcquire([legs[2] ?? ''])).granted, true);
    assert.deepEqual(await b.tryAcquire([randomUUID()]), { granted: false, reason: 'SWITCH_SESSIONS_FULL', retryInMs: 1000 });
    await b.release(legs[0] ?? '');
    assert.equal(await a.held(), 2);
    const again = await a.tryAcquire(1);
    assert.equal(again.granted, true);
    assert.equal(again.granted && again.slots.length, 1);
    assert.equal((await a.tryAcquire()).granted, false);
  });

  it('a slot nobody releases lapses after its time', async () => {
    const budget = process(uniquePrefix(), { maxSessions: 1 }, { slotTtlMs: 100 });
    assert.equal((await budget.tryAcquire()).granted, true);
    assert.equal((await budget.tryAcquire()).granted, false);
    await sleep(150);
    assert.equal((await budget.tryAcquire()).granted, true);
  });

  it('each leg takes sessionsPerLeg sessions (the phone on the same switch counts too)', async () => {
    const budget = process(uniquePrefix(), { maxSessions: 4, maxSessionsPerSecond: 100, sessionsPerLeg: 2 });
    assert.equal((await budget.tryAcquire(2)).granted, true);
    assert.equal((await budget.tryAcquire(1)).granted, false);
    const perSecond = process(uniquePrefix(), { maxSessionsPerSecond: 5, sessionsPerLeg: 2 });
    assert.equal((await perSecond.tryAcquire(2)).granted, true);
    assert.equal((await perSecond.tryAcquire(1)).granted, false);
  });

  it('the limits the switch reports apply when they are smaller than the configured ones (sps N and max_sessions N let N - 1 through)', async () => {
    const learnt = reporting({ maxSessions: 4, maxSessionsPerSecond: 3 });
    const bySps = process(uniquePrefix(), {}, { load: learnt });
    assert.equal((await bySps.tryAcquire(2)).granted, true);
    assert.equal((await bySps.tryAcquire(1)).granted === false && 'refused', 'refused');
    const bySessions = process(uniquePrefix(), {}, { load: reporting({ maxSessions: 3 }) });
    assert.equal((await bySessions.tryAcquire(2)).granted, true);
    assert.deepEqual(await bySessions.tryAcquire(1), { granted: false, reason: 'SWITCH_SESSIONS_FULL', retryInMs: 1000 });
    // Sessions that others put on the switch count as well.
    const crowded = process(uniquePrefix(), { maxSessions: 10 }, { load: reporting({ sessions: 9 }) });
    assert.equal((await crowded.tryAcquire(1)).granted, true);
    assert.equal((await crowded.tryAcquire(1)).granted, false);
    // A count older than three heartbeats is not trusted; the limits still are.
    const stale = process(uniquePrefix(), { maxSessions: 10 }, { load: reporting({ sessions: 9, maxSessions: 6, at: Date.now() - 61_000 }) });
    assert.equal((await stale.tryAcquire(5)).granted, true);
    assert.equal((await stale.tryAcquire(1)).granted, false);
  });

  it('a slow or busy switch gets no new legs, and nothing is taken from the budget', async () => {
    const prefix = uniquePrefix();
    let load: Partial<SwitchLoad> = { replyMs: 1500 };
    const source: SwitchLoadSource = { load: () => ({ sessions: 0, maxSessions: 100, idleCpu: 99, at: Date.now() - 5000, ...load }), onLoad: () => () => undefined };
    const budget = process(prefix, { maxSessions: 1, minIdleCpu: 10 }, { load: source });
    assert.deepEqual(await budget.tryAcquire(), { granted: false, reason: 'SWITCH_SLOW', retryInMs: 1000 });
    load = { replyMs: 20, idleCpu: 4 };
    const busy = await budget.tryAcquire();
    assert.equal(!busy.granted && busy.reason, 'SWITCH_CPU_LOW');
    assert.ok(!busy.granted && busy.retryInMs >= 14_000 && busy.retryInMs <= 15_000, JSON.stringify(busy));
    load = { replyMs: 20, idleCpu: 50 };
    assert.equal((await budget.tryAcquire()).granted, true);
  });

  it('works on a Redis Cluster, where the two keys of its script share a slot', { skip: redisClusterUnavailable() }, async () => {
    const cluster = await startRedisCluster(3);
    const [a, b] = [createRedisClient(cluster.url), createRedisClient(cluster.url)];
    try {
      const limits = { ...LIMITS, maxSessions: 2 };
      const [one, two] = [a, b].map((redis) => new OriginateBudget({ redis, keyPrefix: 'crossline', switchId: 'fs1', limits }));
      const leg = randomUUID();
      assert.equal((await one?.tryAcquire([leg]))?.granted, true);
      assert.equal((await two?.tryAcquire(1))?.granted, true);
      assert.equal((await two?.tryAcquire(1))?.granted, false);
      await two?.release(leg);
      assert.equal((await one?.tryAcquire(1))?.granted, true);
    } finally {
      await Promise.all([a.quit(), b.quit()]);
      await cluster.stop();
    }
  });

  it('keeps a switch in one hash slot on a cluster, and leaves the names untagged on one node', () => {
    assert.deepEqual(budgetKeys('crossline', 'fs1', true), { sps: '{crossline:switch:fs1}:sps', slots: '{crossline:switch:fs1}:slots' });
    assert.deepEqual(budgetKeys('crossline', 'fs1', false), { sps: 'crossline:switch:fs1:sps', slots: 'crossline:switch:fs1:slots' });
    assert.throws(() => process('p', {}, {}) && new OriginateBudget({ redis: clients[0] as RedisClient, keyPrefix: 'p', switchId: 'a b', limits: LIMITS }), TypeError);
  });
});
