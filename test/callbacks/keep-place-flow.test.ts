/**
 * Keep-your-place (issue 8, item 4): a callback to a call center whose queue is a mod_callcenter
 * queue on the switch sends its call-center leg into the queue (loopback/7000/default, cc_base_score
 * = seconds since the customer asked), sleeps while it waits there (`queue-place`, no worker held),
 * is woken the moment an agent picks up (bridge-agent-start), rings the caller while the agent hears
 * "Connecting you to <caller>", and bridges them; a caller who does not answer is reported to the
 * agent, who is released, and the callback is retried per its policy.
 * Real parts: the ESL simulator (mod_callcenter emulation, loopback into the queue), the ESL client,
 * Redis, the queue-place watcher.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { runAttempt, type Callback, type FlowDeps } from '../../src/callbacks/index.js';
import { QueuePlaceWatcher } from '../../src/queues/index.js';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import { CallbackRepository, CancelSignal, createRedis, type Redis } from '../../src/store/index.js';
import { LegFactsStore } from '../../src/store/leg-facts.js';
import type { EslTelephony } from '../../src/telephony/index.js';
import { callbackFixture } from '../fixtures/callback.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { SleepingJobs } from '../support/sleeping-jobs.js';
import { connectTestTelephony } from '../support/telephony.js';

const TIME_SCALE = 0.05;
const KEEP = { queue: 'support@default', extension: '7000', context: 'default' };

describe('keep-your-place: the call-center leg waits in the queue and the caller is rung when an agent picks up', () => {
  let sim: EslSimulator;
  let esl: EslTelephony;
  let redis: Redis;
  let subscriber: Redis;
  let places: QueuePlaceWatcher;
  let deps: FlowDeps;
  let repository: CallbackRepository;
  const prefix = uniquePrefix();
  /** The worker's part (jobs the watcher wakes), and the retries the flow queued. */
  const jobs = new SleepingJobs();
  const enqueued: Array<{ id: string; attempt: number }> = [];

  before(async () => {
    sim = await createEslSimulator({ timeScale: TIME_SCALE });
    esl = await connectTestTelephony(sim.url, { apiTimeoutMs: 3000 });
    redis = createRedis(await testRedisUrl());
    subscriber = redis.duplicate();
    repository = new CallbackRepository(redis, prefix);
    places = new QueuePlaceWatcher({
      switches: [{ queues: esl }],
      wake: jobs.wake,
      logger: pino({ level: 'silent' }),
    });
    places.start();
    deps = {
      repository,
      telephony: esl,
      scheduler: {
        enqueue: async (id, attempt) => void enqueued.push({ id, attempt }),
        remove: async () => 'missing',
      },
      notifier: { statusChanged: async () => undefined },
      cancelSignal: new CancelSignal(redis, prefix, subscriber),
      messages: { callerNoAnswer: 'Sorry, the caller did not answer.', calleeUnavailable: 'callee unavailable', agentConnecting: 'Connecting you to {caller}.' },
      defaultCallerId: '+12025550199',
      callEndReconcileMs: 200,
      legFacts: new LegFactsStore(redis, prefix),
      // A long recheck: only the pickup's wake-up can make these tests pass in time.
      keepPlace: { places, joinTimeoutMs: 3000, recheckMs: 60_000, maxHoldMs: 3_600_000 },
      clock: () => new Date(),
      logger: pino({ level: 'silent' }),
    };
  });

  after(async () => {
    places.stop();
    for (const ch of sim.channels()) if (ch.state !== 'hungup') sim.remoteHangup(ch.uuid);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await subscriber.quit();
    await redis.quit();
    await esl.close();
    await sim.close();
  });

  const drive = (id: string, attempt = 1): Promise<'bridged' | 'done'> => jobs.drive(deps, id, attempt);

  async function create(caller: string, name: string, askedSecondsAgo = 0, retry = { maxAttempts: 2, delaySeconds: 60 }): Promise<Callback> {
    const asked = new Date(Date.now() - askedSecondsAgo * 1000).toISOString();
    const callback = callbackFixture(
      { timeline: [], createdAt: asked, updatedAt: asked },
      {
        caller: { endpoint: { kind: 'number', e164: caller, country: 'US' }, name },
        callee: { endpoint: { kind: 'number', e164: '+12025550101', country: 'US' }, name: 'Acme Support', callCenter: { name: 'acme', numbers: ['+12025550101'], keepPlace: KEEP } },
        ringTimeoutSec: 20,
        retry,
      },
    );
    await repository.create(callback);
    return callback;
  }

  const events = (cb: Callback): string[] => cb.timeline.map((e) => e.event);

  it('joins the queue with its place (cc_base_score), sleeps there, and once the agent picks up rings the caller, tells the agent who, and bridges them', async () => {
    sim.addAgent({ name: '1000@default', queues: ['support@default'], status: 'On Break', answerAfterMs: 1000, wrapUpSec: 0 });
    const callback = await create('+12025550102', 'Ada', 90);
    const first = await runAttempt(deps, callback.id, 1);
    assert.deepEqual(first, { kind: 'wait', wait: { step: 'queue-place', wakeInMs: 60_000 } });
    let stored = (await repository.get(callback.id)) as Callback;
    assert.equal(stored.status, 'waiting-for-agent');
    const leg = stored.attempts[0]?.legs[0];
    assert.equal(leg?.endpoint, 'queue:support@default');
    const originate = sim.originates().find((c) => c.text.includes(leg?.uuid ?? 'none'))?.text ?? '';
    assert.match(originate, /loopback\/7000\/default &park\(\)/);
    assert.match(originate, /cc_base_score=(9\d|1\d\d)[,}]/, 'the place carries the seconds since the customer asked');
    assert.match(originate, /loopback_bowout=false/);
    assert.match(originate, /origination_caller_id_number=\+12025550102/, 'the agent sees the customer number');
    const joined = stored.timeline.find((e) => e.event === 'queue-joined');
    assert.match(joined?.detail ?? '', /^support@default: member [0-9a-f-]{36}, in line as if it had joined (9\d|1\d\d) s earlier/);
    assert.ok(!sim.originates().some((c) => c.text.includes('+12025550102') && !c.text.includes('loopback')), 'the caller is not rung while no agent has picked up');

    // The agent comes back: it is offered the member, picks up, and the sleeping job is woken at once.
    sim.addAgent({ name: '1000@default', queues: ['support@default'], status: 'Available', answerAfterMs: 1000, wrapUpSec: 0 });
    assert.equal(await drive(callback.id), 'bridged');
    stored = (await repository.get(callback.id)) as Callback;
    assert.equal(stored.status, 'bridged');
    assert.ok(jobs.woken.includes(`${callback.id}/1`), 'woken by the pickup');
    const order = events(stored);
    for (const [a, b] of [['queue-joined', 'agent-answered'], ['agent-answered', 'leg-dialing'], ['announcement-started', 'bridged']] as const) {
      assert.ok(order.indexOf(a) >= 0 && order.indexOf(a) < order.lastIndexOf(b), `${a} before ${b}: ${order.join(', ')}`);
    }
    assert.equal(stored.timeline.find((e) => e.event === 'agent-answered')?.detail, '1000@default');
    const statuses = stored.timeline.filter((e) => e.status !== undefined).map((e) => e.status);
    assert.deepEqual(statuses.slice(-4), ['calling-callee', 'waiting-for-agent', 'calling-caller', 'bridged']);
    // The agent heard who is being connected, on the queue leg, while the caller rang.
    const spoken = sim.commands.filter((c) => c.text.includes(leg?.uuid ?? 'none') && /Connecting you to Ada/.test(c.text));
    assert.equal(spoken.length, 1, 'the agent announcement was sent once');
    const callerLeg = stored.attempts[0]?.legs.find((l) => l.role === 'caller');
    assert.ok(callerLeg?.answeredAt);
    assert.equal(sim.channels().find((c) => c.uuid === leg?.uuid)?.bridgedTo, callerLeg.uuid);
    sim.remoteHangup(callerLeg.uuid);
  });

  it('when the caller does not answer, the agent is told so and released, and the callback is retried per its policy', async () => {
    sim.addAgent({ name: '1000@default', queues: ['support@default'], status: 'Available', answerAfterMs: 500, wrapUpSec: 0 });
    // 0150–0159 ring and never answer.
    const callback = await create('+12025550151', 'Bob');
    assert.equal(await drive(callback.id), 'done');
    const stored = (await repository.get(callback.id)) as Callback;
    const leg = stored.attempts[0]?.legs.find((l) => l.role === 'callee');
    const order = events(stored);
    assert.ok(order.includes('agent-answered'), order.join(', '));
    const told = stored.timeline.find((e) => e.event === 'caller-no-answer-message-played' && e.role === 'callee');
    assert.ok(told, `the agent was told: ${order.join(', ')}`);
    assert.ok(sim.commands.some((c) => c.text.includes(leg?.uuid ?? 'none') && /the caller did not answer/.test(c.text)));
    assert.equal(leg?.state, 'ended', 'the queue leg (and with it the agent) is released');
    assert.equal(stored.timeline.find((e) => e.event === 'attempt-failed')?.hangupCause, 'NO_ANSWER');
    assert.equal(stored.status, 'scheduled');
    assert.deepEqual(enqueued.filter((e) => e.id === callback.id), [{ id: callback.id, attempt: 2 }]);
  });

  it('keeps the earlier asker ahead: of two customers waiting, the one who asked first is served first even if its leg joined later', async () => {
    sim.addAgent({ name: '1000@default', queues: ['support@default'], status: 'On Break', answerAfterMs: 300, wrapUpSec: 0 });
    const late = await create('+12025550103', 'Late', 5);
    const early = await create('+12025550104', 'Early', 300);
    // The late asker's leg joins first.
    assert.equal((await runAttempt(deps, late.id, 1)).kind, 'wait');
    assert.equal((await runAttempt(deps, early.id, 1)).kind, 'wait');
    sim.addAgent({ name: '1000@default', queues: ['support@default'], status: 'Available', answerAfterMs: 300, wrapUpSec: 0 });
    assert.equal(await drive(early.id), 'bridged');
    const earlyStored = (await repository.get(early.id)) as Callback;
    const lateStored = (await repository.get(late.id)) as Callback;
    assert.equal(earlyStored.status, 'bridged');
    assert.equal(lateStored.status, 'waiting-for-agent', 'the later asker still waits in line');
    assert.ok(!events(lateStored).includes('agent-answered'));
    // Release the agent: the late asker is served next.
    const callerLeg = earlyStored.attempts[0]?.legs.find((l) => l.role === 'caller');
    sim.remoteHangup(callerLeg?.uuid ?? '');
    assert.equal(await drive(late.id), 'bridged');
  });
  it('a place held longer than the limit without an agent is given up: queue-left, the leg hung up (the member abandons), the attempt fails ALLOTTED_TIMEOUT', async () => {
    sim.addAgent({ name: '1000@default', queues: ['support@default'], status: 'On Break', wrapUpSec: 0 });
    const callback = await create('+12025550105', 'Cy', 0, { maxAttempts: 1, delaySeconds: 60 });
    assert.equal((await runAttempt(deps, callback.id, 1)).kind, 'wait');
    const later: FlowDeps = { ...deps, keepPlace: { ...(deps.keepPlace as NonNullable<FlowDeps['keepPlace']>), maxHoldMs: 1 }, clock: () => new Date(Date.now() + 1000) };
    assert.deepEqual(await runAttempt(later, callback.id, 1), { kind: 'done' });
    const stored = (await repository.get(callback.id)) as Callback;
    assert.match(stored.timeline.find((e) => e.event === 'queue-left')?.detail ?? '', /^no agent within \d+ min in support@default$/);
    assert.equal(stored.status, 'failed');
    assert.equal(stored.failureCause, 'ALLOTTED_TIMEOUT');
    const leg = stored.attempts[0]?.legs[0];
    assert.equal(leg?.state, 'ended');
    assert.equal(sim.channels().find((c) => c.uuid === leg?.uuid)?.state, 'hungup');
  });
});
