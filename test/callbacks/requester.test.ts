import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { DefaultCallbackService } from '../../src/callbacks/service.js';
import type { Requester } from '../../src/callbacks/types.js';
import type { CallbackRepository } from '../../src/store/callback-repository.js';
import { callbackServiceOnRedis } from '../fixtures/callback-service.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

async function serviceOnRedis(t: import('node:test').TestContext): Promise<{ service: DefaultCallbackService; repository: CallbackRepository }> {
  const redis = new Redis(await testRedisUrl(), { maxRetriesPerRequest: 1 });
  const prefix = uniquePrefix();
  t.after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
  const { service, repository } = callbackServiceOnRedis(redis, prefix);
  return { service, repository };
}

describe('the requester of a callback', () => {
  test('a callback asked for by message keeps who asked and where replies go, and reads back with it', async (t) => {
    const { service, repository } = await serviceOnRedis(t);
    const requester: Requester = {
      userId: 'user-1',
      address: { channel: 'xmpp', address: 'ada@im.example.com', resource: 'phone' },
      thread: { messageId: '<m1@example.com>', references: ['<m1@example.com>'], subject: 'call Bob' },
    };
    const created = await service.create({ caller: { number: '+12025550101' }, callee: { number: '+12025550102' } }, 'owner-a', { requester });
    assert.deepEqual(created.requester, requester);
    assert.deepEqual((await repository.get(created.id))?.requester, requester);
    assert.deepEqual((await service.get(created.id, 'owner-a')).requester, requester);
  });

  test('a callback asked for over REST has no requester', async (t) => {
    const { service, repository } = await serviceOnRedis(t);
    const created = await service.create({ caller: { number: '+12025550101' }, callee: { number: '+12025550102' } }, 'owner-a');
    assert.equal(created.requester, undefined);
    assert.equal((await repository.get(created.id))?.requester, undefined);
  });
});

describe('the public REST body', () => {
  test('cannot set a requester: the schema refuses the field and the domain is not called', async (t) => {
    const { default: request } = await import('supertest');
    const { auth, startApp, validBody } = await import('../api/helpers.js');
    const { app, service } = await startApp(t, testRedisUrl());
    const res = await request(app)
      .post('/v1/callbacks')
      .set(auth)
      .send({ ...validBody(), requester: { userId: 'u', address: { channel: 'email', address: 'mallory@example.com' } } })
      .expect(400);
    assert.equal(res.body.error.code, 'VALIDATION_FAILED');
    assert.equal(service.callsTo('create').length, 0);
  });
});
