import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { apiKeyOwner } from '../../src/api/index.js';
import { limitedDestinations } from '../../src/callbacks/index.js';
import { activeSlotKey, CallbackRepository, RedisIntakeLimits } from '../../src/store/index.js';
import { CrosslineError } from '../../src/errors.js';
import { callbackFixture } from '../fixtures/callback.js';
import { API_KEY, startHarness, type Harness } from '../support/harness.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const OTHER_KEY = 'second-test-key-0123456789';
const inAnHour = (): string => new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
let callers = 0;
/** A caller of its own for each request, so that only the leg under test meets a limit. */
const nextCaller = (): string => `+1202555${1000 + callers++}`;
const scheduled = (callee: string, caller = nextCaller()): object => ({ caller: { number: caller }, callee: { number: callee }, at: inAnHour() });

async function expectStatus(response: PromiseLike<{ status: number; body: { id: string } }>, status: number): Promise<{ status: number; body: { id: string } }> {
  const res = await response;
  assert.equal(res.status, status, JSON.stringify(res.body));
  return res;
}

async function startWithLimits(env: Record<string, string>): Promise<Harness> {
  return startHarness({
    env: {
      API_KEYS: `${API_KEY},${OTHER_KEY}`,
      DESTINATION_CALLBACKS_PER_HOUR: '100',
      DESTINATION_MAX_ACTIVE: '100',
      KEY_CALLBACKS_PER_DAY: '1000',
      ...env,
    },
  });
}

describe('call bombing: limits per destination, across API keys', () => {
  let h: Harness;
  before(async () => {
    h = await startWithLimits({ DESTINATION_CALLBACKS_PER_HOUR: '3' });
  });
  after(() => h.close());

  test('a burst of callbacks to one number is accepted up to the hourly limit, then 429 with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await h.create(scheduled('+12025550101'))).status);
    const refused = await h.create(scheduled('+12025550101'));
    const viaOtherKey = await h.api().set('Authorization', `Bearer ${OTHER_KEY}`).post('/v1/callbacks').send(scheduled('+12025550101'));
    const otherNumber = await h.create(scheduled('+12025550102'));

    assert.deepEqual(statuses, [202, 202, 202]);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'DESTINATION_RATE_LIMITED');
    assert.equal(refused.body.error.details[0].path, '/callee');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 3600, `Retry-After ${refused.headers['retry-after']}`);
    assert.equal(viaOtherKey.status, 429, 'the limit is the destination\'s, whichever key asks');
    assert.equal(otherNumber.status, 202);
  });

  test('the caller leg is a destination too: a victim named as caller is protected the same way', async () => {
    for (let i = 0; i < 3; i++) await expectStatus(h.create(scheduled(`+1202555011${i}`, '+12025550140')), 202);
    const refused = await h.create(scheduled('+12025550113', '+12025550140'));

    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.details[0].path, '/caller');
  });

  test('a refused callback is not stored, not queued and counts nothing', async () => {
    for (let i = 0; i < 3; i++) await expectStatus(h.create(scheduled('+12025550120')), 202);
    const before = await h.api().get('/v1/callbacks?limit=100');
    await expectStatus(h.create(scheduled('+12025550120')), 429);
    const later = await h.api().get('/v1/callbacks?limit=100');

    assert.equal(later.body.items.length, before.body.items.length);
  });
});

describe('call bombing: callbacks in progress at once', () => {
  let h: Harness;
  let redis: Redis;
  before(async () => {
    h = await startWithLimits({ DESTINATION_MAX_ACTIVE: '2' });
    redis = new Redis(await testRedisUrl());
  });
  after(async () => {
    redis.disconnect();
    await h.close();
  });

  test('a third unfinished callback to a number is refused; canceling one frees its slot', async () => {
    const first = await expectStatus(h.create(scheduled('+12025550103')), 202);
    await expectStatus(h.create(scheduled('+12025550103')), 202);
    const third = await h.create(scheduled('+12025550103'));

    assert.equal(third.status, 429);
    assert.equal(third.body.error.code, 'DESTINATION_RATE_LIMITED');
    assert.match(third.body.error.message, /in progress/);

    await expectStatus(h.api().delete(`/v1/callbacks/${first.body.id}`), 200);
    await expectStatus(h.create(scheduled('+12025550103')), 202);
  });

  test('a callback that completes on the switch gives its slots back', async () => {
    const res = await expectStatus(h.create({ caller: { number: '+12025550190' }, callee: { number: '+12025550104' } }), 202);
    const slot = activeSlotKey(h.config.keyPrefix, '+12025550104');
    assert.equal(await redis.zscore(slot, res.body.id) !== null, true, 'held while unfinished');

    await h.waitForStatus(res.body.id, 'completed');

    assert.equal(await redis.zscore(slot, res.body.id), null);
    assert.equal(await redis.zscore(activeSlotKey(h.config.keyPrefix, '+12025550190'), res.body.id), null);
  });

  test('a 429 does not use up the Idempotency-Key: the same request is accepted once a slot is free', async () => {
    const a = await expectStatus(h.create(scheduled('+12025550105')), 202);
    await expectStatus(h.create(scheduled('+12025550105')), 202);
    const refused = await h.create(scheduled('+12025550105'), { 'Idempotency-Key': 'bomb-1' });
    await expectStatus(h.api().delete(`/v1/callbacks/${a.body.id}`), 200);
    const retried = await h.create(scheduled('+12025550105'), { 'Idempotency-Key': 'bomb-1' });

    assert.equal(refused.status, 429);
    assert.equal(retried.status, 202);
  });
});

