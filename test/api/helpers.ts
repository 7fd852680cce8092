import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import type express from 'express';
import { createApp } from '../../src/api/index.js';
import type { CallbackInput, CallbackPage, CallbackService, CreateOptions, ListQuery, RescheduleInput } from '../../src/callbacks/ports.js';
import type { Callback, Endpoint } from '../../src/callbacks/types.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { CrosslineError } from '../../src/errors.js';
import type { TelephonyStatus } from '../../src/telephony/types.js';
import { uniquePrefix } from '../support/redis.js';
import { callbackFixture } from '../fixtures/callback.js';
import type { HttpMount } from '../../src/runtime/modules/index.js';

export const API_KEY = 'test-key-0123456789abcdef';
export const OTHER_KEY = 'other-key-fedcba9876543210';
export const auth = { Authorization: `Bearer ${API_KEY}` };
/** The operator's token (OPS_TOKEN): /metrics and the details of /readyz. */
export const OPS_TOKEN = 'ops-token-0123456789abcdef';
export const ops = { Authorization: `Bearer ${OPS_TOKEN}` };

/** A minimal valid body for POST /v1/callbacks. */
export const validBody = (): { caller: { number: string }; callee: { number: string } } => ({
  caller: { number: '+12025550123' },
  callee: { number: '+12025550100' },
});

const endpointOf = (input: { number?: string; sipUri?: string }): Endpoint =>
  input.sipUri !== undefined
    ? { kind: 'sip', uri: input.sipUri }
    : { kind: 'number', e164: input.number?.startsWith('+') ? input.number : `+1${input.number ?? ''}`, country: 'US' };

export { callbackFixture };

/**
 * An in-memory CallbackService that records its calls. `failCreate` makes create throw;
 * `holdCreate` keeps create waiting until the returned release function is called.
 */
export class FakeCallbackService implements CallbackService {
  readonly calls: Array<{ method: keyof CallbackService; args: unknown[] }> = [];
  readonly store = new Map<string, Callback>();
  failCreate: unknown = undefined;
  failGet: unknown = undefined;
  private hold: Promise<void> | undefined;

  holdCreate(): () => void {
    let release = (): void => undefined;
    this.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    return () => {
      this.hold = undefined;
      release();
    };
  }

  callsTo(method: keyof CallbackService): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  async create(input: CallbackInput, owner: string, options: CreateOptions = {}): Promise<Callback> {
    this.calls.push({ method: 'create', args: [input, owner, options] });
    if (this.hold) await this.hold;
    if (this.failCreate !== undefined) throw this.failCreate;
    const now = new Date().toISOString();
    const callback = callbackFixture({
      status: input.at !== undefined ? 'scheduled' : 'queued',
      request: {
        caller: { endpoint: endpointOf(input.caller), ...(input.caller.name !== undefined ? { name: input.caller.name } : {}) },
        callee: {
          endpoint: endpointOf(input.callee),
          ...(input.callee.name !== undefined ? { name: input.callee.name } : {}),
          ...(input.callee.dtmf !== undefined ? { dtmf: input.callee.dtmf } : {}),
        },
        ...(input.at !== undefined ? { at: new Date(input.at).toISOString() } : {}),
        ringTimeoutSec: input.ringTimeout ?? 30,
        retry: { maxAttempts: input.retry?.maxAttempts ?? 3, delaySeconds: input.retry?.delaySeconds ?? 60 },
        announce: { ...input.announce },
        ...(input.callerId !== undefined ? { callerId: input.callerId } : {}),
        ...(input.webhook !== undefined ? { webhook: input.webhook } : {}),
        order: input.order ?? 'callee-first',
      },
      createdAt: now,
      updatedAt: now,
      timeline: [{ at: now, event: 'created', status: input.at !== undefined ? 'scheduled' : 'queued' }],
      owner,
      ...(options.requester !== undefined ? { requester: options.requester } : {}),
    });
    this.store.set(callback.id, callback);
    return callback;
  }

  async get(id: string, owner: string): Promise<Callback> {
    this.calls.push({ method: 'get', args: [id, owner] });
    if (this.failGet !== undefined) throw this.failGet;
    const callback = this.store.get(id);
    if (!callback || callback.owner !== owner) throw new CrosslineError('CALLBACK_NOT_FOUND');
    return callback;
  }

