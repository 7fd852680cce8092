import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { CallbackRepository, RevisionConflictError, uuidv7 } from '../../src/store/index.js';
import { callbackFixture } from '../fixtures/callback.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

let redis: Redis;
before(async () => {
  redis = new Redis(await testRedisUrl());
  await redis.ping();
});
after(() => redis.quit());

describe('callback repository scripts', () => {
  test('saves go by script SHA, and a Redis that lost its scripts is sent them again', async () => {
    const repository = new CallbackRepository(redis, uniquePrefix());
    const callback = callbackFixture({ id: uuidv7(), status: 'queued', owner: 'owner' });
    await redis.script('FLUSH');
    await repository.create(callback);
    callback.status = 'calling-callee';
    await repository.save(callback, 'queued');
    await redis.script('FLUSH');
    callback.status = 'completed';
    await repository.save(callback, 'calling-callee');
    assert.equal((await repository.get(callback.id))?.status, 'completed');
    assert.equal(callback.revision, (await repository.get(callback.id))?.revision);

    const stale = { ...callback, revision: callback.revision - 1 };
    await assert.rejects(repository.save(stale, 'completed'), RevisionConflictError, 'compare-and-set still holds');
  });
});
