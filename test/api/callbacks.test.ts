import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import request from 'supertest';
import { apiKeyOwner } from '../../src/api/index.js';
import { CrosslineError } from '../../src/errors.js';
import { testRedisUrl } from '../support/redis.js';
import { API_KEY, auth, callbackFixture, OTHER_KEY, startApp, validBody } from './helpers.js';

const redisUrl = testRedisUrl();

describe('POST /v1/callbacks', () => {
  test('a valid request is accepted with 202, the callback view and its Location', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const body = {
      caller: { sipUri: 'sip:alice@pbx.example.com', name: 'Alice Martin' },
      callee: { number: '+12025550100', dtmf: 'ww1w2#' },
      at: '2030-01-15T15:00:00-05:00',
      ringTimeout: 25,
      retry: { maxAttempts: 5, delaySeconds: 300 },
      announce: { callee: 'Please hold, connecting you to Alice.', caller: "You're being connected." },
      callerId: '+12025550199',
      webhook: 'https://example.com/hooks/crossline',
      order: 'caller-first',
    };

    const res = await request(app).post('/v1/callbacks').set(auth).send(body);

    assert.equal(res.status, 202);
    assert.match(res.body.id, /^[0-9a-f-]{36}$/);
    assert.equal(res.headers.location, `/v1/callbacks/${res.body.id}`);
    assert.equal(res.body.status, 'scheduled');
    assert.deepEqual(res.body.request.caller, { sipUri: 'sip:alice@pbx.example.com', name: 'Alice Martin' });
    assert.deepEqual(res.body.request.callee, { number: '+12025550100', dtmf: 'ww1w2#' });
    assert.equal(res.body.request.at, '2030-01-15T20:00:00.000Z');
    assert.deepEqual(res.body.attempts, []);
    assert.equal(res.body.timeline[0].event, 'created');
    assert.equal(res.body.owner, undefined, 'the owner is not part of the view');
    assert.equal(res.body.revision, undefined, 'the revision is not part of the view');
    const [[input, owner]] = service.callsTo('create') as [[unknown, string]];
    assert.deepEqual(input, body, 'the domain receives the body as sent');
    assert.equal(owner, apiKeyOwner(API_KEY));
  });

  test('the owner handed to the domain is a stable id of the key, never the key', async (t) => {
    const { app, service } = await startApp(t, redisUrl);

    await request(app).post('/v1/callbacks').set(auth).send(validBody()).expect(202);
    await request(app).post('/v1/callbacks').set(auth).send(validBody()).expect(202);
    await request(app).post('/v1/callbacks').set({ Authorization: `Bearer ${OTHER_KEY}` }).send(validBody()).expect(202);

    const owners = service.callsTo('create').map(([, owner]) => owner as string);
    assert.match(owners[0] ?? '', /^[0-9a-f]{16}$/);
    assert.equal(owners[0], owners[1]);
    assert.notEqual(owners[0], owners[2]);
    assert.ok(!owners.some((o) => o.includes(API_KEY) || o.includes(OTHER_KEY)));
  });

  test('a domain refusal keeps its catalogue status and code: INVALID_NUMBER is 400, DESTINATION_NOT_ALLOWED is 422', async (t) => {
    const { app, service } = await startApp(t, redisUrl);

    service.failCreate = new CrosslineError('INVALID_NUMBER', undefined, [{ path: '/callee/number', message: 'not a valid phone number (default region US)' }]);
    const invalid = await request(app).post('/v1/callbacks').set(auth).send(validBody());
    service.failCreate = new CrosslineError('DESTINATION_NOT_ALLOWED');
    const denied = await request(app).post('/v1/callbacks').set(auth).send(validBody());

    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.code, 'INVALID_NUMBER');
    assert.deepEqual(invalid.body.error.details, [{ path: '/callee/number', message: 'not a valid phone number (default region US)' }]);
    assert.equal(denied.status, 422);
    assert.equal(denied.body.error.code, 'DESTINATION_NOT_ALLOWED');
    assert.equal(denied.body.error.message, 'The destination is not allowed by the toll-fraud policy.');
  });

  test('a switch or store outage from the domain is a 503 with Retry-After', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    service.failCreate = new CrosslineError('STORE_UNAVAILABLE');

    const res = await request(app).post('/v1/callbacks').set(auth).send(validBody());

    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'STORE_UNAVAILABLE');
    assert.equal(res.headers['retry-after'], '5');
  });
});

