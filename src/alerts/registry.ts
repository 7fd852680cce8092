/**
 * Interests in Redis: one JSON record each, indexed by line (callee) and by calling line (caller),
 * and per owner for listing. Ownership codes are kept hashed with a short TTL and a try counter.
 */
import { createHash, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { CrosslineError } from '../errors.js';
import type { RedisClient } from '../store/index.js';
import type { Interest, InterestInput } from './types.js';

const CODE_TTL_SEC = 900;
const CODE_TRIES = 5;
const hash = (code: string): string => createHash('sha256').update(code).digest('hex');

export class InterestRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly base: string,
  ) {}

  private key(id: string): string {
    return `${this.base}:interest:${id}`;
  }

  private lineKey(kind: Interest['kind'], line: string): string {
    return `${this.base}:${kind}:${line}`;
  }

  private ownerKey(owner: string): string {
    return `${this.base}:owner:${owner}`;
  }

  async create(input: InterestInput & { targets: string[] }, owner: string): Promise<Interest> {
    const interest: Interest = { id: randomUUID(), owner, ...input, verified: false, createdAt: new Date().toISOString() };
    await this.redis.multi()
      .set(this.key(interest.id), JSON.stringify(interest))
      .sadd(this.lineKey(interest.kind, interest.line), interest.id)
      .sadd(this.ownerKey(owner), interest.id)
      .exec();
    return interest;
  }

  async get(id: string): Promise<Interest | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    const text = await this.redis.get(this.key(id));
    return text === null ? undefined : (JSON.parse(text) as Interest);
  }

  async getFor(id: string, owner: string): Promise<Interest> {
    const interest = await this.get(id);
    if (interest === undefined || interest.owner !== owner) throw new CrosslineError('INTEREST_NOT_FOUND');
    return interest;
  }

  async list(owner: string): Promise<Interest[]> {
    const ids = await this.redis.smembers(this.ownerKey(owner));
    const items = await Promise.all(ids.map((id) => this.get(id)));
    return items.filter((i): i is Interest => i !== undefined).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Verified interests of `kind` on `line`. */
  async on(kind: Interest['kind'], line: string): Promise<Interest[]> {
    const ids = await this.redis.smembers(this.lineKey(kind, line));
    const items = await Promise.all(ids.map((id) => this.get(id)));
    return items.filter((i): i is Interest => i !== undefined && i.verified);
  }

  /** Rewrites an interest's record (its recipients changed); the indexes stay as they are. */
  async update(interest: Interest): Promise<void> {
    await this.redis.set(this.key(interest.id), JSON.stringify(interest), 'XX');
  }

  /** Whether a code issued for the interest is still outstanding. */
  /** True at most once per `windowSec` for an interest: how often a code may be texted to its line. */
  async mayText(interest: Interest, windowSec: number): Promise<boolean> {
    return (await this.redis.set(`${this.key(interest.id)}:texted`, '1', 'EX', windowSec, 'NX')) === 'OK';
  }

  async hasCode(interest: Interest): Promise<boolean> {
    return (await this.redis.exists(`${this.key(interest.id)}:code`)) === 1;
  }

  async markVerified(interest: Interest, by: 'code' | 'operator'): Promise<Interest> {
    const next = { ...interest, verified: true, verifiedBy: by };
    await this.redis.set(this.key(interest.id), JSON.stringify(next), 'XX');
    await this.redis.del(`${this.key(interest.id)}:code`, `${this.key(interest.id)}:tries`);
    return next;
  }

  async remove(interest: Interest): Promise<void> {
    await this.redis.multi()
      .del(this.key(interest.id), `${this.key(interest.id)}:code`, `${this.key(interest.id)}:tries`)
      .srem(this.lineKey(interest.kind, interest.line), interest.id)
      .srem(this.ownerKey(interest.owner), interest.id)
      .exec();
  }

  /** A new six-digit code for the line's owner to prove it (the previous one stops working). */
  async issueCode(interest: Interest): Promise<string> {
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await this.redis.multi().set(`${this.key(interest.id)}:code`, hash(code), 'EX', CODE_TTL_SEC).del(`${this.key(interest.id)}:tries`).exec();
    return code;
  }

  /** Checks a code; after CODE_TRIES wrong ones the code is void. */
  async checkCode(interest: Interest, code: string): Promise<boolean> {
    const tries = await this.redis.incr(`${this.key(interest.id)}:tries`);
    await this.redis.expire(`${this.key(interest.id)}:tries`, CODE_TTL_SEC);
    const stored = await this.redis.get(`${this.key(interest.id)}:code`);
    if (stored === null || tries > CODE_TRIES || !/^[0-9]{6}$/.test(code)) return false;
    const a = Buffer.from(stored);
    const b = Buffer.from(hash(code));
    return a.length === b.length && timingSafeEqual(a, b);
  }
}
