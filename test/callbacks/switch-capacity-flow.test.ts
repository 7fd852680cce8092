/**
 * The attempt flow and the switch's capacity guard: a leg waits for the originate budget without
 * using an attempt, a slow originate reply is followed by the leg's UUID, and a leg the switch
 * refuses at once (over its limits despite the budget) waits instead of failing.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import {
  runAttempt,
  type Callback,
  type FlowDeps,
  type GateDecision,
  type OriginateGate,
  type TimelineEntry,
} from '../../src/callbacks/index.js';
import { CrosslineError } from '../../src/errors.js';
import { CallbackRepository, CancelSignal, createRedis, type Redis } from '../../src/store/index.js';
import { LegFactsStore } from '../../src/store/leg-facts.js';
import { OriginateBudget, SwitchDrains, SwitchPool } from '../../src/switches/index.js';
import type { ChannelState, DialRequest, DigitsResult, HangupCause, LegResult, PlayResult, SilenceResult, TelephonyStatus } from '../../src/telephony/types.js';
import { callbackFixture } from '../fixtures/callback.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const CALLER = '+12025550100';
const CALLEE = '+12025550101';

/** A switch whose answer to each originate is scripted by number; every leg it creates answers. */
class ScriptedSwitch {
  readonly dialled: DialRequest[] = [];
  readonly followed: string[] = [];
  readonly channels = new Map<string, ChannelState>();
  /** What dialling a number does; by default the leg answers. */
  readonly script = new Map<string, (request: DialRequest) => Promise<LegResult>>();

  status(): TelephonyStatus {
    return { connected: true, since: new Date().toISOString() };
  }
  load(): undefined {
    return undefined;
  }
  onLoad(): () => void {
    return () => undefined;
  }
  async dial(request: DialRequest): Promise<LegResult> {
    this.dialled.push(request);
    const number = request.endpoint.kind === 'number' ? request.endpoint.e164 : request.endpoint.kind === 'sip' ? request.endpoint.uri : request.endpoint.queue;
    const behaviour = this.script.get(number);
    if (behaviour) return behaviour(request);
    this.channels.set(request.uuid, 'answered');
    return { outcome: 'answered' };
  }
  async awaitAnswer(uuid: string): Promise<LegResult> {
    this.followed.push(uuid);
    return this.channels.get(uuid) === 'answered' ? { outcome: 'answered' } : { outcome: 'failed', cause: 'UNKNOWN' };
  }
  async channelState(uuid: string): Promise<ChannelState> {
    return this.channels.get(uuid) ?? 'absent';
  }
  async exists(uuid: string): Promise<boolean> {
    return (this.channels.get(uuid) ?? 'absent') !== 'absent';
  }
  onLegEnded(): () => void {
    return () => undefined;
  }
  awaitHangup(_uuid: string, signal?: AbortSignal): Promise<HangupCause> {
    return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
  }
  async play(): Promise<PlayResult> {
    return { outcome: 'played' };
  }
  async sendDtmf(): Promise<void> {}
  async waitForSilence(): Promise<SilenceResult> {
    return { outcome: 'silence', heardMs: 1000, tookMs: 1800 };
  }
  async collectDigits(): Promise<DigitsResult> {
    return { outcome: 'none' };
  }
  async bridge(): Promise<void> {}
  async bridgedTo(): Promise<string | undefined> {
    return undefined;
  }
  async hangup(uuid: string): Promise<void> {
    this.channels.set(uuid, 'absent');
  }
  async close(): Promise<void> {}
}

/** A gate that answers from a script (then grants), and remembers what it was asked. */
class ScriptedGate implements OriginateGate {
  readonly asked: string[] = [];
  readonly released: string[] = [];
  readonly refusals: GateDecision[] = [];
  async acquire(uuid: string): Promise<GateDecision> {
    this.asked.push(uuid);
    return this.refusals.shift() ?? { granted: true };
  }
  async release(uuid: string): Promise<void> {
    this.released.push(uuid);
  }
}

