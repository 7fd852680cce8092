import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { LegFacts } from '../../src/callbacks/ports.js';
import { LegFactsStore } from '../../src/store/leg-facts.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const facts = (uuid: string, hangupCause = 'NORMAL_CLEARING'): LegFacts => ({
  uuid, callbackId: '01a22af7-384c-7774-85db-02bb816d559b', role: 'callee', attempt: 1, answered: true,
  answeredAt: '2026-11-30T05:39:35.662Z', bridged: false, hangupCause, endedAt: '2026-11-30T05:39:37.762Z',
  durationSec: 3, billSec: 2, receivedAt: '2026-11-30T05:39:38.000Z',
});

describe('leg facts in Redis', () => {
  test('the first report of a leg is kept with the retention TTL; a later one for the same leg changes nothing', async (t) => {
    const redis = new Redis(await testRedisUrl());
    const prefix = uniquePrefix();
    t.after(async () => {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });
    const store = new LegFactsStore(redis, prefix, { retentionSec: 120 });
    const uuid = '19556be8-acff-413e-8465-a2ad2045748d';

    assert.equal(await store.record(facts(uuid)), 'stored');
    assert.equal(await store.record(facts(uuid, 'USER_BUSY')), 'duplicate');

    assert.deepEqual(await store.get(uuid), facts(uuid));
    assert.equal(await store.get('2bcc8c4e-cd5a-4770-9c2c-15af1be7c4a0'), undefined);
    const ttl = await redis.ttl(`${prefix}:leg:${uuid}`);
    assert.ok(ttl > 100 && ttl <= 120, `ttl ${ttl}`);
  });

  test('on a Redis Cluster the key carries the leg UUID as its hash tag; on one node its name is untagged', () => {
    const node = new LegFactsStore({ isCluster: false } as unknown as Redis, 'crossline');
    const cluster = new LegFactsStore({ isCluster: true } as unknown as Redis, 'crossline');

    assert.equal(node.key('19556be8-acff-413e-8465-a2ad2045748d'), 'crossline:leg:19556be8-acff-413e-8465-a2ad2045748d');
    assert.equal(cluster.key('19556be8-acff-413e-8465-a2ad2045748d'), 'crossline:leg:{19556be8-acff-413e-8465-a2ad2045748d}');
  });
});
