import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { InboundMessage, MessageHandler, OutboundMessage, SenderStanding } from '../../../src/channels/types.js';
import { createEmailIntake, createSenderAuthenticator, startSmtpIntake, type SmtpIntake } from '../../../src/intake/email/index.js';
import { createMessageIntake, intakeMetrics } from '../../../src/intake/messages.js';
import { createRedisClient, type RedisClient } from '../../../src/store/index.js';
import { buildMail, sendMail, testDomain, testResolver, type TestDomain } from '../../support/mail.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';

const MAILBOX = 'crossline@crossline.test';

describe('SMTP intake: authenticated mail from known senders reaches the conversation; the rest is dropped silently', () => {
  let redis: RedisClient;
  let smtp: SmtpIntake;
  let example: TestDomain;
  let evil: TestDomain;
  let registry: Registry;
  const handled: InboundMessage[] = [];
  const queued: OutboundMessage[] = [];
  let failNext = 0;
  const standings: Record<string, SenderStanding> = {};

  const outcomes = async (): Promise<Record<string, number>> => {
    const metric = await registry.getSingleMetric('crossline_messages_received_total')!.get();
    return Object.fromEntries(metric.values.map((v) => [String(v.labels.outcome), v.value]));
  };

  before(async () => {
    redis = createRedisClient(await testRedisUrl());
    example = testDomain('example.com');
    evil = testDomain('evil.test');
    registry = new Registry();
    const handler: MessageHandler = {
      async handle(message) {
        if (failNext > 0) {
          failNext -= 1;
          throw new Error('conversation store down');
        }
        handled.push(message);
        return [{ to: message.from, text: `You said: ${message.text}`, thread: message.thread!, dedupKey: `reply:${message.id}` }];
      },
    };
    const messages = createMessageIntake({
      redis,
      keyPrefix: uniquePrefix(),
      handler: () => handler,
      senders: () => ({ standing: async (a) => standings[a.address] ?? 'unknown' }),
      sender: { enqueue: async (m) => void queued.push(m) },
      metrics: intakeMetrics(registry),
      perSenderPerMinute: 1000,
      logger: pino({ level: 'silent' }),
    });
    const intake = createEmailIntake({
      authenticate: createSenderAuthenticator({ resolver: testResolver(example, evil), mta: 'crossline.test' }),
      messages,
      mailbox: MAILBOX,
      logger: pino({ level: 'silent' }),
    });
    smtp = await startSmtpIntake({ intake, host: '127.0.0.1', port: 0, maxBytes: 10 * 1024 * 1024, maxRecipients: 10, serverName: 'crossline.test', logger: pino({ level: 'silent' }) });
  });

  after(async () => {
    await smtp?.close();
    await redis?.quit();
  });

  beforeEach(() => {
    handled.length = 0;
    queued.length = 0;
    standings['ada@example.com'] = 'verified';
  });

  it('a DKIM-signed request from a verified user is handed on with its thread, and the reply is queued in that thread', async () => {
    await sendMail(smtp.port, { from: 'Ada <ada@example.com>', to: MAILBOX, subject: 'call Grace', text: 'call Grace at 3pm', signWith: example, messageId: '<req-1@example.com>' });
    assert.equal(handled.length, 1);
    const [message] = handled;
    assert.deepEqual(message?.from, { channel: 'email', address: 'ada@example.com' });
    assert.equal(message?.subject, 'call Grace');
    assert.equal(message?.text, 'call Grace at 3pm');
    assert.equal(message?.thread?.messageId, '<req-1@example.com>');
    assert.deepEqual(message?.thread?.references, ['<req-1@example.com>']);
    assert.equal(queued.length, 1);
    assert.equal(queued[0]?.to.address, 'ada@example.com');
    assert.equal(queued[0]?.thread?.messageId, '<req-1@example.com>');
  });

  it('an unsigned message claiming a DMARC-protected From gets no call and no reply, only a metric', async () => {
    const before = (await outcomes()).unauthenticated ?? 0;
    const response = await sendMail(smtp.port, { from: 'ada@example.com', to: MAILBOX, subject: 'call +1 900 555 0100', text: 'call +1 900 555 0100' });
    assert.match(response, /^250/);
    assert.equal(handled.length, 0);
    assert.equal(queued.length, 0);
    assert.equal((await outcomes()).unauthenticated, before + 1);
  });

  it("a message signed by another domain's key is not authentic for the From", async () => {
    await sendMail(smtp.port, { from: 'ada@example.com', to: MAILBOX, subject: 'call Grace', text: 'call Grace', signWith: evil });
    assert.equal(handled.length, 0);
    assert.equal(queued.length, 0);
  });

  it('an authenticated sender no user has is dropped without a reply (no backscatter)', async () => {
    const before = (await outcomes())['unknown-sender'] ?? 0;
    await sendMail(smtp.port, { from: 'mallory@example.com', to: MAILBOX, subject: 'call Grace', text: 'call Grace', signWith: example });
    assert.equal(handled.length, 0);
    assert.equal(queued.length, 0);
    assert.equal((await outcomes())['unknown-sender'], before + 1);
  });

  it('quoted replies and signatures are removed, and HTML-only mail becomes text', async () => {
    await sendMail(smtp.port, {
      from: 'ada@example.com',
      to: MAILBOX,
      subject: 'Re: your call',
      text: 'status\n\nOn Mon, Dec 7, 2026 at 3:00 PM Crossline <crossline@crossline.test> wrote:\n> Calling Grace now.\n> Reply "status".\n\n-- \nAda Lovelace\nAnalytical Engines Ltd',
      signWith: example,
    });
    assert.equal(handled.at(-1)?.text, 'status');
    await sendMail(smtp.port, { from: 'ada@example.com', to: MAILBOX, subject: 'request', html: '<html><body><p><b>call</b> Grace&nbsp;Hopper</p></body></html>', signWith: example });
    assert.match(handled.at(-1)?.text ?? '', /call\s+GRACE\s+HOPPER|call\s+Grace\s+Hopper/i);
  });

  it('an auto-reply (Auto-Submitted) is never answered', async () => {
    const raw = await buildMail({ from: 'ada@example.com', to: MAILBOX, subject: 'Out of office', text: 'I am away', headers: { 'Auto-Submitted': 'auto-replied' }, signWith: example });
    await sendRaw(smtp.port, 'ada@example.com', raw);
    assert.equal(handled.length, 0);
  });

  it('the same Message-ID offered twice (a relay retrying) is handled once', async () => {
    await sendMail(smtp.port, { from: 'ada@example.com', to: MAILBOX, subject: 'call Grace', text: 'call Grace', signWith: example, messageId: '<dup-1@example.com>' });
    await sendMail(smtp.port, { from: 'ada@example.com', to: MAILBOX, subject: 'call Grace', text: 'call Grace', signWith: example, messageId: '<dup-1@example.com>' });
    assert.equal(handled.length, 1);
  });

  it('a conversation failure answers 451 so the sender retries, and the retry is handled', async () => {
    failNext = 1;
    await assert.rejects(
      sendMail(smtp.port, { from: 'ada@example.com', to: MAILBOX, subject: 'call Grace', text: 'call Grace', signWith: example, messageId: '<retry-1@example.com>' }),
      (err: { responseCode?: number }) => err.responseCode === 451,
    );
    await sendMail(smtp.port, { from: 'ada@example.com', to: MAILBOX, subject: 'call Grace', text: 'call Grace', signWith: example, messageId: '<retry-1@example.com>' });
    assert.equal(handled.length, 1);
  });

  it('500 recipients: past the limit each gets 452, the message is handled once', async () => {
    const recipients = Array.from({ length: 500 }, (_, i) => `r${i}@crossline.test`);
    const transportReply = await sendMail(smtp.port, { from: 'ada@example.com', to: MAILBOX, envelopeTo: [MAILBOX, ...recipients], subject: 'call Grace', text: 'call Grace', signWith: example });
    assert.match(transportReply, /^250/);
    assert.equal(handled.length, 1);
  });

  it('a 25 MB attachment is refused with 552 and nothing is handled', async () => {
    const raw = Buffer.concat([
      Buffer.from('From: ada@example.com\r\nTo: crossline@crossline.test\r\nSubject: call Grace\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n'),
      Buffer.from(Buffer.alloc(19 * 1024 * 1024, 7).toString('base64').replace(/.{76}/g, '$&\r\n')),
    ]);
    await assert.rejects(sendRaw(smtp.port, 'ada@example.com', raw), (err: { responseCode?: number }) => err.responseCode === 552);
    assert.equal(handled.length, 0);
  });

  it('malformed MIME and raw 8-bit headers never crash the server: unauthenticated garbage is dropped, a signed 8-bit subject is read', async () => {
    await sendRaw(smtp.port, 'ada@example.com', Buffer.from('this is not\r\na message at all\r\n\r\n--broken\r\nContent-Type: multipart/mixed; boundary=\r\n'));
    assert.equal(handled.length, 0);
    const raw = await buildMail({ from: 'ada@example.com', to: MAILBOX, subject: 'placeholder', text: 'call Zoë', signWith: example });
    // nodemailer encodes headers; put a raw UTF-8 subject in and sign that exact message.
    const eightBit = Buffer.from(raw.toString('utf8').replace(/^Subject: .*$/m, 'Subject: appel Zoë ☎'), 'utf8');
    await sendRaw(smtp.port, 'ada@example.com', eightBit);
    // The edit broke the DKIM signature (the subject is signed): dropped, not crashed.
    assert.equal(handled.length, 0);
    const signed = await buildMail({ from: 'ada@example.com', to: MAILBOX, subject: 'appel Zoë ☎', text: 'call Zoë', signWith: example });
    await sendRaw(smtp.port, 'ada@example.com', signed);
    assert.equal(handled.at(-1)?.subject, 'appel Zoë ☎');
    assert.equal(handled.at(-1)?.text, 'call Zoë');
  });
});

/** Sends a raw message as is over SMTP. */
async function sendRaw(port: number, from: string, raw: Buffer): Promise<void> {
  const nodemailer = (await import('nodemailer')).default;
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({ envelope: { from, to: [MAILBOX] }, raw });
  } finally {
    transport.close();
  }
}

describe('trusted SMTP clients (SMTP_TRUSTED_CLIENTS)', () => {
  it('mail from a trusted client address counts as authenticated; the same mail from elsewhere does not', async () => {
    const example = testDomain('example.com');
    const authenticate = createSenderAuthenticator({ resolver: testResolver(example), trustedClients: ['127.0.0.1'] });
    const raw = await buildMail({ from: 'bob@example.com', to: MAILBOX, subject: 'call Grace', text: 'call Grace' });
    const trusted = await authenticate(raw, { ip: '::ffff:127.0.0.1', mailFrom: 'bob@example.com' });
    assert.deepEqual([trusted.authentic, trusted.from, trusted.reason], [true, 'bob@example.com', 'trusted-client']);
    const other = await authenticate(raw, { ip: '192.0.2.7', mailFrom: 'bob@example.com' });
    assert.equal(other.authentic, false);
    const http = await authenticate(raw, {});
    assert.equal(http.authentic, false);
  });
});
