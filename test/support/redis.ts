import { randomUUID } from 'node:crypto';
import { after } from 'node:test';
import { resolveRedis, type ResolvedRedis } from '../../src/store/embedded-redis.js';

let shared: Promise<ResolvedRedis> | undefined;

// Registered when this module is first imported (top level of a test file), so it runs once,
// after every test of that file: a spawned redis-server outlives all the file's connections.
after(async () => {
  if (shared) await (await shared).stop();
});

/**
 * The Redis the tests use: REDIS_URL, else 127.0.0.1:6379, else a spawned redis-server
 * (the same embedded default as `npm start`), stopped after the test file.
 */
export function testRedisUrl(): Promise<string> {
  shared ??= resolveRedis(process.env.REDIS_URL);
  return shared.then((r) => r.url);
}

/** A key prefix of its own for each test (bullmq's `test-${randomUUID()}` habit). */
export const uniquePrefix = (): string => `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
