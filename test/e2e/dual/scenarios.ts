import assert from 'node:assert/strict';
import type { CallbackView } from '../../../src/callbacks/index.js';
import type { Crossline } from '../../support/harness.js';
import type { SwitchUnderTest } from '../../support/switch-under-test.js';

/**
 * Whole callbacks that run unchanged on the simulator and on a real FreeSWITCH. Each scenario
 * drives Crossline over HTTP, acts on the phones only through the switch (far-end hang-ups), makes
 * its assertions, and returns what it saw in a form the two columns can be compared on.
 *
 * Phones (both switches): 0100–0149 answer after ~1 s, 0150–0159 never answer, 0160–0169 busy,
 * 0170–0179 IVR collecting DTMF, 0180–0189 network failure, 0190–0199 answer and hang up after 2 s.
 * Each scenario has numbers of its own, so "one originate per leg" can be counted per number.
 */

export interface ScenarioContext {
  crossline: Crossline;
  sw: SwitchUnderTest;
  /** Starts a worker process (API-only Crossline), resolved once it is up; present for the `processes` scenarios. */
  startWorker?: () => Promise<void>;
  /** Kills the running worker process with SIGKILL. */
  killWorker?: () => Promise<void>;
  /** Stops the running worker process with SIGTERM (a deploy); resolves with how long it took to exit, ms. */
  stopWorker?: () => Promise<number>;
}

/** What a scenario saw, in the terms the two columns must agree on. */
export interface Observation {
  status: string;
  failureCause: string;
  /** Timeline events in order: "event role cause" (uuids and times left out). */
  timeline: string[];
  /** "attempt role hangupCause" for every leg. */
  legs: string[];
  /** Legs the switch created per number, from its own events. */
  originates: string;
}

export interface Scenario {
  name: string;
  /**
   * `together`: runs beside the others on one Crossline; `alone`: disturbs every call in flight
   * (cuts the ESL connections), so it runs by itself; `processes`: the workers run as child
   * processes that the scenario kills.
   */
  kind: 'together' | 'alone' | 'processes';
  /** Crossline settings of its own (the scenario then gets a Crossline of its own). */
  env?: Record<string, string>;
  run(ctx: ScenarioContext): Promise<Observation>;
}

const SLOW = 60_000;
/** How long the parties of a bridged call talk before one hangs up. */
const TALK_MS = 500;

const legOf = (cb: CallbackView, role: 'callee' | 'caller', attempt = 1) =>
  cb.attempts.find((a) => a.number === attempt)?.legs.find((l) => l.role === role);

const uuidOf = (cb: CallbackView, role: 'callee' | 'caller', attempt = 1): string => {
  const uuid = legOf(cb, role, attempt)?.uuid;
  assert.ok(uuid, `attempt ${attempt} has a ${role} leg`);
  return uuid;
};

const events = (cb: CallbackView): string[] => cb.timeline.map((e) => e.event);

function observe(cb: CallbackView, sw: SwitchUnderTest, numbers: string[]): Observation {
  return {
    status: cb.status,
    failureCause: cb.failureCause ?? '',
    timeline: cb.timeline.map((e) => [e.event, e.role, e.hangupCause].filter(Boolean).join(' ')),
    legs: cb.attempts.flatMap((a) => a.legs.map((l) => `${a.number} ${l.role} ${l.hangupCause ?? '-'}`)),
    originates: numbers.map((n) => `${n.slice(-4)}×${sw.originatesTo(n)}`).join(' '),
  };
}