describe('GET /v1/callbacks/{id}', () => {
  test('returns the callback view with attempts, legs and timeline', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const owner = apiKeyOwner(API_KEY);
    const legUuid = randomUUID();
    const cb = callbackFixture({
      owner,
      status: 'failed',
      failureCause: 'USER_BUSY',
      attempts: [
        {
          number: 1,
          startedAt: '2030-01-15T20:00:01.000Z',
          endedAt: '2030-01-15T20:00:05.000Z',
          legs: [{ role: 'callee', endpoint: '+12025550100', uuid: legUuid, state: 'ended', startedAt: '2030-01-15T20:00:01.000Z', endedAt: '2030-01-15T20:00:05.000Z', hangupCause: 'USER_BUSY' }],
        },
      ],
    });
    service.store.set(cb.id, cb);

    const res = await request(app).get(`/v1/callbacks/${cb.id}`).set(auth);

    assert.equal(res.status, 200);
    assert.equal(res.body.id, cb.id);
    assert.equal(res.body.status, 'failed');
    assert.equal(res.body.failureCause, 'USER_BUSY');
    assert.deepEqual(res.body.attempts[0].legs[0] as unknown, {
      role: 'callee',
      endpoint: '+12025550100',
      uuid: legUuid,
      startedAt: '2030-01-15T20:00:01.000Z',
      endedAt: '2030-01-15T20:00:05.000Z',
      hangupCause: 'USER_BUSY',
    });
    assert.equal('state' in res.body.attempts[0].legs[0], false, 'the internal leg state is not shown');
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  test('an unknown id is 404 CALLBACK_NOT_FOUND', async (t) => {
    const { app } = await startApp(t, redisUrl);

    const res = await request(app).get(`/v1/callbacks/${randomUUID()}`).set(auth);

    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'CALLBACK_NOT_FOUND');
  });

  test('another key cannot see the callback: 404', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const cb = callbackFixture({ owner: apiKeyOwner(API_KEY) });
    service.store.set(cb.id, cb);

    const res = await request(app).get(`/v1/callbacks/${cb.id}`).set({ Authorization: `Bearer ${OTHER_KEY}` });

    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'CALLBACK_NOT_FOUND');
  });

  test('an id that is not a UUID is 404 without asking the domain', async (t) => {
    const { app, service } = await startApp(t, redisUrl);

    for (const id of ['nope', 'ABCDEFAB-1234-1234-1234-123456789012', "1' OR '1'='1", '%00']) {
      const res = await request(app).get(`/v1/callbacks/${encodeURIComponent(id)}`).set(auth);
      assert.equal(res.status, 404, id);
      assert.equal(res.body.error.code, 'CALLBACK_NOT_FOUND', id);
    }
    assert.equal(service.callsTo('get').length, 0);
  });
});

describe('DELETE /v1/callbacks/{id}', () => {
  test('cancels and returns 200 with the view', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const cb = callbackFixture({ owner: apiKeyOwner(API_KEY), status: 'calling-callee' });
    service.store.set(cb.id, cb);

    const res = await request(app).delete(`/v1/callbacks/${cb.id}`).set(auth);

    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'canceled');
    assert.deepEqual(service.callsTo('cancel'), [[cb.id, apiKeyOwner(API_KEY)]]);
  });

  test('a finished callback is 409 CALLBACK_FINISHED', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const cb = callbackFixture({ owner: apiKeyOwner(API_KEY), status: 'completed' });
    service.store.set(cb.id, cb);

    const res = await request(app).delete(`/v1/callbacks/${cb.id}`).set(auth);

    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'CALLBACK_FINISHED');
  });

  test('an unknown callback is 404 CALLBACK_NOT_FOUND', async (t) => {
    const { app } = await startApp(t, redisUrl);

    const res = await request(app).delete(`/v1/callbacks/${randomUUID()}`).set(auth);

    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'CALLBACK_NOT_FOUND');
  });
});

describe('GET /v1/callbacks', () => {
  test('lists the key\'s callbacks a page at a time with nextCursor, null on the last page', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const owner = apiKeyOwner(API_KEY);
    for (let i = 0; i < 3; i++) {
      const cb = callbackFixture({ owner });
      service.store.set(cb.id, cb);
    }

    const first = await request(app).get('/v1/callbacks?limit=2').set(auth);
    const second = await request(app).get(`/v1/callbacks?limit=2&cursor=${first.body.nextCursor}`).set(auth);

    assert.equal(first.status, 200);
    assert.equal(first.body.items.length, 2);
    assert.equal(typeof first.body.nextCursor, 'string');
    assert.equal(second.body.items.length, 1);
    assert.equal(second.body.nextCursor, null);
    assert.deepEqual(service.callsTo('list')[0], [{ limit: 2 }, owner]);
  });

  test('the status filter is passed on and the limit defaults to 20', async (t) => {
    const { app, service } = await startApp(t, redisUrl);

    const res = await request(app).get('/v1/callbacks?status=bridged').set(auth);

    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { items: [], nextCursor: null });
    assert.deepEqual(service.callsTo('list')[0]?.[0], { status: 'bridged', limit: 20 });
  });

  test('a bad status, limit, repeated or unknown parameter is 400 VALIDATION_FAILED naming it', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const cases: Array<[string, string]> = [
      ['status=ringing', 'query.status'],
      ['limit=0', 'query.limit'],
      ['limit=101', 'query.limit'],
      ['limit=ten', 'query.limit'],
      ['status=queued&status=failed', 'query.status'],
      ['cursor=a%20b', 'query.cursor'],
      ['sort=asc', 'query.sort'],
    ];

    for (const [query, path] of cases) {
      const res = await request(app).get(`/v1/callbacks?${query}`).set(auth);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error.code, 'VALIDATION_FAILED', query);
      assert.ok(res.body.error.details.some((d: { path: string }) => d.path === path), `${query}: ${JSON.stringify(res.body.error.details)}`);
    }
    assert.equal(service.callsTo('list').length, 0);
  });
});
