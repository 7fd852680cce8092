import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job, type MinimalJob } from 'bullmq';
import pino, { type Logger } from 'pino';
import { CrosslineError, isCrosslineError } from '../errors.js';
import type { CallbackNotifier } from '../callbacks/ports.js';
import type { Callback, CallbackStatus, TimelineEntry } from '../callbacks/types.js';
import { buildStatusChangedEvent } from './payload.js';
import { SIGNATURE_HEADER, signPayload } from './signature.js';
import { assertAllowedAddresses, createGuardedLookup, hostOf, parseWebhookUrl, type LookupAll } from './url-guard.js';

/**
 * Webhook delivery. The notifier, called by the domain after each stored status change, only
 * enqueues: one BullMQ job per event on the `webhooks` queue, with a job id derived from the
 * event, so notifying the same change twice (a retried worker step) adds nothing. The webhook
 * worker POSTs each job, signs it at send time (every attempt carries a fresh timestamp, and the
 * secret never reaches Redis) and lets BullMQ retry with capped exponential backoff.
 *
 * Delivery is at least once: a receiver that answers after our timeout, or a worker that dies
 * between the POST and the acknowledgement, causes a repeat with the same `Crossline-Event-Id`,
 * which receivers should use to drop duplicates.
 *
 * What a response means:
 * - 2xx: delivered.
 * - 410 Gone: the receiver wants no more; stop.
 * - 408, 425, 429 and 5xx, timeouts, connection and DNS errors: retry (a `Retry-After` on 429/503
 *   is honoured as a lower bound, up to the backoff cap).
 * - 3xx: stop. Redirects are not followed (the target would escape the SSRF check) and sending the
 *   same request again will not change the answer.
 * - other 4xx: stop. Unlike Stripe, which retries every non-2xx for days, we take a client error
 *   as a verdict on the request (bad URL path, auth, payload), which identical bytes will get
 *   again; retrying would only load a misconfigured endpoint. It is logged at `warn`.
 * - refused by the SSRF guard, or a URL that no longer parses: stop.
 */

/** The BullMQ queue name (keys live under `<prefix>:webhooks:`). */
export const WEBHOOK_QUEUE = 'webhooks';

/** The job name of a status-change event. */
const STATUS_JOB_NAME = 'status-changed';

/** The name of the custom backoff strategy webhook jobs use; only the webhook worker knows it. */
const BACKOFF_TYPE = 'crossline-webhook';

/** How much of a response body is read (and thrown away) before the connection is dropped. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** Share of a backoff delay taken off at random, so retries towards one receiver spread out. */
const BACKOFF_JITTER = 0.2;

/** What a webhook job carries: the body is serialised once, at enqueue, and sent byte for byte. */
export interface WebhookJobData {
  eventId: string;
  callbackId: string;
  status: CallbackStatus;
  url: string;
  body: string;
  backoff: { delayMs: number; maxDelayMs: number };
}

/** An ioredis instance or its options (BullMQ's {@link ConnectionOptions}). */
export type RedisConnection = ConnectionOptions;

const silentLogger = (): Logger => pino({ level: 'silent' });

// ---------------------------------------------------------------------------------------------
// Producer

export interface WebhookNotifierOptions {
  /** Redis: options (BullMQ opens its own connections) or a shared ioredis instance. */
  connection: RedisConnection;
  /** BullMQ key prefix: `config.keyPrefix`, hash-tagged on a Redis Cluster (`keyPrefixes(…).queue(WEBHOOK_QUEUE)`). */
  prefix: string;
  /** Delivery attempts per event, `config.webhookMaxAttempts`. @defaultValue 8 */
  maxAttempts?: number;
  /** First retry delay; each later one doubles. @defaultValue 5000 */
  backoffDelayMs?: number;
  /** Longest delay between two attempts. @defaultValue 3600000 (1 h) */
  maxBackoffMs?: number;
  /** @defaultValue a silent logger */
  logger?: Logger;
}

