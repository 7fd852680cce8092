import type { ChannelAddress } from '../channels/types.js';
import { CrosslineError } from '../errors.js';
import { Script, type RedisClient } from '../store/index.js';
import type { Person, PersonKind } from './types.js';

/**
 * One change of the directory, applied atomically by {@link APPLY}: the record is written (or
 * deleted) only if its revision is still the expected one, and only if every claim it makes is free
 * or already its own. Claims are the keys that make a value unique: a login name per owner and kind,
 * a verified address across owners.
 */
type Op =
  | { op: 'claim'; key: string; value: string; what: string }
  | { op: 'release'; key: string; value: string }
  | { op: 'sadd' | 'srem'; key: string; member: string }
  | { op: 'zadd' | 'zrem'; key: string; member: string }
  | { op: 'cap'; key: string; limit: number };

// KEYS[1]: the record; KEYS[2..]: one per op, in order. ARGV[1]: expected revision ('new' to create),
// ARGV[2]: the JSON to store ('' deletes), ARGV[3]: the new revision, ARGV[4]: the ops (cjson).
// Checks all run before any write, so a refused change writes nothing.
const APPLY_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'rev')
if ARGV[1] == 'new' then
  if current then return 'EXISTS' end
elseif current ~= ARGV[1] then
  return 'CONFLICT'
end
local ops = cjson.decode(ARGV[4])
for i, o in ipairs(ops) do
  local key = KEYS[i + 1]
  if o.op == 'claim' then
    local holder = redis.call('GET', key)
    if holder and holder ~= o.value then return 'TAKEN:' .. o.what end
  elseif o.op == 'cap' then
    if redis.call('ZCARD', key) >= tonumber(o.limit) then return 'FULL' end
  end
end
for i, o in ipairs(ops) do
  local key = KEYS[i + 1]
  if o.op == 'claim' then redis.call('SET', key, o.value)
  elseif o.op == 'release' then
    if redis.call('GET', key) == o.value then redis.call('DEL', key) end
  elseif o.op == 'sadd' then redis.call('SADD', key, o.member)
  elseif o.op == 'srem' then redis.call('SREM', key, o.member)
  elseif o.op == 'zadd' then redis.call('ZADD', key, 0, o.member)
  elseif o.op == 'zrem' then redis.call('ZREM', key, o.member)
  end
