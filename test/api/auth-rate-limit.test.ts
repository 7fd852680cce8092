import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import request from 'supertest';
import { apiKeyOwner } from '../../src/api/index.js';
import { testRedisUrl } from '../support/redis.js';
import { API_KEY, auth, OTHER_KEY, startApp, validBody } from './helpers.js';

const redisUrl = testRedisUrl();

describe('authentication', () => {
  test('no Authorization header is 401 UNAUTHENTICATED with WWW-Authenticate: Bearer, and the domain is not called', async (t) => {
    const { app, service } = await startApp(t, redisUrl);

    const res = await request(app).post('/v1/callbacks').send(validBody());

    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'UNAUTHENTICATED');
    assert.match(res.headers['www-authenticate'] ?? '', /^Bearer\b/);
    assert.equal(service.calls.length, 0);
  });

  test('a wrong key, another scheme or a malformed header is 401', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const headers = [
      `Bearer ${API_KEY}x`,
      `Bearer ${API_KEY.slice(0, -1)}`,
      'Bearer ',
      `Basic ${Buffer.from(`user:${API_KEY}`).toString('base64')}`,
      API_KEY,
      `Bearer ${API_KEY} extra`,
    ];

    for (const value of headers) {
      const res = await request(app).get('/v1/callbacks').set('Authorization', value);
      assert.equal(res.status, 401, value);
      assert.equal(res.body.error.code, 'UNAUTHENTICATED', value);
      assert.match(res.headers['www-authenticate'] ?? '', /^Bearer\b/);
    }
    assert.equal(service.calls.length, 0);
  });

  test('the scheme is case-insensitive and every configured key works', async (t) => {
    const { app } = await startApp(t, redisUrl);

    await request(app).get('/v1/callbacks').set('Authorization', `bearer ${API_KEY}`).expect(200);
    await request(app).get('/v1/callbacks').set('Authorization', `Bearer ${OTHER_KEY}`).expect(200);
  });

  test('with no keys configured every /v1 request is refused', async (t) => {
    const { app } = await startApp(t, redisUrl, { config: { apiKeys: [] } });

    await request(app).get('/v1/callbacks').set(auth).expect(401);
  });

  test('an unknown /v1 route without a key is 401, not 404: routes are not disclosed', async (t) => {
    const { app } = await startApp(t, redisUrl);

    await request(app).get('/v1/secret').expect(401);
    const authed = await request(app).get('/v1/secret').set(auth);
    assert.equal(authed.status, 404);
    assert.equal(authed.body.error.code, 'ROUTE_NOT_FOUND');
  });

  test('spellings of a /v1 path that still reach a route (case, trailing slash, escapes) are behind auth too', async (t) => {
    const { app, service } = await startApp(t, redisUrl);

    for (const p of ['/V1/callbacks', '/v1/Callbacks', '/v1/callbacks/', '/v1/%63allbacks', '/v1/./callbacks']) {
      const res = await request(app).get(p);
      assert.ok(res.status === 401 || res.status === 404, `${p}: ${res.status}`);
    }
    assert.equal(service.calls.length, 0);
  });

  test('apiKeyOwner is the first 16 hex digits of the key\'s SHA-256', () => {
    assert.equal(apiKeyOwner('abc'), 'ba7816bf8f01cfea');
  });
});

describe('rate limiting', () => {
  test('over the per-minute budget a key gets 429 RATE_LIMITED with Retry-After, another key is unaffected', async (t) => {
    const { app, service } = await startApp(t, redisUrl, { config: { rateLimitPerMinute: 2 } });

    const first = await request(app).get('/v1/callbacks').set(auth);
    const second = await request(app).get('/v1/callbacks').set(auth);
    const third = await request(app).post('/v1/callbacks').set(auth).send(validBody());
    const other = await request(app).get('/v1/callbacks').set({ Authorization: `Bearer ${OTHER_KEY}` });

    assert.equal(first.status, 200);
    assert.equal(first.headers['ratelimit-limit'], '2');
    assert.equal(first.headers['ratelimit-remaining'], '1');
    assert.equal(second.headers['ratelimit-remaining'], '0');
    assert.equal(third.status, 429);
    assert.equal(third.body.error.code, 'RATE_LIMITED');
    const retryAfter = Number(third.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${third.headers['retry-after']}`);
    assert.equal(third.headers['ratelimit-remaining'], '0');
    assert.equal(service.callsTo('create').length, 0, 'a limited request never reaches the domain');
    assert.equal(other.status, 200);
  });

  test('the budget is counted in Redis under the key prefix, per owner', async (t) => {
    const { app, redis, config } = await startApp(t, redisUrl);

    await request(app).get('/v1/callbacks').set(auth).expect(200);

    assert.equal(await redis.get(`${config.keyPrefix}:rl:${apiKeyOwner(API_KEY)}`), '1');
  });

  test('when Redis is not reachable /v1 answers 503 STORE_UNAVAILABLE at once', async (t) => {
    const dead = new Redis(await redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0 });
    const { app, service } = await startApp(t, redisUrl, { redis: dead });

    const started = Date.now();
    const res = await request(app).post('/v1/callbacks').set(auth).send(validBody());

    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'STORE_UNAVAILABLE');
    assert.ok(res.headers['retry-after']);
    assert.ok(Date.now() - started < 1000, 'no waiting for a reconnect');
    assert.equal(service.calls.length, 0);
  });
});
