import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createCallbackWorker } from '../../workers/callback-worker.js';
import type { Callback, FlowDeps } from '../../src/callbacks/index.js';
import { AttemptQueue, attemptJobId } from '../../src/queue/index.js';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import { CallbackRepository, CancelSignal, createRedis, type Redis } from '../../src/store/index.js';
import { LegFactsStore } from '../../src/store/leg-facts.js';
import type { EslTelephony } from '../../src/telephony/index.js';
import { callbackFixture } from '../fixtures/callback.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { connectTestTelephony } from '../support/telephony.js';

/*
 * The processor's step-job pattern over real BullMQ and Redis: a bridged callback's job moves to
 * the delayed set (holding no worker slot) and wakes to reconcile until the call is over.
 */

describe('the callback worker', () => {
  let redis: Redis;
  let subscriber: Redis;
  let sim: EslSimulator;
  let telephony: EslTelephony;

  before(async () => {
    redis = createRedis(await testRedisUrl());
    subscriber = redis.duplicate();
    sim = await createEslSimulator({ timeScale: 0.05 });
    telephony = await connectTestTelephony(sim.url);
  });
  after(async () => {
    await telephony.close();
    await sim.close();
    await subscriber.quit();
    await redis.quit();
  });

  it('a bridged call leaves the worker: with concurrency 1, two callbacks are bridged at once, their jobs sleep until the calls end, then complete', async () => {
    const prefix = uniquePrefix();
    const repository = new CallbackRepository(redis, prefix);
    const queue = new AttemptQueue({ connection: redis, prefix });
    const flow: FlowDeps = {
      repository,
      telephony,
      scheduler: queue,
      notifier: { statusChanged: async () => undefined },
      cancelSignal: new CancelSignal(redis, prefix, subscriber),
      messages: { callerNoAnswer: 'caller did not answer', calleeUnavailable: 'callee unavailable' },
      defaultCallerId: undefined,
      callEndReconcileMs: 300,
      legFacts: new LegFactsStore(redis, prefix),
      clock: () => new Date(),
      logger: pino({ level: 'silent' }),
    };
    const worker = createCallbackWorker(flow, { connection: redis, prefix, concurrency: 1, lockMs: 5_000 });
    try {
      const ids: string[] = [];
      for (const [caller, callee] of [['+12025553001', '+12025553002'], ['+12025553003', '+12025553004']] as const) {
        for (const n of [caller, callee]) sim.setPhone(n, { kind: 'answer', afterMs: 0 });
        const now = new Date().toISOString();
        const cb = callbackFixture(
          { timeline: [], createdAt: now, updatedAt: now },
          { caller: { endpoint: { kind: 'number', e164: caller, country: 'US' } }, callee: { endpoint: { kind: 'number', e164: callee, country: 'US' } } },
        );
        await repository.create(cb);
        await queue.enqueue(cb.id, 1, 0);
        ids.push(cb.id);
      }
      const stored = async (id: string): Promise<Callback> => (await repository.get(id)) as Callback;
      const until = async (what: string, predicate: () => Promise<boolean>): Promise<void> => {
        const deadline = Date.now() + 10_000;
        while (!(await predicate())) {
          assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };

      await until('both bridged', async () => (await Promise.all(ids.map(stored))).every((cb) => cb.status === 'bridged'));
      for (const id of ids) {
        const job = await queue.queue.getJob(attemptJobId(id, 1));
        assert.ok(job);
        await until('the job asleep', async () => (await job.getState()) === 'delayed');
        const fresh = await queue.queue.getJob(attemptJobId(id, 1));
        assert.equal(fresh?.data.waiting, 'call-end', 'the job data says what it waits for');
      }
      assert.equal(await queue.queue.getActiveCount(), 0, 'no slot is held by a live call');

      // Nobody runs a recorder here: each job's wake-up finds its call over and completes it.
      for (const id of ids) sim.remoteHangup((await stored(id)).attempts[0]?.legs[0]?.uuid ?? '');
      await until('both completed', async () => (await Promise.all(ids.map(stored))).every((cb) => cb.status === 'completed'));
      for (const id of ids) {
        await until('the job finished', async () => (await queue.queue.getJob(attemptJobId(id, 1)))?.finishedOn !== undefined);
        assert.equal(await (await queue.queue.getJob(attemptJobId(id, 1)))?.getState(), 'completed');
      }
    } finally {
      await worker.close();
      await queue.queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