describe('daily quota per API key', () => {
  let h: Harness;
  before(async () => {
    h = await startWithLimits({ KEY_CALLBACKS_PER_DAY: '2' });
  });
  after(() => h.close());

  test('a key over its daily quota gets 429 DAILY_QUOTA_EXCEEDED; another key is unaffected', async () => {
    await expectStatus(h.create(scheduled('+12025550106')), 202);
    await expectStatus(h.create(scheduled('+12025550107')), 202);
    const refused = await h.create(scheduled('+12025550108'));
    const other = await h.api().set('Authorization', `Bearer ${OTHER_KEY}`).post('/v1/callbacks').send(scheduled('+12025550108'));

    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'DAILY_QUOTA_EXCEEDED');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 86_400, `Retry-After ${refused.headers['retry-after']}`);
    assert.equal(other.status, 202);
  });
});

describe('in-progress slots in Redis', () => {
  let redis: Redis;
  before(async () => {
    redis = new Redis(await testRedisUrl());
    await redis.ping();
  });
  after(() => redis.quit());

  const policy = { destinationPerHour: 100, destinationMaxActive: 1, keyPerDay: 100, exempt: [] };
  const admission = (callbackId: string, holdUntilMs: number) => ({
    callbackId,
    owner: apiKeyOwner(API_KEY),
    destinations: [{ key: '+12025550100', path: '/callee' as const }],
    holdUntilMs,
  });

  test('a slot left behind by a process that died before storing its callback lapses at its hold time', async () => {
    let now = Date.now();
    const limits = new RedisIntakeLimits(redis, uniquePrefix(), policy, () => now);
    await limits.admit(admission('crashed', now + 60_000));

    await assert.rejects(limits.admit(admission('next', now + 60_000)), (err: unknown) => err instanceof CrosslineError && err.code === 'DESTINATION_RATE_LIMITED');
    now += 60_001;
    await limits.admit(admission('next', now + 60_000));
  });

  test('the slot key expires with its latest hold, so an idle destination leaves nothing behind', async () => {
    const prefix = uniquePrefix();
    const limits = new RedisIntakeLimits(redis, prefix, policy);
    await limits.admit(admission('a', Date.now() + 5_000));

    const ttl = await redis.pttl(activeSlotKey(prefix, '+12025550100'));
    assert.ok(ttl > 0 && ttl <= 5_000, `pttl ${ttl}`);
  });

  test('saving a final status frees the slots in the same step, and saving it again is harmless', async () => {
    const prefix = uniquePrefix();
    const repository = new CallbackRepository(redis, prefix);
    const limits = new RedisIntakeLimits(redis, prefix, policy);
    const callback = callbackFixture({ status: 'bridged' });
    const destinations = limitedDestinations(callback.request);
    await limits.admit({ callbackId: callback.id, owner: callback.owner, destinations, holdUntilMs: Date.now() + 60_000 });
    await repository.create(callback);

    callback.status = 'completed';
    await repository.save(callback, 'bridged');
    await repository.save(callback, 'completed');

    for (const d of destinations) assert.equal(await redis.zcard(activeSlotKey(prefix, d.key)), 0, d.key);
  });

  test('a refund gives back the counts and the slots of a callback that was not accepted after all', async () => {
    const limits = new RedisIntakeLimits(redis, uniquePrefix(), { ...policy, destinationPerHour: 1, keyPerDay: 1 });
    await limits.admit(admission('x', Date.now() + 60_000));
    await limits.refund(admission('x', Date.now() + 60_000));

    await limits.admit(admission('y', Date.now() + 60_000));
  });

  test('exempt destinations (your own lines) and a number on both legs count once or not at all', () => {
    const request = callbackFixture({}, { caller: { endpoint: { kind: 'number', e164: '+12025550100', country: 'US' } } }).request;
    assert.deepEqual(limitedDestinations(request), [{ key: '+12025550100', path: '/callee' }]);
    assert.deepEqual(limitedDestinations(request, ['+1202555']), []);
    const sipRequest = { ...request, caller: { endpoint: { kind: 'sip' as const, uri: 'sips:agents@PBX.example.com:5061' } } };
    assert.deepEqual(limitedDestinations(sipRequest, ['sip:agents@pbx.example.com']), [{ key: '+12025550100', path: '/callee' }]);
    assert.deepEqual(limitedDestinations(sipRequest).map((d) => d.key), ['+12025550100', 'sip:agents@pbx.example.com']);
  });
});
