import type { DoNotCallStore } from '../callbacks/ports.js';
import type { RedisClient } from './redis.js';

/**
 * Each owner's do-not-call numbers: `<spread>:dnc:<owner>`, a set of E.164 numbers (one key, read
 * alone: it spreads over a cluster; on one node it is the key the widget kept the list under).
 */
export class RedisDoNotCallList implements DoNotCallStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key = (owner: string): string => `${this.prefix}:dnc:${owner}`;

  async listed(owner: string, numbers: readonly string[]): Promise<string[]> {
    if (numbers.length === 0) return [];
    const flags = await this.redis.smismember(this.key(owner), ...numbers);
    return numbers.filter((_, i) => flags[i] === 1);
  }

  async add(owner: string, e164: string): Promise<void> {
    await this.redis.sadd(this.key(owner), e164);
  }

  /** Whether it was on the list. */
  async remove(owner: string, e164: string): Promise<boolean> {
    return (await this.redis.srem(this.key(owner), e164)) === 1;
  }

  async list(owner: string): Promise<string[]> {
    return (await this.redis.smembers(this.key(owner))).sort();
  }
}
