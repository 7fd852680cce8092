import type { Redis } from 'ioredis';
import { limitedDestinations } from '../callbacks/limits.js';
import { FINAL_STATUSES, type Callback, type CallbackStatus } from '../callbacks/types.js';
import { CrosslineError } from '../errors.js';
import { activeSlotKey } from './intake-limits.js';

/** A save lost a race: someone saved a newer revision since this copy was read. Re-read and retry. */
export class RevisionConflictError extends CrosslineError {
  constructor(id: string) {
    super('STORE_UNAVAILABLE', `callback ${id} was changed concurrently`);
    this.name = 'RevisionConflictError';
  }
}

// Compare-and-set of the record plus the move between status indexes, atomically. A final
// status also frees the callback's in-progress slots (KEYS[4..]) in the same step.
const SAVE_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'rev')
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'json', ARGV[3])
if KEYS[2] ~= KEYS[3] then
  redis.call('ZREM', KEYS[2], ARGV[4])
  redis.call('ZADD', KEYS[3], 0, ARGV[4])
end
for i = 4, #KEYS do redis.call('ZREM', KEYS[i], ARGV[4]) end
return 1`;

const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[1], 'json', ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[3])
redis.call('ZADD', KEYS[3], 0, ARGV[3])
return 1`;

/**
 * Callbacks in Redis. Layout (prefix `crossline` by default):
 * - `<p>:callback:<id>`            hash: `json` (the callback), `rev` (its revision)
 * - `<p>:index:<owner>`            every id of an owner (sorted set, score 0; ids are UUIDv7, so lexical = creation order)
 * - `<p>:index:<owner>:<status>`   the same, per current status
 * - `<p>:active:<destination>`    in-progress slots (see intake-limits.ts), freed here on a final status
 * A record and its indexes change in one script, so a list never shows a status the record lacks.
 */
export class CallbackRepository {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  private recordKey = (id: string): string => `${this.prefix}:callback:${id}`;
  private ownerIndex = (owner: string): string => `${this.prefix}:index:${owner}`;
  private statusIndex = (owner: string, status: CallbackStatus): string => `${this.prefix}:index:${owner}:${status}`;
  /** Every slot the callback may hold (freeing one it does not hold is a no-op). */
  private slotKeys = (callback: Callback): string[] => limitedDestinations(callback.request).map((d) => activeSlotKey(this.prefix, d.key));

  async create(callback: Callback): Promise<void> {
    const created = await this.redis.eval(
      CREATE_SCRIPT,
      3,
      this.recordKey(callback.id),
      this.ownerIndex(callback.owner),
      this.statusIndex(callback.owner, callback.status),
      String(callback.revision),
      JSON.stringify(callback),
      callback.id,
    );
    if (created !== 1) throw new CrosslineError('INTERNAL', `callback ${callback.id} already exists`);
  }

  async get(id: string): Promise<Callback | undefined> {
    const json = await this.redis.hget(this.recordKey(id), 'json');
    return json === null ? undefined : (JSON.parse(json) as Callback);
  }

  /**
   * Stores `callback` if the stored revision is still the one it was read at, and bumps the
   * revision. `previousStatus` is the status it was read with. Throws {@link RevisionConflictError}.
   */
  async save(callback: Callback, previousStatus: CallbackStatus): Promise<void> {
    const expected = callback.revision;
    const next = { ...callback, revision: expected + 1 };
    const slots = FINAL_STATUSES.includes(callback.status) ? this.slotKeys(callback) : [];
    const ok = await this.redis.eval(
      SAVE_SCRIPT,
      3 + slots.length,
      this.recordKey(callback.id),
      this.statusIndex(callback.owner, previousStatus),
      this.statusIndex(callback.owner, callback.status),
      ...slots,
      String(expected),
      String(expected + 1),
      JSON.stringify(next),
      callback.id,
    );
    if (ok !== 1) throw new RevisionConflictError(callback.id);
    callback.revision = expected + 1;
  }

  /** Removes a callback that was never accepted (its job could not be queued). */
  async discard(callback: Callback): Promise<void> {
    const multi = this.redis
      .multi()
      .del(this.recordKey(callback.id))
      .zrem(this.ownerIndex(callback.owner), callback.id)
      .zrem(this.statusIndex(callback.owner, callback.status), callback.id);
    for (const key of this.slotKeys(callback)) multi.zrem(key, callback.id);
    await multi.exec();
  }

  /** How many of an owner's callbacks are in `status` now. */
  countByStatus(owner: string, status: CallbackStatus): Promise<number> {
    return this.redis.zcard(this.statusIndex(owner, status));
  }

  /** Newest first; `cursor` is the last id of the previous page. */
  async list(owner: string, options: { status?: CallbackStatus; limit: number; cursor?: string }): Promise<{ items: Callback[]; nextCursor?: string }> {
    const key = options.status === undefined ? this.ownerIndex(owner) : this.statusIndex(owner, options.status);
    const max = options.cursor === undefined ? '+' : `(${options.cursor}`;
    const ids = await this.redis.zrevrangebylex(key, max, '-', 'LIMIT', 0, options.limit + 1);
    const pageIds = ids.slice(0, options.limit);
    const records = await Promise.all(pageIds.map((id) => this.get(id)));
    const items = records.filter((r): r is Callback => r !== undefined);
    const last = pageIds[pageIds.length - 1];
    return ids.length > options.limit && last !== undefined ? { items, nextCursor: last } : { items };
  }
}
