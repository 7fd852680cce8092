// @serial: its second half drives the one real FreeSWITCH of the run (test/run-suite.sh)
/**
 * The outbound-socket module against the simulator: an inbound call whose dialplan runs
 * `socket <host:port> async full` arrives at our server, which answers it, speaks, collects digits
 * and hangs up, hearing the channel's events throughout.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CrosslineError } from '../../src/errors.js';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import { OutboundSocketServer, parseEslUrl, type ChannelEvent, type OutboundCall } from '../../src/telephony/index.js';
import { closeModesl, connectModesl } from '../simulator/modesl.js';

let sim: EslSimulator;
let server: OutboundSocketServer;

before(async () => {
  sim = await createEslSimulator({ timeScale: 0.05 });
  server = await OutboundSocketServer.listen({ commandTimeoutMs: 2000 });
});

after(async () => {
  await server.close();
  await sim.close();
});

/** Places an inbound call to `to` and resolves with the call as our server received it, and its events. */
async function arrive(from: string, to: string): Promise<{ call: OutboundCall; uuid: string; events: ChannelEvent[] }> {
  const received = once(server, 'call') as Promise<[OutboundCall]>;
  const uuid = await sim.inboundCall({ from, to, socket: `${server.address} async full` });
  const [call] = await received;
  const events: ChannelEvent[] = [];
  call.on('channel', (event) => events.push(event));
  return { call, uuid, events };
}

const simChannel = (uuid: string): ReturnType<EslSimulator['channels']>[number] | undefined => sim.channels().find((c) => c.uuid === uuid);
const sentTo = (app: string): string[] => sim.commands.map((c) => c.text).filter((t) => t.includes(`execute-app-name: ${app}`));

