/**
 * Keep-your-place against a real FreeSWITCH 1.10.12 with mod_callcenter (the test switch of
 * ../shared/freeswitch: extension 7000 of context default joins queue support@default, whose agent
 * 1000@default is scripted phone +12025550121, answering after ~1 s). Runs when
 * TEST_FREESWITCH_ESL_URL names it:
 *
 *   TEST_FREESWITCH_ESL_URL=esl://:ClueCon@127.0.0.1:41021 npm exec -- node --import tsx --test test/e2e/keep-place-freeswitch.test.ts
 *
 * A callback's call-center leg is originated into the queue (loopback/7000/default) with its place
 * (cc_base_score); the real member-queue-start ties the loopback-b member to it, the real
 * bridge-agent-start wakes the job, the caller (+12025550102, answers after ~1 s) is rung and
 * bridged to the queue leg, and the leg survives that bridge (loopback_bowout=false).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test, type TestContext } from 'node:test';
import pino from 'pino';
import type { Callback, FlowDeps } from '../../src/callbacks/index.js';
import { QueuePlaceWatcher } from '../../src/queues/index.js';
import { CallbackRepository, CancelSignal, createRedis } from '../../src/store/index.js';
import { LegFactsStore } from '../../src/store/leg-facts.js';
import { connectTelephony, parseEslUrl, type EslTelephony, type QueueEvent } from '../../src/telephony/index.js';
import { callbackFixture } from '../fixtures/callback.js';
import { connectModesl } from '../simulator/modesl.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { SleepingJobs } from '../support/sleeping-jobs.js';

const ESL_URL = process.env.TEST_FREESWITCH_ESL_URL;
const QUEUE = 'support@default';

describe('keep-your-place on FreeSWITCH 1.10.12', { skip: ESL_URL === undefined ? 'TEST_FREESWITCH_ESL_URL not set' : false }, () => {
  /** One keep-your-place attempt on the real switch, driven as the worker does, until it is past the queue. */
  async function keepPlace(t: TestContext, caller: string): Promise<{ stored: Callback; heard: QueueEvent[]; esl: EslTelephony }> {
    const address = parseEslUrl(ESL_URL ?? '');
    const esl = await connectTelephony(
      { ...address, apiTimeoutMs: 5000, dialGateway: 'phones', dialNumberFormat: 'e164', sipProfile: 'internal', ttsEngine: 'flite', ttsVoice: 'kal' },
      { timeoutMs: 5000 },
    );
    const side = await connectModesl(address.host, address.port, address.password);
    const redis = createRedis(await testRedisUrl());
    const subscriber = redis.duplicate();
    const prefix = uniquePrefix();
    const repository = new CallbackRepository(redis, prefix);
    const heard: QueueEvent[] = [];
    const stopHearing = esl.onQueueEvent((e) => heard.push(e));
    const jobs = new SleepingJobs();
    const places = new QueuePlaceWatcher({
      switches: [{ queues: esl }],
      wake: jobs.wake,
      logger: pino({ level: 'silent' }),
    });
    places.start();
    let callback: Callback | undefined;
    t.after(async () => {
      places.stop();
      stopHearing();
      const stored = callback ? await repository.get(callback.id) : undefined;
      for (const leg of stored?.attempts.flatMap((a) => a.legs) ?? []) side.bgapi(`uuid_kill ${leg.uuid}`, '', () => undefined);
      await sleep(500);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await subscriber.quit();
      await redis.quit();
      side.disconnect();
      await esl.close();
    });
    const api = (args: string): Promise<string> => new Promise((resolve) => side.api('callcenter_config', args, (e) => resolve(e.getBody())));
    assert.equal(await api('agent set status 1000@default Available'), '+OK\n');
    assert.equal(await api('agent set state 1000@default Waiting'), '+OK\n');
    // The agent's wrap-up (10 s) from an earlier run must be over, or the offer waits for it.
    const agent = (await esl.queueStatus(QUEUE)).agents.find((a) => a.name === '1000@default');
    const wrapLeft = agent ? agent.lastBridgeEndEpoch + agent.wrapUpSeconds - Math.floor(Date.now() / 1000) : 0;
    if (wrapLeft > 0) await sleep((wrapLeft + 1) * 1000);

    const deps: FlowDeps = {
      repository,
      telephony: esl,
      scheduler: { enqueue: async () => undefined, remove: async () => 'missing' },
      notifier: { statusChanged: async () => undefined },
      cancelSignal: new CancelSignal(redis, prefix, subscriber),
      messages: { callerNoAnswer: 'Sorry, the caller did not answer.', calleeUnavailable: 'unavailable', agentConnecting: 'Connecting you to {caller}.' },
      defaultCallerId: '+12025550199',
      callEndReconcileMs: 1000,
      legFacts: new LegFactsStore(redis, prefix),
      keepPlace: { places, joinTimeoutMs: 5000, recheckMs: 60_000, maxHoldMs: 600_000 },
      clock: () => new Date(),
      logger: pino({ level: 'silent' }),
    };
    const asked = new Date(Date.now() - 120_000).toISOString();
    callback = callbackFixture(
      { timeline: [], createdAt: asked, updatedAt: asked },
      {
        caller: { endpoint: { kind: 'number', e164: caller, country: 'US' }, name: 'Ada' },
        callee: { endpoint: { kind: 'number', e164: '+12025550101', country: 'US' }, callCenter: { name: 'acme', numbers: ['+12025550101'], keepPlace: { queue: QUEUE, extension: '7000', context: 'default' } } },
        ringTimeoutSec: 8,
        retry: { maxAttempts: 1, delaySeconds: 60 },
      },
    );
    await repository.create(callback);

    await jobs.drive(deps, callback.id, 1, 30_000);
    return { stored: (await repository.get(callback.id)) as Callback, heard, esl };
  }

  test('the queue leg joins support@default with its place, the agent picking up wakes the job, and the caller is rung and bridged to it', async (t) => {
    const { stored, heard, esl } = await keepPlace(t, '+12025550102');
    const events = stored.timeline.map((e) => `${e.event}${e.detail ? ` (${e.detail})` : ''}`);
    assert.equal(stored.status, 'bridged', events.join('\n'));
    const queueLeg = stored.attempts[0]?.legs.find((l) => l.role === 'callee');
    const callerLeg = stored.attempts[0]?.legs.find((l) => l.role === 'caller');
    // The real switch's member is the loopback-b twin of our leg, and carries our tags.
    const joined = heard.find((e): e is Extract<QueueEvent, { type: 'member-joined' }> => e.type === 'member-joined' && e.crosslineLeg === queueLeg?.uuid);
    assert.ok(joined, 'member-queue-start named our leg');
    assert.equal(joined.tags?.callback_id, stored.id);
    assert.ok(heard.some((e) => e.type === 'agent-answered' && e.sessionUuid === joined.sessionUuid), 'bridge-agent-start for our member');
    assert.match(stored.timeline.find((e) => e.event === 'queue-joined')?.detail ?? '', /in line as if it had joined 1[12]\d s earlier/);
    // Bridged to the caller and still up: loopback did not bow out and take our leg away.
    await sleep(2000);
    assert.equal(await esl.channelState(queueLeg?.uuid ?? ''), 'answered');
    assert.equal(await esl.bridgedTo(queueLeg?.uuid ?? ''), callerLeg?.uuid);
  });

  test('when the caller does not answer, the agent is told so and released (bridge-agent-end, member-queue-end), and the attempt fails NO_ANSWER', async (t) => {
    const { stored, heard } = await keepPlace(t, '+12025550151');
    const events = stored.timeline.map((e) => `${e.event}${e.detail ? ` (${e.detail})` : ''}`);
    assert.equal(stored.status, 'failed', events.join('\n'));
    assert.equal(stored.failureCause, 'NO_ANSWER');
    const queueLeg = stored.attempts[0]?.legs.find((l) => l.role === 'callee');
    assert.ok(events.some((e) => e.startsWith('agent-answered')), events.join('\n'));
    assert.ok(stored.timeline.some((e) => e.event === 'caller-no-answer-message-played' && e.role === 'callee'), events.join('\n'));
    assert.equal(queueLeg?.state, 'ended');
    const joined = heard.find((e): e is Extract<QueueEvent, { type: 'member-joined' }> => e.type === 'member-joined' && e.crosslineLeg === queueLeg?.uuid);
    // The agent is released: mod_callcenter ends its queue call with our member.
    const end = Date.now() + 5000;
    while (!heard.some((e) => e.type === 'member-left' && e.sessionUuid === joined?.sessionUuid) && Date.now() < end) await sleep(100);
    assert.ok(heard.some((e) => e.type === 'agent-call-ended' && e.memberUuid === joined?.memberUuid), 'bridge-agent-end for our member');
    assert.ok(heard.some((e) => e.type === 'member-left' && e.sessionUuid === joined?.sessionUuid), 'member-queue-end for our member');
  });
});
