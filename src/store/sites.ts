import type { Site } from '../intake/widget/sites.js';
import type { RedisClient } from './redis.js';

/**
 * Sites in Redis, shared by every API process:
 * - `<p>:site:<id>`         the site (JSON)
 * - `<p>:sites:<owner>`     the ids of an owner's sites (set)
 * - `<p>:sitekey:<key>`     public key → id
 * On a Redis Cluster `<p>` is `{<prefix>:sites}`, so a site and its indexes change in one MULTI.
 */
export class SiteStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private siteKey = (id: string): string => `${this.prefix}:site:${id}`;
  private ownerKey = (owner: string): string => `${this.prefix}:sites:${owner}`;
  private publicKeyKey = (key: string): string => `${this.prefix}:sitekey:${key}`;

  async create(site: Site): Promise<void> {
    await this.redis
      .multi()
      .set(this.siteKey(site.id), JSON.stringify(site))
      .sadd(this.ownerKey(site.owner), site.id)
      .set(this.publicKeyKey(site.publicKey), site.id)
      .exec();
  }

  /** Replaces a stored site; a changed public key moves its index entry. */
  async save(site: Site, previousPublicKey: string): Promise<void> {
    const tx = this.redis.multi().set(this.siteKey(site.id), JSON.stringify(site));
    if (previousPublicKey !== site.publicKey) tx.del(this.publicKeyKey(previousPublicKey)).set(this.publicKeyKey(site.publicKey), site.id);
    await tx.exec();
  }

  async remove(site: Site): Promise<void> {
    await this.redis.multi().del(this.siteKey(site.id)).srem(this.ownerKey(site.owner), site.id).del(this.publicKeyKey(site.publicKey)).exec();
  }

  async get(id: string): Promise<Site | undefined> {
    const raw = await this.redis.get(this.siteKey(id));
    return raw === null ? undefined : (JSON.parse(raw) as Site);
  }

  async byPublicKey(key: string): Promise<Site | undefined> {
    const id = await this.redis.get(this.publicKeyKey(key));
    return id === null ? undefined : this.get(id);
  }

  async list(owner: string): Promise<Site[]> {
    const ids = (await this.redis.smembers(this.ownerKey(owner))).sort();
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(...ids.map(this.siteKey));
    return raws.flatMap((raw) => (raw === null ? [] : [JSON.parse(raw) as Site]));
  }
}
