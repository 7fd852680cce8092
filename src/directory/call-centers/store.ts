import { callCenterNotFound, type CallCenter, type QueueSource } from '../../callbacks/call-center.js';
import type { CallCenterDirectory } from '../../callbacks/ports.js';
import { CrosslineError } from '../../errors.js';
import type { RedisClient } from '../../store/index.js';

/** Most call centers one owner may keep. */
export const MAX_CALL_CENTERS = 500;

/**
 * One Redis hash per owner holds all of its centers: `c:<name>` → the entry (JSON), `n:<slug>` →
 * the name a name or alias stands for, `#` → how many centers. One key, so every change is one
 * script on one slot (Redis Cluster safe) and names and aliases stay unique under concurrency.
 */
const PUT = `
local mode, name, record, max = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local current = redis.call('HGET', KEYS[1], 'c:' .. name)
if mode == 'create' and current then return {'exists', name} end
if mode == 'replace' and not current then return {'missing', name} end
for i = 5, #ARGV do
  local owner = redis.call('HGET', KEYS[1], 'n:' .. ARGV[i])
  if owner and owner ~= name then return {'exists', ARGV[i]} end
end
if mode == 'create' then
  if tonumber(redis.call('HGET', KEYS[1], '#') or '0') >= max then return {'full', name} end
  redis.call('HINCRBY', KEYS[1], '#', 1)
else
  local old = cjson.decode(current)
  for _, alias in ipairs(old.aliases) do redis.call('HDEL', KEYS[1], 'n:' .. alias) end
end
redis.call('HSET', KEYS[1], 'c:' .. name, record)
for i = 5, #ARGV do redis.call('HSET', KEYS[1], 'n:' .. ARGV[i], name) end
return {'ok', name}
`;

const DELETE = `
local current = redis.call('HGET', KEYS[1], 'c:' .. ARGV[1])
if not current then return 0 end
local old = cjson.decode(current)
redis.call('HDEL', KEYS[1], 'c:' .. ARGV[1], 'n:' .. ARGV[1])
for _, alias in ipairs(old.aliases) do redis.call('HDEL', KEYS[1], 'n:' .. alias) end
if redis.call('HINCRBY', KEYS[1], '#', -1) <= 0 then redis.call('DEL', KEYS[1]) end
return 1
`;

const FIND = `
local name = redis.call('HGET', KEYS[1], 'n:' .. ARGV[1])
if not name then return false end
return redis.call('HGET', KEYS[1], 'c:' .. name)
`;

/** The call-center directory, per owner, over Redis. */
export class CallCenterStore implements CallCenterDirectory {
  constructor(private readonly redis: RedisClient, private readonly prefix: string) {}

  private key(owner: string): string {
    return `${this.prefix}:call-centers:${owner}`;
  }

  async find(owner: string, nameOrAlias: string): Promise<CallCenter | undefined> {
    const json = (await this.redis.eval(FIND, 1, this.key(owner), nameOrAlias.toLowerCase())) as string | null;
    return json ? (JSON.parse(json) as CallCenter) : undefined;
  }

  /** Only by its name (not an alias): what the REST paths address. */
  async get(owner: string, name: string): Promise<CallCenter | undefined> {
    const json = await this.redis.hget(this.key(owner), `c:${name}`);
    return json ? (JSON.parse(json) as CallCenter) : undefined;
  }

  async list(owner: string): Promise<CallCenter[]> {
    const all = await this.redis.hgetall(this.key(owner));
    return Object.entries(all)
      .filter(([field]) => field.startsWith('c:'))
      .map(([, json]) => JSON.parse(json) as CallCenter)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The center's queue source (the queues capability reads the queue it names). Throws CALL_CENTER_NOT_FOUND with the known names. */
  async queueSourceOf(owner: string, nameOrAlias: string): Promise<QueueSource> {
    const center = await this.find(owner, nameOrAlias);
    if (!center) throw callCenterNotFound(nameOrAlias, await this.names(owner));
    return center.queue;
  }

  async names(owner: string): Promise<string[]> {
    return (await this.list(owner)).map((c) => c.name);
  }

  /** Stores a new center. Throws CALL_CENTER_EXISTS (a name or alias taken) or TOO_MANY_CALL_CENTERS. */
  create(owner: string, center: CallCenter): Promise<void> {
    return this.put('create', owner, center);
  }

  /** Replaces a center. Throws CALL_CENTER_NOT_FOUND or CALL_CENTER_EXISTS (an alias taken by another). */
  replace(owner: string, center: CallCenter): Promise<void> {
    return this.put('replace', owner, center);
  }

  async delete(owner: string, name: string): Promise<boolean> {
    return (await this.redis.eval(DELETE, 1, this.key(owner), name)) === 1;
  }

  private async put(mode: 'create' | 'replace', owner: string, center: CallCenter): Promise<void> {
    const slugs = [center.name, ...center.aliases];
    const [outcome, which] = (await this.redis.eval(PUT, 1, this.key(owner), mode, center.name, JSON.stringify(center), String(MAX_CALL_CENTERS), ...slugs)) as [string, string];
    if (outcome === 'ok') return;
    if (outcome === 'missing') throw new CrosslineError('CALL_CENTER_NOT_FOUND', `No call center ${which}.`);
    if (outcome === 'full') throw new CrosslineError('TOO_MANY_CALL_CENTERS', undefined, [{ path: '/name', message: `at most ${MAX_CALL_CENTERS} call centers per API key` }]);
    const path = which === center.name ? '/name' : `/aliases/${center.aliases.indexOf(which)}`;
    throw new CrosslineError('CALL_CENTER_EXISTS', `"${which}" already names a call center.`, [{ path, message: `"${which}" is taken` }]);
  }
}
