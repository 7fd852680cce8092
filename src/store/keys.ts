/**
 * Which keys share a Redis Cluster slot. A key whose name holds `{tag}` is placed by the tag
 * alone, so keys that one script or transaction touches together carry the same tag; a key always
 * touched alone needs none and spreads over the cluster by its whole name.
 *
 * On one Redis node nothing is tagged: the names stay as they have always been (`<prefix>:…`), so
 * an existing deployment keeps its data and its queued jobs.
 */
export interface KeyPrefixes {
  /**
   * Keys used one at a time: cancel flags, idempotency keys, rate-limit counters, the switch status
   * board. Spread over the cluster. `<prefix>`
   */
  readonly spread: string;
  /**
   * Callback records, their owner and status indexes, and the in-progress slots of destinations:
   * one script saves a record, moves it between indexes and frees the slots of both its
   * destinations (slots shared by every API key), so they all live in one slot. `{<prefix>}` on a cluster.
   */
  readonly callbacks: string;
  /**
   * The people directory (users, contacts, their login and verified-address claims, verification
   * codes): one script changes a record and every claim and index it holds, so they share a slot.
   * `{<prefix>:dir}` on a cluster.
   */
  readonly directory: string;
  /** The BullMQ prefix of queue `name`: each queue in a slot of its own. `{<prefix>:<name>}` on a cluster. */
  queue(name: string): string;
}

export function keyPrefixes(prefix: string, cluster: boolean): KeyPrefixes {
  if (!cluster) return { spread: prefix, callbacks: prefix, directory: prefix, queue: () => prefix };
  return { spread: prefix, callbacks: `{${prefix}}`, directory: `{${prefix}:dir}`, queue: (name) => `{${prefix}:${name}}` };
}
