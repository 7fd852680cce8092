import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** What every store, limiter and queue of Crossline talks to: one Redis node, or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * One ioredis connection. `maxRetriesPerRequest: null` is what BullMQ requires of its connections
 * and suits ours too: a command waits for Redis to come back instead of failing mid-callback.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...options });
}

/** A `REDIS_URL` naming a cluster: `redis+cluster://` (or `rediss+cluster://` for TLS). */
export const isClusterUrl = (url: string): boolean => /^rediss?\+cluster:\/\//.test(url);

export interface ClusterTarget {
  /** The seed nodes: ioredis learns the others (and the slot map) from the first that answers. */
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
  tls: boolean;
}

/**
 * `redis+cluster://[user:password@]host:port,host:port` into its seed nodes and credentials, which
 * every node of the cluster shares. Throws on anything else (the config checks the form at boot).
 */
export function parseClusterUrl(url: string): ClusterTarget {
  const match = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^@/]+)\/?$/.exec(url);
  if (!match) throw new Error('not a redis+cluster://[user:password@]host:port,host:port URL');
  const [, scheme = '', credentials, hosts = ''] = match;
  const nodes = hosts.split(',').map((entry) => {
    const node = /^([A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(entry.trim());
    if (!node) throw new Error(`"${entry}" is not host:port`);
    return { host: node[1] ?? '', port: Number(node[2]) };
  });
  const colon = credentials?.indexOf(':') ?? -1;
  const username = credentials === undefined ? '' : decodeURIComponent(colon < 0 ? credentials : credentials.slice(0, colon));
  const password = credentials === undefined || colon < 0 ? '' : decodeURIComponent(credentials.slice(colon + 1));
  return { nodes, ...(username ? { username } : {}), ...(password ? { password } : {}), tls: scheme === 'rediss' };
}

/**
 * A connection to what `url` names: {@link createRedis} for one node, an ioredis `Cluster` for a
 * `redis+cluster://` URL, with the same options on each node connection.
 */
export function createRedisClient(url: string): RedisClient {
  if (!isClusterUrl(url)) return createRedis(url);
  const { nodes, username, password, tls } = parseClusterUrl(url);
  return new Cluster(nodes, {
    enableReadyCheck: true,
    lazyConnect: false,
    redisOptions: {
      maxRetriesPerRequest: null,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(tls ? { tls: {} } : {}),
    },
  });
}

/** Another connection to the same node or cluster (a subscriber needs one of its own). */
export const duplicateClient = (client: RedisClient): RedisClient => (client instanceof Cluster ? client.duplicate() : client.duplicate());

/** Where the client points, for messages: `host:port` of a node, or the cluster's masters known so far. */
export function describeClient(client: RedisClient): string {
  if (client instanceof Cluster) return `the Redis Cluster (${client.nodes('master').map((n) => `${n.options.host ?? ''}:${n.options.port ?? ''}`).join(',') || 'no node reached'})`;
  return `Redis at ${client.options.host ?? ''}:${client.options.port ?? ''}`;
}

export type { Cluster, Redis } from 'ioredis';
