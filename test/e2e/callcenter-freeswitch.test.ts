/**
 * The queue-time capability against a real FreeSWITCH 1.10.12 with mod_callcenter (the test switch
 * of ../shared/freeswitch: extension 7000 joins queue support@default, whose agent 1000@default is
 * scripted phone +12025550121, answering after ~1 s). Runs when TEST_FREESWITCH_ESL_URL names it:
 *
 *   TEST_FREESWITCH_ESL_URL=esl://:ClueCon@127.0.0.1:42021 npm exec -- node --import tsx --test test/e2e/callcenter-freeswitch.test.ts
 *
 * Two customers join through `loopback/7000/default`: the queue as Crossline reads it (one waiting
 * behind one answered; the agent busy), the events it hears (joins, the answer, the end, the
 * abandon), and the waits and handle time it records from them.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import pino from 'pino';
import { Redis } from 'ioredis';
import { startQueueMonitor } from '../../src/queues/monitor.js';
import { QueueObservations } from '../../src/queues/observations.js';
import { snapshotOf } from '../../src/queues/providers/freeswitch.js';
import { connectTelephony, parseEslUrl, type QueueEvent } from '../../src/telephony/index.js';
import { connectModesl } from '../simulator/modesl.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const ESL_URL = process.env.TEST_FREESWITCH_ESL_URL;
const QUEUE = 'support@default';

describe('mod_callcenter on FreeSWITCH 1.10.12, read by Crossline', { skip: ESL_URL === undefined ? 'TEST_FREESWITCH_ESL_URL not set' : false }, () => {
  test('a queue with one customer talking to the agent and one waiting is read as such, and the monitor records the wait and the handle time', async (t) => {
    const address = parseEslUrl(ESL_URL ?? '');
    const esl = await connectTelephony(
      { ...address, apiTimeoutMs: 5000, dialGateway: 'phones', dialNumberFormat: 'e164', sipProfile: 'internal', ttsEngine: 'flite', ttsVoice: 'kal' },
      { timeoutMs: 5000 },
    );
    const side = await connectModesl(address.host, address.port, address.password);
    const redis = new Redis(await testRedisUrl(), { maxRetriesPerRequest: 1 });
    const prefix = `${uniquePrefix()}:`;
    const observations = new QueueObservations(redis, prefix);
    const events: QueueEvent[] = [];
    const stopEvents = esl.onQueueEvent((e) => events.push(e));
    const stopMonitor = startQueueMonitor({ queues: esl, observations, defaultHandleSeconds: 300, logger: pino({ level: 'silent' }) });
    const legs = [randomUUID(), randomUUID()];
    t.after(async () => {
      stopMonitor();
      stopEvents();
      for (const uuid of legs) side.bgapi(`uuid_kill ${uuid}`, '', () => undefined);
      await sleep(500);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      side.disconnect();
      await esl.close();
    });
    const api = (args: string): Promise<string> => new Promise((resolve) => side.api('callcenter_config', args, (e) => resolve(e.getBody())));
    // The agent as the switch's configuration has it (a previous run may have left it on break).
    assert.equal(await api(`agent set status 1000@default Available`), '+OK\n');
    assert.equal((await esl.queueStatus(QUEUE)).members.filter((m) => m.state === 'Waiting' || m.state === 'Trying').length, 0, 'the queue starts empty');
    // Wrap-up from an earlier run must be over before the first customer joins.
    const agentBefore = (await esl.queueStatus(QUEUE)).agents[0];
    const wrapLeft = agentBefore ? agentBefore.lastBridgeEndEpoch + agentBefore.wrapUpSeconds - Math.floor(Date.now() / 1000) : 0;
    if (wrapLeft >= 0) await sleep((wrapLeft + 1) * 1000);

    const join = (uuid: string, number: string, name: string): void =>
      side.bgapi(`originate {origination_uuid=${uuid},origination_caller_id_number=${number},origination_caller_id_name=${name}}loopback/7000/default &park()`, '', () => undefined);
    join(legs[0] as string, '+12025550109', 'Ada');
    await sleep(300);
    join(legs[1] as string, '+12025550108', 'Bob');
    const deadline = Date.now() + 10_000;
    while (!events.some((e) => e.type === 'agent-answered') && Date.now() < deadline) await sleep(50);
    await sleep(500);

    const status = await esl.queueStatus(QUEUE);
    const snap = snapshotOf(status, Date.now());
    assert.equal(snap.waiting, 1, JSON.stringify(status));
    assert.equal(snap.agentsAvailable, 0);
    assert.equal(snap.agentsBusy, 1);
    assert.equal(snap.wrapUpSeconds, 10);
    const joins = events.filter((e): e is Extract<QueueEvent, { type: 'member-joined' }> => e.type === 'member-joined');
    assert.equal(joins.length, 2);
    // The member is loopback's B leg; the leg Crossline originated is named in it.
    assert.deepEqual(joins.map((j) => j.crosslineLeg).sort(), [...legs].sort());
    const answered = events.find((e): e is Extract<QueueEvent, { type: 'agent-answered' }> => e.type === 'agent-answered');
    assert.equal(answered?.agent, '1000@default');
    assert.equal(answered?.sessionUuid, joins[0]?.sessionUuid);

    await sleep(1500);
    side.bgapi(`uuid_kill ${legs[0]}`, '', () => undefined);
    side.bgapi(`uuid_kill ${legs[1]}`, '', () => undefined);
    const ended = Date.now() + 10_000;
    while (events.filter((e) => e.type === 'member-left').length < 2 && Date.now() < ended) await sleep(50);
    const causes = events.filter((e): e is Extract<QueueEvent, { type: 'member-left' }> => e.type === 'member-left').map((e) => e.cause).sort();
    assert.deepEqual(causes, ['Cancel', 'Terminated']);
    await sleep(300);

    const history = await observations.history(QUEUE);
    assert.equal(history.waits.length, 1, 'one answered customer: one wait');
    assert.ok((history.waits[0]?.actualSeconds ?? 0) > 0.5 && (history.waits[0]?.actualSeconds ?? 0) < 5, JSON.stringify(history));
    assert.equal(history.handleSeconds.length, 1);
    assert.ok((history.handleSeconds[0] ?? 0) > 1 && (history.handleSeconds[0] ?? 0) < 6, JSON.stringify(history));
    // Bob abandoned: still listed by the switch (Abandoned) but not waiting.
    assert.equal(snapshotOf(await esl.queueStatus(QUEUE), Date.now()).waiting, 0);
  });
});
