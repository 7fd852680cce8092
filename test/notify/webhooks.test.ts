import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import pino, { type Logger } from 'pino';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import {
  WEBHOOK_QUEUE,
  createWebhookNotifier,
  createWebhookWorker,
  verifySignature,
  type WebhookEvent,
  type WebhookJobData,
  type WebhookNotifier,
  type WebhookWorker,
} from '../../src/notify/index.js';
import { callbackWithWebhook, changeStatus } from './callback-fixture.js';

const SECRET = 'whsec_e2e_0123456789abcdef';

interface Delivery {
  headers: http.IncomingHttpHeaders;
  body: string;
  verified: boolean;
}

/** Answers with the scripted statuses in turn (the last one repeats), optionally after a delay. */
interface Reply {
  status: number;
  delayMs?: number;
  headers?: Record<string, string>;
}

class Receiver {
  readonly deliveries: Delivery[] = [];
  private readonly server: http.Server;
  private readonly replies: Reply[];

  constructor(replies: Reply[] = [{ status: 200 }]) {
    this.replies = [...replies];
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const header = req.headers['crossline-signature'];
        const verified = verifySignature(SECRET, typeof header === 'string' ? header : undefined, Buffer.concat(chunks));
        this.deliveries.push({ headers: req.headers, body, verified });
        const reply = (this.replies.length > 1 ? this.replies.shift() : this.replies[0]) ?? { status: 200 };
        const send = (): void => {
          if (!res.destroyed) res.writeHead(reply.status, reply.headers).end('ok');
        };
        if (reply.delayMs) setTimeout(send, reply.delayMs).unref();
        else send();
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/crossline?tenant=a`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// Bounded, so that a Redis that went away fails the file instead of hanging it.
const HOOK_TIMEOUT = { timeout: 15_000 };
const TEST_TIMEOUT = { timeout: 20_000 };

let redisUrl: string;
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  redisUrl = await testRedisUrl();
}, HOOK_TIMEOUT);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}, HOOK_TIMEOUT);

after(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}, HOOK_TIMEOUT);

interface Harness {
  notifier: WebhookNotifier;
  worker: WebhookWorker;
  queue: Queue<WebhookJobData>;
}

/** A notifier, a worker and an inspection queue, all under a prefix of the test's own, removed afterwards. */
function harness(opts: { allowPrivate: boolean; timeoutMs?: number; maxAttempts?: number; logger?: Logger }): Harness {
  const prefix = uniquePrefix();
  const connection = { url: redisUrl };
  const notifier = createWebhookNotifier({ connection, prefix, maxAttempts: opts.maxAttempts ?? 5, backoffDelayMs: 50, maxBackoffMs: 200 });
  const worker = createWebhookWorker({
    connection: { url: redisUrl, maxRetriesPerRequest: null },
    prefix,
    secret: SECRET,
    timeoutMs: opts.timeoutMs ?? 2000,
    allowPrivate: opts.allowPrivate,
    concurrency: 2,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  const queue = new Queue<WebhookJobData>(WEBHOOK_QUEUE, { connection, prefix });
  cleanups.push(async () => {
    await worker.close();
    await notifier.close();
    await queue.obliterate({ force: true });
    await queue.close();
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
  return { notifier, worker, queue };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

async function finalState(queue: Queue<WebhookJobData>, jobId: string): Promise<{ state: string; attemptsMade: number; failedReason: string }> {
  return until(`job ${jobId} to finish`, async () => {
    const job = await queue.getJob(jobId);
    const state = job ? await job.getState() : undefined;
    return job && (state === 'completed' || state === 'failed') ? { state, attemptsMade: job.attemptsMade, failedReason: job.failedReason } : undefined;
  });
}

const attemptOf = (d: Delivery): number => Number(d.headers['crossline-delivery-attempt']);

test('a status change is delivered once, signed over the raw body, with the documented payload and headers', TEST_TIMEOUT, async () => {
  const receiver = new Receiver();
  const url = await receiver.listen();
  cleanups.push(() => receiver.close());
  const { notifier, queue } = harness({ allowPrivate: true });
  const callback = callbackWithWebhook(url);
  const entry = changeStatus(callback, 'calling-callee', 'attempt-started');

  await notifier.statusChanged(callback, entry);
  await notifier.statusChanged(callback, { ...entry });

  const eventId = await until('a delivery', () => receiver.deliveries[0]?.headers['crossline-event-id'] as string | undefined);
  assert.equal((await finalState(queue, eventId)).state, 'completed');
  await sleep(200);
  assert.equal(receiver.deliveries.length, 1, 'notifying the same change twice sends it once');
  const [delivery] = receiver.deliveries;
  assert.ok(delivery);
  assert.equal(delivery.verified, true);
  assert.equal(delivery.headers['content-type'], 'application/json');
  assert.match(String(delivery.headers['user-agent']), /^Crossline-Webhooks\/\d+\.\d+\.\d+/);
  assert.equal(delivery.headers['crossline-delivery-attempt'], '1');
  const payload = JSON.parse(delivery.body) as WebhookEvent;
  assert.equal(payload.id, eventId);
  assert.equal(payload.type, 'callback.status_changed');
  assert.equal(payload.createdAt, entry.at);
  assert.equal(payload.data.previousStatus, 'queued');
  assert.equal(payload.data.status, 'calling-callee');
  assert.deepEqual(payload.data.event, entry);
  assert.equal(payload.data.callback.id, callback.id);
  assert.equal(payload.data.callback.request.callee.number, '+12025550111');
  assert.equal(payload.data.callback.request.webhook, url);
});

test('each status change is its own event with its own id', TEST_TIMEOUT, async () => {
  const receiver = new Receiver();
  const url = await receiver.listen();
  cleanups.push(() => receiver.close());
  const { notifier } = harness({ allowPrivate: true });
  const callback = callbackWithWebhook(url);

  await notifier.statusChanged(callback, changeStatus(callback, 'calling-callee', 'attempt-started'));
  await notifier.statusChanged(callback, changeStatus(callback, 'failed', 'failed'));

  await until('two deliveries', () => receiver.deliveries.length === 2 || undefined);
  const payloads = receiver.deliveries.map((d) => JSON.parse(d.body) as WebhookEvent);
  const statuses = payloads.map((p) => p.data.status).sort();
  assert.deepEqual(statuses, ['calling-callee', 'failed']);
  assert.notEqual(payloads[0]?.id, payloads[1]?.id);
  assert.equal(payloads.find((p) => p.data.status === 'failed')?.data.previousStatus, 'calling-callee');
});

test('a callback without a webhook queues nothing', TEST_TIMEOUT, async () => {
  const { notifier, queue } = harness({ allowPrivate: true });
  const callback = callbackWithWebhook(undefined);

  await notifier.statusChanged(callback, changeStatus(callback, 'completed', 'completed'));

  assert.equal(await queue.count(), 0);
});

test('a receiver answering 500 twice then 200 gets three deliveries with increasing attempt numbers and one success', TEST_TIMEOUT, async () => {
  const receiver = new Receiver([{ status: 500 }, { status: 500 }, { status: 200 }]);
  const url = await receiver.listen();
  cleanups.push(() => receiver.close());
  const { notifier, queue } = harness({ allowPrivate: true });
  const callback = callbackWithWebhook(url);

  await notifier.statusChanged(callback, changeStatus(callback, 'bridged', 'bridged'));

  const eventId = await until('a delivery', () => receiver.deliveries[0]?.headers['crossline-event-id'] as string | undefined);
  const final = await finalState(queue, eventId);
  assert.equal(final.state, 'completed');
  assert.deepEqual(receiver.deliveries.map(attemptOf), [1, 2, 3]);
  assert.ok(receiver.deliveries.every((d) => d.verified && d.headers['crossline-event-id'] === eventId));
  assert.equal(new Set(receiver.deliveries.map((d) => d.body)).size, 1, 'every attempt sends the same bytes');
});

test('a receiver answering 410 Gone is not tried again', TEST_TIMEOUT, async () => {
  const receiver = new Receiver([{ status: 410 }]);
  const url = await receiver.listen();
  cleanups.push(() => receiver.close());
  const { notifier, queue } = harness({ allowPrivate: true });
  const callback = callbackWithWebhook(url);

  await notifier.statusChanged(callback, changeStatus(callback, 'completed', 'completed'));

  const eventId = await until('a delivery', () => receiver.deliveries[0]?.headers['crossline-event-id'] as string | undefined);
  const final = await finalState(queue, eventId);
  assert.equal(final.state, 'failed');
  assert.match(final.failedReason, /410/);
  await sleep(300);
  assert.equal(receiver.deliveries.length, 1);
});

test('a client error other than 408/425/429 is not retried, a 429 is', TEST_TIMEOUT, async () => {
  const receiver = new Receiver([{ status: 429, headers: { 'Retry-After': '0' } }, { status: 404 }]);
  const url = await receiver.listen();
  cleanups.push(() => receiver.close());
  const { notifier, queue } = harness({ allowPrivate: true });
  const callback = callbackWithWebhook(url);

  await notifier.statusChanged(callback, changeStatus(callback, 'completed', 'completed'));

  const eventId = await until('a delivery', () => receiver.deliveries[0]?.headers['crossline-event-id'] as string | undefined);
  const final = await finalState(queue, eventId);
  assert.equal(final.state, 'failed');
  assert.match(final.failedReason, /404/);
  await sleep(300);
  assert.deepEqual(receiver.deliveries.map(attemptOf), [1, 2]);
});

test('a redirect is not followed and not retried', TEST_TIMEOUT, async () => {
  const target = new Receiver();
  const targetUrl = await target.listen();
  cleanups.push(() => target.close());
  const receiver = new Receiver([{ status: 302, headers: { Location: targetUrl } }]);
  const url = await receiver.listen();
  cleanups.push(() => receiver.close());
  const { notifier, queue } = harness({ allowPrivate: true });
  const callback = callbackWithWebhook(url);

  await notifier.statusChanged(callback, changeStatus(callback, 'completed', 'completed'));

  const eventId = await until('a delivery', () => receiver.deliveries[0]?.headers['crossline-event-id'] as string | undefined);
  assert.equal((await finalState(queue, eventId)).state, 'failed');
  assert.equal(receiver.deliveries.length, 1);
  assert.equal(target.deliveries.length, 0);
});

test('a slow receiver times out and the event is delivered again', TEST_TIMEOUT, async () => {
  const receiver = new Receiver([{ status: 200, delayMs: 1500 }, { status: 200 }]);
  const url = await receiver.listen();
  cleanups.push(() => receiver.close());
  const { notifier, queue } = harness({ allowPrivate: true, timeoutMs: 300 });
  const callback = callbackWithWebhook(url);

  const startedAt = Date.now();
  await notifier.statusChanged(callback, changeStatus(callback, 'completed', 'completed'));

  const eventId = await until('a delivery', () => receiver.deliveries[0]?.headers['crossline-event-id'] as string | undefined);
  const final = await finalState(queue, eventId);
  assert.equal(final.state, 'completed');
  assert.ok(Date.now() - startedAt < 1500, 'the first attempt was cut short by the timeout, not waited out');
  assert.deepEqual(receiver.deliveries.map(attemptOf), [1, 2]);
});

test('a receiver that never answers fails the event after the last attempt', TEST_TIMEOUT, async () => {
  const receiver = new Receiver([{ status: 503 }]);
  const url = await receiver.listen();
  cleanups.push(() => receiver.close());
  const { notifier, queue } = harness({ allowPrivate: true, maxAttempts: 3 });
  const callback = callbackWithWebhook(url);

  await notifier.statusChanged(callback, changeStatus(callback, 'completed', 'completed'));

  const eventId = await until('a delivery', () => receiver.deliveries[0]?.headers['crossline-event-id'] as string | undefined);
  const final = await finalState(queue, eventId);
  assert.equal(final.state, 'failed');
  assert.equal(final.attemptsMade, 3);
  assert.deepEqual(receiver.deliveries.map(attemptOf), [1, 2, 3]);
});

test('without allowPrivate a delivery to 127.0.0.1 is refused, never reaches the receiver and is not retried', TEST_TIMEOUT, async () => {
  const receiver = new Receiver();
  const url = await receiver.listen();
  cleanups.push(() => receiver.close());
  const { notifier, queue } = harness({ allowPrivate: false });
  const callback = callbackWithWebhook(url);

  await notifier.statusChanged(callback, changeStatus(callback, 'completed', 'completed'));

  const jobs = await until('the job', async () => {
    const all = await queue.getJobs(['completed', 'failed']);
    return all.length > 0 ? all : undefined;
  });
  const final = await finalState(queue, String(jobs[0]?.id));
  assert.equal(final.state, 'failed');
  assert.equal(final.attemptsMade, 1);
  assert.match(final.failedReason, /WEBHOOK_URL_NOT_ALLOWED/);
  assert.equal(receiver.deliveries.length, 0);
});

test('without allowPrivate a host name that resolves to loopback at delivery time is refused (DNS rebinding)', TEST_TIMEOUT, async () => {
  const receiver = new Receiver();
  const url = (await receiver.listen()).replace('127.0.0.1', 'localhost');
  cleanups.push(() => receiver.close());
  const { notifier, queue } = harness({ allowPrivate: false });
  const callback = callbackWithWebhook(url);

  await notifier.statusChanged(callback, changeStatus(callback, 'completed', 'completed'));

  const jobs = await until('the job', async () => {
    const all = await queue.getJobs(['completed', 'failed']);
    return all.length > 0 ? all : undefined;
  });
  const final = await finalState(queue, String(jobs[0]?.id));
  assert.equal(final.state, 'failed');
  assert.match(final.failedReason, /WEBHOOK_URL_NOT_ALLOWED/);
  assert.equal(receiver.deliveries.length, 0);
});

test('delivery logs name the callback, host, attempt and status, and never the secret or the URL path', TEST_TIMEOUT, async () => {
  const receiver = new Receiver([{ status: 500 }, { status: 200 }]);
  const url = await receiver.listen();
  cleanups.push(() => receiver.close());
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const { notifier, queue } = harness({ allowPrivate: true, logger });
  const callback = callbackWithWebhook(url);

  await notifier.statusChanged(callback, changeStatus(callback, 'completed', 'completed'));

  const eventId = await until('a delivery', () => receiver.deliveries[0]?.headers['crossline-event-id'] as string | undefined);
  assert.equal((await finalState(queue, eventId)).state, 'completed');
  const failed = lines.find((l) => l.msg === 'webhook attempt failed');
  const delivered = lines.find((l) => l.msg === 'webhook delivered');
  assert.deepEqual(
    { callbackId: failed?.callbackId, host: failed?.host, attempt: failed?.attempt, status: failed?.status, willRetry: failed?.willRetry },
    { callbackId: callback.id, host: new URL(url).host, attempt: 1, status: 500, willRetry: true },
  );
  assert.equal(delivered?.attempt, 2);
  assert.equal(delivered?.status, 200);
  const all = JSON.stringify(lines);
  assert.ok(!all.includes(SECRET), 'the secret is never logged');
  assert.ok(!all.includes('/hooks/crossline'), 'the URL path (which may hold a token) is never logged');
});

test('closing the notifier and the worker twice is safe', TEST_TIMEOUT, async () => {
  const { notifier, worker } = harness({ allowPrivate: true });

  await Promise.all([notifier.close(), worker.close()]);
  await Promise.all([notifier.close(), worker.close()]);
});
