import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import request from 'supertest';
import { loadConfig } from '../../src/config/index.js';
import { bannerText } from '../../src/runtime/launch.js';
import { API_KEY as HARNESS_KEY, startHarness } from '../support/harness.js';
import { testRedisUrl } from '../support/redis.js';
import { auth, ops, startApp, validBody } from './helpers.js';

const redisUrl = testRedisUrl();

describe('paths that cannot be percent-decoded', () => {
  test('a callback id with a broken escape is 404 CALLBACK_NOT_FOUND, logged at info without a stack', async (t) => {
    const { app, logs } = await startApp(t, redisUrl);

    for (const id of ['%E0%A4%A', '%ZZ', '%', 'abc%']) {
      const get = await request(app).get(`/v1/callbacks/${id}`).set(auth);
      const del = await request(app).delete(`/v1/callbacks/${id}`).set(auth);
      assert.equal(get.status, 404, id);
      assert.equal(get.body.error.code, 'CALLBACK_NOT_FOUND', id);
      assert.equal(del.status, 404, id);
    }
    assert.ok(logs().every((l) => l.level < 50), 'nothing logged at error');
  });

  test('a broken escape elsewhere is a 4xx in the error envelope, never a 500', async (t) => {
    const { app } = await startApp(t, redisUrl);

    for (const p of ['/v1/%ZZ', '/v1/callbacks/%E0%A4%A/x', '/%ZZ', '/docs/%E0%A4%A']) {
      const res = await request(app).get(p).set(auth);
      assert.ok(res.status >= 400 && res.status < 500, `${p}: ${res.status}`);
      assert.equal(typeof res.body.error?.code, 'string', p);
    }
  });
});

describe('request bodies in another charset than UTF-8', () => {
  test('UTF-16, UTF-7 and Latin-1 bodies are 415 UNSUPPORTED_MEDIA_TYPE and never reach the domain', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const json = JSON.stringify(validBody());
    const bodies: Array<[string, Buffer]> = [
      ['application/json; charset=utf-16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(json, 'utf16le')])],
      ['application/json; charset=UTF-16LE', Buffer.from(json, 'utf16le')],
      ['application/json;charset="utf-16be"', Buffer.from(json, 'utf16le').swap16()],
      ['application/json; charset=utf-7', Buffer.from(json, 'ascii')],
      ['application/json; charset=iso-8859-1', Buffer.from(json, 'latin1')],
    ];

    for (const [type, body] of bodies) {
      const res = await request(app).post('/v1/callbacks').set(auth).set('Content-Type', type).send(body);
      assert.equal(res.status, 415, type);
      assert.equal(res.body.error.code, 'UNSUPPORTED_MEDIA_TYPE', type);
    }
    assert.equal(service.calls.length, 0);
  });

  test('UTF-8 with or without the charset parameter, in any case or quoted, is accepted', async (t) => {
    const { app } = await startApp(t, redisUrl);
    const json = JSON.stringify(validBody());

    for (const type of ['application/json', 'application/json; charset=utf-8', 'application/json; charset=UTF-8', 'application/json;charset="utf-8"']) {
      const res = await request(app).post('/v1/callbacks').set(auth).set('Content-Type', type).send(json);
      assert.equal(res.status, 202, `${type}: ${JSON.stringify(res.body)}`);
    }
  });
});

