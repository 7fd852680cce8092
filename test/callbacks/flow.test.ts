import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { abandonCallback, runAttempt, type AttemptScheduler, type Callback, type CallbackNotifier, type FlowDeps, type TimelineEntry } from '../../src/callbacks/index.js';
import { CrosslineError } from '../../src/errors.js';
import { CallbackRepository, CancelSignal, createRedis, type Redis } from '../../src/store/index.js';
import { LegFactsStore } from '../../src/store/leg-facts.js';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import type { EslTelephony } from '../../src/telephony/index.js';
import { connectTestTelephony } from '../support/telephony.js';
import type { Announcement, ChannelState, DialRequest, DigitsRequest, DigitsResult, HangupCause, LegEnd, LegResult, PlayResult, SilenceParams, SilenceResult, Telephony, TelephonyStatus } from '../../src/telephony/types.js';
import { callbackFixture } from '../fixtures/callback.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

/**
 * The Telephony port scripted per number, so the flow's edge cases (a party hanging up at the
 * worst moment, a takeover, a stale job) can be arranged exactly. The ESL client itself is tested
 * against the simulator's socket in test/telephony and test/e2e.
 */
class ScriptedTelephony implements Telephony {
  readonly log: string[] = [];
  readonly channels = new Map<string, { state: ChannelState; hangup: (cause: HangupCause) => void; ended: Promise<HangupCause>; cause?: HangupCause }>();
  /** What a dial to each E.164 number does. */
  script = new Map<string, (uuid: string) => Promise<LegResult>>();

  connected = true;

  status(): TelephonyStatus {
    return { connected: this.connected, since: new Date().toISOString() };
  }

  private open(uuid: string, state: ChannelState): void {
    let hangup: (cause: HangupCause) => void = () => undefined;
    const ended = new Promise<HangupCause>((resolve) => (hangup = resolve));
    // Like the ESL client, it remembers how a channel ended, so asking afterwards gives the real cause.
    const channel: { state: ChannelState; hangup: (c: HangupCause) => void; ended: Promise<HangupCause>; cause?: HangupCause } = {
      state,
      hangup: (c: HangupCause) => {
        channel.state = 'absent';
        channel.cause ??= c;
        hangup(c);
      },
      ended,
    };
    this.channels.set(uuid, channel);
  }

  async dial(request: DialRequest, signal?: AbortSignal): Promise<LegResult> {
    const number = request.endpoint.kind === 'number' ? request.endpoint.e164 : request.endpoint.kind === 'sip' ? request.endpoint.uri : request.endpoint.queue;
    this.log.push(`dial ${request.tags.role} ${number}`);
    this.open(request.uuid, 'ringing');
    const behaviour = this.script.get(number) ?? (async () => ({ outcome: 'answered' }) as LegResult);
    const aborted = new Promise<LegResult>((resolve) =>
      signal?.addEventListener('abort', () => resolve({ outcome: 'failed', cause: 'ORIGINATOR_CANCEL' }), { once: true }),
    );
    const result = await Promise.race([behaviour(request.uuid), aborted]);
    const channel = this.channels.get(request.uuid);
    if (result.outcome === 'answered' && channel && channel.state !== 'absent') channel.state = 'answered';
    else channel?.hangup(result.outcome === 'failed' ? result.cause : 'NORMAL_CLEARING');
    return result;
  }

  async channelState(uuid: string): Promise<ChannelState> {
    return this.channels.get(uuid)?.state ?? 'absent';
  }

  async exists(uuid: string): Promise<boolean> {
    return (this.channels.get(uuid)?.state ?? 'absent') !== 'absent';
  }

  onLegEnded(_listener: (end: LegEnd) => void): () => void {
    return () => undefined;
  }

  async awaitAnswer(uuid: string): Promise<LegResult> {
    return this.channels.get(uuid)?.state === 'answered' ? { outcome: 'answered' } : { outcome: 'failed', cause: 'UNKNOWN' };
  }

