import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { Callback, CallbackStatus } from '../../src/callbacks/types.js';
import { loadConfig } from '../../src/config/index.js';
import { CallbackRepository, uuidv7 } from '../../src/store/index.js';
import { callbackFixture } from '../fixtures/callback.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

let redis: Redis;
before(async () => {
  redis = new Redis(await testRedisUrl());
  await redis.ping();
});
after(() => redis.quit());

const OWNER = 'owner';
let clock = Date.now() - 1_000_000;
/** Stored callbacks in creation order (UUIDv7 ids, one millisecond apart). */
async function createMany(repository: CallbackRepository, n: number, status: CallbackStatus = 'queued'): Promise<Callback[]> {
  const made: Callback[] = [];
  for (let i = 0; i < n; i++) {
    const callback = callbackFixture({ id: uuidv7(clock++), status, owner: OWNER });
    await repository.create(callback);
    made.push(callback);
  }
  return made;
}

async function finish(repository: CallbackRepository, callback: Callback, status: CallbackStatus = 'completed'): Promise<void> {
  const previous = callback.status;
  callback.status = status;
  await repository.save(callback, previous);
}

/** What a finished record's retention ends in, without waiting days: the record is gone. */
const expire = (prefix: string, callback: Callback): Promise<number> => redis.del(`${prefix}:callback:${callback.id}`);

async function pages(repository: CallbackRepository, limit: number, status?: CallbackStatus): Promise<string[][]> {
  const all: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await repository.list(OWNER, { limit, ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) });
    all.push(page.items.map((c) => c.id));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return all;
}

describe('retention of finished callbacks', () => {
  test('a callback that reaches a final status gets the retention as TTL; one still active has none', async () => {
    const prefix = uniquePrefix();
    const repository = new CallbackRepository(redis, prefix, { retentionSec: 3600 });
    const [done, active] = await createMany(repository, 2);
    assert.ok(done && active);

    await finish(repository, done, 'failed');
    active.status = 'calling-callee';
    await repository.save(active, 'queued');

    const ttl = await redis.ttl(`${prefix}:callback:${done.id}`);
    assert.ok(ttl > 3590 && ttl <= 3600, `ttl ${ttl}`);
    assert.equal(await redis.ttl(`${prefix}:callback:${active.id}`), -1);
  });

  test('the retention defaults to 30 days and is configured in days', () => {
    assert.equal(loadConfig({}).callbackRetentionDays, 30);
    assert.equal(loadConfig({ CALLBACK_RETENTION_DAYS: '7' }).callbackRetentionDays, 7);
    assert.throws(() => loadConfig({ CALLBACK_RETENTION_DAYS: '0' }));
  });

  test('a record really disappears when its retention ends', async () => {
    const prefix = uniquePrefix();
    const repository = new CallbackRepository(redis, prefix, { retentionSec: 1 });
    const [callback] = await createMany(repository, 1);
    assert.ok(callback);
    await finish(repository, callback, 'canceled');

    await new Promise((r) => setTimeout(r, 2100));

    assert.equal(await repository.get(callback.id), undefined);
    assert.deepEqual((await repository.list(OWNER, { limit: 10 })).items, []);
  });
});

describe('listing while records expire', () => {
  test('a page skips expired records and still holds `limit` items when more exist', async () => {
    const prefix = uniquePrefix();
    const repository = new CallbackRepository(redis, prefix);
    const made = await createMany(repository, 12);
    const newestFirst = made.map((c) => c.id).reverse();
    // expire a run in the middle of the first page and the one right after it
    for (const i of [1, 2, 3, 4, 5, 6]) {
      const c = made[made.length - 1 - i];
      assert.ok(c);
      await finish(repository, c);
      await expire(prefix, c);
    }
    const alive = newestFirst.filter((_, i) => i === 0 || i > 6);

    const first = await repository.list(OWNER, { limit: 4 });

    assert.deepEqual(first.items.map((c) => c.id), alive.slice(0, 4));
    assert.equal(first.nextCursor, alive[3]);
    assert.deepEqual((await pages(repository, 4)).flat(), alive);
  });

  test('expired entries are pruned from the owner and status indexes as they are met', async () => {
    const prefix = uniquePrefix();
    const repository = new CallbackRepository(redis, prefix);
    const made = await createMany(repository, 5);
    for (const c of made.slice(0, 3)) {
      await finish(repository, c);
      await expire(prefix, c);
    }

    await repository.list(OWNER, { limit: 10 });
    await repository.list(OWNER, { limit: 10, status: 'completed' });

    assert.equal(await redis.zcard(`${prefix}:index:${OWNER}`), 2);
    assert.equal(await redis.zcard(`${prefix}:index:${OWNER}:completed`), 0);
  });

  test('a status filter pages correctly over a stretch of expired records longer than a page', async () => {
    const prefix = uniquePrefix();
    const repository = new CallbackRepository(redis, prefix);
    const made = await createMany(repository, 30);
    for (const c of made) await finish(repository, c, 'completed');
    // the newest 25 finished first and are gone; the 5 oldest remain
    for (const c of made.slice(5)) await expire(prefix, c);

    const all = await pages(repository, 2, 'completed');

    assert.deepEqual(all.flat(), made.slice(0, 5).map((c) => c.id).reverse());
    assert.deepEqual(all.map((p) => p.length), [2, 2, 1]);
  });

  test('the last page has no cursor even when expired entries follow it', async () => {
    const prefix = uniquePrefix();
    const repository = new CallbackRepository(redis, prefix);
    const made = await createMany(repository, 4);
    for (const c of made.slice(0, 2)) {
      await finish(repository, c);
      await expire(prefix, c);
    }

    const page = await repository.list(OWNER, { limit: 2 });

    assert.equal(page.items.length, 2);
    assert.equal(page.nextCursor, undefined);
  });

  test('each final save prunes a few entries of expired records, so an owner who never lists leaves no trail', async () => {
    const prefix = uniquePrefix();
    const repository = new CallbackRepository(redis, prefix);
    const made = await createMany(repository, 10);
    for (const c of made) {
      await finish(repository, c);
      await expire(prefix, c);
    }
    // each of these finishes prunes the oldest dead entries
    const later = await createMany(repository, 5);
    for (const c of later) await finish(repository, c);

    assert.equal(await redis.zcard(`${prefix}:index:${OWNER}`), 5);
    assert.equal(await redis.zcard(`${prefix}:index:${OWNER}:completed`), 5);
  });
});