describe('guessing API keys', () => {
  test('after too many wrong keys an address is refused with 429 and Retry-After, even with a right key', async (t) => {
    const { app, service } = await startApp(t, redisUrl, { config: { authFailuresPerMinute: 3 } });

    for (let i = 0; i < 3; i++) await request(app).get('/v1/callbacks').set('Authorization', `Bearer wrong-${i}`).expect(401);
    const blocked = await request(app).get('/v1/callbacks').set('Authorization', 'Bearer wrong-again');
    const rightKey = await request(app).post('/v1/callbacks').set(auth).send(validBody());

    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.error.code, 'RATE_LIMITED');
    assert.equal(rightKey.status, 429, 'a right guess looks no different');
    const retryAfter = Number(rightKey.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${rightKey.headers['retry-after']}`);
    assert.equal(service.calls.length, 0);
  });

  test('failures are counted per client address, as the trusted proxy reports it', async (t) => {
    const { app } = await startApp(t, redisUrl, { config: { authFailuresPerMinute: 2, trustProxy: true } });
    const from = (address: string): { 'X-Forwarded-For': string } => ({ 'X-Forwarded-For': address });

    for (let i = 0; i < 3; i++) await request(app).get('/v1/callbacks').set(from('198.51.100.7')).set('Authorization', 'Bearer nope');
    await request(app).get('/v1/callbacks').set(from('198.51.100.7')).set(auth).expect(429);
    await request(app).get('/v1/callbacks').set(from('198.51.100.8')).set(auth).expect(200);
  });

  test('requests without any key are 401 and do not use up the budget', async (t) => {
    const { app } = await startApp(t, redisUrl, { config: { authFailuresPerMinute: 2 } });

    for (let i = 0; i < 5; i++) await request(app).get('/v1/callbacks').expect(401);
    await request(app).get('/v1/callbacks').set(auth).expect(200);
  });
});

describe('what probes and strangers see', () => {
  test('/readyz without the operations token gives the status only, up or down, never the error text', async (t) => {
    const { app, switchStatus } = await startApp(t, redisUrl);

    const up = await request(app).get('/readyz');
    switchStatus.current = { connected: false, since: '2030-01-15T20:01:00.000Z', lastError: 'connect ECONNREFUSED 10.0.0.3:8021' };
    const down = await request(app).get('/readyz');
    const withApiKey = await request(app).get('/readyz').set(auth);
    const withToken = await request(app).get('/readyz').set(ops);

    assert.deepEqual([up.status, up.body], [200, { status: 'ready' }]);
    assert.deepEqual([down.status, down.body], [503, { status: 'unavailable' }]);
    assert.deepEqual(withApiKey.body, { status: 'unavailable' }, "a tenant's key is not the operator's");
    assert.equal(withToken.body.checks.switch.error, 'connect ECONNREFUSED 10.0.0.3:8021');
  });

  test('/metrics needs the operations token: not open, not with an API key, off when no token is set', async (t) => {
    const { app } = await startApp(t, redisUrl);
    const { app: noToken } = await startApp(t, redisUrl, { config: { opsToken: undefined } });

    const open = await request(app).get('/metrics');
    const tenant = await request(app).get('/metrics').set(auth);
    const operator = await request(app).get('/metrics').set(ops);
    const off = await request(noToken).get('/metrics').set(ops);

    assert.equal(open.status, 401);
    assert.equal(open.body.error.code, 'UNAUTHENTICATED');
    assert.equal(tenant.status, 401);
    assert.equal(operator.status, 200);
    assert.equal(off.status, 401);
  });

  test('OPS_TOKEN, AUTH_FAILURES_PER_MINUTE, TRUST_PROXY and the HTTP timeouts are read and checked at boot', () => {
    const config = loadConfig({ OPS_TOKEN: 'x'.repeat(16), TRUST_PROXY: '1', HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '20000' });
    assert.equal(config.opsToken, 'x'.repeat(16));
    assert.equal(config.trustProxy, 1);
    assert.deepEqual([config.httpHeadersTimeoutMs, config.httpRequestTimeoutMs], [5000, 20000]);
    assert.deepEqual([loadConfig({}).trustProxy, loadConfig({}).authFailuresPerMinute], [false, 20]);
    assert.deepEqual(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy, ['loopback', '10.0.0.0/8']);
    assert.throws(() => loadConfig({ OPS_TOKEN: 'short' }));
    assert.throws(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' }));
    assert.throws(() => loadConfig({ TRUST_PROXY: 'everyone' }));
  });
});

describe('the start-up banner', () => {
  test('never shows the generated webhook secret or the credentials in a Redis or ESL URL', () => {
    const config = loadConfig({ ESL_URL: 'esl://:ClueCon@10.0.0.3:8021' });
    const text = bannerText(
      config,
      { api: true, workers: true },
      {
        redis: { url: 'redis://:s3cret-redis@10.0.0.4:6379', origin: 'configured', stop: async () => undefined },
        simulator: undefined,
        apiUrl: 'http://127.0.0.1:8080',
        webhookSecretGenerated: true,
        moduleBanner: [],
      },
      'dev_generated-key',
    );

    assert.doesNotMatch(text, /ClueCon|s3cret-redis/);
    assert.match(text, /Webhooks {2}signed with a secret generated for this run/);
    assert.match(text, /dev_generated-key/, 'the generated API key is still shown: the curl needs it');
  });
});

describe('slow clients', () => {
  test('a stalled upload is cut off after HTTP_REQUEST_TIMEOUT_MS, not held for minutes', async () => {
    const harness = await startHarness({ roles: { api: true, workers: false }, env: { HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '1500' } });
    try {
      const url = new URL(harness.runtime.apiUrl ?? '');
      const started = Date.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname, () => {
          socket.write(`POST /v1/callbacks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${HARNESS_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"caller":`);
        });
        let received = '';
        socket.on('data', (d) => (received += d.toString()));
        socket.on('close', () => resolve(received));
        socket.on('error', reject);
        setTimeout(() => reject(new Error('still held after 10 s')), 10_000).unref();
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 4000, `closed after ${elapsed} ms`);
      assert.match(answer, /^HTTP\/1\.1 408/);
      assert.match(answer, /"code":"REQUEST_TIMEOUT"/);
    } finally {
      await harness.close();
    }
  });

  test('headers over 16 kB and bytes that are not HTTP get the error envelope too, not a bare status line', async () => {
    const harness = await startHarness({ roles: { api: true, workers: false } });
    try {
      const url = new URL(harness.runtime.apiUrl ?? '');
      const exchange = (bytes: string): Promise<string> =>
        new Promise((resolve, reject) => {
          const socket = connect(Number(url.port), url.hostname, () => socket.write(bytes));
          let received = '';
          socket.on('data', (d) => (received += d.toString()));
          socket.on('close', () => resolve(received));
          socket.on('error', reject);
        });

      const big = await exchange(`GET /v1/callbacks?x=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      const garbage = await exchange('HELLO\r\n\r\n');

      assert.match(big, /^HTTP\/1\.1 431[^]*"code":"HEADERS_TOO_LARGE"/);
      assert.match(garbage, /^HTTP\/1\.1 400[^]*"code":"MALFORMED_REQUEST"/);
    } finally {
      await harness.close();
    }
  });
});