/** The {@link CallbackNotifier} that sends webhooks, with the queue it owns. */
export interface WebhookNotifier extends CallbackNotifier {
  /** Closes the queue's Redis connections. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * The notifier side: enqueues one signed-at-delivery webhook per status change of a callback that
 * has `request.webhook`. Throws STORE_UNAVAILABLE when the job cannot be stored.
 */
export function createWebhookNotifier(options: WebhookNotifierOptions): WebhookNotifier {
  const { connection, prefix, maxAttempts = 8, backoffDelayMs = 5000, maxBackoffMs = 3_600_000 } = options;
  const logger = options.logger ?? silentLogger();
  const queue = new Queue<WebhookJobData>(WEBHOOK_QUEUE, { connection, prefix });
  queue.on('error', (err) => logger.error({ err }, 'webhook queue error'));
  let closing: Promise<void> | undefined;

  return {
    async statusChanged(callback: Callback, entry: TimelineEntry): Promise<void> {
      const url = callback.request.webhook;
      if (url === undefined) return;
      const event = buildStatusChangedEvent(callback, entry);
      const data: WebhookJobData = {
        eventId: event.id,
        callbackId: callback.id,
        status: event.data.status,
        url,
        body: JSON.stringify(event),
        backoff: { delayMs: backoffDelayMs, maxDelayMs: maxBackoffMs },
      };
      try {
        await queue.add(STATUS_JOB_NAME, data, {
          jobId: event.id,
          attempts: maxAttempts,
          backoff: { type: BACKOFF_TYPE, delay: backoffDelayMs },
          // Completed jobs are kept a day so that their ids still deduplicate a late repeat;
          // failed ones a week, to be inspected.
          removeOnComplete: { age: 24 * 3600, count: 10_000 },
          removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
        });
      } catch (err) {
        throw new CrosslineError('STORE_UNAVAILABLE', 'Could not queue the webhook.', [], { cause: err });
      }
      logger.debug({ callbackId: callback.id, eventId: event.id, status: event.data.status }, 'webhook queued');
    },
    close() {
      closing ??= queue.close();
      return closing;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Delivery

/** A failed attempt that may succeed later; carries the receiver's `Retry-After`, if any. */
export class WebhookDeliveryError extends Error {
  constructor(
    message: string,
    readonly statusCode?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'WebhookDeliveryError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/**
 * The delay before retry number `attemptsMade`: `delayMs · 2^(attemptsMade-1)`, capped at
 * `maxDelayMs`, less up to 20 % at random; never shorter than the receiver's `Retry-After`
 * (itself capped).
 */
export function webhookBackoff(attemptsMade: number, job: MinimalJob | undefined, err: Error | undefined): number {
  const data = job?.data as Partial<WebhookJobData> | undefined;
  const delayMs = data?.backoff?.delayMs ?? 5000;
  const maxDelayMs = data?.backoff?.maxDelayMs ?? 3_600_000;
  const exponential = Math.min(maxDelayMs, delayMs * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = Math.round(exponential * (1 - BACKOFF_JITTER * Math.random()));
  const retryAfter = err instanceof WebhookDeliveryError && err.retryAfterMs !== undefined ? Math.min(err.retryAfterMs, maxDelayMs) : 0;
  return Math.max(jittered, retryAfter);
}

/** The `Retry-After` header in ms: delta-seconds or an HTTP date. */
function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

interface PostResult {
  status: number;
  retryAfter: string | undefined;
}

interface PostOptions {
  url: URL;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  lookup: net.LookupFunction;
}

/**
 * One POST. Resolves with the status as soon as the response head arrives (the verdict), then
 * reads and discards at most {@link MAX_RESPONSE_BYTES} of body within the same total timeout.
 * No agent is shared: each request opens its own socket through the guarded lookup, so no pooled
 * socket made elsewhere can be reused.
 */
function post({ url, body, headers, timeoutMs, lookup }: PostOptions): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request({
      protocol: url.protocol,
      hostname: hostOf(url),
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
      lookup,
      agent: false,
    });
    let settled = false;
    const settle = (fn: () => void): void => {
      if (!settled) {
        settled = true;
        fn();
      }
    };
    const timer = setTimeout(() => {
      const err = new WebhookDeliveryError(`no response within ${timeoutMs} ms`);
      settle(() => reject(err));
      req.destroy(err);
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      settle(() => reject(err));
    });
    req.on('response', (res) => {
      const retryAfter = res.headers['retry-after'];
      settle(() => resolve({ status: res.statusCode ?? 0, retryAfter }));
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_RESPONSE_BYTES) res.destroy();
      });
      res.on('error', () => {});
      res.on('close', () => {
        clearTimeout(timer);
        req.destroy();
      });
    });
    req.end(body);
  });
}

type Verdict = { delivered: true } | { delivered: false; retry: boolean; reason: string; retryAfterMs?: number };

function judge({ status, retryAfter }: PostResult): Verdict {
  if (status >= 200 && status < 300) return { delivered: true };
  const reason = `receiver answered ${status}`;
  if (status >= 500 || status === 408 || status === 425 || status === 429) {
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(retryAfter) : undefined;
    return { delivered: false, retry: true, reason, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  if (status >= 300 && status < 400) return { delivered: false, retry: false, reason: `${reason}; redirects are not followed` };
  // 410 and the other 4xx; 1xx never reaches here.
  return { delivered: false, retry: false, reason };
}

let cachedVersion: string | undefined;

/** Crossline's version, from the package.json above this file (src/ when run from source, dist/src/ when built). */
function crosslineVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = '0.0.0';
  for (let dir = __dirname, i = 0; i < 5; i++, dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'crossline' && typeof pkg.version === 'string') {
        cachedVersion = pkg.version;
        break;
      }
    } catch {
      // not here; look one level up
    }
  }
  return cachedVersion;
}

