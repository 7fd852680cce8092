import type { TestContext } from 'node:test';
import { solveChallenge } from 'altcha-lib/v1';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import request from 'supertest';
import { loadOpenApi } from '../../../src/api/index.js';
import type { CallbackService } from '../../../src/callbacks/ports.js';
import { loadConfig, type Config } from '../../../src/config/index.js';
import { widgetModule } from '../../../src/intake/widget/index.js';
import { keyPrefixes, RedisDoNotCallList } from '../../../src/store/index.js';
import { API_KEY, FakeCallbackService, startApp, type TestApp } from '../../api/helpers.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';

export const ORIGIN = 'https://shop.example';
export const keyAuth = { Authorization: `Bearer ${API_KEY}` };

export interface WidgetApp extends TestApp {
  /** The callback service the widget calls (records every create). */
  callbacks: FakeCallbackService;
}

/** The app with the widget module mounted, on a real Redis, with a cheap proof of work. */
export async function startWidgetApp(t: TestContext, overrides: Partial<Config> = {}, callbacks: CallbackService = new FakeCallbackService()): Promise<WidgetApp> {
  const url = await testRedisUrl();
  const keyPrefix = uniquePrefix();
  const config = loadConfig({}, { apiKeys: [API_KEY, 'other-key-fedcba9876543210'], keyPrefix, rateLimitPerMinute: 100_000, opsToken: 'ops-token-0123456789abcdef', widgetChallengeMaxNumber: 1000, widgetSecret: 'widget-secret-0123456789', ...overrides });
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  t.after(async () => {
    const keys = await redis.keys(`${keyPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
  const started = await widgetModule.start({
    config,
    roles: { api: true, workers: false },
    redis,
    prefixes: keyPrefixes(keyPrefix, false),
    api: loadOpenApi(),
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
    services: { callbacks, doNotCall: new RedisDoNotCallList(redis, keyPrefix) },
  });
  const app = await startApp(t, Promise.resolve(url), { config: { ...config }, mounts: started.http ?? [] });
  return { ...app, callbacks: callbacks as FakeCallbackService };
}

/** Creates a site through the API and returns it. */
export async function createSite(app: WidgetApp['app'], body: Record<string, unknown> = {}): Promise<{ id: string; publicKey: string; [k: string]: unknown }> {
  const res = await request(app)
    .post('/v1/sites')
    .set(keyAuth)
    .send({ name: 'Shop Example', allowedOrigins: [ORIGIN], target: { number: '+12025550100' }, ...body });
  if (res.status !== 201) throw new Error(`site not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Fetches a challenge and solves it as the browser does. */
export async function solved(app: WidgetApp['app'], key: string, origin = ORIGIN): Promise<Record<string, unknown>> {
  const res = await request(app).get(`/v1/widget/sites/${key}/challenge`).set('Origin', origin);
  if (res.status !== 200) throw new Error(`no challenge: ${res.status} ${JSON.stringify(res.body)}`);
  const c = res.body as { algorithm: string; challenge: string; salt: string; signature: string; maxnumber: number };
  const solution = await solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise;
  if (!solution) throw new Error('challenge not solved');
  return { algorithm: c.algorithm, challenge: c.challenge, number: solution.number, salt: c.salt, signature: c.signature };
}
