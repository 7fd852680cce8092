import { randomInt, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { ChannelAddress } from '../channels/types.js';
import type { RedisClient } from '../store/index.js';
import { Script } from '../store/index.js';
import { holder, parseHolder } from './store.js';

const scryptAsync = (code: string, salt: Buffer): Promise<Buffer> =>
  new Promise((resolve, reject) => scrypt(code, salt, 32, { N: 16384, r: 8, p: 1 }, (err, key) => (err ? reject(err) : resolve(key))));

/** A six-digit code, uniformly drawn (no modulo bias). */
export const newCode = (): string => String(randomInt(0, 1_000_000)).padStart(6, '0');

// Counts an answer against a code before it is checked, atomically: a burst of guesses cannot
// all be checked against attempt 1. Returns the stored salt and hash, or an error word.
const TAKE_ATTEMPT = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {'none'} end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts > tonumber(ARGV[1]) then return {'exhausted'} end
return {'ok', redis.call('HGET', KEYS[1], 'salt'), redis.call('HGET', KEYS[1], 'hash'), redis.call('HGET', KEYS[1], 'expiresAt')}`);

export type CodeCheck = 'ok' | 'no-pending' | 'expired' | 'wrong-code' | 'too-many-attempts';

/**
 * Verification codes at rest: scrypt-hashed with a salt of their own, expiring (key TTL), and void
 * after `maxAttempts` wrong answers. Layout (`<p>` = directory prefix):
 * - `<p>:dir:code:<owner>:<userId>:<channel>:<address>`  hash: salt, hash, attempts, expiresAt
 * - `<p>:dir:pending:<channel>:<address>`                set of `<owner>\n<userId>` waiting on a code sent there
 */
export class VerificationCodes {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly ttlSec: number,
    private readonly maxAttempts: number,
  ) {}

  private codeKey = (owner: string, userId: string, a: ChannelAddress): string => `${this.prefix}:dir:code:${owner}:${userId}:${a.channel}:${a.address}`;
  private pendingKey = (a: ChannelAddress): string => `${this.prefix}:dir:pending:${a.channel}:${a.address}`;

  /** Stores a new code for the address (replacing an earlier one) and returns it with its expiry. */
  async issue(owner: string, userId: string, address: ChannelAddress, now: Date): Promise<{ code: string; expiresAt: Date }> {
    const code = newCode();
    const salt = randomBytes(16);
    const hash = await scryptAsync(code, salt);
    const expiresAt = new Date(now.getTime() + this.ttlSec * 1000);
    const key = this.codeKey(owner, userId, address);
    await this.redis
      .multi()
      .del(key)
      .hset(key, 'salt', salt.toString('base64'), 'hash', hash.toString('base64'), 'attempts', '0', 'expiresAt', expiresAt.toISOString())
      .expire(key, this.ttlSec)
      .sadd(this.pendingKey(address), holder(owner, userId))
      .expire(this.pendingKey(address), this.ttlSec)
      .exec();
    return { code, expiresAt };
  }

  /** Who waits on a code sent to this address. */
  async pendingFor(address: ChannelAddress): Promise<Array<{ owner: string; userId: string }>> {
    return (await this.redis.smembers(this.pendingKey(address))).map(parseHolder);
  }

  /** Checks an answer; a right one removes the code. */
  async check(owner: string, userId: string, address: ChannelAddress, answer: string, now: Date): Promise<CodeCheck> {
    const key = this.codeKey(owner, userId, address);
    const reply = (await TAKE_ATTEMPT.run(this.redis, [key], [String(this.maxAttempts)])) as string[];
    if (reply[0] === 'none') return 'no-pending';
    if (reply[0] === 'exhausted') {
      await this.clear(owner, userId, address);
      return 'too-many-attempts';
    }
    const [, salt = '', hash = '', expiresAt = ''] = reply;
    if (Date.parse(expiresAt) <= now.getTime()) return 'expired';
    if (!/^[0-9]{6}$/.test(answer)) return 'wrong-code';
    const expected = Buffer.from(hash, 'base64');
    const actual = await scryptAsync(answer, Buffer.from(salt, 'base64'));
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return 'wrong-code';
    await this.clear(owner, userId, address);
    return 'ok';
  }

  async clear(owner: string, userId: string, address: ChannelAddress): Promise<void> {
    await this.redis.multi().del(this.codeKey(owner, userId, address)).srem(this.pendingKey(address), holder(owner, userId)).exec();
  }
}
