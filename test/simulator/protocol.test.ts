/**
 * The event-socket protocol of the simulator as a client sees it: authentication, the command log,
 * subscriptions and filters, heartbeats, dropped connections and shutdown.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { createEslSimulator } from '../../src/simulator/index.js';
import { EVENT_FILTERS } from '../../src/telephony/esl/events.js';
import { eventOf, SCALE, sleep, startClient, viaGateway, type TestClient } from './client.js';
import { splitFrames, contentType, header } from './esl-frames.js';
import { connectModesl, modesl } from './modesl.js';

/** Sends raw commands and returns every byte the simulator sent until it closed or `waitMs` passed. */
async function rawSession(port: number, commands: string[], waitMs = 300): Promise<{ bytes: Buffer; closed: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  let bytes = Buffer.alloc(0);
  let closed = false;
  socket.on('data', (d: Buffer) => {
    bytes = Buffer.concat([bytes, d]);
  });
  socket.on('close', () => {
    closed = true;
  });
  await new Promise((r) => socket.once('connect', r));
  for (const command of commands) socket.write(`${command}\n\n`);
  const deadline = Date.now() + waitMs;
  while (!closed && Date.now() < deadline) await sleep(10);
  socket.destroy();
  return { bytes, closed };
}

describe('the event-socket protocol', () => {
  let c: TestClient | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it('a wrong password gets -ERR invalid, then a disconnect notice, then the socket is closed', async () => {
    const sim = await createEslSimulator();
    try {
      const { bytes, closed } = await rawSession(sim.port, ['auth WrongPassword']);
      const frames = splitFrames(bytes);
      assert.deepEqual(frames.map(contentType), ['auth/request', 'command/reply', 'text/disconnect-notice']);
      assert.equal(header(frames[1]?.headers ?? [], 'Reply-Text'), '-ERR invalid');
      assert.equal(frames[2]?.body?.length, 67);
      assert.ok(closed);
      await assert.rejects(connectModesl(sim.host, sim.port, 'nope'), /auth failed/);
    } finally {
      await sim.close();
    }
  });

  it('exit is answered with +OK bye and a 67-byte disconnect notice; unknown commands get FreeSWITCH errors', async () => {
    const sim = await createEslSimulator();
    try {
      const { bytes, closed } = await rawSession(sim.port, ['auth ClueCon', 'nosuchcommand', 'api nosuchcommand x', 'filter Event-Name', 'exit']);
      const frames = splitFrames(bytes);
      assert.deepEqual(frames.map((f) => header(f.headers, 'Reply-Text') ?? f.body?.toString()), [
        undefined, '+OK accepted', '-ERR command not found', '-ERR nosuchcommand Command not found!\n', '-ERR invalid syntax', '+OK bye',
        'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n',
      ]);
      assert.ok(closed);
    } finally {
      await sim.close();
    }
  });

  it('the command log records every command of every connection with its headers, and originates() picks out the originates', async () => {
    c = await startClient();
    const uuid = randomUUID();
    await c.bgapi('originate', viaGateway(uuid, '+12025550100'));
    const second = await connectModesl(c.sim.host, c.sim.port, c.sim.password);
    await new Promise((r) => second.api('uuid_exists', uuid, r));
    second.disconnect();
    const texts = c.sim.commands.map((cmd) => cmd.text);
    assert.equal(texts[0], 'auth ClueCon');
    assert.ok(texts.includes('event json all'), 'modesl subscribes in lower case');
    const originate = c.sim.originates();
    assert.equal(originate.length, 1);
    assert.match(originate[0]?.text ?? '', new RegExp(`^bgapi originate \\{origination_uuid=${uuid}\\}sofia/gateway/default/\\+12025550100 &park\\(\\)\\nJob-UUID: `));
    const connections = new Set(c.sim.commands.map((cmd) => cmd.connection));
    assert.equal(connections.size, 2);
    assert.ok(c.sim.commands.every((cmd, i, all) => i === 0 || cmd.at >= (all[i - 1]?.at ?? 0)));
  });

  it('dropConnections closes every client socket at once, and the simulator accepts new connections after', async () => {
    c = await startClient();
    const ended = new Promise((r) => c?.conn.once('esl::end', r));
    c.sim.dropConnections();
    await ended;
    const again = await connectModesl(c.sim.host, c.sim.port, c.sim.password);
    assert.equal(await new Promise((r) => again.api('uuid_exists', randomUUID(), (e) => r(e.getBody()))), 'false');
    again.disconnect();
  });

  it('HEARTBEAT and RE_SCHEDULE arrive every heartbeatMs, scaled by timeScale', async () => {
    c = await startClient({ heartbeatMs: 1000 }, 'HEARTBEAT RE_SCHEDULE');
    await sleep(3500 * SCALE);
    const beats = c.events.filter(eventOf('HEARTBEAT'));
    assert.ok(beats.length >= 2 && beats.length <= 4, `${beats.length} heartbeats`);
    assert.equal(beats[0]?.getHeader('Event-Info'), 'System Ready');
    assert.ok(c.events.some(eventOf('RE_SCHEDULE')));
  });

  it('one API event per api or bgapi command, and a BACKGROUND_JOB that honours a client-chosen Job-UUID', async () => {
    c = await startClient();
    await c.api('status');
    const jobUuid = randomUUID();
    const reply = await new Promise<string>((resolve) => c?.conn.sendRecv(`bgapi uuid_exists ${jobUuid}\nJob-UUID: ${jobUuid}`, (e) => resolve(e.getHeader('Reply-Text') ?? '')));
    assert.equal(reply, `+OK Job-UUID: ${jobUuid}`);
    const job = await c.waitForEvent(eventOf('BACKGROUND_JOB'));
    assert.equal(job.getHeader('Job-UUID'), jobUuid);
    assert.equal(job.getBody(), 'false');
    await c.waitForEvent((e) => eventOf('API')(e) && e.getHeader('API-Command') === 'uuid_exists');
    assert.deepEqual(c.events.filter(eventOf('API')).map((e) => e.getHeader('API-Command')), ['status', 'uuid_exists']);
  });

  it('myevents follows one channel; filters narrow the stream; nixevent and noevents take events away', async () => {
    c = await startClient({}, 'BACKGROUND_JOB CHANNEL_ANSWER');
    const watcher = await connectModesl(c.sim.host, c.sim.port, c.sim.password);
    const seen: string[] = [];
    watcher.parser?.on('esl::event', (e) => {
      const name = e.getHeader('Event-Name');
      if (name) seen.push(`${name} ${e.getHeader('Unique-ID')}`);
    });
    const mine = randomUUID();
    const other = randomUUID();
    const first = c.bgapi('originate', viaGateway(mine, '+12025550150'));
    await c.bgapi('originate', viaGateway(other, '+12025550101'));
    const reply = await new Promise((r) => watcher.sendRecv(`myevents ${mine} json`, (e) => r(e.getHeader('Reply-Text'))));
    assert.equal(reply, '+OK Events Enabled');
    await c.api('uuid_kill', mine);
    await c.api('uuid_kill', other);
    assert.equal(await first, '-ERR NORMAL_CLEARING\n');
    await sleep(50);
    assert.ok(seen.length > 0 && seen.every((s) => s.endsWith(mine)), seen.join(', '));
    assert.ok(seen.some((s) => s.startsWith('CHANNEL_HANGUP_COMPLETE')));
    assert.ok(!seen.some((s) => s.startsWith('CHANNEL_CALLSTATE')), 'myevents does not include CHANNEL_CALLSTATE');
    watcher.disconnect();

    const filtered = await connectModesl(c.sim.host, c.sim.port, c.sim.password);
    const names: string[] = [];
    filtered.parser?.on('esl::event', (e) => {
      const name = e.getHeader('Event-Name');
      if (name) names.push(name);
    });
    await new Promise((r) => filtered.events('plain', 'ALL', r));
    await new Promise((r) => filtered.sendRecv('filter Event-Name CHANNEL_ANSWER', r));
    await new Promise((r) => filtered.sendRecv('nixevent CHANNEL_CREATE', r));
    await c.bgapi('originate', viaGateway(randomUUID(), '+12025550102'));
    await sleep(30);
    assert.deepEqual([...new Set(names)], ['CHANNEL_ANSWER']);
    const stop = await new Promise((r) => filtered.sendRecv('noevents', (e) => r(e.getHeader('Reply-Text'))));
    assert.equal(stop, '+OK no longer listening for events');
    filtered.disconnect();
  });

  it("Crossline's filters pass its own legs, job results and heartbeats, and drop park executes, as FreeSWITCH 1.10.12 does", async () => {
    c = await startClient({}, 'BACKGROUND_JOB');
    const filtered = await connectModesl(c.sim.host, c.sim.port, c.sim.password);
    const seen: string[] = [];
    const mine = randomUUID();
    const foreign = randomUUID();
    filtered.parser?.on('esl::event', (e) => {
      const uuid = e.getHeader('Unique-ID');
      const who = uuid === mine ? 'mine' : uuid === foreign ? 'foreign' : 'none';
      if (e.getHeader('Event-Name') === null) return;
      seen.push(`${e.getHeader('Event-Name')} ${who}${e.getHeader('Application') ? ` ${e.getHeader('Application')}` : ''}`);
    });
    const names = 'CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP BACKGROUND_JOB';
    await new Promise((r) => filtered.events('json', names, r));
    const replies: string[] = [];
    for (const [header, value] of EVENT_FILTERS) {
      replies.push(await new Promise((r) => filtered.sendRecv(`filter ${header} ${value}`, (e) => r(e.getHeader('Reply-Text') ?? ''))));
    }
    assert.deepEqual(replies, EVENT_FILTERS.map(([h, v]) => `+OK filter added. [${h}]=[${v}]`));
    await c.bgapi('originate', viaGateway(mine, '+12025550100', 'crossline=true'));
    await c.bgapi('originate', viaGateway(foreign, '+12025550101'));
    await c.api('uuid_kill', mine);
    await c.api('uuid_kill', foreign);
    await sleep(50);
    assert.deepEqual([...new Set(seen)].sort(), ['BACKGROUND_JOB none', 'CHANNEL_ANSWER mine', 'CHANNEL_CREATE mine', 'CHANNEL_HANGUP mine']);
    filtered.disconnect();
  });

  it('a filter value is a regex only when it starts with /, and the last sign before it wins', async () => {
    c = await startClient({}, 'BACKGROUND_JOB');
    const check = async (filters: string[]): Promise<string[]> => {
      const conn = await connectModesl(c!.sim.host, c!.sim.port, c!.sim.password);
      const got: string[] = [];
      conn.parser?.on('esl::event', (e) => {
        const name = e.getHeader('Event-Name');
        if (name !== null) got.push(name);
      });
      await new Promise((r) => conn.events('plain', 'CHANNEL_CREATE CHANNEL_ANSWER', r));
      for (const f of filters) await new Promise((r) => conn.sendRecv(`filter ${f}`, r));
      await c!.bgapi('originate', viaGateway(randomUUID(), '+12025550102'));
      await sleep(30);
      conn.disconnect();
      return [...new Set(got)].sort();
    };
    assert.deepEqual(await check(['Event-Name /^channel_(create|answer)$/i']), ['CHANNEL_ANSWER', 'CHANNEL_CREATE']);
    assert.deepEqual(await check(['Event-Name /^CHANNEL_CREATE']), [], 'no closing / matches nothing');
    assert.deepEqual(await check(['Event-Name /CHANNEL/', 'Event-Name -/ANSWER/']), ['CHANNEL_ANSWER', 'CHANNEL_CREATE'], '-/…/ is text');
    assert.deepEqual(await check(['Event-Name /CHANNEL/', 'Event-Name +-channel_answer']), ['CHANNEL_CREATE']);
    assert.deepEqual(await check(['Event-Name -+CHANNEL_ANSWER']), ['CHANNEL_ANSWER']);
  });

  it('CUSTOM events are delivered only for the subscribed subclasses', async () => {
    c = await startClient({}, 'CUSTOM crossline::test');
    const sender = await connectModesl(c.sim.host, c.sim.port, c.sim.password);
    await new Promise((r) => sender.sendRecv('sendevent CUSTOM\nEvent-Subclass: other::thing\nX-Note: skip', r));
    await new Promise((r) => sender.sendRecv('sendevent CUSTOM\nEvent-Subclass: crossline::test\nX-Note: hello', r));
    const got = await c.waitForEvent(eventOf('CUSTOM'));
    assert.equal(got.getHeader('X-Note'), 'hello');
    await sleep(20);
    assert.equal(c.events.filter(eventOf('CUSTOM')).length, 1);
    sender.disconnect();
  });

  it('a blocking api originate answers with +OK <uuid> once answered, then delivers the events it held back', async () => {
    c = await startClient({}, 'CHANNEL_ANSWER');
    const uuid = randomUUID();
    const order: string[] = [];
    c.conn.parser?.on('esl::event', (_event, headers) => order.push(String(headers['Content-Type'])));
    assert.equal(await c.api('originate', viaGateway(uuid, '+12025550103')), `+OK ${uuid}\n`);
    await c.waitForEvent(eventOf('CHANNEL_ANSWER', uuid));
    assert.deepEqual(order.slice(0, 2), ['api/response', 'text/event-json']);
  });

  it('close() hangs up every channel, says goodbye, and is safe to call twice', async () => {
    const sim = await createEslSimulator({ timeScale: SCALE });
    const conn = await connectModesl(sim.host, sim.port, sim.password);
    await new Promise((r) => conn.events('plain', 'BACKGROUND_JOB', r));
    const uuid = randomUUID();
    await new Promise((r) => conn.bgapi('originate', viaGateway(uuid, '+12025550100'), r));
    const notice = new Promise((r) => conn.once('esl::event::disconnect::notice', r));
    conn.on('error', () => undefined);
    await Promise.all([sim.close(), sim.close()]);
    await notice;
    const channel = sim.channels().find((ch) => ch.uuid === uuid);
    assert.equal(channel?.state, 'hungup');
    assert.equal(channel?.hangupCause, 'SYSTEM_SHUTDOWN');
    await sim.close();
    const refused = new modesl.Connection(sim.host, sim.port, sim.password);
    await new Promise((resolve) => refused.once('error', resolve));
    refused.disconnect();
  });
});
