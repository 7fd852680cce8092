import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import { connectTelephony, parseEslUrl, type EslTelephony, type EslTelephonyOptions } from '../../src/telephony/index.js';
import type { DialRequest } from '../../src/telephony/types.js';

/** Simulated times × 0.05: a phone that "answers after 1 s" answers after 50 ms. */
const TIME_SCALE = 0.05;

let sim: EslSimulator;
const clients: EslTelephony[] = [];

before(async () => {
  sim = await createEslSimulator({ port: 0, timeScale: TIME_SCALE });
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sim.close();
});

async function connect(overrides: Partial<EslTelephonyOptions> = {}): Promise<EslTelephony> {
  const telephony = await connectTelephony(
    {
      ...parseEslUrl(sim.url),
      apiTimeoutMs: 1000,
      dialGateway: 'default',
      dialNumberFormat: 'e164',
      sipProfile: 'external',
      ttsEngine: 'flite',
      ttsVoice: 'kal',
      reconnect: { minDelayMs: 50, maxDelayMs: 500 },
      ...overrides,
    },
    { timeoutMs: 2000 },
  );
  clients.push(telephony);
  return telephony;
}

function leg(e164: string, overrides: Partial<DialRequest> = {}): DialRequest {
  return {
    uuid: randomUUID(),
    endpoint: { kind: 'number', e164, country: 'US' },
    callerIdNumber: '+12025550999',
    callerIdName: 'Crossline Test',
    ringTimeoutSec: 20,
    tags: { callback_id: randomUUID(), role: 'callee', attempt: '1' },
    ...overrides,
  };
}

function channel(uuid: string) {
  return sim.channels().find((c) => c.uuid === uuid);
}

