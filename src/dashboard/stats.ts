import type { components } from '../api/contract.gen.js';
import type { CallbackService } from '../callbacks/ports.js';
import type { Callback, CallbackStatus } from '../callbacks/types.js';

const HOUR_MS = 3_600_000;

/** One hour of outcome figures, as `GET /v1/admin/stats` gives it (the contract's CallbackStats). */
export type StatsBucket = components['schemas']['CallbackStats']['buckets'][number];

/**
 * Reads callbacks of every owner through the CallbackService (the same domain the REST API uses),
 * newest first, for the operator's views.
 */
export class OperatorView {
  constructor(
    private readonly callbacks: CallbackService,
    private readonly owners: () => readonly string[],
  ) {}

  /** The newest `limit` callbacks of `owners` (or all), merged newest first. */
  async recent(options: { status?: CallbackStatus; owner?: string; limit: number }): Promise<Callback[]> {
    const owners = options.owner !== undefined ? this.owners().filter((o) => o === options.owner) : this.owners();
    const pages = await Promise.all(owners.map((owner) => this.callbacks.list({ limit: options.limit, ...(options.status ? { status: options.status } : {}) }, owner)));
    return pages
      .flatMap((p) => p.items)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : b.id.localeCompare(a.id)))
      .slice(0, options.limit);
  }

  /** Every callback created since `sinceMs`, at most `cap` per owner. */
  async since(sinceMs: number, cap = 2000): Promise<Callback[]> {
    const out: Callback[] = [];
    for (const owner of this.owners()) {
      let cursor: string | undefined;
      let read = 0;
      do {
        const page = await this.callbacks.list({ limit: 100, ...(cursor ? { cursor } : {}) }, owner);
        read += page.items.length;
        const recent = page.items.filter((c) => Date.parse(c.createdAt) >= sinceMs);
        out.push(...recent);
        cursor = recent.length === page.items.length ? page.nextCursor : undefined;
      } while (cursor !== undefined && read < cap);
    }
    return out;
  }

  /** Outcomes per hour of creation over the last `hours` hours, oldest first. */
  async stats(hours: number, now = Date.now()): Promise<StatsBucket[]> {
    const last = Math.floor(now / HOUR_MS);
    const first = last - hours + 1;
    const buckets: StatsBucket[] = Array.from({ length: hours }, (_, i) => ({
      hour: new Date((first + i) * HOUR_MS).toISOString(),
      created: 0,
      completed: 0,
      failed: 0,
      canceled: 0,
      retries: 0,
      failedByCause: {},
    }));
    const connect: number[][] = buckets.map(() => []);
    for (const callback of await this.since(first * HOUR_MS)) {
      const index = Math.floor(Date.parse(callback.createdAt) / HOUR_MS) - first;
      const bucket = buckets[index];
      if (!bucket) continue;
      bucket.created++;
      bucket.retries += Math.max(0, callback.attempts.length - 1);
      if (callback.status === 'completed') bucket.completed++;
      if (callback.status === 'canceled') bucket.canceled++;
      if (callback.status === 'failed') {
        bucket.failed++;
        const cause = callback.failureCause ?? 'UNKNOWN';
        bucket.failedByCause[cause] = (bucket.failedByCause[cause] ?? 0) + 1;
      }
      const bridged = callback.timeline.find((e) => e.event === 'bridged');
      if (bridged) connect[index]?.push((Date.parse(bridged.at) - Date.parse(callback.createdAt)) / 1000);
    }
    buckets.forEach((bucket, i) => {
      const times = connect[i] ?? [];
      if (times.length > 0) bucket.meanSecondsToConnect = Math.round((times.reduce((s, n) => s + n, 0) / times.length) * 10) / 10;
    });
    return buckets;
  }
}
