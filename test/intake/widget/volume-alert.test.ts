/**
 * The volume-jump alert of a site goes to its webhook and to its e-mail address: the e-mail through
 * the channels' real message queue and e-mail channel to an SMTP relay (the sink), once per hour.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import request from 'supertest';
import { createEmailChannel, createMessageSender, createMessageWorker, type MessageWorker, type QueuedMessageSender } from '../../../src/channels/index.js';
import { SiteVolume, webhookAlertSender } from '../../../src/intake/widget/volume.js';
import type { Site } from '../../../src/intake/widget/sites.js';
import { SIGNATURE_HEADER, verifySignature } from '../../../src/notify/index.js';
import { createRedisClient, type RedisClient } from '../../../src/store/index.js';
import { startSmtpSink, type SmtpSink } from '../../support/mail.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';
import { createSite, keyAuth, startWidgetApp } from './helpers.js';

const silent = pino({ level: 'silent' });
const HOUR_MS = 3_600_000;

describe('site volume-jump alerts by webhook and e-mail', () => {
  let redis: RedisClient;
  let sink: SmtpSink;
  let sender: QueuedMessageSender;
  let worker: MessageWorker;
  let email: ReturnType<typeof createEmailChannel>;
  let hooks: { url: string; received: Array<{ body: string; signature: string | undefined }>; close(): void };
  const prefix = uniquePrefix();

  before(async () => {
    redis = createRedisClient(await testRedisUrl());
    sink = await startSmtpSink();
    sender = createMessageSender({ connection: redis, prefix: `${prefix}:mq`, backoffDelayMs: 50, maxBackoffMs: 200, maxAttempts: 3 });
    email = createEmailChannel({ from: 'crossline@crossline.test', relayUrl: sink.url, logger: silent });
    worker = createMessageWorker({ connection: redis, prefix: `${prefix}:mq`, redis, keyPrefix: prefix, channels: [email], logger: silent });
    const received: Array<{ body: string; signature: string | undefined }> = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ body, signature: req.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined });
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hooks = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, received, close: () => server.close() };
  });

  after(async () => {
    await worker?.close();
    await email?.close();
    await sender?.close();
    await sink?.close();
    hooks?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis?.quit();
  });

  const site = (alert: Site['alert']): Site => ({
    id: '01937c1e-0000-7000-8000-000000000001',
    owner: 'owner1',
    name: 'Example Shop',
    publicKey: 'pk_aaaaaaaaaaaaaaaaaaaaaaaa',
    allowedOrigins: ['https://shop.example'],
    target: { number: '+12025550100' },
    defaultCountry: 'US',
    countries: [],
    dailyCap: 500,
    ...(alert ? { alert } : {}),
    enabled: true,
    createdAt: '2030-01-15T00:00:00.000Z',
    updatedAt: '2030-01-15T00:00:00.000Z',
  });

  test('an hour past factor x the baseline sends one signed webhook and one e-mail; more requests that hour send nothing more', async () => {
    const volume = new SiteVolume(redis, `${prefix}:w1`, { webhook: webhookAlertSender('alert-secret', { allowPrivate: true, timeoutMs: 2000 }), messages: sender }, silent);
    const shop = site({ webhook: hooks.url, email: 'ops@shop.example', factor: 3, minPerHour: 5 });
    const now = Date.parse('2030-01-15T14:20:00.000Z');
    // a quiet day before: 24 requests over 24 hours, a mean of 1 an hour
    for (let h = 1; h <= 24; h++) await volume.record(shop, now - h * HOUR_MS);
    for (let i = 0; i < 3; i++) await volume.record(shop, now);
    assert.equal(hooks.received.length, 0, '3 this hour is not a jump (minPerHour 5)');
    for (let i = 0; i < 6; i++) await volume.record(shop, now + i * 1000);

    const mail = await sink.waitFor((m) => m.subject === 'Call-me-back requests jumped on Example Shop');
    assert.equal(mail.to && !Array.isArray(mail.to) ? mail.to.text : '', 'ops@shop.example');
    assert.match(mail.text ?? '', /Example Shop received 5 call-me-back requests in the hour from 2030-01-15 14:00 UTC, against a mean of 1\.0 an hour/);
    assert.match(mail.text ?? '', /PATCH \/v1\/sites\/01937c1e-0000-7000-8000-000000000001 with \{"enabled": false\}/);
    for (let i = 0; i < 50 && hooks.received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(hooks.received.length, 1);
    const hook = hooks.received[0];
    assert.ok(verifySignature('alert-secret', hook?.signature, hook?.body ?? ''), 'the webhook is signed');
    assert.deepEqual(JSON.parse(hook?.body ?? '{}'), { type: 'site.volume-jump', site: { id: shop.id, name: 'Example Shop' }, hour: '2030-01-15T14:00:00.000Z', count: 5, baseline: 1 });

    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sink.received.filter((m) => m.subject?.includes('jumped on Example Shop')).length, 1, 'one e-mail for the hour');
    assert.equal(hooks.received.length, 1, 'one webhook for the hour');
  });

  test('a site with an e-mail alert only is told by e-mail', async () => {
    const volume = new SiteVolume(redis, `${prefix}:w2`, { webhook: () => Promise.reject(new Error('no webhook in this test')), messages: sender }, silent);
    const shop = { ...site({ email: 'night-desk@shop.example', factor: 2, minPerHour: 3 }), name: 'Night Shop' };
    const now = Date.parse('2030-01-16T03:05:00.000Z');
    for (let i = 0; i < 3; i++) await volume.record(shop, now);
    const mail = await sink.waitFor((m) => m.subject === 'Call-me-back requests jumped on Night Shop');
    assert.match(mail.text ?? '', /received 3 call-me-back requests .* a mean of 0\.0 an hour/);
  });
});

describe('a site\'s alert settings', () => {
  test('an e-mail address, a webhook or both; neither, or an address that is not one, is refused', async (t) => {
    const app = await startWidgetApp(t, { webhookAllowPrivate: true });
    const both = await createSite(app.app, { alert: { email: 'Ops@Shop.Example', webhook: 'http://127.0.0.1:9/alerts', minPerHour: 10 } });
    assert.deepEqual(both.alert, { email: 'ops@shop.example', webhook: 'http://127.0.0.1:9/alerts', factor: 3, minPerHour: 10 });
    const mailOnly = await createSite(app.app, { alert: { email: 'ops@shop.example' } });
    assert.deepEqual(mailOnly.alert, { email: 'ops@shop.example', factor: 3, minPerHour: 20 });
    const base = { name: 'Shop Example', allowedOrigins: ['https://shop.example'], target: { number: '+12025550100' } };
    const neither = await request(app.app).post('/v1/sites').set(keyAuth).send({ ...base, alert: { factor: 4 } });
    assert.equal(neither.status, 400);
    assert.equal(neither.body.error.code, 'VALIDATION_FAILED');
    assert.ok(neither.body.error.details.some((d: { path?: string }) => d.path === '/alert'), JSON.stringify(neither.body));
    for (const bad of ['not an address', 'ops@shop.example\r\nBcc: all@example.com', 'ops@localhost', '"a b"@shop.example']) {
      const res = await request(app.app).post('/v1/sites').set(keyAuth).send({ ...base, alert: { email: bad } });
      assert.equal(res.status, 400, bad);
      assert.ok(['VALIDATION_FAILED', 'INVALID_ADDRESS'].includes(res.body.error.code), `${bad}: ${res.body.error.code}`);
    }
    const patched = await request(app.app).patch(`/v1/sites/${mailOnly.id}`).set(keyAuth).send({ alert: null });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.alert, undefined);
  });
});