describe('the attempt flow behind the switch capacity guard', () => {
  let redis: Redis;
  let subscriber: Redis;
  let telephony: ScriptedSwitch;
  let gate: ScriptedGate;
  let repository: CallbackRepository;
  let deps: FlowDeps;
  let enqueued: number;

  before(async () => {
    redis = createRedis(await testRedisUrl());
    subscriber = redis.duplicate();
  });
  after(async () => {
    await subscriber.quit();
    await redis.quit();
  });
  beforeEach(() => {
    const prefix = uniquePrefix();
    telephony = new ScriptedSwitch();
    gate = new ScriptedGate();
    repository = new CallbackRepository(redis, prefix);
    enqueued = 0;
    deps = {
      repository,
      telephony,
      scheduler: { enqueue: async () => void (enqueued += 1), remove: async () => 'missing' },
      notifier: { statusChanged: async () => undefined },
      cancelSignal: new CancelSignal(redis, prefix, subscriber),
      gate,
      messages: { callerNoAnswer: 'caller did not answer', calleeUnavailable: 'callee unavailable' },
      defaultCallerId: undefined,
      callEndReconcileMs: 20,
      legFacts: new LegFactsStore(redis, prefix),
      clock: () => new Date(),
      logger: pino({ level: 'silent' }),
    } as FlowDeps;
  });

  async function stored(): Promise<Callback> {
    const now = new Date().toISOString();
    const callback = callbackFixture(
      { timeline: [], createdAt: now, updatedAt: now },
      {
        caller: { endpoint: { kind: 'number', e164: CALLER, country: 'US' } },
        callee: { endpoint: { kind: 'number', e164: CALLEE, country: 'US' } },
        retry: { maxAttempts: 2, delaySeconds: 30 },
      },
    );
    await repository.create(callback);
    return callback;
  }
  const reload = async (id: string): Promise<Callback> => (await repository.get(id)) as Callback;
  const events = (cb: Callback): string[] => cb.timeline.map((e) => (e.detail?.startsWith('SWITCH_') ? `${e.event} ${e.detail}` : e.event));
  const failuresOf = (cb: Callback): TimelineEntry[] => cb.timeline.filter((e) => e.hangupCause !== undefined || e.event === 'attempt-failed');

  it('when the switch has no room, the first leg waits outside the worker with the reason shown, and is dialled later under the UUID stored before', async () => {
    const cb = await stored();
    gate.refusals.push(
      { granted: false, reason: 'SWITCH_SESSIONS_FULL', retryInMs: 1000 },
      { granted: false, reason: 'SWITCH_SESSIONS_FULL', retryInMs: 1000 },
    );

    const first = await runAttempt(deps, cb.id, 1);
    assert.deepEqual(first, { kind: 'wait', wait: { step: 'switch-capacity', wakeInMs: 1000 } });
    let now = await reload(cb.id);
    assert.equal(now.status, 'queued', 'a user sees it still queued');
    assert.deepEqual(events(now), ['attempt-started', 'waiting-for-switch SWITCH_SESSIONS_FULL']);
    const leg = now.attempts[0]?.legs[0];
    assert.equal(leg?.state, 'reserved');
    assert.equal(gate.asked[0], leg.uuid, 'the slot is asked for the stored UUID');
    assert.equal(telephony.dialled.length, 0);

    // The wake-up is refused again: nothing new to tell, nothing saved, no takeover.
    assert.equal((await runAttempt(deps, cb.id, 1)).kind, 'wait');
    assert.deepEqual(events(await reload(cb.id)), ['attempt-started', 'waiting-for-switch SWITCH_SESSIONS_FULL']);

    const third = await runAttempt(deps, cb.id, 1);
    assert.deepEqual(third, { kind: 'wait', wait: { step: 'call-end', wakeInMs: 20 } });
    now = await reload(cb.id);
    assert.equal(now.status, 'bridged');
    assert.equal(telephony.dialled[0]?.uuid, leg.uuid, 'dialled under the UUID it waited with, once');
    assert.deepEqual(telephony.dialled.map((d) => d.tags.role), ['callee', 'caller']);
    assert.equal(now.attempts.length, 1);
    assert.deepEqual(failuresOf(now), []);
    assert.ok(!events(now).includes('resumed'));
  });

  it('in a pool, two workers that pick the same switch for its last room get one grant between them; the other call goes to the next switch, none waits', async () => {
    // Two switches with room for one call each (a call's first leg takes 2 sessions), budgets in
    // Redis as in production; two workers, each with a pool of its own over them. Both rank the
    // switches before either asks for room (a barrier), so both pick the same one.
    const prefix = uniquePrefix();
    const switches = { a: new ScriptedSwitch(), b: new ScriptedSwitch() };
    const limits = { maxSessionsPerSecond: 100, maxSessions: 2, slowReplyMs: 10_000, minIdleCpu: 0 };
    let picking = 0;
    let bothPicked: () => void = () => undefined;
    const barrier = new Promise<void>((resolve) => (bothPicked = resolve));
    const workerDeps = (): FlowDeps => {
      const pool = new SwitchPool(
        Object.entries(switches).map(([id, telephony]) => ({ id, telephony, budget: new OriginateBudget({ redis, keyPrefix: prefix, switchId: id, limits }) })),
        new SwitchDrains(redis, prefix),
      );
      const pick = pool.pick.bind(pool);
      pool.pick = async (options) => {
        const picked = await pick(options);
        if (options === undefined) {
          if (++picking === 2) bothPicked();
          await barrier;
        }
        return picked;
      };
      return { ...deps, gate: undefined, switches: pool, telephony: switches.a } as FlowDeps;
    };
    const [one, two] = [await stored(), await stored()];
    const outcomes = await Promise.all([runAttempt(workerDeps(), one.id, 1), runAttempt(workerDeps(), two.id, 1)]);
    assert.deepEqual(outcomes.map((o) => o.kind === 'wait' && o.wait.step), ['call-end', 'call-end'], 'both bridged, neither waits for room');
    const stored2 = await Promise.all([reload(one.id), reload(two.id)]);
    assert.deepEqual(stored2.map((cb) => cb.status), ['bridged', 'bridged']);
    assert.deepEqual(stored2.map((cb) => cb.attempts[0]?.switchId).sort(), ['a', 'b'], 'one call on each switch');
    for (const cb of stored2) assert.ok(!events(cb).some((e) => e.startsWith('waiting-for-switch')), events(cb).join(', '));
    assert.deepEqual([switches.a.dialled.length, switches.b.dialled.length], [2, 2], 'each leg dialled once, both legs of a call on one switch');
    for (const cb of stored2) {
      const on = cb.attempts[0]?.switchId === 'a' ? switches.a : switches.b;
      assert.deepEqual(on.dialled.map((d) => d.uuid).sort(), (cb.attempts[0]?.legs ?? []).map((l) => l.uuid).sort());
    }
  });

  it('when the originate is not acknowledged in time, no attempt is used: the leg is followed by its UUID to its real outcome', async () => {
    const cb = await stored();
    telephony.script.set(CALLEE, async (request) => {
      // The switch runs the originate, but its reply comes after ESL_API_TIMEOUT_MS.
      telephony.channels.set(request.uuid, 'answered');
      throw new CrosslineError('SWITCH_TIMEOUT', 'The switch did not answer within 3000 ms.');
    });

    const outcome = await runAttempt(deps, cb.id, 1);
    assert.equal(outcome.kind, 'wait');
    const now = await reload(cb.id);
    assert.equal(now.status, 'bridged');
    const callee = now.attempts[0]?.legs.find((l) => l.role === 'callee');
    assert.deepEqual(telephony.followed, [callee?.uuid]);
    assert.equal(telephony.dialled.filter((d) => d.tags.role === 'callee').length, 1, 'the callee was originated once');
    assert.deepEqual(failuresOf(now), []);
    assert.equal(enqueued, 0);
  });

  it('a slow reply whose leg really failed fails the attempt with the switch cause, not a timeout', async () => {
    const cb = await stored();
    telephony.script.set(CALLEE, async () => {
      throw new CrosslineError('SWITCH_TIMEOUT', 'The switch did not answer within 3000 ms.');
    });
    telephony.awaitAnswer = async (uuid) => (telephony.followed.push(uuid), { outcome: 'failed', cause: 'USER_BUSY' });

    assert.equal((await runAttempt(deps, cb.id, 1)).kind, 'done');
    const now = await reload(cb.id);
    assert.equal(now.attempts[0]?.legs[0]?.hangupCause, 'USER_BUSY');
    assert.equal(telephony.followed.length, 1);
    assert.deepEqual(gate.released, [now.attempts[0]?.legs[0]?.uuid], 'the slot of a leg that failed is freed');
  });

  it('a leg the switch refuses at once (DESTINATION_OUT_OF_ORDER, no channel) waits for capacity under a new UUID instead of failing', async () => {
    const cb = await stored();
    let refused = false;
    telephony.script.set(CALLEE, async (request) => {
      if (!refused) {
        refused = true;
        return { outcome: 'failed', cause: 'DESTINATION_OUT_OF_ORDER' };
      }
      telephony.channels.set(request.uuid, 'answered');
      return { outcome: 'answered' };
    });

    assert.deepEqual(await runAttempt(deps, cb.id, 1), { kind: 'wait', wait: { step: 'switch-capacity', wakeInMs: 1000 } });
    let now = await reload(cb.id);
    assert.equal(now.status, 'queued');
    assert.deepEqual(events(now), ['attempt-started', 'leg-dialing', 'waiting-for-switch SWITCH_REFUSED']);
    const refusedUuid = telephony.dialled[0]?.uuid;
    assert.deepEqual(gate.released, [refusedUuid]);
    assert.notEqual(now.attempts[0]?.legs[0]?.uuid, refusedUuid);

    await runAttempt(deps, cb.id, 1);
    now = await reload(cb.id);
    assert.equal(now.status, 'bridged');
    assert.deepEqual(failuresOf(now), []);
    assert.equal(now.attempts.length, 1);
  });

  it('the first leg takes room for the whole call: the second is dialled without asking, and one the switch refuses at once waits inside the worker', async () => {
    const cb = await stored();
    let refused = false;
    telephony.script.set(CALLER, async (request) => {
      if (!refused) {
        refused = true;
        return { outcome: 'failed', cause: 'DESTINATION_OUT_OF_ORDER' };
      }
      telephony.channels.set(request.uuid, 'answered');
      return { outcome: 'answered' };
    });

    const outcome = await runAttempt(deps, cb.id, 1);
    assert.equal(outcome.kind, 'wait');
    const now = await reload(cb.id);
    assert.equal(now.status, 'bridged');
    assert.equal(gate.asked.length, 1, 'asked once, for the callee');
    assert.ok(events(now).includes('waiting-for-switch SWITCH_REFUSED'));
    assert.deepEqual(telephony.dialled.map((d) => d.tags.role), ['callee', 'caller', 'caller']);
    assert.deepEqual(failuresOf(now), []);
  });
});