async function accepted(crossline: Crossline, body: object): Promise<string> {
  const res = await crossline.create(body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.id as string;
}

/** Bridged: check the switch bridged what Crossline says, then the caller's phone hangs up. */
async function talkThenCallerHangsUp(ctx: ScenarioContext, id: string): Promise<CallbackView> {
  const bridged = await ctx.crossline.waitForStatus(id, 'bridged', SLOW);
  await talk(ctx, bridged);
  await ctx.sw.farEndHangup(uuidOf(bridged, 'caller'));
  return ctx.crossline.waitForStatus(id, 'completed', SLOW);
}

/**
 * The parties talk a moment once the switch has the bridge up: a phone that leaves while
 * uuid_bridge is still settling makes the real switch end the other leg itself with
 * ORIGINATOR_CANCEL (switch_ivr_bridge.c), a case the simulator does not model (see the README).
 */
async function talk(ctx: ScenarioContext, bridged: CallbackView): Promise<void> {
  await ctx.sw.waitBridged(uuidOf(bridged, 'caller'));
  await new Promise((r) => setTimeout(r, TALK_MS));
}

/** The switch's own word that the leg ended (its hangup event may trail Crossline's record). */
async function waitEnded(sw: SwitchUnderTest, uuid: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!sw.channel(uuid)?.hangupCause) {
    assert.ok(Date.now() < deadline, `the switch never ended ${uuid}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Both parties still on, as the switch's own events say. */
function assertStillUp(sw: SwitchUnderTest, cb: CallbackView, when: string): void {
  for (const role of ['callee', 'caller'] as const) {
    const ch = sw.channel(uuidOf(cb, role));
    assert.ok(ch?.answered && ch.hangupCause === undefined, `${role} still up ${when}`);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function assertOneOriginateEach(sw: SwitchUnderTest, numbers: string[], times = 1): void {
  for (const n of numbers) assert.equal(sw.originatesTo(n), times, `${n} originated ${times}×`);
}

const bridgeCalleeFirst: Scenario = {
  name: 'callee first: both answer, bridged, caller hangs up',
  kind: 'together',
  async run(ctx) {
    const [caller, callee] = ['+12025550100', '+12025550101'];
    const id = await accepted(ctx.crossline, { caller: { number: caller }, callee: { number: callee } });
    const done = await talkThenCallerHangsUp(ctx, id);
    const calleeLeg = legOf(done, 'callee');
    const callerLeg = legOf(done, 'caller');
    assert.ok(calleeLeg?.answeredAt && callerLeg?.startedAt);
    assert.ok(Date.parse(calleeLeg.answeredAt) <= Date.parse(callerLeg.startedAt), 'callee answered before the caller was dialled');
    assert.equal(callerLeg.hangupCause, 'NORMAL_CLEARING');
    assertOneOriginateEach(ctx.sw, [caller, callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const bridgeCallerFirst: Scenario = {
  name: 'caller first: caller rings and answers, then the callee, bridged',
  kind: 'together',
  async run(ctx) {
    const [caller, callee] = ['+12025550102', '+12025550103'];
    const id = await accepted(ctx.crossline, { caller: { number: caller }, callee: { number: callee }, order: 'caller-first' });
    const done = await talkThenCallerHangsUp(ctx, id);
    const callerLeg = legOf(done, 'caller');
    const calleeLeg = legOf(done, 'callee');
    assert.ok(callerLeg?.answeredAt && calleeLeg?.startedAt);
    assert.ok(Date.parse(callerLeg.answeredAt) <= Date.parse(calleeLeg.startedAt), 'caller answered before the callee was dialled');
    assertOneOriginateEach(ctx.sw, [caller, callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const busyRetries: Scenario = {
  name: 'busy callee: retried per policy, ends failed USER_BUSY',
  kind: 'together',
  async run(ctx) {
    const [caller, callee] = ['+12025550104', '+12025550160'];
    const id = await accepted(ctx.crossline, { caller: { number: caller }, callee: { number: callee }, retry: { maxAttempts: 2, delaySeconds: 0 } });
    const done = await ctx.crossline.waitForStatus(id, 'failed', SLOW);
    assert.equal(done.attempts.length, 2);
    assert.equal(done.failureCause, 'USER_BUSY');
    assert.equal(ctx.sw.originatesTo(callee), 2, 'one originate per attempt');
    assert.equal(ctx.sw.originatesTo(caller), 0, 'the caller is never rung');
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const noAnswer: Scenario = {
  name: 'callee never answers: NO_ANSWER after the ring timeout',
  kind: 'together',
  async run(ctx) {
    const [caller, callee] = ['+12025550105', '+12025550150'];
    const id = await accepted(ctx.crossline, { caller: { number: caller }, callee: { number: callee }, ringTimeout: 5, retry: { maxAttempts: 1, delaySeconds: 0 } });
    const done = await ctx.crossline.waitForStatus(id, 'failed', SLOW);
    assert.equal(done.failureCause, 'NO_ANSWER');
    assert.equal(ctx.sw.originatesTo(caller), 0);
    assertOneOriginateEach(ctx.sw, [callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const networkFailure: Scenario = {
  name: 'network failure toward the callee: NETWORK_OUT_OF_ORDER',
  kind: 'together',
  async run(ctx) {
    const [caller, callee] = ['+12025550106', '+12025550180'];
    const id = await accepted(ctx.crossline, { caller: { number: caller }, callee: { number: callee }, retry: { maxAttempts: 1, delaySeconds: 0 } });
    const done = await ctx.crossline.waitForStatus(id, 'failed', SLOW);
    assert.equal(done.failureCause, 'NETWORK_OUT_OF_ORDER');
    assertOneOriginateEach(ctx.sw, [callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const callerNoAnswer: Scenario = {
  name: 'caller never answers: the callee hears the message and is hung up',
  kind: 'together',
  async run(ctx) {
    const [caller, callee] = ['+12025550151', '+12025550107'];
    const id = await accepted(ctx.crossline, { caller: { number: caller }, callee: { number: callee }, ringTimeout: 5, retry: { maxAttempts: 1, delaySeconds: 0 } });
    const done = await ctx.crossline.waitForStatus(id, 'failed', SLOW);
    assert.equal(done.failureCause, 'NO_ANSWER');
    const calleeUuid = uuidOf(done, 'callee');
    assert.ok(events(done).includes('caller-no-answer-message-played'));
    const spoken = ctx.sw.appsOn(calleeUuid).filter((a) => a.app === 'speak');
    assert.equal(spoken.length, 1, 'the switch ran speak once on the callee');
    assert.match(spoken[0]?.arg ?? '', /did not answer/);
    assertOneOriginateEach(ctx.sw, [caller, callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const calleeLeavesEarly: Scenario = {
  name: 'callee hangs up while the caller still rings: the caller leg is stopped',
  kind: 'together',
  async run(ctx) {
    const [caller, callee] = ['+12025550152', '+12025550190'];
    const id = await accepted(ctx.crossline, { caller: { number: caller }, callee: { number: callee }, ringTimeout: 20, retry: { maxAttempts: 1, delaySeconds: 0 } });
    const done = await ctx.crossline.waitForStatus(id, 'failed', SLOW);
    const callerUuid = uuidOf(done, 'caller');
    await waitEnded(ctx.sw, callerUuid);
    assert.ok(!ctx.sw.channel(callerUuid)?.answered, 'the caller was never connected to nobody');
    assertOneOriginateEach(ctx.sw, [caller, callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const ivrDigits: Scenario = {
  name: 'IVR digits reach the callee as the phone received them, before the caller is rung',
  kind: 'together',
  async run(ctx) {
    const [caller, callee] = ['+12025550108', '+12025550175'];
    const id = await accepted(ctx.crossline, { caller: { number: caller }, callee: { number: callee, dtmf: '1w2W3#' } });
    const bridged = await ctx.crossline.waitForStatus(id, 'bridged', SLOW);
    const calleeUuid = uuidOf(bridged, 'callee');
    assert.equal(ctx.sw.digitsReceived(calleeUuid), '123#', 'every digit reached the phone');
    const list = events(bridged);
    assert.ok(list.indexOf('dtmf-sent') < list.lastIndexOf('leg-dialing'), 'digits delivered before the caller is dialled');
    await talk(ctx, bridged);
    await ctx.sw.farEndHangup(uuidOf(bridged, 'caller'));
    const done = await ctx.crossline.waitForStatus(id, 'completed', SLOW);
    assertOneOriginateEach(ctx.sw, [caller, callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const announcements: Scenario = {
  name: 'announcements are really played to both parties (no TTS error from the switch)',
  kind: 'together',
  async run(ctx) {
    const [caller, callee] = ['+12025550110', '+12025550109'];
    const id = await accepted(ctx.crossline, {
      caller: { number: caller },
      callee: { number: callee },
      announce: { callee: 'Connecting you to a customer.', caller: 'Your call is being connected.' },
    });
    const done = await talkThenCallerHangsUp(ctx, id);
    assert.equal(events(done).filter((e) => e === 'announcement-played').length, 2);
    assert.ok(!events(done).includes('announcement-failed' as never));
    for (const [role, text] of [['callee', 'Connecting you to a customer.'], ['caller', 'Your call is being connected.']] as const) {
      const spoken = ctx.sw.appsOn(uuidOf(done, role)).filter((a) => a.app === 'speak');
      assert.equal(spoken.length, 1, `speak ran once on the ${role}`);
      assert.ok(spoken[0]?.arg.endsWith(text), spoken[0]?.arg);
      assert.equal(spoken[0]?.response, '_none_', 'the switch reported no error');
    }
    assertOneOriginateEach(ctx.sw, [caller, callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const ttsEngineMissing: Scenario = {
  name: 'a TTS engine the switch lacks: announcement-failed is recorded and the call still connects',
  kind: 'together',
  // No FreeSWITCH build here has mod_cepstral: the switch would complete `speak` as if it had spoken.
  env: { TTS_ENGINE: 'cepstral', TTS_VOICE: 'david' },
  async run(ctx) {
    const [caller, callee] = ['+12025550133', '+12025550132'];
    const id = await accepted(ctx.crossline, { caller: { number: caller }, callee: { number: callee }, announce: { callee: 'Connecting you.' } });
    const done = await talkThenCallerHangsUp(ctx, id);
    const failed = done.timeline.filter((e) => e.event === ('announcement-failed' as never));
    assert.equal(failed.length, 1, 'the failure is on the timeline');
    assert.match(failed[0]?.detail ?? '', /cepstral/, 'with the reason');
    assert.ok(!events(done).includes('announcement-played'));
    assertOneOriginateEach(ctx.sw, [caller, callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const cancelRinging: Scenario = {
  name: 'cancel while the callee rings: the leg is hung up, the caller never rung',
  kind: 'together',
  async run(ctx) {
    const [caller, callee] = ['+12025550111', '+12025550153'];
    const id = await accepted(ctx.crossline, { caller: { number: caller }, callee: { number: callee }, ringTimeout: 60 });
    const ringing = await ctx.crossline.waitFor(id, (cb) => legOf(cb, 'callee') !== undefined, SLOW);
    const uuid = uuidOf(ringing, 'callee');
    await ctx.sw.waitRinging(uuid);
    const del = await ctx.crossline.api().delete(`/v1/callbacks/${id}`);
    assert.equal(del.status, 200);
    const done = await ctx.crossline.waitForStatus(id, 'canceled', SLOW);
    await waitEnded(ctx.sw, uuid);
    assert.equal(ctx.sw.originatesTo(caller), 0);
    assertOneOriginateEach(ctx.sw, [callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const cancelBridged: Scenario = {
  name: 'cancel while bridged: both legs hung up, ends canceled',
  kind: 'together',
  async run(ctx) {
    const [caller, callee] = ['+12025550112', '+12025550113'];
    const id = await accepted(ctx.crossline, { caller: { number: caller }, callee: { number: callee } });
    const bridged = await ctx.crossline.waitForStatus(id, 'bridged', SLOW);
    const del = await ctx.crossline.api().delete(`/v1/callbacks/${id}`);
    assert.equal(del.status, 200);
    const done = await ctx.crossline.waitForStatus(id, 'canceled', SLOW);
    for (const role of ['callee', 'caller'] as const) await waitEnded(ctx.sw, uuidOf(bridged, role));
    assertOneOriginateEach(ctx.sw, [caller, callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const scheduled: Scenario = {
  name: 'scheduled start: nothing dialled before its time, then bridged',
  kind: 'together',
  async run(ctx) {
    const [caller, callee] = ['+12025550114', '+12025550115'];
    const at = new Date(Date.now() + 3_000).toISOString();
    const res = await ctx.crossline.create({ caller: { number: caller }, callee: { number: callee }, at });
    assert.equal(res.status, 202);
    assert.equal(res.body.status, 'scheduled');
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(ctx.sw.originatesTo(callee), 0, 'nothing dialled before the time');
    const done = await talkThenCallerHangsUp(ctx, res.body.id as string);
    const started = Date.parse(legOf(done, 'callee')?.startedAt ?? '');
    assert.ok(started >= Date.parse(at) - 50, `dialled at ${new Date(started).toISOString()}, due ${at}`);
    assertOneOriginateEach(ctx.sw, [caller, callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const sipUriLegs: Scenario = {
  name: 'SIP URI legs: both parties reached by URI, bridged',
  kind: 'together',
  async run(ctx) {
    const [caller, callee] = ['+12025550117', '+12025550116'];
    const id = await accepted(ctx.crossline, { caller: { sipUri: ctx.sw.sipUri(caller) }, callee: { sipUri: ctx.sw.sipUri(callee) } });
    const done = await talkThenCallerHangsUp(ctx, id);
    assertOneOriginateEach(ctx.sw, [caller, callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const eslDrop: Scenario = {
  name: 'ESL connection cut mid-call: Crossline reconnects and the call completes',
  kind: 'alone',
  async run(ctx) {
    const [caller, callee] = ['+12025550118', '+12025550119'];
    const id = await accepted(ctx.crossline, { caller: { number: caller }, callee: { number: callee } });
    const bridged = await ctx.crossline.waitForStatus(id, 'bridged', SLOW);
    ctx.sw.dropCrosslineConnections();
    await new Promise((r) => setTimeout(r, 500));
    await ctx.sw.farEndHangup(uuidOf(bridged, 'caller'));
    const done = await ctx.crossline.waitForStatus(id, 'completed', SLOW);
    assert.equal(legOf(done, 'caller')?.hangupCause, 'NORMAL_CLEARING');
    assertOneOriginateEach(ctx.sw, [caller, callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const killWhileRinging: Scenario = {
  name: 'kill -9 of the worker while the caller rings: the successor bridges that same leg',
  kind: 'processes',
  async run(ctx) {
    assert.ok(ctx.startWorker && ctx.killWorker);
    const [caller, callee] = ['+12025550121', '+12025550120'];
    await ctx.startWorker();
    const id = await accepted(ctx.crossline, { caller: { number: caller }, callee: { number: callee }, ringTimeout: 60 });
    const calling = await ctx.crossline.waitFor(id, (cb) => cb.status === 'calling-caller' && legOf(cb, 'caller') !== undefined, SLOW);
    const callerUuid = uuidOf(calling, 'caller');
    await ctx.sw.waitRinging(callerUuid);
    await ctx.killWorker();
    await ctx.startWorker();
    const bridged = await ctx.crossline.waitForStatus(id, 'bridged', SLOW);
    assert.equal(uuidOf(bridged, 'caller'), callerUuid, 'the same caller leg was bridged');
    assert.ok(events(bridged).includes('resumed'));
    await talk(ctx, bridged);
    await ctx.sw.farEndHangup(callerUuid);
    const done = await ctx.crossline.waitForStatus(id, 'completed', SLOW);
    assertOneOriginateEach(ctx.sw, [caller, callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

// A bridged call holds no job: its job sleeps and wakes to reconcile every CALL_END_RECONCILE_MS.
const LIVE_CALL_ENV = { CALL_END_RECONCILE_MS: '500' };

const killWhileBridged: Scenario = {
  name: 'kill -9 of the worker while bridged: the conversation (which no job holds) stays up, and a new worker records its end',
  kind: 'processes',
  env: LIVE_CALL_ENV,
  async run(ctx) {
    assert.ok(ctx.startWorker && ctx.killWorker);
    const [caller, callee] = ['+12025550131', '+12025550130'];
    await ctx.startWorker();
    const id = await accepted(ctx.crossline, { caller: { number: caller }, callee: { number: callee } });
    const bridged = await ctx.crossline.waitForStatus(id, 'bridged', SLOW);
    await ctx.killWorker();
    assertStillUp(ctx.sw, bridged, 'after the kill');
    await ctx.startWorker();
    // Longer than the dead worker's job lock, and several wake-ups of the call's job.
    await sleep(2_500);
    assertStillUp(ctx.sw, bridged, 'with the new worker');
    const still = await ctx.crossline.get(id);
    assert.equal(still.status, 'bridged');
    assert.ok(!events(still).includes('resumed'), 'no job held the call, so none was taken over');
    await ctx.sw.farEndHangup(uuidOf(bridged, 'callee'));
    const done = await ctx.crossline.waitForStatus(id, 'completed', SLOW);
    assert.equal(legOf(done, 'callee')?.hangupCause, 'NORMAL_CLEARING', 'the new worker heard the hangup');
    assertOneOriginateEach(ctx.sw, [caller, callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

const restartWhileBridged: Scenario = {
  name: 'a worker restart during a live call does not touch it',
  kind: 'processes',
  env: LIVE_CALL_ENV,
  async run(ctx) {
    assert.ok(ctx.startWorker && ctx.stopWorker);
    const [caller, callee] = ['+12025550122', '+12025550123'];
    await ctx.startWorker();
    const id = await accepted(ctx.crossline, { caller: { number: caller }, callee: { number: callee } });
    const bridged = await ctx.crossline.waitForStatus(id, 'bridged', SLOW);
    const exitMs = await ctx.stopWorker();
    assert.ok(exitMs < 5_000, `SIGTERM does not wait for a live call (the worker took ${exitMs} ms to exit)`);
    assertStillUp(ctx.sw, bridged, 'after the worker stopped');
    await ctx.startWorker();
    await sleep(1_500);
    assertStillUp(ctx.sw, bridged, 'with the new worker');
    assert.equal((await ctx.crossline.get(id)).status, 'bridged');
    await ctx.sw.farEndHangup(uuidOf(bridged, 'caller'));
    const done = await ctx.crossline.waitForStatus(id, 'completed', SLOW);
    assert.equal(legOf(done, 'caller')?.hangupCause, 'NORMAL_CLEARING');
    assertOneOriginateEach(ctx.sw, [caller, callee]);
    return observe(done, ctx.sw, [caller, callee]);
  },
};

export const SCENARIOS: readonly Scenario[] = [
  bridgeCalleeFirst,
  bridgeCallerFirst,
  busyRetries,
  noAnswer,
  networkFailure,
  callerNoAnswer,
  calleeLeavesEarly,
  ivrDigits,
  announcements,
  ttsEngineMissing,
  cancelRinging,
  cancelBridged,
  scheduled,
  sipUriLegs,
  eslDrop,
  killWhileRinging,
  killWhileBridged,
  restartWhileBridged,
];
