import type { LegFacts, LegFactsRepository } from '../callbacks/ports.js';
import { CrosslineError } from '../errors.js';
import type { RedisClient } from './redis.js';

export interface LegFactsStoreOptions {
  /** How long a leg's facts are kept, s: as long as the callback they belong to. @defaultValue 30 days */
  retentionSec?: number;
  /**
   * On a Redis Cluster, the key carries the leg UUID as its hash tag (`<prefix>:leg:{<uuid>}`), so
   * any key added per leg later lands in the same slot. On one node the name is untagged, as
   * store/keys.ts keeps every name there. @defaultValue whether `redis` is a Cluster client
   */
  cluster?: boolean;
}

const DEFAULT_RETENTION_SEC = 30 * 86_400;

/**
 * Leg facts in Redis: one string per leg, `<prefix>:leg:<uuid>` (the JSON of {@link LegFacts}),
 * written once with `SET NX EX`: the first CDR of a leg wins and a retry of it changes nothing.
 * `prefix` is KEY_PREFIX, the spread prefix of store/keys.ts (a key touched alone).
 */
export class LegFactsStore implements LegFactsRepository {
  private readonly retentionSec: number;
  private readonly cluster: boolean;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: LegFactsStoreOptions = {},
  ) {
    this.retentionSec = options.retentionSec ?? DEFAULT_RETENTION_SEC;
    this.cluster = options.cluster ?? redis.isCluster;
  }

  /** The key of one leg's facts. */
  key(uuid: string): string {
    return this.cluster ? `${this.prefix}:leg:{${uuid}}` : `${this.prefix}:leg:${uuid}`;
  }

  async record(facts: LegFacts): Promise<'stored' | 'duplicate'> {
    let reply: string | null;
    try {
      reply = await this.redis.set(this.key(facts.uuid), JSON.stringify(facts), 'EX', this.retentionSec, 'NX');
    } catch (err) {
      throw new CrosslineError('STORE_UNAVAILABLE', undefined, [], { cause: err });
    }
    return reply === 'OK' ? 'stored' : 'duplicate';
  }

  async get(uuid: string): Promise<LegFacts | undefined> {
    let text: string | null;
    try {
      text = await this.redis.get(this.key(uuid));
    } catch (err) {
      throw new CrosslineError('STORE_UNAVAILABLE', undefined, [], { cause: err });
    }
    return text === null ? undefined : (JSON.parse(text) as LegFacts);
  }
}
