/**
 * E-mail intake: BENCH_EMAIL_MESSAGES (1,000) DKIM-signed "call … tomorrow at 9am" messages from
 * BENCH_EMAIL_USERS (20) verified users, sent over BENCH_EMAIL_CONNECTIONS (20) SMTP connections
 * to Crossline's SMTP port. Each message goes the whole way — SMTP, DKIM/SPF/DMARC check (mailauth,
 * against the bench's own published key), MIME parsing, directory, conversation, CallbackService
 * (stored and scheduled) — before its 250 is sent, so the time from the send to the 250 is the time
 * to a queued callback. Reports messages/s and p50/p99 of that time. Crossline runs in this process
 * (API + workers, the embedded simulator); the messages are signed before the measured window.
 */
import nodemailer from 'nodemailer';
import pino from 'pino';
import supertest from 'supertest';
import { loadConfig } from '../../../src/config/index.js';
import { startRuntime } from '../../../src/runtime/index.js';
import { createChannelsModule } from '../../../src/channels/module.js';
import { CAPABILITY_MODULES } from '../../../src/runtime/modules/index.js';
import { freePort } from '../../../src/store/embedded-redis.js';
import { buildMail, testDomain, testResolver } from '../../support/mail.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';
import { percentiles } from '../measure.js';
import { knob, type BenchScenario } from '../scenario.js';

const KEY = 'bench-email-key-0123456789';
const MAILBOX = 'crossline@crossline.test';

export const scenario: BenchScenario = {
  name: 'email-intake',
  title: 'DKIM-signed e-mail requests over SMTP to a queued callback: messages/s, p50/p99',
  order: 70,
  async run(ctx) {
    const total = knob('BENCH_EMAIL_MESSAGES', 1_000);
    const users = Math.max(1, knob('BENCH_EMAIL_USERS', 20));
    const connections = Math.max(1, knob('BENCH_EMAIL_CONNECTIONS', 20));
    const domain = testDomain('example.com');
    const smtpPort = await freePort();
    const config = loadConfig({
      REDIS_URL: await testRedisUrl(),
      KEY_PREFIX: uniquePrefix(),
      API_KEYS: KEY,
      PORT: '0',
      HOST: '127.0.0.1',
      SMTP_PORT: String(smtpPort),
      EMAIL_ADDRESS: MAILBOX,
      LOG_LEVEL: ctx.logLevel === 'info' ? 'warn' : ctx.logLevel,
      RATE_LIMIT_PER_MINUTE: '1000000',
      MESSAGES_PER_SENDER_PER_MINUTE: '10000',
      INTAKE_FLOOD_PER_MINUTE: '100000',
      DESTINATION_CALLBACKS_PER_HOUR: '1000000',
      DESTINATION_MAX_ACTIVE: '100000',
      KEY_CALLBACKS_PER_DAY: '100000000',
    });
    const modules = CAPABILITY_MODULES.map((m) => (m.name === 'channels' ? createChannelsModule({ resolver: testResolver(domain) }) : m));
    const runtime = await startRuntime(config, { api: true, workers: true }, pino({ level: config.logLevel }), { modules });
    try {
      const api = (): supertest.Agent => supertest.agent(runtime.apiUrl ?? '').set('Authorization', `Bearer ${KEY}`);
      // Users with verified addresses (code from the local outbox), and one contact each to call.
      for (let i = 0; i < users; i++) {
        const address = `user${i}@example.com`;
        const user = await api().post('/v1/users').send({ displayName: `User ${i}`, emails: [address], phones: [{ number: `+1202555${String(100 + (i % 50)).padStart(4, '0')}`, label: 'mobile' }], timeZone: 'America/New_York' });
        if (user.status !== 201) throw new Error(`user not created: ${user.status} ${JSON.stringify(user.body)}`);
        await api().post(`/v1/users/${user.body.id}/verifications`).send({ channel: 'email', address });
        let code: string | undefined;
        for (let tries = 0; tries < 100 && code === undefined; tries++) {
          const outbox = await api().get('/v1/outbox?limit=20');
          const mail = (outbox.body.items as Array<{ to: string; text: string }>).find((m) => m.to === address);
          code = mail ? /code is (\d{6})/.exec(mail.text)?.[1] : undefined;
          if (code === undefined) await new Promise((r) => setTimeout(r, 50));
        }
        const ok = await api().post(`/v1/users/${user.body.id}/verifications/confirm`).send({ channel: 'email', address, code });
        if (ok.status >= 300) throw new Error(`verification failed: ${JSON.stringify(ok.body)}`);
      }
      await api().post('/v1/contacts').send({ displayName: 'Grace Hopper', phones: [{ number: '+1 202 555 0101', label: 'mobile' }] });

      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: smtpPort,
        ignoreTLS: true,
        pool: true,
        maxConnections: connections,
        maxMessages: Infinity,
      });
      // Signed before the measured window: the sender's RSA signing is not Crossline's work.
      const raws: Buffer[] = [];
      for (let i = 0; i < total + connections; i++) {
        raws.push(await buildMail({ from: `user${i % users}@example.com`, to: MAILBOX, subject: 'call Grace tomorrow at 9am', text: 'call Grace tomorrow at 9am', messageId: `<bench-${i}-${Date.now()}@example.com>`, signWith: domain }));
      }
      const send = async (i: number): Promise<number> => {
        const started = performance.now();
        await transport.sendMail({ envelope: { from: `user${i % users}@example.com`, to: [MAILBOX] }, raw: raws[i]! });
        return performance.now() - started;
      };
      // Warm-up: connections open, code paths compiled.
      await Promise.all(Array.from({ length: connections }, (_, i) => send(total + i)));
      const samples: number[] = [];
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: connections }, async () => {
          while (next < total) {
            const i = next++;
            samples.push(await send(i));
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      transport.close();
      const list = await api().get('/v1/callbacks?limit=1');
      const rate = total / seconds;
      ctx.out(`  ${total} messages from ${users} users over ${connections} SMTP connections in ${seconds.toFixed(1)} s`);
      ctx.out(`  ${rate.toFixed(0)} messages/s to a queued (scheduled) callback; send → 250: ${percentiles(samples)}`);
      return {
        ok: list.status === 200,
        summary: [`e-mail intake: ${rate.toFixed(0)} msg/s (DKIM checked each), send→queued ${percentiles(samples)}`],
      };
    } finally {
      await runtime.close();
    }
  },
};
