import type { RedisClient } from './redis.js';
import type { TelephonyStatus } from '../telephony/types.js';

interface Posted {
  status: TelephonyStatus;
  postedAt: number;
}

/**
 * Workers own the switch connection; an API-only process has none. Each worker posts its switch
 * status to one hash every few seconds; the API's /readyz reads it and ignores stale entries
 * (a worker that died stops posting).
 */
export class SwitchStatusBoard {
  constructor(private readonly redis: RedisClient, private readonly prefix: string, private readonly staleAfterMs = 15_000) {}

  private get key(): string {
    return `${this.prefix}:switch-status`;
  }

  async post(worker: string, status: TelephonyStatus): Promise<void> {
    const posted: Posted = { status, postedAt: Date.now() };
    await this.redis.hset(this.key, worker, JSON.stringify(posted));
  }

  async remove(worker: string): Promise<void> {
    await this.redis.hdel(this.key, worker);
  }

  /** Connected when at least one live worker reports a connected switch. */
  async read(): Promise<TelephonyStatus> {
    const entries = Object.values(await this.redis.hgetall(this.key)).map((v) => JSON.parse(v) as Posted);
    const live = entries.filter((e) => Date.now() - e.postedAt < this.staleAfterMs).map((e) => e.status);
    const connected = live.find((s) => s.connected);
    if (connected) return connected;
    return live[0] ?? { connected: false, since: new Date(0).toISOString(), lastError: 'no live worker reports a switch connection' };
  }
}