describe('outbound-socket mode', () => {
  it('an inbound call arrives with its channel data, is answered, spoken to, asked for digits and hung up, and every step is heard as an event', async () => {
    const { call, uuid, events } = await arrive('5552000', '8001');
    assert.equal(call.uuid, uuid);
    assert.equal(call.from, '5552000');
    assert.equal(call.to, '8001');
    assert.equal(call.data['Channel-Call-State'], 'RINGING');
    assert.ok(sim.commands.some((c) => c.text === 'myevents json'), 'subscribed to its own channel in json');
    assert.ok(sim.commands.some((c) => c.text === 'linger'), 'asked the switch to linger');

    const answered = await call.answer();
    assert.equal(answered.outcome, 'completed');
    assert.equal(simChannel(uuid)?.state, 'answered');

    const spoken = await call.play({ kind: 'speak', text: 'Welcome to Crossline' });
    assert.equal(spoken.outcome, 'completed');
    assert.match(sentTo('speak')[0] ?? '', /execute-app-arg: flite\|kal\|Welcome to Crossline\nevent-lock: true\nEvent-UUID: [0-9a-f-]{36}$/);

    // The simulator does not model a caller pressing keys: play_and_get_digits completes with none.
    const digits = await call.playAndGetDigits({ prompt: 'tone_stream://%(200,0,600)', min: 1, max: 4, timeoutMs: 3000 });
    assert.deepEqual(digits, { outcome: 'collected', digits: '' });
    assert.match(sentTo('play_and_get_digits')[0] ?? '', /execute-app-arg: 1 4 3 3000 # tone_stream:\/\/%\(200,0,600\) silence_stream:\/\/250 crossline_digits \\d\+\n/);

    assert.equal(await call.hangup(), 'NORMAL_CLEARING');
    assert.equal(await call.ended, 'NORMAL_CLEARING');
    assert.equal(simChannel(uuid)?.state, 'hungup');

    const seen = events.map((e) => (e.type === 'execute' || e.type === 'execute-complete' ? `${e.type} ${e.application}` : e.type));
    for (const step of ['execute answer', 'answered', 'execute-complete answer', 'execute speak', 'execute-complete speak', 'execute play_and_get_digits', 'execute-complete play_and_get_digits', 'hangup', 'hangup-complete']) {
      assert.ok(seen.includes(step), `${step} was heard (heard: ${seen.join(', ')})`);
    }
    assert.ok(seen.indexOf('answered') < seen.indexOf('execute speak') && seen.indexOf('execute-complete play_and_get_digits') < seen.indexOf('hangup'), 'in order');
  });

  it('when the caller hangs up during an announcement, it resolves hung-up with the cause and the call ends', async () => {
    const { call, uuid } = await arrive('5552001', '8002');
    await call.answer();
    const playing = call.play({ kind: 'file', path: 'tone_stream://%(10000,0,600)' });
    await once(call, 'channel');
    sim.remoteHangup(uuid, 'NORMAL_CLEARING');
    assert.deepEqual(await playing, { outcome: 'hung-up', cause: 'NORMAL_CLEARING' });
    assert.equal(await call.ended, 'NORMAL_CLEARING');
    assert.deepEqual(await call.answer(), { outcome: 'hung-up', cause: 'NORMAL_CLEARING' }, 'later apps are not sent');
  });

  it('refuses an application outside the allow-list, an argument that would add a header, and a bad prompt, without sending anything', async () => {
    const { call } = await arrive('5552002', '8003');
    const sent = sim.commands.length;
    const internal = (error: unknown): boolean => error instanceof CrosslineError && error.code === 'INTERNAL';
    await assert.rejects(call.execute('system', 'rm -rf /'), internal);
    await assert.rejects(call.execute('playback', 'x.wav\nexecute-app-name: system'), internal);
    await assert.rejects(call.playAndGetDigits({ prompt: '${system}', min: 1, max: 4 }), internal);
    await assert.rejects(call.playAndGetDigits({ prompt: 'ivr/prompt.wav', min: 1, max: 4, terminators: '# x' }), internal);
    assert.equal(sim.commands.length, sent);
    await call.hangup();
    await call.ended;
  });
});

/**
 * The same against the test switch of ../shared/freeswitch, when TEST_FREESWITCH_ESL_URL names it:
 * its extensions 8xxx run `socket 127.0.0.1:<outbound_socket_port> async full`, a global variable
 * that start.sh sets from --socket-port and the test reads from the switch. A loopback call plays
 * the caller, whose digits reach play_and_get_digits through the loopback pair.
 */
const FREESWITCH_URL = process.env.TEST_FREESWITCH_ESL_URL;
describe('outbound-socket mode on a real FreeSWITCH', { skip: FREESWITCH_URL === undefined ? 'TEST_FREESWITCH_ESL_URL is not set' : false }, () => {
  it('a loopback call to 8001 arrives, is answered, collects the digits the caller presses, and is hung up', async () => {
    const { host, port, password } = parseEslUrl(FREESWITCH_URL ?? '');
    const esl = await connectModesl(host, port, password);
    const socketPort = await new Promise<number>((resolve) => esl.api('global_getvar', 'outbound_socket_port', (e) => resolve(Number(e.getBody().trim()))));
    assert.ok(Number.isInteger(socketPort) && socketPort > 0, 'the switch names its outbound-socket port');
    const real = await OutboundSocketServer.listen({ port: socketPort, commandTimeoutMs: 5000 });
    try {
      const caller = randomUUID();
      // A switch that never connects fails the test instead of holding the whole run.
      const received = Promise.race([
        once(real, 'call') as Promise<[OutboundCall]>,
        sleep(10_000, undefined, { ref: false }).then((): never => assert.fail(`the switch did not connect to 127.0.0.1:${socketPort}`)),
      ]);
      esl.bgapi('originate', `{origination_uuid=${caller}}loopback/8001/default &park()`, () => undefined);
      const [call] = await received;
      const events: string[] = [];
      call.on('channel', (e) => events.push(e.type === 'execute-complete' ? `${e.type} ${e.application}` : e.type));
      assert.equal(call.to, '8001');
      assert.equal((await call.answer()).outcome, 'completed');
      const collecting = call.playAndGetDigits({ prompt: 'tone_stream://%(300,0,600)', min: 1, max: 4, timeoutMs: 5000 });
      await sleep(1000);
      await new Promise((resolve) => esl.api('uuid_send_dtmf', `${caller} 42#`, resolve));
      assert.deepEqual(await collecting, { outcome: 'collected', digits: '42' });
      assert.equal(await call.hangup(), 'NORMAL_CLEARING');
      assert.equal(await call.ended, 'NORMAL_CLEARING');
      for (const step of ['answered', 'execute-complete answer', 'dtmf', 'execute-complete play_and_get_digits', 'hangup', 'hangup-complete']) {
        assert.ok(events.includes(step), `${step} was heard (heard: ${events.join(', ')})`);
      }
    } finally {
      closeModesl(esl);
      await real.close();
    }
  });
});
