import { Redis, type RedisOptions } from 'ioredis';

/**
 * One ioredis connection. `maxRetriesPerRequest: null` is what BullMQ requires of its connections
 * and suits ours too: a command waits for Redis to come back instead of failing mid-callback.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...options });
}

export type { Redis } from 'ioredis';
