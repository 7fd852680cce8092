/**
 * SMS out and receipts in: BENCH_SMS_MESSAGES (2,000) text messages — 7 in 10 one part, 3 in 10
 * a 400-character text in three parts — queued on the `messages` queue and sent by the message
 * worker through the SMS channel over one SMPP bind to the test SMSC (node-smpp's server side, a
 * real socket, in this process), SMPP_RATE_PER_SECOND set out of the way (BENCH_SMS_RATE, 5,000).
 * Reports messages/s and parts/s, and p50/p99 from the enqueue to the SMSC's acceptance of the
 * last part; then a delivery receipt for every part, and receipts/s recorded in the SMS log.
 */
import { Redis } from 'ioredis';
import pino from 'pino';
import { createMessageSender, createMessageWorker, MESSAGE_QUEUE } from '../../../src/channels/index.js';
import { SmsChannel } from '../../../src/channels/sms/index.js';
import { keyPrefixes } from '../../../src/store/keys.js';
import { TestSmsc, type SubmittedPart } from '../../support/smsc.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';
import { percentiles } from '../measure.js';
import { knob, type BenchScenario } from '../scenario.js';

export const scenario: BenchScenario = {
  name: 'sms',
  title: 'SMS through the message queue to an SMSC over SMPP, and delivery receipts back: messages/s, p50/p99',
  order: 75,
  async run(ctx) {
    const total = knob('BENCH_SMS_MESSAGES', 2_000);
    const rate = knob('BENCH_SMS_RATE', 5_000);
    const smsc = await TestSmsc.start();
    const redis = new Redis(await testRedisUrl(), { maxRetriesPerRequest: null });
    const prefix = uniquePrefix();
    const prefixes = keyPrefixes(prefix, false);
    const channel = new SmsChannel({
      link: { host: '127.0.0.1', port: smsc.port, systemId: smsc.systemId, password: smsc.password },
      source: { address: '+12025550199', ton: 1, npi: 1 },
      redis,
      keyBase: `${prefix}:sms`,
      fraud: { allowedCountries: ['US'], deniedPrefixes: [], allowedPrefixes: [], allowedSipDomains: [], defaultRegion: 'US' },
      defaultRegion: 'US',
      ratePerSecond: rate,
      logger: pino({ level: 'warn' }),
    });
    const sender = createMessageSender({ connection: redis, prefix: prefixes.queue(MESSAGE_QUEUE) });
    const worker = createMessageWorker({ connection: redis, prefix: prefixes.queue(MESSAGE_QUEUE), redis, keyPrefix: prefix, channels: [channel], concurrency: 20, logger: pino({ level: 'warn' }) });
    try {
      await channel.start(5000);
      const long = 'Ada Lovelace did not answer - I will try again at 15:10. '.repeat(8).slice(0, 400);
      const queuedAt = new Map<string, number>();
      const doneAt = new Map<string, number>();
      const partsOf = new Map<string, number>();
      const seen = new Map<string, number>();
      // Each message goes to a number of its own, so the SMSC's record tells which message a part is.
      const numberOf = (i: number): string => `+1202555${String(1000 + (i % 9000)).padStart(4, '0')}`;
      const started = Date.now();
      smsc.on('submit', (part: SubmittedPart) => {
        const n = (seen.get(part.destinationAddr) ?? 0) + 1;
        seen.set(part.destinationAddr, n);
        const to = `+${part.destinationAddr}`;
        if (n >= (partsOf.get(to) ?? 1) && !doneAt.has(to)) doneAt.set(to, Date.now());
      });
      for (let i = 0; i < total; i++) {
        const to = numberOf(i);
        const text = i % 10 < 3 ? long : `Calling Ada Lovelace now (message ${i}).`;
        partsOf.set(to, i % 10 < 3 ? 3 : 1);
        queuedAt.set(to, Date.now());
        await sender.enqueue({ to: { channel: 'sms', address: to }, text, dedupKey: `bench:${prefix}:${i}` });
      }
      const expectedParts = [...partsOf.values()].reduce((a, b) => a + b, 0);
      await smsc.waitFor(() => smsc.submitted.length >= expectedParts, 600_000, `${expectedParts} parts`);
      const seconds = (Date.now() - started) / 1000;
      const latencies = [...doneAt.entries()].map(([to, at]) => at - (queuedAt.get(to) ?? at));
      const p = percentiles(latencies);
      ctx.out(`  ${total} messages (${expectedParts} parts) in ${seconds.toFixed(1)} s: ${(total / seconds).toFixed(0)} messages/s, ${(expectedParts / seconds).toFixed(0)} parts/s`);
      ctx.out(`  enqueue → last part accepted by the SMSC: ${p}`);
      const receiptsStart = Date.now();
      const parts = [...smsc.submitted];
      for (let i = 0; i < parts.length; i += 50) await Promise.all(parts.slice(i, i + 50).map((part) => smsc.deliverReceipt(part, 'DELIVRD')));
      const receiptSeconds = (Date.now() - receiptsStart) / 1000;
      const sample = await channel.log.list({ limit: 50 });
      const delivered = sample.filter((m) => m.status === 'delivered').length;
      ctx.out(`  ${parts.length} delivery receipts recorded in ${receiptSeconds.toFixed(1)} s: ${(parts.length / receiptSeconds).toFixed(0)} receipts/s (${delivered}/${sample.length} of the latest shown delivered)`);
      return {
        ok: delivered === sample.length,
        summary: [
          `sms: ${(total / seconds).toFixed(0)} messages/s (${(expectedParts / seconds).toFixed(0)} parts/s), enqueue → accepted ${p}`,
          `sms receipts: ${(parts.length / receiptSeconds).toFixed(0)}/s`,
        ],
      };
    } finally {
      await worker.close();
      await sender.close();
      await channel.close();
      await smsc.close();
      const keys = await redis.keys(`${prefix}*`);
      for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
      await redis.quit();
    }
  },
};
