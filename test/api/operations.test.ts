import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import request from 'supertest';
import { loadOpenApi, packageRoot } from '../../src/api/openapi.js';
import { ERROR_CATALOGUE } from '../../src/errors.js';
import { testRedisUrl } from '../support/redis.js';
import { API_KEY, auth, ops, startApp, validBody } from './helpers.js';

const redisUrl = testRedisUrl();

describe('health and readiness', () => {
  test('/healthz answers 200 without touching any dependency, even with Redis gone', async (t) => {
    const dead = new Redis(await redisUrl, { lazyConnect: true });
    const { app } = await startApp(t, redisUrl, { redis: dead });

    const res = await request(app).get('/healthz');

    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'ok');
    assert.equal(typeof res.body.uptimeSeconds, 'number');
  });

  test('/readyz is 200 when Redis answers PING and the switch is connected', async (t) => {
    const { app } = await startApp(t, redisUrl);

    const res = await request(app).get('/readyz').set(ops);

    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      status: 'ready',
      checks: { redis: { status: 'up' }, switch: { status: 'up', since: '2030-01-15T20:00:00.000Z' } },
    });
  });

  test('/readyz is 503 naming Redis when Redis is down', async (t) => {
    const dead = new Redis(await redisUrl, { lazyConnect: true });
    const { app } = await startApp(t, redisUrl, { redis: dead });

    const res = await request(app).get('/readyz').set(ops);

    assert.equal(res.status, 503);
    assert.equal(res.body.status, 'unavailable');
    assert.equal(res.body.checks.redis.status, 'down');
    assert.equal(res.body.checks.switch.status, 'up');
  });

  test('/readyz is 503 naming the switch when the ESL connection is down, with its last error', async (t) => {
    const { app, switchStatus } = await startApp(t, redisUrl);
    switchStatus.current = { connected: false, since: '2030-01-15T20:01:00.000Z', lastError: 'connect ECONNREFUSED 127.0.0.1:8021' };

    const res = await request(app).get('/readyz').set(ops);

    assert.equal(res.status, 503);
    assert.equal(res.body.checks.redis.status, 'up');
    assert.deepEqual(res.body.checks.switch, { status: 'down', since: '2030-01-15T20:01:00.000Z', error: 'connect ECONNREFUSED 127.0.0.1:8021' });
  });

  test('/readyz takes the switch status from a promise, and a failing one counts as down', async (t) => {
    const { app, switchStatus } = await startApp(t, redisUrl);

    switchStatus.current = async () => ({ connected: true, since: '2030-01-15T20:02:00.000Z' });
    const fromPromise = await request(app).get('/readyz').set(ops);
    switchStatus.current = async () => {
      throw new Error('board unreadable');
    };
    const failing = await request(app).get('/readyz').set(ops);

    assert.equal(fromPromise.status, 200);
    assert.equal(fromPromise.body.checks.switch.since, '2030-01-15T20:02:00.000Z');
    assert.equal(failing.status, 503);
    assert.equal(failing.body.checks.switch.status, 'down');
  });
});

describe('metrics and documentation', () => {
  test('/metrics counts requests by method, route template and status, with the default process metrics', async (t) => {
    const { app } = await startApp(t, redisUrl);
    await request(app).get(`/v1/callbacks/${randomUUID()}`).set(auth).expect(404);
    await request(app).post('/v1/callbacks').set(auth).send(validBody()).expect(202);
    await request(app).get('/nowhere/at/all').expect(404);

    const res = await request(app).get('/metrics').set(ops);

    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /^text\/plain/);
    assert.match(res.text, /crossline_http_requests_total\{method="GET",route="\/v1\/callbacks\/\{id\}",status="404"\} 1/);
    assert.match(res.text, /crossline_http_requests_total\{method="POST",route="\/v1\/callbacks",status="202"\} 1/);
    assert.match(res.text, /crossline_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    assert.match(res.text, /crossline_http_request_duration_seconds_bucket\{le="0\.005",method="POST",route="\/v1\/callbacks",status="202"\}/);
    assert.match(res.text, /process_cpu_user_seconds_total/);
  });

  test('/openapi.yaml serves the file as is', async (t) => {
    const { app } = await startApp(t, redisUrl);

    const res = await request(app).get('/openapi.yaml');

    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /^application\/yaml/);
    assert.equal(res.text, fs.readFileSync(path.join(packageRoot(), 'openapi.yaml'), 'utf8'));
  });
});

