import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CrosslineError, type ErrorCode } from '../../src/errors.js';
import { EslTelephony, SUBSCRIBED_EVENTS, connectTelephony, type EslTelephonyOptions } from '../../src/telephony/index.js';
import { EVENT_FILTERS } from '../../src/telephony/esl/events.js';
import type { DialRequest } from '../../src/telephony/types.js';
import type { Socket } from 'node:net';
import { apiResponse, handshake, jsonEvent, reply, startRawEslServer, type RawEslServer } from './raw-esl-server.js';

const PASSWORD = 'Sup3rSecret';

function options(port: number, overrides: Partial<EslTelephonyOptions> = {}): EslTelephonyOptions {
  return {
    host: '127.0.0.1',
    port,
    password: PASSWORD,
    apiTimeoutMs: 200,
    dialGateway: 'carrier',
    dialNumberFormat: 'e164',
    sipProfile: 'external',
    ttsEngine: 'flite',
    ttsVoice: 'kal',
    reconnect: { minDelayMs: 20, maxDelayMs: 200 },
    ...overrides,
  };
}

function dialRequest(overrides: Partial<DialRequest> = {}): DialRequest {
  return {
    uuid: randomUUID(),
    endpoint: { kind: 'number', e164: '+12025550100', country: 'US' },
    ringTimeoutSec: 5,
    tags: { callback_id: randomUUID(), role: 'callee', attempt: '1' },
    ...overrides,
  };
}

function failsWith(code: ErrorCode): (error: unknown) => boolean {
  return (error) => error instanceof CrosslineError && error.code === code;
}

