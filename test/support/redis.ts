import { after } from 'node:test';
import { randomUUID } from 'node:crypto';
import { resolveRedis, type ResolvedRedis } from '../../src/store/embedded-redis.js';

let shared: Promise<ResolvedRedis> | undefined;

/**
 * The Redis the tests use: REDIS_URL, else 127.0.0.1:6379, else a spawned redis-server
 * (the same embedded default as `npm start`). Stopped after the test file.
 */
export function testRedisUrl(): Promise<string> {
  if (!shared) {
    shared = resolveRedis(process.env.REDIS_URL);
    after(async () => (await shared)?.stop());
  }
  return shared.then((r) => r.url);
}

/** A key prefix of its own for each test (bullmq's `test-${randomUUID()}` habit). */
export const uniquePrefix = (): string => `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