describe('errors', () => {
  test('an unknown route is 404 ROUTE_NOT_FOUND in the error envelope with the request id', async (t) => {
    const { app } = await startApp(t, redisUrl);

    const res = await request(app).get('/v2/callbacks').set('X-Request-Id', 'trace-123');

    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { error: { code: 'ROUTE_NOT_FOUND', message: 'No such route.', details: [], requestId: 'trace-123' } });
    assert.equal(res.headers['x-request-id'], 'trace-123');
  });

  test('a known route with another method is 405 METHOD_NOT_ALLOWED with Allow', async (t) => {
    const { app } = await startApp(t, redisUrl);

    const put = await request(app).put('/v1/callbacks').set(auth).send(validBody());
    const patch = await request(app).patch('/healthz');

    assert.equal(put.status, 405);
    assert.equal(put.body.error.code, 'METHOD_NOT_ALLOWED');
    assert.equal(put.headers.allow, 'GET, POST, HEAD');
    assert.equal(patch.status, 405);
    assert.equal(patch.headers.allow, 'GET, HEAD');
  });

  test('a 500 never shows the internal message, and is logged at error with the request id and cause', async (t) => {
    const { app, service, logs } = await startApp(t, redisUrl);
    service.failGet = new Error('ECONNRESET redis://:hunter2@10.0.0.7:6379 while reading callback');

    const res = await request(app).get(`/v1/callbacks/${randomUUID()}`).set(auth);

    assert.equal(res.status, 500);
    assert.equal(res.body.error.code, 'INTERNAL');
    assert.equal(res.body.error.message, ERROR_CATALOGUE.INTERNAL.message);
    assert.deepEqual(res.body.error.details, []);
    assert.doesNotMatch(res.text, /hunter2|ECONNRESET|10\.0\.0\.7/);
    const line = logs().find((l) => l.level === 50);
    assert.ok(line, 'logged at error');
    assert.equal(line.reqId, res.body.error.requestId);
    assert.equal(line.route, '/v1/callbacks/{id}');
    assert.match(JSON.stringify(line.err), /ECONNRESET/);
  });

  test('4xx are logged at info with code, route and owner; no log line ever holds the API key', async (t) => {
    const { app, logs, logText } = await startApp(t, redisUrl);

    await request(app).get(`/v1/callbacks/${randomUUID()}`).set(auth).expect(404);
    await request(app).get('/v1/callbacks').set('Authorization', 'Bearer not-the-key-at-all').expect(401);
    await request(app).post('/v1/callbacks').set(auth).set('Idempotency-Key', 'k1').send({ caller: {} }).expect(400);

    const refused = logs().filter((l) => l.msg === 'request refused');
    assert.equal(refused.length, 3);
    assert.ok(refused.every((l) => l.level === 30));
    assert.equal(refused[0]?.code, 'CALLBACK_NOT_FOUND');
    assert.equal(refused[0]?.route, '/v1/callbacks/{id}');
    assert.match(String(refused[0]?.owner), /^[0-9a-f]{16}$/);
    assert.equal(logText().includes(API_KEY), false);
    assert.equal(logText().includes('not-the-key-at-all'), false);
  });

  test('a request id that is not a short token is replaced', async (t) => {
    const { app } = await startApp(t, redisUrl);

    const res = await request(app).get('/healthz').set('X-Request-Id', 'a b c; drop');

    assert.match(res.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
  });
});

describe('responses match openapi.yaml', () => {
  test('callback, page, error, health and readiness bodies validate against their documented schemas', async (t) => {
    const { app } = await startApp(t, redisUrl);
    const api = loadOpenApi();
    const check = (schema: string, body: unknown): void => {
      const validate = api.schema(`/components/schemas/${schema}`);
      assert.ok(validate(body), `${schema}: ${JSON.stringify(validate.errors)}`);
    };

    const created = await request(app)
      .post('/v1/callbacks')
      .set(auth)
      .send({ ...validBody(), callee: { sipUri: 'sip:bob@example.com', name: 'Bob', dtmf: '1#' }, announce: { caller: 'Hi' }, at: '2030-01-15T15:00:00+01:00' });
    check('Callback', created.body);
    check('Callback', (await request(app).get(`/v1/callbacks/${created.body.id}`).set(auth)).body);
    check('CallbackPage', (await request(app).get('/v1/callbacks').set(auth)).body);
    check('Callback', (await request(app).delete(`/v1/callbacks/${created.body.id}`).set(auth)).body);
    check('Error', (await request(app).delete(`/v1/callbacks/${created.body.id}`).set(auth)).body);
    check('Error', (await request(app).post('/v1/callbacks').set(auth).send({ caller: 1 })).body);
    check('Health', (await request(app).get('/healthz')).body);
    check('Readiness', (await request(app).get('/readyz').set(ops)).body);
  });
});
