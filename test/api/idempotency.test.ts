import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import request from 'supertest';
import { apiKeyOwner } from '../../src/api/index.js';
import { canonicalJson } from '../../src/api/idempotency.js';
import { CrosslineError } from '../../src/errors.js';
import { testRedisUrl } from '../support/redis.js';
import { API_KEY, auth, OTHER_KEY, startApp, until, validBody } from './helpers.js';

const redisUrl = testRedisUrl();

describe('Idempotency-Key on POST /v1/callbacks', () => {
  test('the same key and body replays the first response with Idempotent-Replayed, without a second callback', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const headers = { ...auth, 'Idempotency-Key': 'order-42' };

    const first = await request(app).post('/v1/callbacks').set(headers).send(validBody());
    const again = await request(app).post('/v1/callbacks').set(headers).send(validBody());

    assert.equal(first.status, 202);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    assert.equal(again.status, 202);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(again.headers.location, first.headers.location);
    assert.equal(service.callsTo('create').length, 1);
  });

  test('key order in the body does not matter: the fingerprint is over canonical JSON', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const headers = { ...auth, 'Idempotency-Key': 'reordered' };

    await request(app).post('/v1/callbacks').set(headers).send({ caller: { number: '+12025550123' }, callee: { number: '+12025550100' } }).expect(202);
    const again = await request(app).post('/v1/callbacks').set(headers).send({ callee: { number: '+12025550100' }, caller: { number: '+12025550123' } });

    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(service.callsTo('create').length, 1);
    assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), '{"a":[{"c":3,"d":2}],"b":1}');
  });

  test('the same key with a different body is 409 IDEMPOTENCY_KEY_REUSED', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const headers = { ...auth, 'Idempotency-Key': 'order-43' };

    await request(app).post('/v1/callbacks').set(headers).send(validBody()).expect(202);
    const res = await request(app).post('/v1/callbacks').set(headers).send({ ...validBody(), ringTimeout: 20 });

    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(service.callsTo('create').length, 1);
  });

  test('a request with the key while the first is still in flight is 409 IDEMPOTENCY_KEY_IN_USE', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const headers = { ...auth, 'Idempotency-Key': 'slow-one' };
    const release = service.holdCreate();

    const first = request(app).post('/v1/callbacks').set(headers).send(validBody()).then((r) => r);
    await until(() => service.callsTo('create').length === 1);
    const concurrent = await request(app).post('/v1/callbacks').set(headers).send(validBody());
    release();
    const firstRes = await first;
    const after = await request(app).post('/v1/callbacks').set(headers).send(validBody());

    assert.equal(concurrent.status, 409);
    assert.equal(concurrent.body.error.code, 'IDEMPOTENCY_KEY_IN_USE');
    assert.equal(firstRes.status, 202);
    assert.equal(after.headers['idempotent-replayed'], 'true');
    assert.equal(after.body.id, firstRes.body.id);
    assert.equal(service.callsTo('create').length, 1);
  });

  test('a request that failed with a 5xx releases the key: the retry runs again', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const headers = { ...auth, 'Idempotency-Key': 'flaky' };

    service.failCreate = new CrosslineError('STORE_UNAVAILABLE');
    const failed = await request(app).post('/v1/callbacks').set(headers).send(validBody());
    service.failCreate = new Error('boom');
    const crashed = await request(app).post('/v1/callbacks').set(headers).send(validBody());
    service.failCreate = undefined;
    const retried = await request(app).post('/v1/callbacks').set(headers).send(validBody());

    assert.equal(failed.status, 503);
    assert.equal(crashed.status, 500);
    assert.equal(retried.status, 202);
    assert.equal(retried.headers['idempotent-replayed'], undefined);
    assert.equal(service.callsTo('create').length, 3);
  });

  test('a 4xx from the domain is stored and replayed like a success', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const headers = { ...auth, 'Idempotency-Key': 'denied' };
    service.failCreate = new CrosslineError('DESTINATION_NOT_ALLOWED');

    const first = await request(app).post('/v1/callbacks').set(headers).send(validBody());
    service.failCreate = undefined;
    const again = await request(app).post('/v1/callbacks').set(headers).send(validBody());

    assert.equal(first.status, 422);
    assert.equal(again.status, 422);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(service.callsTo('create').length, 1);
  });

  test('a body that fails the schema is not stored: the corrected request may use the key', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const headers = { ...auth, 'Idempotency-Key': 'fix-me' };

    await request(app).post('/v1/callbacks').set(headers).send({ ...validBody(), ringTimeout: 1 }).expect(400);
    const fixed = await request(app).post('/v1/callbacks').set(headers).send(validBody());

    assert.equal(fixed.status, 202);
    assert.equal(fixed.headers['idempotent-replayed'], undefined);
    assert.equal(service.callsTo('create').length, 1);
  });

  test('keys are scoped to the API key: another key using the same Idempotency-Key gets its own callback', async (t) => {
    const { app, service } = await startApp(t, redisUrl);

    await request(app).post('/v1/callbacks').set({ ...auth, 'Idempotency-Key': 'shared' }).send(validBody()).expect(202);
    const other = await request(app).post('/v1/callbacks').set({ Authorization: `Bearer ${OTHER_KEY}`, 'Idempotency-Key': 'shared' }).send(validBody());

    assert.equal(other.status, 202);
    assert.equal(other.headers['idempotent-replayed'], undefined);
    assert.equal(service.callsTo('create').length, 2);
  });

  test('the response is kept in Redis under <prefix>:idem:<owner>:<key> for the configured TTL', async (t) => {
    const { app, redis, config } = await startApp(t, redisUrl, { config: { idempotencyTtlSec: 3600 } });

    await request(app).post('/v1/callbacks').set({ ...auth, 'Idempotency-Key': 'ttl check' }).send(validBody()).expect(202);

    const key = `${config.keyPrefix}:idem:${apiKeyOwner(API_KEY)}:ttl check`;
    const ttl = await redis.ttl(key);
    assert.ok(ttl > 3590 && ttl <= 3600, `ttl ${ttl}`);
    const stored = JSON.parse((await redis.get(key)) ?? '{}') as { state: string; response: { status: number } };
    assert.equal(stored.state, 'done');
    assert.equal(stored.response.status, 202);
  });

  test('a key that is empty, too long or not printable ASCII is 400 INVALID_IDEMPOTENCY_KEY', async (t) => {
    const { app, service } = await startApp(t, redisUrl);

    for (const key of ['', 'k'.repeat(256), 'clé', 'tab\there']) {
      const res = await request(app).post('/v1/callbacks').set(auth).set('Idempotency-Key', key).send(validBody());
      assert.equal(res.status, 400, JSON.stringify(key));
      assert.equal(res.body.error.code, 'INVALID_IDEMPOTENCY_KEY', JSON.stringify(key));
    }
    await request(app).post('/v1/callbacks').set(auth).set('Idempotency-Key', 'k'.repeat(255)).send(validBody()).expect(202);
    assert.equal(service.callsTo('create').length, 1);
  });
});