export interface WebhookWorkerOptions {
  /** Redis: options (BullMQ opens its own connections) or an ioredis instance with `maxRetriesPerRequest: null`. */
  connection: RedisConnection;
  /** BullMQ key prefix: `config.keyPrefix`, hash-tagged on a Redis Cluster (`keyPrefixes(…).queue(WEBHOOK_QUEUE)`). */
  prefix: string;
  /** Signing secret (`config.webhookSecret`), or several while rotating: each gets a `v1`. */
  secret: string | readonly string[];
  /** Total time for one attempt, connect to response head, `config.webhookTimeoutMs`. @defaultValue 5000 */
  timeoutMs?: number;
  /** Allow private destinations, `config.webhookAllowPrivate`. @defaultValue false */
  allowPrivate?: boolean;
  /** Deliveries in flight at once. @defaultValue 10 */
  concurrency?: number;
  /** @defaultValue a silent logger */
  logger?: Logger;
  /** @defaultValue `Crossline-Webhooks/<package version>` */
  userAgent?: string;
  /** The DNS lookup behind the guard (tests). @defaultValue dns.lookup */
  lookup?: LookupAll;
}

export interface WebhookWorker {
  /** Waits for deliveries in flight, then closes the worker's connections. Safe to call twice. */
  close(): Promise<void>;
}

/** The BullMQ worker that delivers webhook jobs. */
export function createWebhookWorker(options: WebhookWorkerOptions): WebhookWorker {
  const { connection, prefix, secret, timeoutMs = 5000, allowPrivate = false, concurrency = 10 } = options;
  const logger = options.logger ?? silentLogger();
  const userAgent = options.userAgent ?? `Crossline-Webhooks/${crosslineVersion()}`;
  const lookup = createGuardedLookup({ allowPrivate, ...(options.lookup ? { lookup: options.lookup } : {}) });

  const deliver = async (job: Job<WebhookJobData>): Promise<{ status: number; attempt: number }> => {
    const { eventId, callbackId, url: rawUrl, body } = job.data;
    // attemptsStarted also counts an attempt cut short by a crash, which may have reached the receiver.
    const attempt = Math.max(job.attemptsStarted, job.attemptsMade + 1);
    const maxAttempts = job.opts.attempts ?? 1;
    const log = logger.child({ callbackId, eventId, attempt, maxAttempts });

    const giveUp = (reason: string, fields: Record<string, unknown> = {}): UnrecoverableError => {
      log.warn({ ...fields, reason }, 'webhook not delivered; giving up');
      return new UnrecoverableError(reason);
    };

    let url: URL;
    try {
      url = parseWebhookUrl(rawUrl);
      // Node skips `lookup` for IP literals, so those are checked here.
      const host = hostOf(url);
      if (net.isIP(host) !== 0) assertAllowedAddresses([host], allowPrivate);
    } catch (err) {
      throw giveUp(isCrosslineError(err) ? `${err.code}: ${err.message}` : String(err));
    }
    const fields = { host: url.host };

    const started = Date.now();
    let result: PostResult;
    try {
      result = await post({
        url,
        body,
        timeoutMs,
        lookup,
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': userAgent,
          [SIGNATURE_HEADER]: signPayload(secret, body, Math.floor(Date.now() / 1000)),
          'Crossline-Event-Id': eventId,
          'Crossline-Delivery-Attempt': String(attempt),
        },
      });
    } catch (err) {
      if (isCrosslineError(err)) throw giveUp(`${err.code}: ${err.message}`, fields);
      const reason = err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : String(err);
      log.warn({ ...fields, reason, willRetry: attempt < maxAttempts, durationMs: Date.now() - started }, 'webhook attempt failed');
      throw err instanceof WebhookDeliveryError ? err : new WebhookDeliveryError(reason);
    }

    const durationMs = Date.now() - started;
    const verdict = judge(result);
    if (verdict.delivered) {
      log.info({ ...fields, status: result.status, durationMs }, 'webhook delivered');
      return { status: result.status, attempt };
    }
    if (!verdict.retry) throw giveUp(verdict.reason, { ...fields, status: result.status, durationMs });
    log.warn({ ...fields, status: result.status, durationMs, willRetry: attempt < maxAttempts }, 'webhook attempt failed');
    throw new WebhookDeliveryError(verdict.reason, result.status, verdict.retryAfterMs);
  };

  const worker = new Worker<WebhookJobData>(WEBHOOK_QUEUE, deliver, {
    connection,
    prefix,
    concurrency,
    settings: {
      backoffStrategy: (attemptsMade, _type, err, job) => webhookBackoff(attemptsMade, job, err),
    },
  });
  worker.on('error', (err) => logger.error({ err }, 'webhook worker error'));
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= worker.close();
      return closing;
    },
  };
}
