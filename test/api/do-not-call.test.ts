/**
 * The do-not-call list applies to every intake: here the REST API, through the real callback domain
 * on Redis. The list is edited with /v1/do-not-call (per API key).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/api/index.js';
import { loadConfig } from '../../src/config/index.js';
import { doNotCallRoutes } from '../../src/intake/widget/routes.js';
import { RedisDoNotCallList } from '../../src/store/index.js';
import { callbackServiceOnRedis } from '../fixtures/callback-service.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { API_KEY, auth, OTHER_KEY } from './helpers.js';

const other = { Authorization: `Bearer ${OTHER_KEY}` };

async function restApp(t: TestContext) {
  const redis = new Redis(await testRedisUrl(), { maxRetriesPerRequest: 1 });
  const config = loadConfig({}, { apiKeys: [API_KEY, OTHER_KEY], keyPrefix: uniquePrefix(), rateLimitPerMinute: 1000 });
  const list = new RedisDoNotCallList(redis, config.keyPrefix);
  const { service, queued } = callbackServiceOnRedis(redis, config.keyPrefix, {}, { doNotCall: list });
  const app = createApp({
    config,
    callbacks: service,
    redis,
    readiness: { switchStatus: () => ({ connected: true, since: '2030-01-15T20:00:00.000Z' }) },
    logger: pino({ level: 'silent' }),
    mounts: [{ door: 'api-key', path: '/v1/do-not-call', router: doNotCallRoutes({ list, defaultRegion: 'US' }) }],
  });
  await redis.ping();
  t.after(async () => {
    const keys = await redis.keys(`${config.keyPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
  return { app, queued };
}

test('POST /v1/callbacks refuses a caller or callee on the API key\'s do-not-call list with 422 NUMBER_DO_NOT_CALL naming the field; nothing is queued', async (t) => {
  const { app, queued } = await restApp(t);
  assert.equal((await request(app).put('/v1/do-not-call/(202)%20555-0101').set(auth)).body.number, '+12025550101', 'national format, normalised');
  assert.equal((await request(app).put('/v1/do-not-call/%2B12025550102').set(auth)).status, 200);
  assert.deepEqual((await request(app).get('/v1/do-not-call').set(auth)).body, { items: ['+12025550101', '+12025550102'] });

  const asCaller = await request(app).post('/v1/callbacks').set(auth).send({ caller: { number: '2025550101' }, callee: { number: '+12025550100' } });
  assert.equal(asCaller.status, 422, JSON.stringify(asCaller.body));
  assert.equal(asCaller.body.error.code, 'NUMBER_DO_NOT_CALL');
  assert.deepEqual(asCaller.body.error.details.map((d: { path: string }) => d.path), ['/caller/number']);

  const asCallee = await request(app).post('/v1/callbacks').set(auth).send({ caller: { number: '+12025550100' }, callee: { number: '+12025550102' } });
  assert.equal(asCallee.status, 422);
  assert.deepEqual(asCallee.body.error.details.map((d: { path: string }) => d.path), ['/callee/number']);

  const both = await request(app).post('/v1/callbacks').set(auth).send({ caller: { number: '+12025550101' }, callee: { number: '+12025550102' } });
  assert.deepEqual(both.body.error.details.map((d: { path: string }) => d.path), ['/caller/number', '/callee/number']);
  assert.deepEqual(queued, [], 'nothing queued');
});

test('the list is the API key\'s own; a number taken off it may be called again; an idempotent retry of a refusal is refused again', async (t) => {
  const { app, queued } = await restApp(t);
  await request(app).put('/v1/do-not-call/%2B12025550101').set(auth).expect(200);
  const body = { caller: { number: '+12025550101' }, callee: { number: '+12025550100' } };

  const otherKey = await request(app).post('/v1/callbacks').set(other).send(body);
  assert.equal(otherKey.status, 202, 'another API key\'s list is not this one');

  const refused = await request(app).post('/v1/callbacks').set(auth).set('Idempotency-Key', 'dnc-retry-0001').send(body);
  assert.equal(refused.status, 422);
  const again = await request(app).post('/v1/callbacks').set(auth).set('Idempotency-Key', 'dnc-retry-0001').send(body);
  assert.equal(again.status, 422);
  assert.equal(again.body.error.code, 'NUMBER_DO_NOT_CALL');

  await request(app).delete('/v1/do-not-call/%2B12025550101').set(auth).expect(204);
  const allowed = await request(app).post('/v1/callbacks').set(auth).send(body);
  assert.equal(allowed.status, 202, JSON.stringify(allowed.body));
  assert.equal(queued.length, 2);
});

test('a bad number in the list\'s path is INVALID_NUMBER', async (t) => {
  const { app } = await restApp(t);
  const res = await request(app).put('/v1/do-not-call/not-a-number').set(auth);
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'INVALID_NUMBER');
});