  async list(query: ListQuery, owner: string): Promise<CallbackPage> {
    this.calls.push({ method: 'list', args: [query, owner] });
    const mine = [...this.store.values()].filter((c) => c.owner === owner && (query.status === undefined || c.status === query.status));
    const start = query.cursor === undefined ? 0 : mine.findIndex((c) => c.id === query.cursor) + 1;
    const items = mine.slice(start, start + query.limit);
    const last = items.at(-1);
    return { items, ...(start + query.limit < mine.length && last ? { nextCursor: last.id } : {}) };
  }

  async reschedule(id: string, change: RescheduleInput, owner: string): Promise<Callback> {
    this.calls.push({ method: 'reschedule', args: [id, change, owner] });
    const callback = await this.get(id, owner);
    if (callback.attempts.length > 0) throw new CrosslineError('CALLBACK_STARTED');
    const at = change.at === undefined ? callback.request.at : new Date(change.at).toISOString();
    const updated: Callback = { ...callback, status: at !== undefined ? 'scheduled' : 'queued', request: { ...callback.request, ...(at !== undefined ? { at } : {}) } };
    this.store.set(id, updated);
    return updated;
  }

  async cancel(id: string, owner: string): Promise<Callback> {
    this.calls.push({ method: 'cancel', args: [id, owner] });
    const callback = await this.get(id, owner);
    if (['completed', 'failed', 'canceled'].includes(callback.status)) throw new CrosslineError('CALLBACK_FINISHED');
    const now = new Date().toISOString();
    const canceled: Callback = { ...callback, status: 'canceled', updatedAt: now, timeline: [...callback.timeline, { at: now, event: 'canceled', status: 'canceled' }] };
    this.store.set(id, canceled);
    return canceled;
  }
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface TestApp {
  app: express.Express;
  service: FakeCallbackService;
  redis: Redis;
  config: Readonly<Config>;
  /** Every line the app logged so far, parsed. */
  logs(): LogLine[];
  /** The raw log text, for "never contains" assertions. */
  logText(): string;
  switchStatus: { current: TelephonyStatus | (() => Promise<TelephonyStatus>) };
}

export interface TestAppOptions {
  config?: Partial<Config>;
  /** A Redis client of the test's own (e.g. one that never connects); closed after the test. */
  redis?: Redis;
  /** Routes of capability modules, as the runtime mounts them. */
  mounts?: HttpMount[];
}

/** Builds the app on a real Redis with a key prefix of its own; everything is cleaned up after the test. */
export async function startApp(t: TestContext, redisUrl: Promise<string>, options: TestAppOptions = {}): Promise<TestApp> {
  const url = await redisUrl;
  const redis = options.redis ?? new Redis(url, { maxRetriesPerRequest: 1 });
  const config = loadConfig({}, { apiKeys: [API_KEY, OTHER_KEY], keyPrefix: uniquePrefix(), rateLimitPerMinute: 1000, opsToken: OPS_TOKEN, ...options.config });
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const service = new FakeCallbackService();
  const switchStatus: TestApp['switchStatus'] = { current: { connected: true, since: '2030-01-15T20:00:00.000Z' } };
  const app = createApp({
    config,
    callbacks: service,
    redis,
    readiness: { switchStatus: () => (typeof switchStatus.current === 'function' ? switchStatus.current() : switchStatus.current) },
    logger,
    mounts: options.mounts,
  });
  if (!options.redis) await redis.ping();
  t.after(async () => {
    if (redis.status === 'ready') {
      const keys = await redis.keys(`${config.keyPrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    } else {
      redis.disconnect();
    }
  });
  return {
    app,
    service,
    redis,
    config,
    logs: () => lines.map((l) => JSON.parse(l) as LogLine),
    logText: () => lines.join(''),
    switchStatus,
  };
}

/** Polls until `predicate` holds (for requests left in flight on purpose). */
export async function until(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Cancels every callback of the harness's key that has not finished, so that no call is left up
 * on the simulator (a bridged call to a phone that never hangs up would outlive the test).
 */
export async function cancelUnfinished(h: { api: () => import('supertest').Agent }): Promise<void> {
  let cursor: string | null = null;
  do {
    const page: { body: { items: Array<{ id: string; status: string }>; nextCursor: string | null } } = await h
      .api()
      .get(`/v1/callbacks?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    for (const cb of page.body.items ?? []) {
      if (!['completed', 'failed', 'canceled'].includes(cb.status)) await h.api().delete(`/v1/callbacks/${cb.id}`);
    }
    cursor = page.body.nextCursor ?? null;
  } while (cursor !== null);
}
