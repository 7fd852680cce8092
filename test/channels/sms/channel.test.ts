import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import smpp from 'smpp';
import { createMessageSender, createMessageWorker, MESSAGE_QUEUE, type MessageWorker } from '../../../src/channels/index.js';
import { SmsChannel, type SmsChannelOptions } from '../../../src/channels/sms/index.js';
import type { InboundMessage, OutboundMessage } from '../../../src/channels/types.js';
import { keyPrefixes } from '../../../src/store/keys.js';
import { TestSmsc } from '../../support/smsc.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';

const FRAUD = { allowedCountries: ['US', 'GB', 'FR'], deniedPrefixes: ['+1555'], allowedPrefixes: [], allowedSipDomains: [], defaultRegion: 'US' };
const ADA = '+12025550101';

interface Rig {
  smsc: TestSmsc;
  channel: SmsChannel;
  redis: Redis;
  prefix: string;
  logs: string[];
  send(text: string, options?: { to?: string; dedupKey?: string }): ReturnType<SmsChannel['send']>;
}

/** A test SMSC, and an SMS channel bound to it over a real socket, on the real Redis under a prefix of its own. */
async function rig(t: TestContext, options: Partial<SmsChannelOptions> & { password?: string; waitBound?: boolean; linkOptions?: Partial<SmsChannelOptions['link']> } = {}): Promise<Rig> {
  const smsc = await TestSmsc.start();
  const redis = new Redis(await testRedisUrl(), { maxRetriesPerRequest: null });
  const prefix = uniquePrefix();
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write: (chunk, _enc, cb) => (logs.push(String(chunk)), cb()) }));
  const { linkOptions, password, waitBound, ...channelOptions } = options;
  const channel = new SmsChannel({
    link: { host: '127.0.0.1', port: smsc.port, systemId: smsc.systemId, password: password ?? smsc.password, reconnectMs: 50, maxReconnectMs: 200, responseTimeoutMs: 1000, enquireLinkMs: 60_000, ...linkOptions },
    source: { address: '+12025550199', ton: 1, npi: 1 },
    redis,
    keyBase: `${prefix}:sms`,
    fraud: FRAUD,
    defaultRegion: 'US',
    ratePerSecond: 1000,
    throttleBackoffMs: 20,
    bindWaitMs: 1500,
    logger,
    ...channelOptions,
  });
  t.after(async () => {
    await channel.close();
    await smsc.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
  if (waitBound !== false) await channel.start(3000);
  let n = 0;
  const send: Rig['send'] = (text, o = {}) => channel.send({ to: { channel: 'sms', address: o.to ?? ADA }, text, dedupKey: o.dedupKey ?? `test:${prefix}:${n++}` });
  return { smsc, channel, redis, prefix, logs, send };
}

/** The parts of one message joined again, as the phone shows it. */
const joined = (parts: Array<{ text: string; concat?: { seq: number } }>): string =>
  [...parts].sort((a, b) => (a.concat?.seq ?? 1) - (b.concat?.seq ?? 1)).map((p) => p.text).join('');

describe('the SMS channel over SMPP', () => {
  test('binds as a transceiver with its credentials and submits a GSM text with a receipt request, to the E.164 destination', async (t) => {
    const r = await rig(t);
    assert.equal(r.channel.status().bound, true);
    assert.deepEqual(r.smsc.binds, [{ systemId: 'crossline', ok: true }]);
    const sent = await r.send('Calling Ada Lovelace now.');
    const [part] = r.smsc.submitted;
    assert.ok(part);
    assert.equal(r.smsc.submitted.length, 1);
    assert.equal(part.text, 'Calling Ada Lovelace now.');
    assert.equal(part.dataCoding, 0x00, 'GSM 03.38 default alphabet');
    assert.equal(part.destinationAddr, '12025550101');
    assert.equal(part.destTon, 1, 'international');
    assert.equal(part.sourceAddr, '12025550199');
    assert.equal(part.registeredDelivery, 1, 'a final delivery receipt is asked for');
    assert.equal(part.concat, undefined);
    const record = await r.channel.log.get(sent.messageId);
    assert.equal(record?.status, 'submitted');
    assert.equal(record?.to, ADA);
    assert.equal(record?.parts[0]?.smscMessageId, part.messageId);
  });

  test('a wrong password is refused: no bind, the reason is visible, and the password never reaches the logs', async (t) => {
    const r = await rig(t, { password: 'wrong-pw', waitBound: false });
    await r.channel.start(300);
    await r.smsc.waitFor(() => r.smsc.binds.length >= 2, 3000, 'bind retries');
    assert.equal(r.channel.status().bound, false);
    assert.match(r.channel.status().lastError ?? '', /invalid password/);
    await assert.rejects(r.send('hello'), (err: Error & { retryable?: boolean }) => err.retryable === true && /not bound/.test(err.message));
    assert.equal(r.smsc.submitted.length, 0);
    assert.ok(r.logs.some((l) => /SMPP link down/.test(l)), 'the failed bind is logged');
    assert.ok(!r.logs.some((l) => l.includes('wrong-pw')), 'the password is not logged');
  });

  test('GSM 03.38 when every character fits (extension characters too), UCS-2 as soon as one does not', async (t) => {
    const r = await rig(t);
    await r.send('Price: 5€ {approx} [ok] ~ £3 @home');
    await r.send('Ça coûte 5€ — 你好 😀');
    const [gsm, ucs2] = r.smsc.submitted;
    assert.equal(gsm?.dataCoding, 0x00);
    assert.equal(gsm?.text, 'Price: 5€ {approx} [ok] ~ £3 @home');
    assert.equal(ucs2?.dataCoding, 0x08);
    assert.equal(ucs2?.text, 'Ça coûte 5€ — 你好 😀');
  });

  test('a 400-character text goes as three concatenated parts (153 + 153 + 94 septets) that join back into the text', async (t) => {
    const r = await rig(t);
    const text = Array.from({ length: 50 }, (_, i) => `line ${String(i).padStart(3, '0')}.`).join('').slice(0, 400);
    assert.equal(text.length, 400);
    const sent = await r.send(text);
    const parts = r.smsc.submitted;
    assert.equal(parts.length, 3);
    assert.deepEqual(parts.map((p) => p.text.length), [153, 153, 94]);
    const refs = new Set(parts.map((p) => p.concat?.ref));
    assert.equal(refs.size, 1, 'one reference for all parts');
    assert.deepEqual(parts.map((p) => [p.concat?.seq, p.concat?.total, p.concat?.via]), [[1, 3, 'udh'], [2, 3, 'udh'], [3, 3, 'udh']]);
    assert.ok(parts.every((p) => (p.esmClass & 0x40) === 0x40), 'UDH indicator set');
    assert.equal(joined(parts), text);
    const record = await r.channel.log.get(sent.messageId);
    assert.equal(record?.partCount, 3);
    assert.equal(record?.parts.filter((p) => p.state === 'submitted').length, 3);
  });

  test('UCS-2 parts hold 67 characters and never split a surrogate pair; sar_ TLVs instead of a UDH when configured', async (t) => {
    const r = await rig(t, { concat: 'sar' });
    const text = `${'é你'.repeat(33)}😀${'x'.repeat(60)}`;
    await r.send(text);
    const parts = r.smsc.submitted;
    assert.equal(parts.length, 2);
    assert.ok(parts.every((p) => p.dataCoding === 0x08 && p.concat?.via === 'sar' && (p.esmClass & 0x40) === 0));
    assert.equal(joined(parts), text);
    assert.ok(!/\uFFFD/.test(parts.map((p) => p.text).join('')), 'no broken surrogate');
  });

  test('a text longer than the part limit is cut with an ellipsis, within the limit', async (t) => {
    const r = await rig(t, { maxParts: 2 });
    await r.send('word '.repeat(200));
    const parts = r.smsc.submitted;
    assert.equal(parts.length, 2);
    assert.ok(joined(parts).endsWith('...'));
    assert.ok(r.logs.some((l) => /longer than the part limit/.test(l)));
  });

  test('a delivery receipt marks the message delivered; an UNDELIV receipt for one part makes it undeliverable', async (t) => {
    const r = await rig(t);
    const one = await r.send('short one');
    const part = r.smsc.submitted[0]!;
    assert.equal(await r.smsc.deliverReceipt(part, 'DELIVRD'), 0, 'the receipt is acknowledged');
    const delivered = await r.channel.log.get(one.messageId);
    assert.equal(delivered?.status, 'delivered');
    assert.equal(delivered?.parts[0]?.stat, 'DELIVRD');
    // A late intermediate receipt does not undo a final one.
    await r.smsc.deliverReceipt(part, 'ENROUTE');
    assert.equal((await r.channel.log.get(one.messageId))?.status, 'delivered');

    const two = await r.send('x'.repeat(200));
    const [p1, p2] = r.smsc.submitted.slice(1);
    await r.smsc.deliverReceipt(p1!, 'DELIVRD');
    // Receipt text only, with the id in decimal where submit_sm_resp gave hex (a common SMSC habit).
    await r.smsc.deliverReceipt(p2!, 'UNDELIV', { textOnly: true, idInText: BigInt(`0x${p2!.messageId}`).toString(10), err: '011' });
    const failed = await r.channel.log.get(two.messageId);
    assert.equal(failed?.status, 'undeliverable');
    assert.equal(failed?.parts[1]?.error, '011');
    const listed = await r.channel.log.list({ limit: 10, to: ADA });
    assert.deepEqual(listed.map((m) => m.id), [two.messageId, one.messageId]);
  });

  test('throttling (ESME_RTHROTTLED, ESME_RMSGQFUL) pauses and retries the part; it is sent once', async (t) => {
    const r = await rig(t);
    r.smsc.answerNext(smpp.errors.ESME_RTHROTTLED!, smpp.errors.ESME_RMSGQFUL!);
    const sent = await r.send('hello after a pause');
    assert.equal(r.smsc.submitted.length, 1);
    assert.equal((await r.channel.log.get(sent.messageId))?.status, 'submitted');
    assert.ok(r.logs.filter((l) => /throttled submit_sm; pausing/.test(l)).length >= 2);
  });

  test('a destination the toll-fraud policy refuses (premium rate, denied prefix, other country) is never submitted, and not retried', async (t) => {
    const r = await rig(t);
    for (const to of ['+19005550100', '+15555550100', '+4930123456']) {
      await assert.rejects(r.send('hi', { to }), (err: Error & { retryable?: boolean }) => err.retryable === false && /refused/.test(err.message), to);
    }
    assert.equal(r.smsc.submitted.length, 0);
  });

  test('reconnects after the SMSC drops the connection, and sends again', async (t) => {
    const r = await rig(t);
    r.smsc.dropConnections();
    await r.smsc.waitForBinds(2);
    await r.smsc.waitFor(() => r.channel.status().bound, 3000, 'bound again');
    await r.send('after the drop');
    assert.equal(r.smsc.submitted.at(-1)?.text, 'after the drop');
  });

  test('enquire_link keeps the bind alive; when the SMSC stops answering it, the link is dropped and bound again', async (t) => {
    const r = await rig(t, { linkOptions: { enquireLinkMs: 50, responseTimeoutMs: 300 } });
    await r.smsc.waitFor(() => r.smsc.enquireLinks >= 3, 3000, 'enquire_link');
    assert.equal(r.smsc.binds.filter((b) => b.ok).length, 1, 'answered keepalives keep the one bind');
    r.smsc.setAnswerEnquireLink(false);
    await r.smsc.waitForBinds(2, 3000);
    r.smsc.setAnswerEnquireLink(true);
    await r.smsc.waitFor(() => r.channel.status().bound, 3000, 'bound again');
    await r.send('still here');
    assert.equal(r.smsc.submitted.at(-1)?.text, 'still here');
  });

  test('an SMSC that stops answering is dropped and rebound; the send in flight fails as retryable', async (t) => {
    const r = await rig(t);
    r.smsc.answerNext('silent');
    await assert.rejects(r.send('lost answer'), (err: Error & { retryable?: boolean }) => err.retryable === true);
    await r.smsc.waitForBinds(2);
  });

  test('MO messages reach the listener from the sender\'s E.164; concatenated ones are joined; the SMSC gets its answer after the listener', async (t) => {
    const r = await rig(t);
    const got: InboundMessage[] = [];
    r.channel.onMessage(async (m) => void got.push(m));
    assert.equal(await r.smsc.deliverMo('+12025550123', '+12025550199', 'call Ada'), 0);
    // National format, TON unknown: read in the default region.
    await r.smsc.deliverMo('2025550124', '12025550199', 'status', { ton: 0 });
    await r.smsc.deliverMo('+12025550123', '+12025550199', 'world', { udh: Buffer.from([5, 0, 3, 7, 2, 2]) });
    await r.smsc.deliverMo('+12025550123', '+12025550199', 'hello ', { udh: Buffer.from([5, 0, 3, 7, 2, 1]) });
    // An alphanumeric sender cannot be a user: dropped (and acknowledged, so the SMSC does not retry).
    assert.equal(await r.smsc.deliverMo('PROMO', '+12025550199', 'buy now', { ton: 5 }), 0);
    assert.deepEqual(got.map((m) => [m.from, m.text]), [
      [{ channel: 'sms', address: '+12025550123' }, 'call Ada'],
      [{ channel: 'sms', address: '+12025550124' }, 'status'],
      [{ channel: 'sms', address: '+12025550123' }, 'hello world'],
    ]);
    assert.deepEqual(got[0]?.to, { channel: 'sms', address: '+12025550199' });
    r.channel.onMessage(async () => {
      throw new Error('store down');
    });
    assert.equal(await r.smsc.deliverMo('+12025550123', '+12025550199', 'call Ada'), smpp.errors.ESME_RX_T_APPN, 'a failed handler asks the SMSC to deliver again');
  });
});

describe('the SMS channel behind the message queue', () => {
  async function queued(t: TestContext, r: Rig): Promise<{ enqueue(m: OutboundMessage): Promise<void>; givenUp: string[]; worker: MessageWorker }> {
    const prefixes = keyPrefixes(r.prefix, false);
    const sender = createMessageSender({ connection: r.redis, prefix: prefixes.queue(MESSAGE_QUEUE), backoffDelayMs: 50, maxBackoffMs: 200, maxAttempts: 4 });
    const givenUp: string[] = [];
    const worker = createMessageWorker({
      connection: r.redis,
      prefix: prefixes.queue(MESSAGE_QUEUE),
      redis: r.redis,
      keyPrefix: r.prefix,
      channels: [r.channel],
      logger: pino({ level: 'silent' }),
      onGivenUp: (_m, reason) => givenUp.push(reason),
    });
    t.after(async () => {
      await worker.close();
      await sender.close();
    });
    return { enqueue: (m) => sender.enqueue(m), givenUp, worker };
  }

  test('the same message queued twice is sent once', async (t) => {
    const r = await rig(t);
    const q = await queued(t, r);
    const message: OutboundMessage = { to: { channel: 'sms', address: ADA }, text: 'Your call to Ada has ended.', dedupKey: 'callback:cb-1:status:7' };
    await q.enqueue(message);
    await q.enqueue(message);
    await r.smsc.waitForSubmits(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(r.smsc.submitted.length, 1);
  });

  test('throttling that outlasts the in-place retries is retried by the queue; a part already accepted is not sent again', async (t) => {
    const r = await rig(t, { throttleRetries: 1 });
    const q = await queued(t, r);
    const throttled = smpp.errors.ESME_RTHROTTLED!;
    // Part 1 accepted, then part 2 throttled twice (in place, then the job fails and is retried).
    r.smsc.answerNext(0, throttled, throttled);
    const text = 'y'.repeat(300);
    await q.enqueue({ to: { channel: 'sms', address: ADA }, text, dedupKey: 'alert:a-1:attempt:sms:+12025550101' });
    await r.smsc.waitForSubmits(2, 5000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(r.smsc.submitted.map((p) => p.concat?.seq), [1, 2], 'each part accepted exactly once');
    assert.equal(joined(r.smsc.submitted), text);
    assert.equal(new Set(r.smsc.submitted.map((p) => p.concat?.ref)).size, 1, 'the retry keeps the reference');
    assert.deepEqual(q.givenUp, []);
  });

  test('a permanent error (ESME_RINVDSTADR) is given up at once, logged, and shown as failed', async (t) => {
    const r = await rig(t);
    const q = await queued(t, r);
    const refused: number[] = [];
    r.smsc.on('refused', (s: number) => refused.push(s));
    r.smsc.answerNext(smpp.errors.ESME_RINVDSTADR!);
    await q.enqueue({ to: { channel: 'sms', address: '+12025550177' }, text: 'nobody home', dedupKey: 'reply:m-1:sms:+12025550177' });
    await r.smsc.waitFor(() => q.givenUp.length === 1, 5000, 'give up');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(refused, [smpp.errors.ESME_RINVDSTADR], 'tried once');
    assert.match(q.givenUp[0] ?? '', /ESME_RINVDSTADR/);
    const [record] = await r.channel.log.list({ limit: 1 });
    assert.equal(record?.status, 'failed');
    assert.match(record?.failure ?? '', /ESME_RINVDSTADR/);
  });
});
