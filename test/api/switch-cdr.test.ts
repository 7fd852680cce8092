import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/api/index.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { LegFactsStore } from '../../src/store/leg-facts.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { readCdrCapture } from '../simulator/cdr-captures.js';
import { API_KEY, FakeCallbackService } from './helpers.js';

const redisUrl = testRedisUrl();
const CREDENTIALS = 'crossline:cdr-secret-0123456789';
const basic = (cred: string): string => `Basic ${Buffer.from(cred).toString('base64')}`;
const switchAuth = { Authorization: basic(CREDENTIALS) };
const FORM = 'application/x-www-form-urlencoded';

async function startCdrApp(t: TestContext, config: Partial<Config> = {}) {
  const redis = new Redis(await redisUrl, { maxRetriesPerRequest: 1 });
  const cfg = loadConfig({}, { apiKeys: [API_KEY], keyPrefix: uniquePrefix(), cdrCredentials: CREDENTIALS, ...config });
  const legFacts = new LegFactsStore(redis, cfg.keyPrefix, { retentionSec: 3600 });
  const app = createApp({
    config: cfg,
    callbacks: new FakeCallbackService(),
    redis,
    readiness: { switchStatus: () => ({ connected: true, since: '2030-01-15T20:00:00.000Z' }) },
    logger: pino({ level: 'silent' }),
    legFacts,
  });
  await redis.ping();
  t.after(async () => {
    const keys = await redis.keys(`${cfg.keyPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
  return { app, redis, legFacts, config: cfg };
}

/** Posts a capture as the switch sent it: same path convention, same Content-Type, same body bytes. */
const postCapture = (app: Parameters<typeof request>[0], name: string, headers: Record<string, string> = switchAuth) => {
  const capture = readCdrCapture(name);
  const query = capture.target.slice(capture.target.indexOf('?'));
  return request(app)
    .post(`/v1/switch/cdr${query}`)
    .set({ 'Content-Type': capture.headers['content-type'] ?? FORM, 'User-Agent': capture.headers['user-agent'] ?? '', ...headers })
    .send(capture.body);
};

describe('POST /v1/switch/cdr: what the switch reports when a leg ends', () => {
  test('the bridged callee leg of capture s1 is stored by its UUID with its tags, answer, bridge, cause and durations', async (t) => {
    const { app, legFacts } = await startCdrApp(t);

    const res = await postCapture(app, 's1-callee-leg-bridged');

    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { uuid: '19556be8-acff-413e-8465-a2ad2045748d', outcome: 'stored' });
    const facts = await legFacts.get('19556be8-acff-413e-8465-a2ad2045748d');
    assert.ok(facts);
    const { receivedAt, ...rest } = facts;
    assert.match(receivedAt, /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(rest, {
      uuid: '19556be8-acff-413e-8465-a2ad2045748d',
      callbackId: '01a22af7-384c-7774-85db-02bb816d559b',
      role: 'callee',
      attempt: 1,
      answered: true,
      answeredAt: new Date(1796017175662).toISOString(),
      bridged: true,
      bridgedAt: new Date(1796017175842).toISOString(),
      bridgedTo: '2bcc8c4e-cd5a-4770-9c2c-15af1be7c4a0',
      hangupCause: 'NORMAL_CLEARING',
      hangupDisposition: 'send_bye',
      startedAt: new Date(1796017174662).toISOString(),
      endedAt: new Date(1796017177762).toISOString(),
      durationSec: 3,
      billSec: 2,
    });
  });

  test('"answered and left" and "did not answer" stay apart: s2 callee answered without a bridge, s2 caller never answered', async (t) => {
    const { app, legFacts } = await startCdrApp(t);

    assert.equal((await postCapture(app, 's2-callee-leg-told-and-hung-up')).status, 200);
    assert.equal((await postCapture(app, 's2-caller-leg-no-answer')).status, 200);

    const callee = await legFacts.get('19ea92bf-e69d-468a-bd42-fcc8efaecec6');
    assert.equal(callee?.role, 'callee');
    assert.equal(callee?.answered, true);
    assert.equal(callee?.bridged, false);
    assert.equal(callee?.bridgedAt, undefined);
    const caller = await legFacts.get('6a36ac2e-5499-4247-a3e4-638f3ad87e7b');
    assert.equal(caller?.role, 'caller');
    assert.equal(caller?.answered, false);
    assert.equal(caller?.answeredAt, undefined);
    assert.equal(caller?.hangupCause, 'NO_ANSWER');
    assert.equal(caller?.hangupDisposition, 'send_cancel');
    assert.equal(caller?.billSec, 0);
  });

  test('the switch retrying the same CDR gets 200 each time and one record is kept', async (t) => {
    const { app, redis, legFacts, config } = await startCdrApp(t);

    const first = await postCapture(app, 's1-caller-leg-bridged');
    const stored = await legFacts.get('2bcc8c4e-cd5a-4770-9c2c-15af1be7c4a0');
    const second = await postCapture(app, 's1-caller-leg-bridged');
    const third = await postCapture(app, 's1-caller-leg-bridged');

    assert.deepEqual([first.status, second.status, third.status], [200, 200, 200]);
    assert.deepEqual([first.body.outcome, second.body.outcome, third.body.outcome], ['stored', 'duplicate', 'duplicate']);
    assert.deepEqual(await legFacts.get('2bcc8c4e-cd5a-4770-9c2c-15af1be7c4a0'), stored);
    assert.deepEqual(await redis.keys(`${config.keyPrefix}:leg:*`), [`${config.keyPrefix}:leg:2bcc8c4e-cd5a-4770-9c2c-15af1be7c4a0`]);
    const ttl = await redis.ttl(`${config.keyPrefix}:leg:2bcc8c4e-cd5a-4770-9c2c-15af1be7c4a0`);
    assert.ok(ttl > 3500 && ttl <= 3600, `ttl ${ttl}`);
  });

  test('a leg without a Crossline tag (the test switch\'s phone side) is acknowledged and not kept', async (t) => {
    const { app, redis, config } = await startCdrApp(t);

    const res = await postCapture(app, 's1-phone-side-callee');

    assert.equal(res.status, 200);
    assert.equal(res.body.outcome, 'ignored');
    assert.deepEqual(await redis.keys(`${config.keyPrefix}:leg:*`), []);
  });

  test('application/json and the encode=true form cdr=<url-encoded JSON> are read too', async (t) => {
    const { app, legFacts } = await startCdrApp(t);
    const capture = readCdrCapture('s2-caller-leg-no-answer');

    const json = await request(app).post('/v1/switch/cdr').set(switchAuth).set('Content-Type', 'application/json').send(capture.body);
    assert.equal(json.status, 200);
    assert.equal(json.body.outcome, 'stored');
    const form = await request(app).post('/v1/switch/cdr').set(switchAuth).set('Content-Type', FORM).send(`cdr=${encodeURIComponent(capture.body)}`);
    assert.equal(form.status, 200);
    assert.equal(form.body.outcome, 'duplicate');
    assert.equal((await legFacts.get('6a36ac2e-5499-4247-a3e4-638f3ad87e7b'))?.hangupCause, 'NO_ANSWER');
  });

  test('without credentials, with wrong ones, or with an API key, the CDR is refused 401 with WWW-Authenticate: Basic and nothing is kept', async (t) => {
    const { app, redis, config } = await startCdrApp(t);
    const attempts: Array<Record<string, string>> = [
      {},
      { Authorization: basic('crossline:cdr-secret-0123456788') },
      { Authorization: basic('other:cdr-secret-0123456789') },
      { Authorization: basic(`${CREDENTIALS}x`) },
      { Authorization: `Bearer ${API_KEY}` },
      { Authorization: 'Basic !!!' },
    ];

    for (const headers of attempts) {
      const res = await postCapture(app, 's1-callee-leg-bridged', headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.body.error.code, 'UNAUTHENTICATED');
      assert.equal(typeof res.body.error.requestId, 'string');
      assert.match(res.headers['www-authenticate'] ?? '', /^Basic realm="crossline-cdr"/);
    }
    assert.deepEqual(await redis.keys(`${config.keyPrefix}:leg:*`), []);
  });

  test('an address that sent too many wrong credentials is refused 429 even with the right ones', async (t) => {
    const { app } = await startCdrApp(t, { authFailuresPerMinute: 2 });

    for (let i = 0; i < 2; i += 1) assert.equal((await postCapture(app, 's1-callee-leg-bridged', { Authorization: basic('crossline:wrong-password-0123456') })).status, 401);
    const res = await postCapture(app, 's1-callee-leg-bridged');

    assert.equal(res.status, 429);
    assert.equal(res.body.error.code, 'RATE_LIMITED');
    assert.ok(Number(res.headers['retry-after']) >= 1);
  });

  test('the switch is rate-limited per CDR user (CDR_RATE_LIMIT_PER_MINUTE)', async (t) => {
    const { app } = await startCdrApp(t, { cdrRateLimitPerMinute: 2 });

    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await postCapture(app, 's2-caller-leg-no-answer')).status);

    assert.deepEqual(statuses, [200, 200, 429]);
  });

  test('garbage is a 4xx with the error envelope (which the switch retries, then writes to its err-log-dir)', async (t) => {
    const { app, redis, config } = await startCdrApp(t);
    const capture = readCdrCapture('s1-callee-leg-bridged');
    const withVariables = (change: (v: Record<string, string>) => void): string => {
      const copy = structuredClone(capture.json);
      change(copy.variables);
      return JSON.stringify(copy);
    };
    const cases: Array<{ body: string; type?: string; query?: string; status: number; code: string }> = [
      { body: 'not json at all', status: 400, code: 'MALFORMED_JSON' },
      { body: '[1,2,3]', status: 400, code: 'VALIDATION_FAILED' },
      { body: '{"variables":{}}', status: 400, code: 'VALIDATION_FAILED' },
      { body: withVariables((v) => delete v.answer_epoch), status: 400, code: 'VALIDATION_FAILED' },
      { body: withVariables((v) => (v.answer_epoch = 'yesterday')), status: 400, code: 'VALIDATION_FAILED' },
      { body: withVariables((v) => (v.uuid = 'not-a-uuid')), status: 400, code: 'VALIDATION_FAILED' },
      { body: withVariables((v) => (v.crossline_callback_id = '../../etc')), status: 400, code: 'VALIDATION_FAILED' },
      { body: capture.body, query: '?uuid=2bcc8c4e-cd5a-4770-9c2c-15af1be7c4a0', status: 400, code: 'VALIDATION_FAILED' },
      { body: capture.body, type: 'text/plain', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { body: capture.body, type: `${FORM}; charset=utf-16`, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { body: `{"variables":{"x":"${'a'.repeat(600 * 1024)}"}}`, status: 413, code: 'PAYLOAD_TOO_LARGE' },
    ];

    for (const c of cases) {
      const res = await request(app)
        .post(`/v1/switch/cdr${c.query ?? ''}`)
        .set(switchAuth)
        .set('Content-Type', c.type ?? FORM)
        .send(c.body);
      assert.equal(res.status, c.status, `${c.body.slice(0, 60)} → ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error?.code, c.code);
      assert.equal(typeof res.body.error.message, 'string');
      assert.ok(Array.isArray(res.body.error.details));
    }
    assert.deepEqual(await redis.keys(`${config.keyPrefix}:leg:*`), []);
  });

  test('another method is 405 with Allow: POST', async (t) => {
    const { app } = await startCdrApp(t);

    const res = await request(app).get('/v1/switch/cdr').set(switchAuth);

    assert.equal(res.status, 405);
    assert.equal(res.body.error.code, 'METHOD_NOT_ALLOWED');
    assert.equal(res.headers.allow, 'POST');
  });

  test('without CDR_CREDENTIALS the endpoint is off: 404 ROUTE_NOT_FOUND', async (t) => {
    const { app } = await startCdrApp(t, { cdrCredentials: undefined });

    const res = await postCapture(app, 's1-callee-leg-bridged');

    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'ROUTE_NOT_FOUND');
  });
});

describe('CDR_CREDENTIALS', () => {
  test('is user:password with a password of 16 or more printable characters, like mod_json_cdr\'s cred', () => {
    assert.equal(loadConfig({ CDR_CREDENTIALS: CREDENTIALS }).cdrCredentials, CREDENTIALS);
    assert.equal(loadConfig({}).cdrCredentials, undefined);
    assert.equal(loadConfig({}).cdrRateLimitPerMinute, 60000);
    for (const bad of ['crossline', 'crossline:short', ':cdr-secret-0123456789', 'cross line:cdr-secret-0123456789']) {
      assert.throws(() => loadConfig({ CDR_CREDENTIALS: bad }), /CDR_CREDENTIALS/, bad);
    }
  });
});
