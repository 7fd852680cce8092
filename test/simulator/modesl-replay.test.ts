/**
 * The real captures, replayed byte for byte to drachtio-modesl (the client Crossline uses): it
 * must parse every frame — replies, API results, plain and JSON events, bodies, disconnect notices,
 * the outbound-mode CHANNEL_DATA — into what FreeSWITCH meant.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { contentType, decodeEvent, header, loadCapture, splitFrames, type Capture, type TimelineSend } from './esl-frames.js';
import { modesl, type FrameListener, type ModeslConnection, type ModeslEvent } from './modesl.js';
import { playCapture } from './replay.js';

interface Parsed {
  event: ModeslEvent;
  headers: Record<string, unknown>;
  body: string | undefined;
}

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

function listen(server: net.Server): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

function sendsOf(capture: Capture): TimelineSend[] {
  return capture.timeline.filter((e): e is TimelineSend => e.dir === 'send');
}

/** Collects every frame modesl parses, sends the capture's commands in step, stops at the last frame. */
function follow(conn: ModeslConnection, capture: Capture, skipSends: number): Promise<Parsed[]> {
  const expected = splitFrames(capture.bytes).length;
  const sends = sendsOf(capture).slice(skipSends);
  const parsed: Parsed[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.disconnect();
      reject(new Error(`${capture.name}: modesl parsed ${parsed.length} of ${expected} frames`));
    }, 5000);
    const onFrame: FrameListener = (event, headers, body) => {
      parsed.push({ event, headers, body });
      while (sends[0] && parsed.length > sends[0].after_frame) conn.send((sends.shift() as TimelineSend).command);
      if (parsed.length < expected) return;
      clearTimeout(timer);
      conn.disconnect();
      resolve(parsed);
    };
    const attach = (): void => {
      conn.socket?.setNoDelay(true);
      conn.parser?.on('esl::event', onFrame);
    };
    if (conn.parser) attach();
    else conn.once('esl::connect', attach);
  });
}

/** Inbound: modesl connects to a server that plays the capture. */
async function replayInbound(name: string): Promise<[Capture, Parsed[]]> {
  const capture = loadCapture(name);
  const port = await listen(net.createServer((socket) => void playCapture(socket, capture)));
  const password = /^auth (.*)$/.exec(sendsOf(capture)[0]?.command ?? '')?.[1] ?? 'ClueCon';
  const conn = new modesl.Connection('127.0.0.1', port, password);
  conn.on('error', () => undefined);
  return [capture, await follow(conn, capture, 1)];
}

/** Outbound: FreeSWITCH's side connects to a modesl server and plays the capture. */
async function replayOutbound(name: string): Promise<[Capture, Parsed[]]> {
  const capture = loadCapture(name);
  let resolveConn: (conn: ModeslConnection) => void = () => undefined;
  const connected = new Promise<ModeslConnection>((resolve) => {
    resolveConn = resolve;
  });
  const port = await listen(net.createServer((socket) => resolveConn(new modesl.Connection(socket))));
  const fs = net.connect(port, '127.0.0.1');
  fs.on('connect', () => void playCapture(fs, capture));
  const conn = await connected;
  conn.on('error', () => undefined);
  return [capture, await follow(conn, capture, 1)];
}

function assertParsedLikeCapture(capture: Capture, parsed: Parsed[]): void {
  const frames = splitFrames(capture.bytes);
  assert.equal(parsed.length, frames.length, 'one parsed frame per captured frame');
  frames.forEach((frame, i) => {
    const got = parsed[i] as Parsed;
    const where = `${capture.name} frame #${i}`;
    assert.equal(got.headers['Content-Type'], contentType(frame), `${where}: content type`);
    const event = decodeEvent(frame);
    if (event) {
      assert.equal(got.event.getHeader('Event-Name'), event.name, `${where}: Event-Name`);
      for (const [name, value] of event.headers) {
        if (name === 'Content-Length') continue;
        assert.ok(got.event.getHeader(name) !== null, `${where}: header ${name} (${value.slice(0, 40)})`);
      }
      if (event.body !== undefined) assert.equal(got.event.getBody(), event.body, `${where}: event body`);
      return;
    }
    const reply = header(frame.headers, 'Reply-Text');
    if (reply !== undefined) assert.equal(got.event.getHeader('Reply-Text'), decodeURIComponent(reply), `${where}: Reply-Text`);
    if (frame.body && contentType(frame) !== 'text/event-plain') assert.equal(got.body ?? '', frame.body.toString('utf8'), `${where}: body`);
  });
}

const INBOUND = [
  'a-bridged-call', 'b-no-answer', 'c-busy', 'd-ivr-dtmf', 'e-api-misc', 'f-two-leg-b-no-answer',
  'g-two-leg-uuid-bridge', 'h-remote-hangup', 'i-sendmsg', 'j-outbound-socket', 'l-protocol-misc',
  'm-dtmf-cut-by-hangup', 'n-send-dtmf-app', 'o-app-failures',
];

describe('drachtio-modesl reading the real FreeSWITCH captures', () => {
  for (const name of INBOUND) {
    for (const format of ['plain', 'json'] as const) {
      it(`parses every ${format} frame of ${name} with its headers and bodies`, async () => {
        const [capture, parsed] = await replayInbound(`${name}.${format}`);
        assertParsedLikeCapture(capture, parsed);
      });
    }
  }

  it('parses the refused authentication and its disconnect notice (k-auth-fail)', async () => {
    const [capture, parsed] = await replayInbound('k-auth-fail');
    assertParsedLikeCapture(capture, parsed);
    assert.equal(parsed[1]?.event.getHeader('Modesl-Reply-ERR'), 'invalid');
  });

  for (const format of ['plain', 'json'] as const) {
    it(`parses the outbound-socket session (${format}): the CHANNEL_DATA reply to connect and the linger notice`, async () => {
      const [capture, parsed] = await replayOutbound(`j-outbound-socket.${format}.outbound`);
      assertParsedLikeCapture(capture, parsed);
      assert.equal(parsed[0]?.event.getHeader('Event-Name'), 'CHANNEL_DATA');
      assert.equal(parsed[0]?.event.getHeader('Reply-Text'), '+OK\n');
      assert.equal(parsed.at(-1)?.event.getHeader('Content-Disposition'), 'linger');
    });
  }
});
