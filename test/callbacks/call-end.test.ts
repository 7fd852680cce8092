import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { CallEndRecorder, runAttempt, type Callback, type FlowDeps, type TimelineEntry } from '../../src/callbacks/index.js';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import { CallbackRepository, CancelSignal, createRedis, type Redis } from '../../src/store/index.js';
import { LegFactsStore } from '../../src/store/leg-facts.js';
import type { EslTelephony } from '../../src/telephony/index.js';
import { callbackFixture } from '../fixtures/callback.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { connectTestTelephony } from '../support/telephony.js';

/*
 * A bridged call holds no job: its end is recorded by the call-end recorder of whichever worker
 * process hears the hangup, or by the job's next wake-up (the reconciliation). Real Redis, the
 * simulator over its socket, one ESL connection per "worker process".
 */

const legOf = (cb: Callback, role: 'callee' | 'caller') => cb.attempts[0]?.legs.find((l) => l.role === role);
const timeline = (cb: Callback): string[] => cb.timeline.filter((e) => e.attempt === 1 && !['leg-dialing', 'leg-answered', 'attempt-started', 'bridge-requested', 'hangup-requested', 'bridged'].includes(e.event)).map((e) => [e.event, e.role, e.hangupCause].filter(Boolean).join(' '));

describe('the end of a live call', () => {
  let redis: Redis;
  let sim: EslSimulator;
  const closers: Array<() => Promise<unknown>> = [];
  let prefix: string;
  let repository: CallbackRepository;
  let notified: TimelineEntry[];
  let number = 0;

  const connect = async (): Promise<EslTelephony> => {
    const telephony = await connectTestTelephony(sim.url);
    closers.push(() => telephony.close());
    return telephony;
  };

  /** What one worker process has: its own switch connection and Redis subscriber. */
  const workerDeps = async (telephony?: EslTelephony): Promise<FlowDeps> => {
    const subscriber = redis.duplicate();
    closers.push(() => subscriber.quit());
    return {
      repository,
      telephony: telephony ?? (await connect()),
      scheduler: { enqueue: async () => undefined, remove: async () => 'missing' },
      notifier: { statusChanged: async (_cb, entry) => void notified.push(entry) },
      cancelSignal: new CancelSignal(redis, prefix, subscriber),
      messages: { callerNoAnswer: 'caller did not answer', calleeUnavailable: 'callee unavailable' },
      defaultCallerId: undefined,
      callEndReconcileMs: 60_000,
      legFacts: new LegFactsStore(redis, prefix),
      clock: () => new Date(),
      logger: pino({ level: 'silent' }),
    };
  };

  const recorder = async (deps: FlowDeps): Promise<CallEndRecorder> => {
    const r = new CallEndRecorder(deps);
    await r.start();
    closers.push(() => r.stop());
    return r;
  };

  /** A callback driven up to the bridge; its job would now sleep. */
  async function bridgedCall(deps: FlowDeps): Promise<Callback> {
    number += 2;
    const [caller, callee] = [`+1202555${String(2000 + number).padStart(4, '0')}`, `+1202555${String(2001 + number).padStart(4, '0')}`];
    sim.setPhone(caller, { kind: 'answer', afterMs: 0 });
    sim.setPhone(callee, { kind: 'answer', afterMs: 0 });
    const now = new Date().toISOString();
    const callback = callbackFixture(
      { timeline: [], createdAt: now, updatedAt: now },
      { caller: { endpoint: { kind: 'number', e164: caller, country: 'US' } }, callee: { endpoint: { kind: 'number', e164: callee, country: 'US' } } },
    );
    await repository.create(callback);
    const outcome = await runAttempt(deps, callback.id, 1);
    assert.deepEqual(outcome, { kind: 'wait', wait: { step: 'call-end', wakeInMs: 60_000 } }, 'the job leaves the worker once bridged');
    const stored = (await repository.get(callback.id)) as Callback;
    assert.equal(stored.status, 'bridged');
    return stored;
  }

  async function until(id: string, predicate: (cb: Callback) => boolean, timeoutMs = 5_000): Promise<Callback> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const cb = (await repository.get(id)) as Callback;
      if (predicate(cb)) return cb;
      if (Date.now() > deadline) throw new Error(`timed out: ${cb.status} ${JSON.stringify(timeline(cb))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  before(async () => {
    redis = createRedis(await testRedisUrl());
    sim = await createEslSimulator({ timeScale: 0.05 });
  });
  after(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await sim.close();
    await redis.quit();
  });
  beforeEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    prefix = uniquePrefix();
    repository = new CallbackRepository(redis, prefix);
    notified = [];
  });

  it('when two worker processes hear the same hangup, the end is recorded once: one leg-ended per leg, one completed, one notification', async () => {
    const first = await workerDeps();
    const second = await workerDeps();
    await recorder(first);
    await recorder(second);
    const bridged = await bridgedCall(first);

    sim.remoteHangup(legOf(bridged, 'callee')?.uuid ?? '', 'NORMAL_CLEARING');
    const done = await until(bridged.id, (cb) => cb.status === 'completed');
    await new Promise((r) => setTimeout(r, 300)); // let the slower recorder finish too
    const final = (await repository.get(bridged.id)) as Callback;
    assert.deepEqual(timeline(final), ['leg-ended callee NORMAL_CLEARING', 'leg-ended caller NORMAL_CLEARING', 'completed']);
    assert.equal(final.revision, done.revision, 'nothing was saved after the completion');
    assert.equal(notified.filter((e) => e.status === 'completed').length, 1);
    const caller = sim.channels().find((c) => c.uuid === legOf(bridged, 'caller')?.uuid);
    assert.equal(caller?.state, 'hungup', 'the other party was hung up');
    const wake = await runAttempt(first, bridged.id, 1);
    assert.deepEqual(wake, { kind: 'done' }, 'the sleeping job finds the work done at its wake-up');
  });

  it('a hangup nobody heard is recorded by the next wake-up with cause UNKNOWN, and the callback completes', async () => {
    const dialler = await workerDeps();
    const bridged = await bridgedCall(dialler);
    // The worker that bridged the call goes away; nobody listens while the callee hangs up.
    await dialler.telephony.close();
    sim.remoteHangup(legOf(bridged, 'callee')?.uuid ?? '', 'NORMAL_CLEARING');

    const successor = await workerDeps();
    const outcome = await runAttempt(successor, bridged.id, 1);
    assert.deepEqual(outcome, { kind: 'done' });
    const done = (await repository.get(bridged.id)) as Callback;
    assert.equal(done.status, 'completed');
    // The switch ended the caller's leg with the bridge; nobody heard that either.
    assert.deepEqual(timeline(done), ['leg-ended callee UNKNOWN', 'leg-ended caller UNKNOWN', 'completed']);
    assert.equal(sim.channels().find((c) => c.uuid === legOf(bridged, 'caller')?.uuid)?.state, 'hungup');
  });

  it('a wake-up while both parties are on touches nothing and sleeps again', async () => {
    const deps = await workerDeps();
    const bridged = await bridgedCall(deps);
    const outcome = await runAttempt(deps, bridged.id, 1);
    assert.equal(outcome.kind, 'wait');
    const after = (await repository.get(bridged.id)) as Callback;
    assert.equal(after.revision, bridged.revision, 'nothing saved');
    assert.equal(sim.channels().filter((c) => [legOf(bridged, 'callee')?.uuid, legOf(bridged, 'caller')?.uuid].includes(c.uuid) && c.state === 'answered').length, 2);
    sim.remoteHangup(legOf(bridged, 'callee')?.uuid ?? '');
    await new Promise((r) => setTimeout(r, 100));
  });

  it('canceling a bridged callback that no job holds hangs both legs up at once and ends it canceled', async () => {
    const dialler = await workerDeps();
    const other = await workerDeps();
    await recorder(dialler);
    await recorder(other);
    const bridged = await bridgedCall(dialler);

    const asked = Date.now();
    await dialler.cancelSignal.request(bridged.id);
    const done = await until(bridged.id, (cb) => cb.status === 'canceled', 2_000);
    assert.ok(Date.now() - asked < 1_000, 'canceled promptly, not at the next wake-up');
    assert.deepEqual(timeline(done), ['cancel-requested', 'leg-ended callee ORIGINATOR_CANCEL', 'leg-ended caller ORIGINATOR_CANCEL', 'canceled']);
    for (const role of ['callee', 'caller'] as const) {
      assert.equal(sim.channels().find((c) => c.uuid === legOf(bridged, role)?.uuid)?.state, 'hungup', `${role} hung up`);
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(notified.filter((e) => e.status === 'canceled').length, 1);
  });

  it('a cancel raised while no worker listened is carried out by the next wake-up', async () => {
    const dialler = await workerDeps();
    const bridged = await bridgedCall(dialler);
    await dialler.cancelSignal.request(bridged.id);
    assert.equal(((await repository.get(bridged.id)) as Callback).status, 'bridged', 'nobody heard it');

    assert.deepEqual(await runAttempt(dialler, bridged.id, 1), { kind: 'done' });
    const done = (await repository.get(bridged.id)) as Callback;
    assert.equal(done.status, 'canceled');
    assert.equal(sim.channels().find((c) => c.uuid === legOf(bridged, 'caller')?.uuid)?.state, 'hungup');
  });
});