end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('HSET', KEYS[1], 'rev', ARGV[3], 'json', ARGV[2]) end
return 'OK'`;

const APPLY = new Script(APPLY_SCRIPT);

/** A change lost a race with another writer of the same record; the caller re-reads and retries. */
export class DirectoryConflict extends Error {
  constructor() {
    super('directory record changed concurrently');
    this.name = 'DirectoryConflict';
  }
}

const addressKey = (a: ChannelAddress): string => `${a.channel}:${a.address}`;
/** How a user is named in claims and address sets: `<owner>\n<userId>` (neither holds a newline). */
export const holder = (owner: string, id: string): string => `${owner}\n${id}`;

/** The owner and user a {@link holder} value names. */
export function parseHolder(value: string): { owner: string; userId: string } {
  const [owner = '', userId = ''] = value.split('\n');
  return { owner, userId };
}

/** Every address a record has, on its channel. */
export function addressesOf(person: Person): Array<{ address: ChannelAddress; verified: boolean }> {
  return [
    ...person.emails.map((e) => ({ address: { channel: 'email' as const, address: e.address }, verified: e.verifiedAt !== undefined })),
    ...person.jids.map((e) => ({ address: { channel: 'xmpp' as const, address: e.address }, verified: e.verifiedAt !== undefined })),
    ...person.phones.map((p) => ({ address: { channel: 'sms' as const, address: p.number }, verified: p.verifiedAt !== undefined })),
  ];
}

/**
 * Users and contacts in Redis. Layout (`<p>` = the directory prefix, see store/keys.ts):
 * - `<p>:dir:rec:<owner>:<kind>:<id>`          hash: `json` (the record), `rev`
 * - `<p>:dir:ids:<owner>:<kind>`               every id of that kind (sorted set, score 0; UUIDv7 ids sort by creation)
 * - `<p>:dir:login:<owner>:<kind>:<login>`     claim: the id holding that login name
 * - `<p>:dir:verified:<channel>:<address>`     claim: `<owner>\n<userId>` of the one user it is verified for
 * - `<p>:dir:known:<channel>:<address>`        set of `<owner>\n<userId>` of every user listing it (verified or not)
 * A record and all its claims and indexes change in one script.
 */
export class DirectoryStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly maxPerKind: number,
  ) {}

  private recordKey = (owner: string, kind: PersonKind, id: string): string => `${this.prefix}:dir:rec:${owner}:${kind}:${id}`;
  private idsKey = (owner: string, kind: PersonKind): string => `${this.prefix}:dir:ids:${owner}:${kind}`;
  private loginKey = (owner: string, kind: PersonKind, login: string): string => `${this.prefix}:dir:login:${owner}:${kind}:${login}`;
  private verifiedKey = (a: ChannelAddress): string => `${this.prefix}:dir:verified:${addressKey(a)}`;
  private knownKey = (a: ChannelAddress): string => `${this.prefix}:dir:known:${addressKey(a)}`;

  async get(owner: string, kind: PersonKind, id: string): Promise<Person | undefined> {
    const json = await this.redis.hget(this.recordKey(owner, kind, id), 'json');
    return json === null ? undefined : (JSON.parse(json) as Person);
  }

  async list(owner: string, kind: PersonKind, limit: number, cursor?: string): Promise<{ items: Person[]; nextCursor?: string }> {
    const ids = await this.redis.zrangebylex(this.idsKey(owner, kind), cursor === undefined ? '-' : `(${cursor}`, '+', 'LIMIT', 0, limit + 1);
    const page = ids.slice(0, limit);
    const items = await this.many(owner, kind, page);
    const last = page.at(-1);
    return { items, ...(ids.length > limit && last !== undefined ? { nextCursor: last } : {}) };
  }

  /** Every record of an owner of that kind. */
  async all(owner: string, kind: PersonKind): Promise<Person[]> {
    return this.many(owner, kind, await this.redis.zrange(this.idsKey(owner, kind), '0', '-1'));
  }

  private async many(owner: string, kind: PersonKind, ids: string[]): Promise<Person[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(this.recordKey(owner, kind, id), 'json');
    const replies = (await pipeline.exec()) ?? [];
    const out: Person[] = [];
    for (const [err, json] of replies) {
      if (err) throw new CrosslineError('STORE_UNAVAILABLE', undefined, [], { cause: err });
      if (typeof json === 'string') out.push(JSON.parse(json) as Person);
    }
    return out;
  }

  /** The one user an address is verified for. */
  async verifiedHolder(address: ChannelAddress): Promise<{ owner: string; userId: string } | undefined> {
    const value = await this.redis.get(this.verifiedKey(address));
    return value === null ? undefined : parseHolder(value);
  }

  /** Every user listing an address, verified or not. */
  async knownHolders(address: ChannelAddress): Promise<Array<{ owner: string; userId: string }>> {
    return (await this.redis.smembers(this.knownKey(address))).map(parseHolder);
  }

  /**
   * Writes `next` in place of `previous` (undefined: a new record; `next` undefined: delete), with
   * every claim and index the difference implies. Throws LOGIN_NAME_TAKEN, ADDRESS_TAKEN,
   * DIRECTORY_FULL, or {@link DirectoryConflict}.
   */
  async write(previous: Person | undefined, next: Person | undefined): Promise<void> {
    const any = next ?? previous;
    if (any === undefined) return;
    const { owner, kind, id } = any;
    const ops: Op[] = [];
    const me = holder(owner, id);
    if (previous === undefined) ops.push({ op: 'cap', key: this.idsKey(owner, kind), limit: this.maxPerKind });
    if (previous?.loginName !== undefined && previous.loginName !== next?.loginName) {
      ops.push({ op: 'release', key: this.loginKey(owner, kind, previous.loginName), value: id });
    }
    if (next?.loginName !== undefined) ops.push({ op: 'claim', key: this.loginKey(owner, kind, next.loginName), value: id, what: 'login' });
    if (kind === 'user') {
      const before = previous ? addressesOf(previous) : [];
      const after = next ? addressesOf(next) : [];
      const has = (list: typeof after, a: ChannelAddress, verified?: boolean): boolean =>
        list.some((x) => addressKey(x.address) === addressKey(a) && (verified === undefined || x.verified === verified));
      for (const b of before) {
        if (!has(after, b.address)) ops.push({ op: 'srem', key: this.knownKey(b.address), member: me });
        if (b.verified && !has(after, b.address, true)) ops.push({ op: 'release', key: this.verifiedKey(b.address), value: me });
      }
      for (const a of after) {
        ops.push({ op: 'sadd', key: this.knownKey(a.address), member: me });
        if (a.verified) ops.push({ op: 'claim', key: this.verifiedKey(a.address), value: me, what: 'address' });
      }
    }
    ops.push({ op: next ? 'zadd' : 'zrem', key: this.idsKey(owner, kind), member: id });
    const keys = [this.recordKey(owner, kind, id), ...ops.map((o) => o.key)];
    const result = await APPLY.run(this.redis, keys, [
      previous === undefined ? 'new' : String(previous.revision),
      next === undefined ? '' : JSON.stringify(next),
      String(next?.revision ?? 0),
      JSON.stringify(ops.map(({ key: _key, ...rest }) => rest)),
    ]);
    if (result === 'OK') return;
    if (result === 'CONFLICT' || result === 'EXISTS') throw new DirectoryConflict();
    if (result === 'FULL') throw new CrosslineError('DIRECTORY_FULL', `An API key may have at most ${this.maxPerKind} ${kind}s.`);
    if (result === 'TAKEN:login') {
      throw new CrosslineError('LOGIN_NAME_TAKEN', undefined, [{ path: '/loginName', message: `another ${kind} has the login name ${next?.loginName ?? ''}` }]);
    }
    if (result === 'TAKEN:address') throw new CrosslineError('ADDRESS_TAKEN');
    throw new CrosslineError('INTERNAL', `unexpected directory script reply ${String(result)}`);
  }
}
