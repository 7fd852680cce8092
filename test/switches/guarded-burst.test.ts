// @serial: a burst ten times over a simulated switch's capacity (test/run-suite.sh)
/**
 * The guard end to end below the callback flow: a simulated switch with a small capacity and a reply
 * latency that grows with load, a burst ten times over its capacity, and every leg asking the shared
 * budget first: no leg fails because of the switch. Without the budget the same burst does.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import { createRedisClient, type RedisClient } from '../../src/store/redis.js';
import { OriginateBudget, type BudgetRefusal } from '../../src/switches/index.js';
import { connectTelephony, parseEslUrl, type EslTelephony, type LegResult } from '../../src/telephony/index.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

/** The phone every leg calls: answers at once, hangs up 200 ms later. */
const PHONE = '+12025550141';
const LEGS = 30;

describe('a burst ten times over the switch capacity', () => {
  let redis: RedisClient;
  let sim: EslSimulator;
  let telephony: EslTelephony;
  before(async () => {
    redis = createRedisClient(await testRedisUrl());
  });
  after(async () => {
    await redis.quit();
  });
  afterEach(async () => {
    await telephony.close();
    await sim.close();
  });

  /**
   * 7 sessions at once and 21 per second, the phones on the same switch (two sessions per call):
   * 3 calls at once (N - 1 sessions), 10 new ones a second. Replies take 5 ms + 5 ms per session.
   */
  async function start(): Promise<void> {
    sim = await createEslSimulator({ timeScale: 1, maxSessions: 7, sessionsPerSecond: 21, phoneSessions: true, latency: { baseMs: 5, perSessionMs: 5 } });
    sim.setPhone(PHONE, { kind: 'answer', afterMs: 0, hangupAfterMs: 200 });
    telephony = await connectTelephony({
      ...parseEslUrl(sim.url), apiTimeoutMs: 5000, dialGateway: 'phones', dialNumberFormat: 'e164', sipProfile: 'internal', ttsEngine: 'flite', ttsVoice: 'kal',
    }, { timeoutMs: 3000 });
  }

  const dial = (uuid: string): Promise<LegResult> =>
    telephony.dial({ uuid, endpoint: { kind: 'number', e164: PHONE, country: 'US' }, ringTimeoutSec: 10, tags: { role: 'callee' } });

  it('completes with no failure caused by the switch when every leg waits for the shared budget', async () => {
    await start();
    while (telephony.load()?.maxSessionsPerSecond === undefined) await sleep(10);
    // Generous configured limits: what the switch reports decides.
    const limits = { maxSessionsPerSecond: 1000, maxSessions: 1000, sessionsPerLeg: 2, slowReplyMs: 1000, minIdleCpu: 0 };
    const keyPrefix = uniquePrefix();
    // Two workers' budgets over one Redis.
    const budgets = [0, 1].map(() => new OriginateBudget({ redis, keyPrefix, switchId: 'sim', limits, load: telephony }));
    const waited = new Map<BudgetRefusal, number>();
    const results = await Promise.all(Array.from({ length: LEGS }, async (_, i): Promise<LegResult> => {
      const budget = budgets[i % 2] as OriginateBudget;
      const uuid = randomUUID();
      for (;;) {
        const decision = await budget.tryAcquire([uuid]);
        if (decision.granted) break;
        waited.set(decision.reason, (waited.get(decision.reason) ?? 0) + 1);
        // A queue would delay the job by retryInMs; here the legs poll a little sooner.
        await sleep(Math.min(decision.retryInMs, 50));
      }
      const result = await dial(uuid);
      if (result.outcome === 'answered') await telephony.awaitHangup(uuid);
      await budget.release(uuid);
      return result;
    }));
    assert.deepEqual(results.filter((r) => r.outcome !== 'answered'), []);
    assert.deepEqual(sim.criticalLog(), []);
    assert.ok((waited.get('SWITCH_SESSIONS_FULL') ?? 0) > 0, `legs waited: ${JSON.stringify([...waited])}`);
  });

  it('without the budget the same burst is dialled into failures', async () => {
    await start();
    const results = await Promise.all(Array.from({ length: LEGS }, () => dial(randomUUID())));
    const causes = results.map((r) => (r.outcome === 'failed' ? r.cause : 'answered'));
    assert.ok(causes.filter((c) => c === 'DESTINATION_OUT_OF_ORDER').length >= LEGS / 2, causes.join(' '));
    assert.ok(sim.criticalLog().length > 0);
  });
});
