import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createEmailChannel, createMessageSender, createMessageWorker, MESSAGE_QUEUE, Outbox, replySubject, type MessageWorker, type QueuedMessageSender } from '../../src/channels/index.js';
import type { OutboundMessage } from '../../src/channels/types.js';
import { createRedisClient, type RedisClient } from '../../src/store/index.js';
import { startSmtpSink, type SmtpSink } from '../support/mail.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const silent = pino({ level: 'silent' });

describe('message sender: queued e-mail through a real SMTP relay, once per dedup key', () => {
  let redis: RedisClient;
  let sink: SmtpSink;
  let sender: QueuedMessageSender;
  let worker: MessageWorker;
  let email: ReturnType<typeof createEmailChannel>;
  const givenUp: string[] = [];
  const prefix = uniquePrefix();

  before(async () => {
    redis = createRedisClient(await testRedisUrl());
    sink = await startSmtpSink();
    sender = createMessageSender({ connection: redis, prefix, backoffDelayMs: 50, maxBackoffMs: 200, maxAttempts: 4 });
    email = createEmailChannel({ from: 'crossline@crossline.test', relayUrl: sink.url, logger: silent });
    worker = createMessageWorker({ connection: redis, prefix, redis, keyPrefix: prefix, channels: [email], logger: silent, onGivenUp: (m) => givenUp.push(m.dedupKey) });
  });

  after(async () => {
    await worker?.close();
    await email?.close(); // its pooled relay connections: the sink would wait for them
    await sender?.close();
    await sink?.close();
    await redis?.quit();
  });

  const reply = (key: string, text: string): OutboundMessage => ({
    to: { channel: 'email', address: 'ada@example.com' },
    text,
    html: `<p>${text}</p>`,
    thread: { messageId: '<req-9@example.com>', references: ['<root@example.com>', '<req-9@example.com>'], subject: 'Re: call Grace' },
    dedupKey: key,
  });

  it('sends a reply in the thread (In-Reply-To, References, Re: subject) with text and HTML parts, once for a key enqueued twice', async () => {
    await sender.enqueue(reply('callback:1:status:bridged', 'You are connected with Grace.'));
    await sender.enqueue(reply('callback:1:status:bridged', 'You are connected with Grace.'));
    const mail = await sink.waitFor((m) => m.text?.includes('connected with Grace') === true);
    assert.equal(mail.inReplyTo, '<req-9@example.com>');
    assert.deepEqual(mail.references, ['<root@example.com>', '<req-9@example.com>']);
    assert.equal(mail.subject, 'Re: call Grace');
    assert.match(String(mail.html), /<p>You are connected with Grace.<\/p>/);
    assert.equal(mail.headers.get('auto-submitted'), 'auto-replied');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sink.received.filter((m) => m.text?.includes('connected with Grace')).length, 1);
  });

  it('a job run again after the message was sent (its sent marker) does not send it again', async () => {
    const message = reply('callback:2:status:completed', 'Your call with Grace has ended.');
    await sender.enqueue(message);
    await sink.waitFor((m) => m.text?.includes('has ended') === true);
    // As if the completed job had been removed and the same key queued again.
    const { Queue } = await import('bullmq');
    const queue = new Queue(MESSAGE_QUEUE, { connection: redis, prefix });
    await queue.clean(0, 1000, 'completed');
    await queue.close();
    await sender.enqueue(message);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(sink.received.filter((m) => m.text?.includes('has ended')).length, 1);
  });

  it('a relay answering 451 is retried until it takes the message', async () => {
    sink.refuseNext(2, 451);
    await sender.enqueue(reply('callback:3:status:failed', 'Failed: busy.'));
    await sink.waitFor((m) => m.text?.includes('Failed: busy.') === true);
  });

  it('a relay answering 550 is not retried: the message is given up and logged', async () => {
    sink.refuseNext(1, 550);
    await sender.enqueue(reply('callback:4:status:canceled', 'Your call to Grace is canceled.'));
    const deadline = Date.now() + 5000;
    while (!givenUp.includes('callback:4:status:canceled') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(givenUp.includes('callback:4:status:canceled'));
    assert.equal(sink.received.filter((m) => m.text?.includes('is canceled')).length, 0);
  });
});

describe('e-mail channel without a relay: the local outbox', () => {
  it('keeps the message, threaded, newest first', async () => {
    const redis = createRedisClient(await testRedisUrl());
    try {
      const prefix = uniquePrefix();
      const outbox = new Outbox(redis, prefix);
      const shown: string[] = [];
      const email = createEmailChannel({ from: 'crossline@localhost', outbox, onOutbox: (e) => shown.push(e.subject), logger: silent });
      await email.send({ to: { channel: 'email', address: 'ada@example.com' }, text: 'Calling Grace now.', thread: { messageId: '<a@example.com>', subject: 'call Grace' }, dedupKey: 'k1' });
      await email.send({ to: { channel: 'email', address: 'ada@example.com' }, text: 'You are connected with Grace.', thread: { messageId: '<a@example.com>', subject: 'call Grace' }, dedupKey: 'k2' });
      const [newest, older] = await outbox.list(10);
      assert.equal(newest?.text, 'You are connected with Grace.');
      assert.equal(older?.text, 'Calling Grace now.');
      assert.equal(newest?.inReplyTo, '<a@example.com>');
      assert.equal(newest?.subject, 'Re: call Grace');
      assert.match(newest?.raw ?? '', /^In-Reply-To: <a@example.com>$/m);
      assert.deepEqual(shown, ['Re: call Grace', 'Re: call Grace']);
    } finally {
      await redis.quit();
    }
  });

  it('a reply subject has one Re:, whatever the original had', () => {
    assert.equal(replySubject('Re: RE: Fwd: call Grace'), 'Re: call Grace');
    assert.equal(replySubject(undefined), 'Re: your Crossline request');
  });
});
