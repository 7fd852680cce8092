/**
 * A whole Crossline over real message servers for the IM-call and alert tests: the ESL simulator
 * (with the inbound outbound-socket server on a free port), a private Prosody for the bot and the
 * user's IM client, and an SMTP sink as the e-mail relay. One directory user (Ada) with her e-mail
 * and JID verified the way a person does it (codes by e-mail and by chat), her client subscribed
 * to the bot so it sees her presence.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ParsedMail } from 'mailparser';
import { freePort } from '../../src/store/embedded-redis.js';
import { OPS_TOKEN } from '../api/helpers.js';
import { startHarness, type Harness } from './harness.js';
import { startSmtpSink, type SmtpSink } from './mail.js';
import { startProsody, type LocalProsody } from './prosody.js';
import { connectTestUser, xml, type TestXmppUser } from './xmpp-client.js';

export const MAILBOX = 'crossline@crossline.test';
export const ADA_EMAIL = 'ada@example.com';

export interface ImWorld {
  crossline: Harness;
  prosody: LocalProsody;
  sink: SmtpSink;
  /** Ada's IM client (resource `laptop`), verified and subscribed to the bot. */
  ada: TestXmppUser;
  adaId: string;
  bot: string;
  mediaDir: string;
  /** The outbound-socket address FreeSWITCH's `socket` app would connect to. */
  socket: string;
  /** The first chat body from the bot that `match` accepts (received so far or later). */
  chat(match: (body: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Ada types `body` to the bot. */
  say(body: string): Promise<void>;
  ops: { Authorization: string };
  close(): Promise<void>;
}

const bodyOf = (mail: ParsedMail): string => mail.text ?? '';

export async function startImWorld(options: { env?: Record<string, string>; resource?: string; features?: string[] } = {}): Promise<ImWorld> {
  const sink = await startSmtpSink();
  const prosody = await startProsody();
  prosody.addAccount('crossline', 'bot-secret');
  prosody.addAccount('ada', 'ada-secret');
  const socketPort = await freePort();
  const mediaDir = mkdtempSync(join(tmpdir(), 'crossline-media-'));
  const port = await freePort();
  const crossline = await startHarness({
    env: {
      PORT: String(port),
      SMTP_RELAY_URL: sink.url,
      EMAIL_ADDRESS: MAILBOX,
      XMPP_URL: prosody.service,
      XMPP_JID: `crossline@${prosody.domain}`,
      XMPP_PASSWORD: 'bot-secret',
      INBOUND_SOCKET_PORT: String(socketPort),
      MEDIA_DIR: mediaDir,
      MEDIA_URL_SECRET: 'e2e-media-secret-0123456789abcdef0123',
      OPS_TOKEN,
      ...options.env,
    },
  });
  const bot = `crossline@${prosody.domain}`;
  let ada: TestXmppUser | undefined;
  const close = async (): Promise<void> => {
    await ada?.stop();
    await crossline.close();
    await sink.close();
    await prosody.stop();
    rmSync(mediaDir, { recursive: true, force: true });
  };
  try {
    const api = crossline.api;
    const created = await api().post('/v1/users').send({ displayName: 'Ada Lovelace', emails: [ADA_EMAIL], jids: [`ada@${prosody.domain}`], timeZone: 'America/New_York' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const adaId = created.body.id as string;
    // E-mail: the code goes out through the queue and the relay.
    assert.ok((await api().post(`/v1/users/${adaId}/verifications`).send({ channel: 'email', address: ADA_EMAIL })).status < 300);
    const codeMail = await sink.waitFor((m) => /verification code is \d{6}/.test(bodyOf(m)));
    const emailCode = /verification code is (\d{6})/.exec(bodyOf(codeMail))?.[1];
    assert.ok((await api().post(`/v1/users/${adaId}/verifications/confirm`).send({ channel: 'email', address: ADA_EMAIL, code: emailCode })).status < 300);
    // XMPP: online first (the test's Prosody keeps no offline messages), then the code by chat.
    ada = await connectTestUser(prosody.service, prosody.domain, 'ada', 'ada-secret', options.resource ?? 'laptop');
    const client = ada;
    if (options.features !== undefined) answerDisco(client, options.features);
    const chat = async (match: (body: string) => boolean, timeoutMs = 15_000): Promise<string> =>
      (await client.waitFor((s) => s.is('message') && s.attrs.from?.startsWith(bot) === true && match(s.getChildText('body') ?? ''), timeoutMs)).getChildText('body') ?? '';
    let said = 0;
    const say = (body: string): Promise<void> => client.send(xml('message', { to: bot, type: 'chat', id: `ada-${++said}` }, xml('body', {}, body)));
    assert.ok((await api().post(`/v1/users/${adaId}/verifications`).send({ channel: 'xmpp', address: client.jid })).status < 300);
    const xmppCode = /verification code is (\d{6})/.exec(await chat((b) => /verification code is \d{6}/.test(b)))?.[1];
    await say(`verify ${xmppCode}`);
    await chat((b) => /verified/i.test(b));
    // Presence: Ada asks to see the bot; the bot (she is verified now) accepts and asks back.
    const asked = client.waitFor((s) => s.is('presence') && s.attrs.type === 'subscribe' && s.attrs.from === bot);
    await client.send(xml('presence', { to: bot, type: 'subscribe' }));
    await asked;
    await client.send(xml('presence', { to: bot, type: 'subscribed' }));
    // Her server now sends the bot her presence; a chat round trip after it proves the bot has read it.
    await say('help');
    await chat((b) => b.includes('status'));
    return {
      crossline, prosody, sink, ada: client, adaId, bot, mediaDir, socket: `127.0.0.1:${socketPort} async full`, chat, say,
      ops: { Authorization: `Bearer ${OPS_TOKEN}` }, close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Makes the test client answer XEP-0030 disco#info with `features` (a client with form support). */
export function answerDisco(user: TestXmppUser, features: string[]): void {
  user.client.iqCallee.get('http://jabber.org/protocol/disco#info', 'query', () =>
    xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }, xml('identity', { category: 'client', type: 'pc', name: 'test client' }), ...features.map((v) => xml('feature', { var: v }))),
  );
}