async function until(what: string, condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

function commandsFor(uuid: string): string[] {
  return sim.commands.map((c) => c.text).filter((t) => t.includes(uuid));
}

describe('ESL client against the simulator', () => {
  let telephony: EslTelephony;
  before(async () => {
    telephony = await connect();
  });

  it('reports itself connected once ready', () => {
    const status = telephony.status();
    assert.equal(status.connected, true);
    assert.ok(!Number.isNaN(Date.parse(status.since)));
  });

  it('when the callee answers, dial resolves answered and sent one bgapi originate with our UUID and variables', async () => {
    const request = leg('+12025550101');
    const result = await telephony.dial(request);
    assert.deepEqual(result, { outcome: 'answered' });
    const originates = sim.originates().filter((c) => c.text.includes(request.uuid));
    assert.equal(originates.length, 1);
    assert.match(originates[0]?.text ?? '', new RegExp(`^bgapi originate \\{origination_uuid=${request.uuid},originate_timeout=20,ignore_early_media=true,`));
    assert.match(originates[0]?.text ?? '', /sofia\/gateway\/default\/\+12025550101 &park\(\)\nJob-UUID: [0-9a-f-]{36}$/);
    const ch = channel(request.uuid);
    assert.equal(ch?.state, 'answered');
    assert.equal(ch?.variables.crossline_callback_id, request.tags.callback_id);
    assert.equal(ch?.variables.crossline_role, 'callee');
    assert.equal(ch?.variables.crossline_attempt, '1');
    assert.equal(ch?.variables.origination_caller_id_name, 'Crossline Test');
    await telephony.hangup(request.uuid);
  });

  it('when the callee is busy, dial resolves failed with USER_BUSY', async () => {
    assert.deepEqual(await telephony.dial(leg('+12025550160')), { outcome: 'failed', cause: 'USER_BUSY' });
  });

  it('when nobody answers, dial resolves failed with NO_ANSWER after the ring timeout', async () => {
    const request = leg('+12025550150', { ringTimeoutSec: 2 });
    assert.deepEqual(await telephony.dial(request), { outcome: 'failed', cause: 'NO_ANSWER' });
    assert.equal(channel(request.uuid)?.state, 'hungup');
  });

  it('when the network fails, dial resolves failed with NETWORK_OUT_OF_ORDER', async () => {
    assert.deepEqual(await telephony.dial(leg('+12025550180')), { outcome: 'failed', cause: 'NETWORK_OUT_OF_ORDER' });
  });

  it('when the number does not exist, dial resolves failed with UNALLOCATED_NUMBER', async () => {
    assert.deepEqual(await telephony.dial(leg('+12025550300')), { outcome: 'failed', cause: 'UNALLOCATED_NUMBER' });
  });

  it('dials a SIP URI through the profile', async () => {
    const request = leg('+12025550100', { endpoint: { kind: 'sip', uri: 'sip:alice@example.com' } });
    assert.deepEqual(await telephony.dial(request), { outcome: 'answered' });
    assert.equal(channel(request.uuid)?.destination, 'sofia/external/alice@example.com');
    await telephony.hangup(request.uuid);
  });

  it('aborting while the callee rings kills the leg and resolves failed with ORIGINATOR_CANCEL', async () => {
    const request = leg('+12025550151');
    const controller = new AbortController();
    const dialling = telephony.dial(request, controller.signal);
    await until('the leg rings', () => channel(request.uuid)?.state === 'ringing');
    controller.abort();
    assert.deepEqual(await dialling, { outcome: 'failed', cause: 'ORIGINATOR_CANCEL' });
    await until('the leg is gone', () => channel(request.uuid)?.state === 'hungup');
    assert.equal(channel(request.uuid)?.hangupCause, 'ORIGINATOR_CANCEL');
    assert.ok(commandsFor(request.uuid).some((t) => t.startsWith(`bgapi uuid_kill ${request.uuid} ORIGINATOR_CANCEL`)));
  });

  it('plays to, sends DTMF to, bridges and hangs up answered legs', async () => {
    const callee = leg('+12025550170');
    const caller = leg('+12025550102', { tags: { ...callee.tags, role: 'caller' } });
    assert.deepEqual(await telephony.dial(callee), { outcome: 'answered' });

    assert.deepEqual(await telephony.play(callee.uuid, { kind: 'speak', text: 'Connecting you to support, please hold.' }), { outcome: 'played' });
    const sendmsg = commandsFor(callee.uuid).find((t) => t.startsWith('sendmsg '));
    assert.match(sendmsg ?? '', /^sendmsg [0-9a-f-]{36}\ncall-command: execute\nexecute-app-name: speak\nexecute-app-arg: flite\|kal\|Connecting you to support, please hold\.\nevent-lock: true\nEvent-UUID: [0-9a-f-]{36}$/);
    assert.deepEqual(await telephony.play(callee.uuid, { kind: 'file', path: 'tone_stream://%(200,0,800)' }), { outcome: 'played' });

    await telephony.sendDtmf(callee.uuid, '12w#');
    await until('the phone got every digit', () => sim.dtmfReceived(callee.uuid).length === 3);
    assert.deepEqual(sim.dtmfReceived(callee.uuid).map((d) => d.digit), ['1', '2', '#']);

    assert.deepEqual(await telephony.dial(caller), { outcome: 'answered' });
    await telephony.bridge(callee.uuid, caller.uuid);
    await until('the legs are bridged', () => channel(callee.uuid)?.bridgedTo === caller.uuid);

    const calleeGone = telephony.awaitHangup(callee.uuid);
    await telephony.hangup(callee.uuid, 'NORMAL_CLEARING');
    assert.equal(await calleeGone, 'NORMAL_CLEARING');
    await telephony.hangup(caller.uuid);
    await telephony.hangup(caller.uuid);
    await telephony.hangup(randomUUID());
  });

  it('play resolves when the leg hangs up during the announcement', async () => {
    const request = leg('+12025550103');
    await telephony.dial(request);
    const playing = telephony.play(request.uuid, { kind: 'file', path: 'tone_stream://%(100000,0,440)' });
    await sleep(50);
    sim.remoteHangup(request.uuid);
    assert.deepEqual(await playing, { outcome: 'hung-up' });
  });

  it('aborting a play stops the playback with uuid_break and rejects with the abort reason', async () => {
    const request = leg('+12025550109');
    await telephony.dial(request);
    const controller = new AbortController();
    const playing = telephony.play(request.uuid, { kind: 'file', path: 'tone_stream://%(100000,0,440)' }, controller.signal);
    await sleep(50);
    controller.abort();
    await assert.rejects(playing, { name: 'AbortError' });
    await until('uuid_break was sent', () => commandsFor(request.uuid).some((t) => t === `api uuid_break ${request.uuid} all`));
    await telephony.hangup(request.uuid);
  });

  it('play resolves at once for a leg that no longer exists', async () => {
    assert.deepEqual(await telephony.play(randomUUID(), { kind: 'speak', text: 'Nobody hears this.' }), { outcome: 'hung-up' });
  });

  it('a playback of a missing file fails with the reason the switch gives (FILE NOT FOUND)', async () => {
    const request = leg('+12025550111');
    await telephony.dial(request);
    sim.setSoundFiles([]);
    try {
      assert.deepEqual(await telephony.play(request.uuid, { kind: 'file', path: '/sounds/missing.wav' }), {
        outcome: 'failed',
        reason: 'playback answered FILE NOT FOUND',
      });
    } finally {
      sim.setSoundFiles(undefined);
      await telephony.hangup(request.uuid);
    }
  });

  it('a leg found absent by awaitAnswer is hung up if the switch creates it late, for the rest of its ring window', async () => {
    const late = leg('+12025550126');
    // A worker sent this originate and died; its successor asks first and finds nothing.
    assert.deepEqual(await telephony.awaitAnswer(late.uuid, 3000), { outcome: 'failed', cause: 'UNKNOWN' });
    const deadWorker = await connect();
    const dialled = await deadWorker.dial(late);
    assert.equal(dialled.outcome, 'failed', 'the late leg never got through');
    await until('the late leg is gone', () => channel(late.uuid)?.state === 'hungup');
    assert.equal(channel(late.uuid)?.hangupCause, 'ORIGINATOR_CANCEL');
    assert.ok(commandsFor(late.uuid).some((t) => t.startsWith(`bgapi uuid_kill ${late.uuid} ORIGINATOR_CANCEL`)));
  });

  it('a leg that ended while this process watched is not guarded again when awaitAnswer finds it absent', async () => {
    const ended = leg('+12025550127');
    await telephony.dial(ended);
    await telephony.hangup(ended.uuid, 'NORMAL_CLEARING');
    await until('the leg is gone', () => channel(ended.uuid)?.state === 'hungup');
    await sleep(20);
    const kills = commandsFor(ended.uuid).filter((t) => t.includes('uuid_kill')).length;
    assert.deepEqual(await telephony.awaitAnswer(ended.uuid, 3000), { outcome: 'failed', cause: 'NORMAL_CLEARING' });
    await sleep(50);
    assert.equal(commandsFor(ended.uuid).filter((t) => t.includes('uuid_kill')).length, kills, 'no kill for a leg known to have ended');
  });

  it('channelState says absent, ringing and answered as the switch does', async () => {
    assert.equal(await telephony.channelState(randomUUID()), 'absent');

    const ringing = leg('+12025550152');
    const controller = new AbortController();
    const dialling = telephony.dial(ringing, controller.signal);
    await until('the leg rings', () => channel(ringing.uuid)?.state === 'ringing');
    assert.equal(await telephony.channelState(ringing.uuid), 'ringing');
    controller.abort();
    await dialling;

    const answered = leg('+12025550104');
    await telephony.dial(answered);
    assert.equal(await telephony.channelState(answered.uuid), 'answered');
    await telephony.hangup(answered.uuid);
    await until('the leg is gone', () => channel(answered.uuid)?.state === 'hungup');
    assert.equal(await telephony.channelState(answered.uuid), 'absent');
  });

  it('awaitHangup resolves with the cause when the far end hangs up', async () => {
    const request = leg('+12025550190');
    await telephony.dial(request);
    assert.equal(await telephony.awaitHangup(request.uuid), 'NORMAL_CLEARING');

    const other = leg('+12025550105');
    await telephony.dial(other);
    const waiting = telephony.awaitHangup(other.uuid);
    sim.remoteHangup(other.uuid, 'CALL_REJECTED');
    assert.equal(await waiting, 'CALL_REJECTED');
  });

  it('awaitHangup gives the real cause of a leg that is gone before its hangup event arrives (events trail replies on the switch)', async () => {
    // The real switch answered uuid_exists "false" for a leg whose CHANNEL_HANGUP was still queued
    // on the socket, and Crossline recorded UNKNOWN (dual run, FreeSWITCH column).
    sim.setEventLag(150);
    try {
      const request = leg('+12025550108');
      await telephony.dial(request);
      // A process that connected after the leg was created has not heard it alive: it asks the switch.
      const later = await connect();
      sim.remoteHangup(request.uuid, 'CALL_REJECTED');
      await until('the switch has ended the leg', () => channel(request.uuid)?.state === 'hungup');
      assert.equal(await later.channelState(request.uuid), 'absent', 'the reply overtakes the queued hangup event');
      assert.equal(await later.awaitHangup(request.uuid), 'CALL_REJECTED');
      assert.equal(await telephony.awaitHangup(request.uuid), 'CALL_REJECTED', 'heard alive here: the wait hears the event');
    } finally {
      sim.setEventLag(0);
    }
  });

  it('awaitHangup resolves UNKNOWN for a leg the switch never had, and rejects when aborted', async () => {
    assert.equal(await telephony.awaitHangup(randomUUID()), 'UNKNOWN');
    const request = leg('+12025550106');
    await telephony.dial(request);
    const controller = new AbortController();
    const waiting = telephony.awaitHangup(request.uuid, controller.signal);
    controller.abort();
    await assert.rejects(waiting, { name: 'AbortError' });
    assert.equal(channel(request.uuid)?.state, 'answered', 'aborting the wait leaves the leg alone');
    await telephony.hangup(request.uuid);
  });

  it('awaitAnswer follows a leg another process dialled, and says failed at once for an absent one', async () => {
    const otherProcess = await connect();
    const request = leg('+12025550107');
    const dialling = otherProcess.dial(request);
    await until('the leg rings', () => channel(request.uuid)?.state === 'ringing');
    assert.deepEqual(await telephony.awaitAnswer(request.uuid, 5000), { outcome: 'answered' });
    assert.deepEqual(await dialling, { outcome: 'answered' });
    assert.deepEqual(await telephony.awaitAnswer(request.uuid, 5000), { outcome: 'answered' }, 'an answered leg resolves at once');
    await telephony.hangup(request.uuid);

    assert.deepEqual(await telephony.awaitAnswer(randomUUID(), 5000), { outcome: 'failed', cause: 'UNKNOWN' });
  });

  it('awaitAnswer hangs up a leg that does not answer in time', async () => {
    const otherProcess = await connect();
    const request = leg('+12025550153');
    void otherProcess.dial(request);
    await until('the leg rings', () => channel(request.uuid)?.state === 'ringing');
    assert.deepEqual(await telephony.awaitAnswer(request.uuid, 100), { outcome: 'failed', cause: 'NO_ANSWER' });
    await until('the leg is gone', () => channel(request.uuid)?.state === 'hungup');
  });

  it('emits typed channel events without ESL text', async () => {
    const seen: string[] = [];
    const request = leg('+12025550108');
    const listener = (event: { type: string; uuid: string }): void => {
      if (event.uuid === request.uuid) seen.push(event.type);
    };
    telephony.on('channel', listener);
    await telephony.dial(request);
    await telephony.hangup(request.uuid);
    await until('the hangup is seen', () => seen.includes('hangup'));
    await sleep(20);
    telephony.off('channel', listener);
    assert.deepEqual(seen.filter((t) => t !== 'progress'), ['created', 'answered', 'hangup'], 'no park execute, no CHANNEL_HANGUP_COMPLETE');
  });
});

describe('ESL client reconnect', () => {
  it('after dropped connections it reconnects, re-subscribes, and settles a wait whose leg hung up meanwhile', async () => {
    const telephony = await connect({ reconnect: { minDelayMs: 300, maxDelayMs: 300 } });
    const gone = leg('+12025550110');
    const stays = leg('+12025550114');
    await telephony.dial(gone);
    await telephony.dial(stays);
    const goneWait = telephony.awaitHangup(gone.uuid);
    await sleep(50);
    const subscriptionsBefore = sim.commands.filter((c) => c.text.startsWith('event json ')).length;

    const lost = once(telephony, 'lost');
    // This wait's first question to the switch is cut off by the drop; it must survive that too.
    const staysWait = telephony.awaitHangup(stays.uuid);
    sim.dropConnections();
    await lost;
    assert.equal(telephony.status().connected, false);
    sim.remoteHangup(gone.uuid, 'NORMAL_CLEARING');
    await assert.rejects(telephony.channelState(gone.uuid), { code: 'SWITCH_UNAVAILABLE' });

    await once(telephony, 'ready');
    assert.equal(telephony.status().connected, true);
    // The hangup event was sent while we were away: the switch is asked instead.
    assert.equal(await goneWait, 'UNKNOWN');
    const subscriptionsAfter = sim.commands.filter((c) => c.text.startsWith('event json ')).length;
    assert.ok(subscriptionsAfter > subscriptionsBefore, 're-subscribed on the new connection');

    sim.remoteHangup(stays.uuid, 'NORMAL_CLEARING');
    assert.equal(await staysWait, 'NORMAL_CLEARING', 'events reach waits again after the reconnect');
    assert.deepEqual(await telephony.dial(leg('+12025550111')), { outcome: 'answered' }, 'works again after the reconnect');
  });

  it("a leg's state comes from its events while the connection lasts, and from the switch after a reconnect", async () => {
    const telephony = await connect({ reconnect: { minDelayMs: 100, maxDelayMs: 100 } });
    sim.setPhone('+12025550115', { kind: 'no-answer' });
    const ringing = leg('+12025550115');
    const answered = leg('+12025550116');
    void telephony.dial(ringing);
    await telephony.dial(answered);
    await until('the leg rings', () => channel(ringing.uuid)?.state === 'ringing');
    await sleep(20);
    const asked = (uuid: string): string[] => commandsFor(uuid).filter((t) => t.startsWith('api '));
    assert.equal(await telephony.channelState(ringing.uuid), 'ringing');
    assert.equal(await telephony.channelState(answered.uuid), 'answered');
    assert.equal(await telephony.exists(answered.uuid), true);
    assert.deepEqual([...asked(ringing.uuid), ...asked(answered.uuid)], [], 'heard from events: the switch was not asked');

    const lost = once(telephony, 'lost');
    sim.dropConnections();
    await lost;
    sim.remoteHangup(answered.uuid, 'NORMAL_CLEARING');
    await once(telephony, 'ready');
    assert.equal(await telephony.exists(answered.uuid), false, 'its hangup was missed: the switch is asked');
    assert.deepEqual(asked(answered.uuid), [`api uuid_exists ${answered.uuid}`]);
    await telephony.hangup(ringing.uuid);
  });

  it('a dial whose callee answers during the outage resolves answered after the reconnect', async () => {
    const telephony = await connect({ reconnect: { minDelayMs: 300, maxDelayMs: 300 } });
    sim.setPhone('+12025550112', { kind: 'no-answer' });
    const request = leg('+12025550112');
    const dialling = telephony.dial(request);
    await until('the leg rings', () => channel(request.uuid)?.state === 'ringing');

    const lost = once(telephony, 'lost');
    sim.dropConnections();
    await lost;
    sim.answer(request.uuid);
    assert.deepEqual(await dialling, { outcome: 'answered' });
    await telephony.hangup(request.uuid);
  });

  it('a dial whose leg ends during the outage resolves failed with UNKNOWN after the reconnect', async () => {
    const telephony = await connect({ reconnect: { minDelayMs: 300, maxDelayMs: 300 } });
    sim.setPhone('+12025550115', { kind: 'no-answer' });
    const request = leg('+12025550115');
    const dialling = telephony.dial(request);
    await until('the leg rings', () => channel(request.uuid)?.state === 'ringing');

    const lost = once(telephony, 'lost');
    sim.dropConnections();
    const [reason] = await lost;
    assert.equal(typeof reason, 'string');
    sim.remoteHangup(request.uuid, 'CALL_REJECTED');
    assert.deepEqual(await dialling, { outcome: 'failed', cause: 'UNKNOWN' });
  });

  it('aborting a dial while disconnected kills the leg once the switch is back', async () => {
    const telephony = await connect({ reconnect: { minDelayMs: 300, maxDelayMs: 300 } });
    sim.setPhone('+12025550113', { kind: 'no-answer' });
    const request = leg('+12025550113');
    const controller = new AbortController();
    const dialling = telephony.dial(request, controller.signal);
    await until('the leg rings', () => channel(request.uuid)?.state === 'ringing');

    const lost = once(telephony, 'lost');
    sim.dropConnections();
    await lost;
    controller.abort();
    assert.deepEqual(await dialling, { outcome: 'failed', cause: 'ORIGINATOR_CANCEL' });
    await until('the leg is killed after the reconnect', () => channel(request.uuid)?.state === 'hungup');
    assert.equal(channel(request.uuid)?.hangupCause, 'ORIGINATOR_CANCEL');
  });
});

describe('ESL client and the switch modules', () => {
  it('reports the modules the switch lacks, and fails a speak without its TTS module instead of sending it', async () => {
    const bare = await createEslSimulator({ timeScale: TIME_SCALE, modules: ['mod_sofia', 'mod_commands'] });
    const telephony = await connectTelephony(
      { ...parseEslUrl(bare.url), apiTimeoutMs: 1000, dialGateway: 'default', dialNumberFormat: 'e164', sipProfile: 'external', ttsEngine: 'flite', ttsVoice: 'kal' },
      { timeoutMs: 2000 },
    );
    try {
      await until('the module check ran', () => {
        const current = telephony.status();
        return current.connected && current.missingModules !== undefined;
      });
      const status = telephony.status();
      assert.deepEqual(status.connected ? status.missingModules : undefined, ['mod_dptools', 'mod_flite']);
      const request = leg('+12025550112');
      await telephony.dial(request);
      const result = await telephony.play(request.uuid, { kind: 'speak', text: 'Hello there.' });
      assert.deepEqual(result, { outcome: 'failed', reason: 'the switch has no mod_flite, so speak would say nothing' });
      assert.ok(!bare.commands.some((c) => c.text.startsWith(`sendmsg ${request.uuid}`)), 'nothing was sent to the leg');
      bare.setModule('mod_flite', true);
      assert.deepEqual(await telephony.play(request.uuid, { kind: 'speak', text: 'Hello there.' }), { outcome: 'played' });
      const after = telephony.status();
      assert.deepEqual(after.connected ? after.missingModules : undefined, ['mod_dptools'], 'the status follows what the switch says');
      await telephony.hangup(request.uuid);
    } finally {
      await telephony.close();
      await bare.close();
    }
  });
});