const servers: RawEslServer[] = [];
const clients: EslTelephony[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(...args: Parameters<typeof startRawEslServer>): Promise<RawEslServer> {
  const server = await startRawEslServer(...args);
  servers.push(server);
  return server;
}

async function connect(port: number, overrides: Partial<EslTelephonyOptions> = {}): Promise<EslTelephony> {
  const telephony = await connectTelephony(options(port, overrides), { timeoutMs: 2000 });
  clients.push(telephony);
  return telephony;
}

describe('ESL client against a switch that misbehaves', () => {
  it("subscribes in json to exactly the events it uses, filtered to Crossline's legs, job results and heartbeats", async () => {
    const server = await serve(handshake(PASSWORD));
    await connect(server.port);
    assert.deepEqual(server.commands.slice(0, 2 + EVENT_FILTERS.length), [
      `auth ${PASSWORD}`,
      `event json ${SUBSCRIBED_EVENTS.join(' ')}`,
      'filter variable_crossline true',
      'filter Event-Name BACKGROUND_JOB',
      'filter Event-Name HEARTBEAT',
      'filter Event-Subclass callcenter::info',
      'filter Application -park',
      'filter Application -uuid_bridge',
    ]);
  });

  it('when the switch authenticates but never answers, every command fails with SWITCH_TIMEOUT', async () => {
    const server = await serve(handshake(PASSWORD));
    const telephony = await connect(server.port);
    const leg = randomUUID();

    const started = Date.now();
    await assert.rejects(telephony.channelState(leg), failsWith('SWITCH_TIMEOUT'));
    assert.ok(Date.now() - started < 1000, 'the timeout is the configured apiTimeoutMs');
    await assert.rejects(telephony.dial(dialRequest({ uuid: leg })), failsWith('SWITCH_TIMEOUT'));
    await assert.rejects(telephony.hangup(leg), failsWith('SWITCH_TIMEOUT'));
    await assert.rejects(telephony.sendDtmf(leg, '1'), failsWith('SWITCH_TIMEOUT'));
    await assert.rejects(telephony.play(leg, { kind: 'speak', text: 'Hello' }), failsWith('SWITCH_TIMEOUT'));
    assert.equal(telephony.status().connected, true, 'a slow switch is not a lost connection');
  });

  it('when a bgapi is acknowledged but its job never reports, the command fails with SWITCH_TIMEOUT', async () => {
    const server = await serve(
      handshake(PASSWORD, (command, socket) => {
        if (command.startsWith('bgapi ')) reply(socket, `+OK Job-UUID: ${/Job-UUID: (\S+)/.exec(command)?.[1] ?? ''}`);
      }),
    );
    const telephony = await connect(server.port);
    await assert.rejects(telephony.bridge(randomUUID(), randomUUID()), failsWith('SWITCH_TIMEOUT'));
  });

  it('leaves a leg whose originate ran after its acknowledgement timed out to the caller, who follows it by its UUID', async () => {
    // The switch stalls, then catches up and answers every command in order, as FreeSWITCH does.
    let stalled = true;
    const backlog: Array<{ socket: Socket; jobId: string }> = [];
    const server = await serve(
      handshake(PASSWORD, (command, socket) => {
        if (!command.startsWith('bgapi ')) return;
        const entry = { socket, jobId: /Job-UUID: (\S+)/.exec(command)?.[1] ?? '' };
        if (stalled) backlog.push(entry);
        else reply(socket, `+OK Job-UUID: ${entry.jobId}`);
      }),
    );
    const telephony = await connect(server.port);
    const request = dialRequest();
    await assert.rejects(telephony.dial(request), failsWith('SWITCH_TIMEOUT'));

    const socket = backlog[0]?.socket;
    assert.ok(socket);
    stalled = false;
    for (const entry of backlog.splice(0)) reply(entry.socket, `+OK Job-UUID: ${entry.jobId}`);
    jsonEvent(socket, { 'Event-Name': 'CHANNEL_CREATE', 'Unique-ID': request.uuid, 'Core-UUID': randomUUID() });
    await sleep(300);
    assert.deepEqual(server.commands.filter((c) => c.startsWith(`bgapi uuid_kill ${request.uuid}`)), [], 'a slow reply is not a refusal: the late leg is not killed');
  });

  it('a wrong password fails start with SWITCH_UNAVAILABLE and the password appears nowhere', async () => {
    const server = await serve(handshake('TheRightOne'));
    const telephony = new EslTelephony(options(server.port));
    clients.push(telephony);
    await assert.rejects(telephony.start({ timeoutMs: 2000 }), (error: unknown) => {
      assert.ok(error instanceof CrosslineError && error.code === 'SWITCH_UNAVAILABLE');
      assert.ok(!error.message.includes(PASSWORD));
      return true;
    });
    const status = telephony.status();
    assert.equal(status.connected, false);
    assert.ok(!JSON.stringify(status).includes(PASSWORD));
  });

  it('refuses work with SWITCH_UNAVAILABLE before it is ready, without sending anything', async () => {
    const server = await serve(handshake(PASSWORD));
    const telephony = new EslTelephony(options(server.port));
    clients.push(telephony);
    await assert.rejects(telephony.dial(dialRequest()), failsWith('SWITCH_UNAVAILABLE'));
    await assert.rejects(telephony.channelState(randomUUID()), failsWith('SWITCH_UNAVAILABLE'));
    await assert.rejects(telephony.awaitHangup(randomUUID()), failsWith('SWITCH_UNAVAILABLE'));
    await assert.rejects(telephony.hangup(randomUUID()), failsWith('SWITCH_UNAVAILABLE'));
    assert.equal(server.connections, 0);
    assert.deepEqual(telephony.status().connected, false);
  });

  it('sends no command at all for an invalid value', async () => {
    const server = await serve(handshake(PASSWORD));
    const telephony = await connect(server.port);
    const leg = randomUUID();
    await assert.rejects(telephony.dial(dialRequest({ endpoint: { kind: 'number', e164: '+1202555\n0100', country: 'US' } })), failsWith('INVALID_NUMBER'));
    await assert.rejects(telephony.dial(dialRequest({ endpoint: { kind: 'sip', uri: 'sip:a@b.com;x=y' } })), failsWith('INVALID_SIP_URI'));
    await assert.rejects(telephony.dial(dialRequest({ callerIdName: "x'}" })), failsWith('INVALID_NAME'));
    await assert.rejects(telephony.sendDtmf(leg, '12 34'), failsWith('INVALID_DTMF'));
    await assert.rejects(telephony.play(leg, { kind: 'speak', text: 'hi|there' }), failsWith('INVALID_ANNOUNCEMENT'));
    await assert.rejects(telephony.hangup(`${leg} NORMAL_CLEARING`), failsWith('INTERNAL'));
    await assert.rejects(telephony.awaitHangup('not-a-uuid'), failsWith('INTERNAL'));
    await sleep(50);
    // Besides what every connect runs on its own: the module check (module_exists) and the load (status).
    const sent = server.commands.filter((c) => !c.startsWith('api module_exists ') && c !== 'api status');
    assert.equal(sent.length, 2 + EVENT_FILTERS.length, `only auth, event and the filters were sent: ${sent.join(' | ')}`);
  });

  it('treats a switch that accepts TCP but never asks for auth as down, and keeps retrying', async () => {
    const server = await serve(() => undefined, { greet: false });
    const telephony = new EslTelephony(options(server.port, { apiTimeoutMs: 100 }));
    clients.push(telephony);
    await assert.rejects(telephony.start({ timeoutMs: 1500 }), failsWith('SWITCH_UNAVAILABLE'));
    assert.ok(server.connections >= 2, `reconnected after the handshake timed out (${server.connections})`);
  });

  it('backs off between reconnects instead of hammering a switch that drops every connection', async () => {
    const server = await serve((_command, socket) => socket.destroy());
    const telephony = new EslTelephony(options(server.port, { reconnect: { minDelayMs: 50, maxDelayMs: 200 } }));
    clients.push(telephony);
    void telephony.start().catch(() => undefined);
    await sleep(1200);
    await telephony.close();
    // 50, 100, 200, 200 … ms (minus up to 20% jitter): about 7 attempts in 1.2 s, never hundreds.
    assert.ok(server.connections >= 4 && server.connections <= 12, `connections: ${server.connections}`);
  });

  it('close() is safe twice and rejects the waits in progress with SWITCH_UNAVAILABLE', async () => {
    const server = await serve(
      handshake(PASSWORD, (command, socket) => {
        if (command.startsWith('bgapi ')) reply(socket, `+OK Job-UUID: ${/Job-UUID: (\S+)/.exec(command)?.[1] ?? ''}`);
        else if (command.startsWith('api uuid_exists')) apiResponse(socket, 'true');
        else if (command.startsWith('api show channels')) apiResponse(socket, '{"row_count": 0}\n');
      }),
    );
    const telephony = await connect(server.port, { apiTimeoutMs: 1000 });
    const dialling = assert.rejects(telephony.dial(dialRequest()), failsWith('SWITCH_UNAVAILABLE'));
    const waiting = assert.rejects(telephony.awaitHangup(randomUUID()), failsWith('SWITCH_UNAVAILABLE'));
    await sleep(100);
    await Promise.all([telephony.close(), telephony.close()]);
    await dialling;
    await waiting;
    await assert.rejects(telephony.channelState(randomUUID()), failsWith('SWITCH_UNAVAILABLE'));
    assert.equal(telephony.status().connected, false);
    assert.ok(server.commands.includes('exit'));
  });
});
