import { createHash } from 'node:crypto';
import type { RedisClient } from './redis.js';
import { limitedDestinations } from '../callbacks/limits.js';
import { RevisionConflictError, type CallbackRepository as CallbackRepositoryPort } from '../callbacks/ports.js';
import { FINAL_STATUSES, type Callback, type CallbackStatus } from '../callbacks/types.js';
import { CrosslineError } from '../errors.js';
import { activeSlotKey } from './intake-limits.js';

export { RevisionConflictError };

// Index entries of expired records to look at per final save (see SAVE_SCRIPT).
const PRUNE_ON_SAVE = 2;

// Compare-and-set of the record plus the move between status indexes, atomically. A final
// status (ARGV[5] = retention in seconds, else '0') also starts the record's retention, frees its
// in-progress slots (KEYS[5..]) and prunes a few index entries of records already expired, oldest
// first, from the owner index (KEYS[4]) and the status index it joins: that keeps the indexes of an
// owner who never lists from growing for ever. ARGV[6] is the record key prefix.
const SAVE_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'rev')
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'json', ARGV[3])
if KEYS[2] ~= KEYS[3] then
  redis.call('ZREM', KEYS[2], ARGV[4])
  redis.call('ZADD', KEYS[3], 0, ARGV[4])
end
if ARGV[5] ~= '0' then
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  for i = 5, #KEYS do redis.call('ZREM', KEYS[i], ARGV[4]) end
  for _, index in ipairs({KEYS[4], KEYS[3]}) do
    for _, id in ipairs(redis.call('ZRANGE', index, 0, ${PRUNE_ON_SAVE - 1})) do
      if redis.call('EXISTS', ARGV[6] .. id) == 0 then redis.call('ZREM', index, id) end
    end
  end
end
return 1`;

const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[1], 'json', ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[3])
redis.call('ZADD', KEYS[3], 0, ARGV[3])
return 1`;

/** A Lua script sent by its SHA1 (EVALSHA), and in full only to a Redis that does not know it yet. */
export class Script {
  readonly #sha: string;
  constructor(readonly lua: string) {
    this.#sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: RedisClient, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

const SAVE = new Script(SAVE_SCRIPT);
const CREATE = new Script(CREATE_SCRIPT);

/**
 * Callbacks in Redis. Layout (prefix `crossline` by default):
 * - `<p>:callback:<id>`            hash: `json` (the callback), `rev` (its revision)
 * - `<p>:index:<owner>`            every id of an owner (sorted set, score 0; ids are UUIDv7, so lexical = creation order)
 * - `<p>:index:<owner>:<status>`   the same, per current status
 * - `<p>:active:<destination>`    in-progress slots (see intake-limits.ts), freed here on a final status
 * A record and its indexes change in one script, so a list never shows a status the record lacks.
 * A record in a final status expires after the retention; index entries left behind by expired
 * records are skipped and pruned by {@link list}, and a few at each final save.
 */
export interface CallbackRepositoryOptions {
  /** How long a callback is kept once it reached a final status, s. @defaultValue 30 days */
  retentionSec?: number;
}

const DEFAULT_RETENTION_SEC = 30 * 86_400;

export class CallbackRepository implements CallbackRepositoryPort {
  private readonly retentionSec: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: CallbackRepositoryOptions = {},
  ) {
    this.retentionSec = options.retentionSec ?? DEFAULT_RETENTION_SEC;
  }

  private recordKey = (id: string): string => `${this.prefix}:callback:${id}`;
  private ownerIndex = (owner: string): string => `${this.prefix}:index:${owner}`;
  private statusIndex = (owner: string, status: CallbackStatus): string => `${this.prefix}:index:${owner}:${status}`;
  /** Every slot the callback may hold (freeing one it does not hold is a no-op). */
  private slotKeys = (callback: Callback): string[] => limitedDestinations(callback.request).map((d) => activeSlotKey(this.prefix, d.key));

  async create(callback: Callback): Promise<void> {
    const created = await CREATE.run(
      this.redis,
      [this.recordKey(callback.id), this.ownerIndex(callback.owner), this.statusIndex(callback.owner, callback.status)],
      [String(callback.revision), JSON.stringify(callback), callback.id],
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
    const final = FINAL_STATUSES.includes(callback.status);
    const slots = final ? this.slotKeys(callback) : [];
    const ok = await SAVE.run(
      this.redis,
      [
        this.recordKey(callback.id),
        this.statusIndex(callback.owner, previousStatus),
        this.statusIndex(callback.owner, callback.status),
        this.ownerIndex(callback.owner),
        ...slots,
      ],
      [String(expected), String(expected + 1), JSON.stringify(next), callback.id, final ? String(this.retentionSec) : '0', this.recordKey('')],
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

  /**
   * Newest first; `cursor` is the last id of the previous page. Index entries whose record has
   * expired are skipped (and pruned), and more are read until the page is full or the index ends,
   * so a page holds `limit` items whenever that many more exist.
   */
  async list(owner: string, options: { status?: CallbackStatus; limit: number; cursor?: string }): Promise<{ items: Callback[]; nextCursor?: string }> {
    const key = options.status === undefined ? this.ownerIndex(owner) : this.statusIndex(owner, options.status);
    let max = options.cursor === undefined ? '+' : `(${options.cursor}`;
    const found: Callback[] = [];
    // one more than the page, to know whether a next page exists
    while (found.length <= options.limit) {
      const want = options.limit + 1 - found.length;
      const ids = await this.redis.zrevrangebylex(key, max, '-', 'LIMIT', 0, want);
      const records = await this.getMany(ids);
      const expired = ids.filter((_, i) => records[i] === undefined);
      if (expired.length > 0) await this.prune(owner, expired);
      for (const record of records) if (record !== undefined) found.push(record);
      const last = ids[ids.length - 1];
      if (last === undefined || ids.length < want) break;
      max = `(${last}`;
    }
    const items = found.slice(0, options.limit);
    const last = items[items.length - 1];
    return found.length > options.limit && last !== undefined ? { items, nextCursor: last.id } : { items };
  }

  private async getMany(ids: readonly string[]): Promise<Array<Callback | undefined>> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(this.recordKey(id), 'json');
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, json]) => {
      if (err) throw err;
      return typeof json === 'string' ? (JSON.parse(json) as Callback) : undefined;
    });
  }

  /** Drops the index entries of expired records: only final records expire, and their status went with them. */
  private async prune(owner: string, ids: readonly string[]): Promise<void> {
    const pipeline = this.redis.pipeline().zrem(this.ownerIndex(owner), ...ids);
    for (const status of FINAL_STATUSES) pipeline.zrem(this.statusIndex(owner, status), ...ids);
    await pipeline.exec();
  }
}
