/**
 * Ring the caller when an agent is near (issue 8, item 4): a callback with maxWaitSeconds to a call
 * center whose queue is a mod_callcenter queue on the switch waits (`waiting-for-agent`, no leg, the
 * job asleep) while the queue is long, and is placed once the expected wait comes down to it.
 * Real parts: the ESL simulator's mod_callcenter emulation, the ESL client, Redis.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { runAttempt, type Callback, type FlowDeps } from '../../src/callbacks/index.js';
import { CrosslineError } from '../../src/errors.js';
import { createGuardedLookup } from '../../src/notify/url-guard.js';
import { callCenterNameOf, queueNearness } from '../../src/queues/index.js';
import { startQueueMonitor } from '../../src/queues/monitor.js';
import { QueueObservations } from '../../src/queues/observations.js';
import { FreeswitchQueueProvider } from '../../src/queues/providers/freeswitch.js';
import { HttpQueueProvider } from '../../src/queues/providers/http.js';
import { QueueService } from '../../src/queues/service.js';
import type { QueueSource } from '../../src/queues/types.js';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import { CallbackRepository, CancelSignal, createRedis, type Redis } from '../../src/store/index.js';
import { LegFactsStore } from '../../src/store/leg-facts.js';
import type { EslTelephony } from '../../src/telephony/index.js';
import { callbackFixture } from '../fixtures/callback.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { connectTestTelephony } from '../support/telephony.js';

describe('a callback that waits for an agent to be near', () => {
  let sim: EslSimulator;
  let esl: EslTelephony;
  let redis: Redis;
  let subscriber: Redis;
  const prefix = uniquePrefix();
  const centers = new Map<string, QueueSource>();
  let stopMonitor: () => void;
  let deps: FlowDeps;
  let repository: CallbackRepository;

  before(async () => {
    // Real time: the queue's calls last 2 s, so an expected wait in seconds means something.
    sim = await createEslSimulator({ timeScale: 1 });
    esl = await connectTestTelephony(sim.url, { apiTimeoutMs: 3000 });
    redis = createRedis(await testRedisUrl());
    subscriber = redis.duplicate();
    const observations = new QueueObservations(redis, `${prefix}:`);
    stopMonitor = startQueueMonitor({ queues: esl, observations, defaultHandleSeconds: 300, logger: pino({ level: 'silent' }) });
    const queues = new QueueService({
      freeswitch: new FreeswitchQueueProvider(() => esl),
      http: new HttpQueueProvider({ lookup: createGuardedLookup({ allowPrivate: false }), timeoutMs: 300 }),
      observations,
      defaultHandleSeconds: 300,
      clock: () => new Date(),
    });
    repository = new CallbackRepository(redis, prefix);
    deps = {
      repository,
      telephony: esl,
      scheduler: { enqueue: async () => undefined, remove: async () => 'missing' },
      notifier: { statusChanged: async () => undefined },
      cancelSignal: new CancelSignal(redis, prefix, subscriber),
      messages: { callerNoAnswer: 'caller did not answer', calleeUnavailable: 'callee unavailable' },
      defaultCallerId: '+12025550199',
      callEndReconcileMs: 200,
      legFacts: new LegFactsStore(redis, prefix),
      agentWait: {
        nearness: queueNearness({
          queues: () => queues,
          sources: () => ({
            queueSourceOf: (_owner, name) => {
              const source = centers.get(name);
              return source ? Promise.resolve(source) : Promise.reject(new CrosslineError('ROUTE_NOT_FOUND', `no call center ${name}`));
            },
          }),
          callCenterOf: callCenterNameOf,
        }),
        recheckMinMs: 200,
        recheckMaxMs: 500,
        maxHoldMs: 60_000,
      },
      clock: () => new Date(),
      logger: pino({ level: 'silent' }),
    };
  });

  after(async () => {
    stopMonitor();
    for (const ch of sim.channels()) if (ch.state !== 'hungup') sim.remoteHangup(ch.uuid);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await subscriber.quit();
    await redis.quit();
    await esl.close();
    await sim.close();
  });

  /** Runs the job as the worker would: each wait is slept out (the job would be delayed), until done or bridged. */
  async function drive(id: string, untilMs: number): Promise<{ waits: number; bridged: boolean }> {
    let waits = 0;
    while (Date.now() < untilMs) {
      const outcome = await runAttempt(deps, id, 1);
      if (outcome.kind === 'done') return { waits, bridged: false };
      if (outcome.wait.step === 'call-end') return { waits, bridged: true };
      assert.equal(outcome.wait.step, 'agent');
      waits++;
      await sleep(outcome.wait.wakeInMs);
    }
    throw new Error('the callback was never placed');
  }

  it('waits (waiting-for-agent, nothing dialled) while the queue is long, and rings once it has drained to maxWaitSeconds', async () => {
    centers.set('acme', { type: 'freeswitch', queue: 'support@default' });
    // One agent, 2 s per call, no wrap-up; seven customers already in line: about 16 s of wait.
    sim.addAgent({ name: '1000@default', queues: ['support@default'], answerAfterMs: 100, talkMs: 2000, wrapUpSec: 0 });
    for (let i = 0; i < 7; i++) sim.joinQueue('support@default', { cidNumber: `+1202555013${i}`, cidName: `Customer ${i}` });
    const now = new Date().toISOString();
    const callback: Callback = callbackFixture(
      { timeline: [], createdAt: now, updatedAt: now },
      {
        caller: { endpoint: { kind: 'number', e164: '+12025550100', country: 'US' }, name: 'Ada' },
        callee: { endpoint: { kind: 'number', e164: '+12025550101', country: 'US' }, callCenter: { name: 'acme', numbers: ['+12025550101'] } },
        maxWaitSec: 10,
      },
    );
    await repository.create(callback);
    const originatesBefore = sim.originates().length;

    const first = await runAttempt(deps, callback.id, 1);
    assert.equal(first.kind, 'wait');
    let stored = (await repository.get(callback.id)) as Callback;
    assert.equal(stored.status, 'waiting-for-agent');
    assert.match(stored.timeline.at(-1)?.detail ?? '', /expected wait \d+ s; at most 10 s wanted/);
    assert.equal(stored.attempts.length, 0, 'no attempt while held');
    assert.equal(sim.originates().length, originatesBefore, 'nothing dialled while held');

    const started = Date.now();
    const { waits, bridged } = await drive(callback.id, Date.now() + 40_000);
    stored = (await repository.get(callback.id)) as Callback;
    assert.ok(bridged, `bridged; timeline: ${stored.timeline.map((e) => e.event).join(', ')}`);
    assert.ok(waits >= 2, `looked again several times (${waits})`);
    const near = stored.timeline.find((e) => e.event === 'agent-near');
    assert.ok(near, 'agent-near recorded');
    const expected = Number(/expected wait (\d+) s/.exec(near.detail ?? '')?.[1]);
    assert.ok(expected <= 10, near.detail);
    const order = stored.timeline.map((e) => e.event);
    assert.ok(order.indexOf('waiting-for-agent') < order.indexOf('agent-near'));
    assert.ok(order.indexOf('agent-near') < order.indexOf('leg-dialing'));
    // Placed once the line had drained, not at once: some of the 7 customers were served first.
    assert.ok(Date.now() - started >= 4000, `held ${Date.now() - started} ms`);
  });

  it('when the call center\'s queue provider fails, nothing is dialled: the callback keeps waiting (queue-lookup-failed, once) and fails after the hold limit', async () => {
    centers.set('broken', { type: 'http', url: 'http://127.0.0.1:9/queue' });
    const now = new Date().toISOString();
    const callback: Callback = callbackFixture(
      { timeline: [], createdAt: now, updatedAt: now },
      { callee: { endpoint: { kind: 'number', e164: '+12025550101', country: 'US' }, callCenter: { name: 'broken', numbers: ['+12025550101'] } }, maxWaitSec: 60 },
    );
    await repository.create(callback);
    const originatesBefore = sim.originates().length;
    for (let i = 0; i < 3; i++) assert.deepEqual(await runAttempt(deps, callback.id, 1), { kind: 'wait', wait: { step: 'agent', wakeInMs: 500 } });
    let stored = (await repository.get(callback.id)) as Callback;
    assert.equal(stored.status, 'waiting-for-agent');
    const failures = stored.timeline.filter((e) => e.event === 'queue-lookup-failed');
    assert.equal(failures.length, 1, 'the same failure is recorded once');
    assert.match(failures[0]?.detail ?? '', /not allowed|could not be reached/);
    assert.equal(sim.originates().length, originatesBefore);

    const limited: FlowDeps = { ...deps, agentWait: { ...(deps.agentWait as NonNullable<FlowDeps['agentWait']>), maxHoldMs: 1 }, clock: () => new Date(Date.now() + 1000) };
    assert.deepEqual(await runAttempt(limited, callback.id, 1), { kind: 'done' });
    stored = (await repository.get(callback.id)) as Callback;
    assert.equal(stored.status, 'failed');
    assert.equal(stored.failureCause, 'ALLOTTED_TIMEOUT');
    assert.equal(sim.originates().length, originatesBefore, 'never dialled');
  });
  it("when the call center's policy is call-anyway, a provider error does not hold the call back: it is placed, and the timeline says why", async () => {
    centers.set('lenient', { type: 'http', url: 'http://127.0.0.1:9/queue' });
    const now = new Date().toISOString();
    const callback: Callback = callbackFixture(
      { timeline: [], createdAt: now, updatedAt: now },
      {
        callee: { endpoint: { kind: 'number', e164: '+12025550101', country: 'US' }, callCenter: { name: 'lenient', numbers: ['+12025550101'], callOnQueueError: true } },
        maxWaitSec: 60,
      },
    );
    await repository.create(callback);
    const originatesBefore = sim.originates().length;
    const outcome = await runAttempt(deps, callback.id, 1);
    assert.ok(outcome.kind === 'done' || outcome.wait.step !== 'agent', JSON.stringify(outcome));
    const stored = (await repository.get(callback.id)) as Callback;
    const failed = stored.timeline.find((e) => e.event === 'queue-lookup-failed');
    assert.match(failed?.detail ?? '', /calling anyway \(the call center's onQueueError policy\)$/);
    assert.ok(stored.timeline.some((e) => e.event === 'leg-dialing'), stored.timeline.map((e) => e.event).join(', '));
    assert.ok(sim.originates().length > originatesBefore, 'the call was placed');
  });
});