  async awaitHangup(uuid: string, signal?: AbortSignal): Promise<HangupCause> {
    const channel = this.channels.get(uuid);
    if (!channel || channel.state === 'absent') return channel?.cause ?? 'UNKNOWN';
    return new Promise((resolve, reject) => {
      channel.ended.then(resolve, reject);
      signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  }

  async play(uuid: string, announcement: Announcement): Promise<PlayResult> {
    this.log.push(`play ${uuid.slice(0, 4)} ${announcement.kind === 'speak' ? announcement.text : announcement.path}`);
    return { outcome: 'played' };
  }

  async sendDtmf(_uuid: string, digits: string): Promise<void> {
    this.log.push(`dtmf ${digits}`);
  }

  /** What each wait for silence answers (in turn); a prompt that ends after 1 s by default. */
  silences: SilenceResult[] = [];
  async waitForSilence(_uuid: string, params: SilenceParams): Promise<SilenceResult> {
    this.log.push(`wait_for_silence ${params.timeoutMs}`);
    return this.silences.shift() ?? { outcome: 'silence', heardMs: 1000, tookMs: 1800 };
  }

  /** What each play_and_get_digits answers (in turn); nothing keyed in by default. */
  keyed: DigitsResult[] = [];
  async collectDigits(_uuid: string, request: DigitsRequest): Promise<DigitsResult> {
    this.log.push(`collect ${request.prompt}`);
    return this.keyed.shift() ?? { outcome: 'none' };
  }

  /** Set to make the switch refuse the next bridge (a party left between answer and bridge). */
  refuseBridge = false;

  async bridge(): Promise<void> {
    this.log.push('bridge');
    if (this.refuseBridge) throw new CrosslineError('SWITCH_COMMAND_FAILED', 'The switch refused to bridge the legs.');
  }

  /** The leg each bridged leg is joined to, as `uuid_getvar bridge_uuid` would say. */
  readonly joined = new Map<string, string>();

  async bridgedTo(uuid: string): Promise<string | undefined> {
    return this.joined.get(uuid);
  }

  async hangup(uuid: string, cause: HangupCause = 'NORMAL_CLEARING'): Promise<void> {
    this.log.push(`hangup ${cause}`);
    this.channels.get(uuid)?.hangup(cause);
  }

  async close(): Promise<void> {}
}

/**
 * Runs an attempt as its job would: again at each wake-up while it waits (a bridged call), until
 * it is done. The reconciliation at each wake-up records the end of the call.
 */
async function runToEnd(deps: FlowDeps, id: string, attempt: number): Promise<void> {
  for (;;) {
    const outcome = await runAttempt(deps, id, attempt);
    if (outcome.kind === 'done') return;
    await new Promise((resolve) => setTimeout(resolve, outcome.wait.wakeInMs));
  }
}

const CALLER = '+12025550100';
const CALLEE = '+12025550101';

describe('the attempt flow', () => {
  let redis: Redis;
  const subscribers: Redis[] = [];
  let telephony: ScriptedTelephony;
  let deps: FlowDeps;
  let repository: CallbackRepository;
  const enqueued: Array<{ id: string; attempt: number; delayMs: number }> = [];
  const notified: TimelineEntry[] = [];

  before(async () => {
    redis = createRedis(await testRedisUrl());
  });
  after(async () => {
    await Promise.all(subscribers.map((s) => s.quit()));
    await redis.quit();
  });
  beforeEach(() => {
    const prefix = uniquePrefix();
    telephony = new ScriptedTelephony();
    repository = new CallbackRepository(redis, prefix);
    enqueued.length = 0;
    notified.length = 0;
    const scheduler: AttemptScheduler = {
      enqueue: async (id, attempt, delayMs) => void enqueued.push({ id, attempt, delayMs }),
      remove: async () => 'missing',
    };
    const subscriber = redis.duplicate();
    subscribers.push(subscriber);
    const notifier: CallbackNotifier = { statusChanged: async (_cb, entry) => void notified.push(entry) };
    deps = {
      repository,
      telephony,
      scheduler,
      notifier,
      cancelSignal: new CancelSignal(redis, prefix, subscriber),
      messages: { callerNoAnswer: 'caller did not answer', calleeUnavailable: 'callee unavailable' },
      defaultCallerId: undefined,
      callEndReconcileMs: 20,
      legFacts: new LegFactsStore(redis, prefix),
      clock: () => new Date(),
      logger: pino({ level: 'silent' }),
    };
  });

  async function stored(overrides: Partial<Callback['request']> = {}): Promise<Callback> {
    const now = new Date().toISOString();
    const callback = callbackFixture(
      { timeline: [], createdAt: now, updatedAt: now },
      {
        caller: { endpoint: { kind: 'number', e164: CALLER, country: 'US' } },
        callee: { endpoint: { kind: 'number', e164: CALLEE, country: 'US' } },
        retry: { maxAttempts: 2, delaySeconds: 30 },
        ...overrides,
      },
    );
    await repository.create(callback);
    return callback;
  }

  const reload = async (id: string): Promise<Callback> => (await repository.get(id)) as Callback;

  it('when the callee hangs up while the caller rings, the caller dial is called off and the attempt fails with the callee cause', async () => {
    const cb = await stored();
    let calleeUuid = '';
    telephony.script.set(CALLEE, async (uuid) => ((calleeUuid = uuid), { outcome: 'answered' }));
    telephony.script.set(CALLER, () => {
      setTimeout(() => telephony.channels.get(calleeUuid)?.hangup('NORMAL_CLEARING'), 20);
      return new Promise(() => undefined);
    });
    await runToEnd(deps, cb.id, 1);
    const after = await reload(cb.id);
    assert.equal(after.status, 'scheduled');
    const caller = after.attempts[0]?.legs.find((l) => l.role === 'caller');
    assert.equal(caller?.hangupCause, 'ORIGINATOR_CANCEL');
    assert.equal(after.timeline.find((e) => e.event === 'attempt-failed')?.hangupCause, 'NORMAL_CLEARING');
    // the retry delay (30 s) is counted from when the attempt ended, a millisecond or two before the enqueue
    assert.deepEqual(enqueued.map(({ id, attempt }) => ({ id, attempt })), [{ id: cb.id, attempt: 2 }]);
    const delayMs = enqueued[0]?.delayMs ?? 0;
    assert.ok(delayMs <= 30_000 && delayMs >= 29_000, `retry in ${delayMs} ms`);
    assert.ok(!telephony.log.includes('bridge'));
  });

  it('when the caller hangs up between answering and the bridge, the callee is told and the attempt fails with the caller cause', async () => {
    const cb = await stored();
    telephony.script.set(CALLER, async (uuid) => {
      telephony.refuseBridge = true;
      // Answered, then gone before the worker could bridge.
      setTimeout(() => telephony.channels.get(uuid)?.hangup('NORMAL_CLEARING'), 0);
      await new Promise((r) => setTimeout(r, 10));
      return { outcome: 'answered' };
    });
    await runToEnd(deps, cb.id, 1);
    const after = await reload(cb.id);
    assert.equal(after.status, 'scheduled');
    assert.equal(after.attempts[0]?.legs.find((l) => l.role === 'caller')?.hangupCause, 'NORMAL_CLEARING');
    assert.ok(telephony.log.some((l) => l.includes('caller did not answer')), 'the callee was told');
    assert.equal(after.timeline.find((e) => e.event === 'attempt-failed')?.role, 'caller');
    assert.ok(!after.timeline.some((e) => e.event === 'bridged'));
  });

  it('while the switch is down an attempt records no leg and is not used up; the retried job dials once it is back', async () => {
    const cb = await stored();
    telephony.connected = false;
    await assert.rejects(runAttempt(deps, cb.id, 1), (err: unknown) => err instanceof CrosslineError && err.code === 'SWITCH_UNAVAILABLE');
    const during = await reload(cb.id);
    // Nothing of the attempt is stored (it is saved with its first leg, before anything is dialled).
    assert.equal(during.attempts[0]?.legs.length ?? 0, 0);
    assert.equal(during.status, 'queued');
    telephony.connected = true;
    const run = runToEnd(deps, cb.id, 1);
    while (!telephony.log.includes('bridge')) await new Promise((r) => setTimeout(r, 5));
    for (const channel of telephony.channels.values()) channel.hangup('NORMAL_CLEARING');
    await run;
    const after = await reload(cb.id);
    assert.equal(after.attempts.length, 1);
    assert.deepEqual(telephony.log.filter((l) => l.startsWith('dial')), [`dial callee ${CALLEE}`, `dial caller ${CALLER}`]);
    assert.equal(after.status, 'completed');
  });

  it('an unallocated number is not retried even when attempts remain', async () => {
    const cb = await stored();
    telephony.script.set(CALLEE, async () => ({ outcome: 'failed', cause: 'UNALLOCATED_NUMBER' }));
    await runToEnd(deps, cb.id, 1);
    const after = await reload(cb.id);
    assert.equal(after.status, 'failed');
    assert.equal(after.failureCause, 'UNALLOCATED_NUMBER');
    assert.equal(enqueued.length, 0);
  });

  it('a job that runs again after its attempt ended only makes sure the next attempt is queued', async () => {
    const cb = await stored();
    telephony.script.set(CALLEE, async () => ({ outcome: 'failed', cause: 'USER_BUSY' }));
    await runToEnd(deps, cb.id, 1);
    const dials = telephony.log.filter((l) => l.startsWith('dial')).length;
    await runToEnd(deps, cb.id, 1);
    assert.equal(telephony.log.filter((l) => l.startsWith('dial')).length, dials, 'no second dial');
    assert.equal(enqueued.length, 2);
    assert.deepEqual(enqueued.map((e) => e.attempt), [2, 2]);
    assert.ok((enqueued[1]?.delayMs ?? 0) <= 30_000);
  });

  it('a stale job for an attempt that is not next does nothing', async () => {
    const cb = await stored();
    await runToEnd(deps, cb.id, 3);
    assert.equal(telephony.log.length, 0);
    assert.equal((await reload(cb.id)).attempts.length, 0);
  });

  it('a takeover with the callee answered and the caller leg gone asks the switch and does not redial the callee', async () => {
    const cb = await stored();
    // What a crashed worker left behind: callee answered and up, caller dialled but its channel vanished.
    telephony.channels.clear();
    const first = await reload(cb.id);
    first.status = 'calling-caller';
    first.attempts.push({
      number: 1,
      startedAt: new Date().toISOString(),
      legs: [
        { role: 'callee', endpoint: CALLEE, uuid: '11111111-1111-4111-8111-111111111111', state: 'answered', startedAt: new Date().toISOString() },
        { role: 'caller', endpoint: CALLER, uuid: '22222222-2222-4222-8222-222222222222', state: 'dialing', startedAt: new Date().toISOString() },
      ],
    });
    await repository.save(first, 'queued');
    telephony.channels.set('11111111-1111-4111-8111-111111111111', {
      state: 'answered',
      hangup: () => undefined,
      ended: new Promise(() => undefined),
    });
    await runToEnd(deps, cb.id, 1);
    const after = await reload(cb.id);
    assert.equal(telephony.log.filter((l) => l.startsWith('dial')).length, 0, 'nothing redialled');
    assert.ok(after.timeline.some((e) => e.event === 'resumed'));
    assert.equal(after.attempts[0]?.legs.find((l) => l.role === 'caller')?.hangupCause, 'UNKNOWN');
    assert.ok(telephony.log.some((l) => l.includes('caller did not answer')), 'the callee was told');
    assert.equal(after.status, 'scheduled');
  });

  it('a takeover while the IVR digits play does not send them again: it waits out the rest of their play-out, then rings the caller', async () => {
    const cb = await stored({ callee: { endpoint: { kind: 'number', e164: CALLEE, country: 'US' }, dtmf: '1w2#' } });
    const calleeUuid = '33333333-3333-4333-8333-333333333333';
    const startedAt = new Date(Date.now() - 1000);
    const first = await reload(cb.id);
    first.status = 'callee-answered';
    first.attempts.push({
      number: 1,
      startedAt: startedAt.toISOString(),
      legs: [{ role: 'callee', endpoint: CALLEE, uuid: calleeUuid, state: 'answered', startedAt: startedAt.toISOString() }],
    });
    // The dead worker handed '1w2#' (1.76 s of play-out) to the switch a second ago.
    first.timeline.push({ at: startedAt.toISOString(), event: 'dtmf-started', attempt: 1, role: 'callee', uuid: calleeUuid, detail: '1w2#' });
    await repository.save(first, 'queued');
    telephony.channels.clear();
    telephony.channels.set(calleeUuid, { state: 'answered', hangup: () => undefined, ended: new Promise(() => undefined) });
    let callerDialledAt = 0;
    telephony.script.set(CALLER, async () => {
      callerDialledAt = Date.now();
      return { outcome: 'failed', cause: 'NO_ANSWER' };
    });
    await runToEnd(deps, cb.id, 1);
    const after = await reload(cb.id);
    assert.ok(!telephony.log.some((l) => l.startsWith('dtmf')), 'the digits were not sent again');
    assert.ok(callerDialledAt >= startedAt.getTime() + 1760, `the caller rang ${callerDialledAt - startedAt.getTime()} ms after the digits started`);
    assert.equal(after.timeline.find((e) => e.event === 'dtmf-sent')?.detail, '1w2#');
  });

  it('a callback canceled before its attempt starts ends canceled without dialling', async () => {
    const cb = await stored();
    await deps.cancelSignal.request(cb.id);
    await runToEnd(deps, cb.id, 1);
    const after = await reload(cb.id);
    assert.equal(after.status, 'canceled');
    assert.equal(telephony.log.length, 0);
    assert.equal(notified.at(-1)?.status, 'canceled');
  });

  it('abandoning a bridged callback writes a hang-up intent for each live leg before hanging it up, then ends failed', async () => {
    const cb = await stored();
    const outcome = await runAttempt(deps, cb.id, 1);
    assert.equal(outcome.kind, 'wait', 'bridged: the job waits for the end of the call');
    const intentsAtHangup: number[] = [];
    const hangup = telephony.hangup.bind(telephony);
    telephony.hangup = async (uuid, cause) => {
      intentsAtHangup.push((await reload(cb.id)).timeline.filter((e) => e.event === 'hangup-requested' && e.uuid === uuid).length);
      return hangup(uuid, cause);
    };
    await abandonCallback(deps, cb.id, 'the switch stayed down');
    const after = await reload(cb.id);
    assert.equal(after.status, 'failed');
    assert.deepEqual(intentsAtHangup, [1, 1], 'each hang-up was stored as intended before it was sent');
    assert.ok(after.attempts[0]?.legs.every((l) => l.state === 'ended'));
  });

  it('a save based on an old revision is refused, so two writers cannot overwrite each other', async () => {
    const cb = await stored();
    const a = await reload(cb.id);
    const b = await reload(cb.id);
    a.status = 'calling-callee';
    await repository.save(a, 'queued');
    b.status = 'canceled';
    await assert.rejects(repository.save(b, 'queued'), /changed concurrently/);
    assert.equal((await reload(cb.id)).status, 'calling-callee');
  });
});

/**
 * The flow over the real ESL client and the simulator's socket, at real-time phone speed: IVR
 * digits are played out by the switch at its own pace after `uuid_send_dtmf` returns, so only a
 * real play-out shows whether the flow waits for them.
 */
describe('the attempt flow over the simulated switch', () => {
  let redis: Redis;
  let subscriber: Redis;
  let sim: EslSimulator;
  let telephony: EslTelephony;
  let repository: CallbackRepository;
  let deps: FlowDeps;
  const enqueued: Array<{ id: string; attempt: number }> = [];

  before(async () => {
    redis = createRedis(await testRedisUrl());
    subscriber = redis.duplicate();
    sim = await createEslSimulator({ timeScale: 1 });
    telephony = await connectTestTelephony(sim.url);
    const prefix = uniquePrefix();
    repository = new CallbackRepository(redis, prefix);
    deps = {
      repository,
      telephony,
      scheduler: { enqueue: async (id, attempt) => void enqueued.push({ id, attempt }), remove: async () => 'missing' },
      notifier: { statusChanged: async () => undefined },
      cancelSignal: new CancelSignal(redis, prefix, subscriber),
      messages: { callerNoAnswer: 'caller did not answer', calleeUnavailable: 'callee unavailable' },
      defaultCallerId: undefined,
      callEndReconcileMs: 20,
      legFacts: new LegFactsStore(redis, prefix),
      clock: () => new Date(),
      logger: pino({ level: 'silent' }),
    };
  });
  after(async () => {
    await telephony.close();
    await sim.close();
    await subscriber.quit();
    await redis.quit();
  });

  async function storedCall(caller: string, callee: string, dtmf: string): Promise<Callback> {
    const now = new Date().toISOString();
    const callback = callbackFixture(
      { timeline: [], createdAt: now, updatedAt: now },
      {
        caller: { endpoint: { kind: 'number', e164: caller, country: 'US' } },
        callee: { endpoint: { kind: 'number', e164: callee, country: 'US' }, dtmf },
        retry: { maxAttempts: 2, delaySeconds: 30 },
      },
    );
    await repository.create(callback);
    return callback;
  }

  const calleeUuid = (cb: Callback): string => cb.attempts[0]?.legs.find((l) => l.role === 'callee')?.uuid ?? '';

  it('every IVR digit and pause reaches the callee before the caller rings, even when the caller answers and hangs up at once', async () => {
    // The caller answers almost at once and leaves half a second later, which used to cut the digits off.
    sim.setPhone('+12025550122', { kind: 'answer', afterMs: 100, hangupAfterMs: 500 });
    const cb = await storedCall('+12025550122', '+12025550171', '1w2W3#');
    await runToEnd(deps, cb.id, 1);
    const after = (await repository.get(cb.id)) as Callback;
    assert.equal(after.status, 'completed');
    assert.equal(sim.dtmfReceived(calleeUuid(after)).map((d) => d.digit).join(''), '123#');
    const events = after.timeline.map((e) => e.event);
    const sent = after.timeline.find((e) => e.event === 'dtmf-sent');
    assert.equal(sent?.detail, '1w2W3#', 'the delivered digits are recorded');
    assert.ok(events.indexOf('dtmf-sent') < events.lastIndexOf('leg-dialing'), 'delivered before the caller is dialled');
  });

  it('when the switch has no TTS module, the announcements are recorded as failed with the reason and the call still goes ahead', async () => {
    sim.setModule('mod_flite', false);
    try {
      sim.setPhone('+12025550124', { kind: 'answer', afterMs: 100, hangupAfterMs: 300 });
      const now = new Date().toISOString();
      const cb = callbackFixture(
        { timeline: [], createdAt: now, updatedAt: now },
        {
          caller: { endpoint: { kind: 'number', e164: '+12025550124', country: 'US' } },
          callee: { endpoint: { kind: 'number', e164: '+12025550125', country: 'US' } },
          announce: { callee: 'Connecting you to a customer.', caller: 'Connecting you to Acme.' },
        },
      );
      await repository.create(cb);
      await runToEnd(deps, cb.id, 1);
      const after = (await repository.get(cb.id)) as Callback;
      assert.equal(after.status, 'completed');
      assert.ok(!after.timeline.some((e) => e.event === 'announcement-played'));
      const failed = after.timeline.filter((e) => e.event === 'announcement-failed');
      assert.deepEqual(failed.map((e) => e.role), ['callee', 'caller']);
      assert.match(failed[0]?.detail ?? '', /mod_flite/);
      const status = telephony.status();
      assert.deepEqual(status.connected ? status.missingModules : 'disconnected', ['mod_flite'], 'the speak check updated the status');
    } finally {
      sim.setModule('mod_flite', true);
    }
  });

  it('a successor that finds the leg of a dead worker absent fails the attempt, and hangs the leg up when the switch creates it late', async () => {
    const now = new Date().toISOString();
    const uuid = randomUUID();
    const cb = callbackFixture(
      { timeline: [], createdAt: now, updatedAt: now },
      {
        caller: { endpoint: { kind: 'number', e164: '+12025550127', country: 'US' } },
        callee: { endpoint: { kind: 'number', e164: '+12025550128', country: 'US' } },
        retry: { maxAttempts: 2, delaySeconds: 30 },
      },
    );
    await repository.create(cb);
    // What the dead worker left: the callee leg stored as dialling, its originate on its way to a slow switch.
    const left = (await repository.get(cb.id)) as Callback;
    left.status = 'calling-callee';
    left.attempts.push({ number: 1, startedAt: now, legs: [{ role: 'callee', endpoint: '+12025550128', uuid, state: 'dialing', startedAt: now }] });
    await repository.save(left, 'queued');
    sim.setOriginateDelay(500);
    const deadWorker = await connectTestTelephony(sim.url, {}, 30_000);
    try {
      const dialling = deadWorker.dial({ uuid, endpoint: { kind: 'number', e164: '+12025550128', country: 'US' }, ringTimeoutSec: 30, tags: { callback_id: cb.id, role: 'callee', attempt: '1' } });
      dialling.catch(() => undefined);
      while (!sim.originates().some((c) => c.text.includes(uuid))) await new Promise((r) => setTimeout(r, 5));
      await deadWorker.close();
    } finally {
      sim.setOriginateDelay(0);
    }
    enqueued.length = 0;

    await runToEnd(deps, cb.id, 1);
    const after = (await repository.get(cb.id)) as Callback;
    assert.equal(after.status, 'scheduled');
    assert.equal(after.timeline.find((e) => e.event === 'attempt-failed')?.hangupCause, 'UNKNOWN');
    assert.deepEqual(enqueued, [{ id: cb.id, attempt: 2 }]);
    const deadline = Date.now() + 3000;
    while (sim.channels().find((c) => c.uuid === uuid)?.state !== 'hungup' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const late = sim.channels().find((c) => c.uuid === uuid);
    assert.equal(late?.state, 'hungup', 'the switch created the leg late, and it was hung up');
    assert.equal(late?.hangupCause, 'ORIGINATOR_CANCEL');
    assert.equal(late?.variables.answer_epoch ?? '0', '0', 'it never got to ring through to an answer');
  });

  it('when the callee hangs up while its digits still play, the attempt ends like a hangup and no digits count as delivered', async () => {
    sim.setPhone('+12025550172', { kind: 'answer', afterMs: 100, hangupAfterMs: 1000 });
    const cb = await storedCall('+12025550123', '+12025550172', '1w2W3#');
    enqueued.length = 0;
    await runToEnd(deps, cb.id, 1);
    const after = (await repository.get(cb.id)) as Callback;
    assert.equal(after.status, 'scheduled');
    assert.ok(sim.dtmfReceived(calleeUuid(after)).length < 4, 'the switch dropped what was still queued');
    assert.ok(!after.timeline.some((e) => e.event === 'dtmf-sent'));
    assert.equal(after.attempts[0]?.legs.length, 1, 'the caller was never dialled');
    const failed = after.timeline.find((e) => e.event === 'attempt-failed');
    assert.equal(failed?.role, 'callee');
    assert.equal(failed?.hangupCause, 'NORMAL_CLEARING');
    assert.deepEqual(enqueued, [{ id: cb.id, attempt: 2 }]);
  });
});
