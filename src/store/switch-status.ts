import type { RedisClient } from './redis.js';
import type { TelephonyStatus } from '../telephony/types.js';

/** What a worker sees of one switch of its pool. */
export interface PostedSwitch {
  id: string;
  status: TelephonyStatus;
  /** Sessions up, as the switch last reported; undefined before its first report. */
  sessions?: number;
  /** Room left in the switch's originate budget; undefined when unknown. */
  freeSessions?: number;
}

interface Posted {
  status: TelephonyStatus;
  switches?: PostedSwitch[];
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

  async post(worker: string, status: TelephonyStatus, switches?: PostedSwitch[]): Promise<void> {
    const posted: Posted = { status, postedAt: Date.now(), ...(switches ? { switches } : {}) };
    await this.redis.hset(this.key, worker, JSON.stringify(posted));
  }

  async remove(worker: string): Promise<void> {
    await this.redis.hdel(this.key, worker);
  }

  private async live(): Promise<Posted[]> {
    const entries = Object.values(await this.redis.hgetall(this.key)).map((v) => JSON.parse(v) as Posted);
    return entries.filter((e) => Date.now() - e.postedAt < this.staleAfterMs);
  }

  /**
   * Each switch as the live workers see it: connected when one of them is connected to it; the
   * highest session count and the least room any of them reports.
   */
  async readSwitches(): Promise<PostedSwitch[]> {
    const byId = new Map<string, PostedSwitch>();
    for (const posted of await this.live()) {
      for (const s of posted.switches ?? []) {
        const seen = byId.get(s.id);
        if (!seen) {
          byId.set(s.id, { ...s });
          continue;
        }
        if (!seen.status.connected && s.status.connected) seen.status = s.status;
        if (s.sessions !== undefined) seen.sessions = Math.max(seen.sessions ?? 0, s.sessions);
        if (s.freeSessions !== undefined) seen.freeSessions = Math.min(seen.freeSessions ?? Infinity, s.freeSessions);
      }
    }
    return [...byId.values()];
  }

  /** Connected when at least one live worker reports a connected switch. */
  async read(): Promise<TelephonyStatus> {
    const live = (await this.live()).map((e) => e.status);
    const connected = live.find((s) => s.connected);
    if (connected) return connected;
    return live[0] ?? { connected: false, since: new Date(0).toISOString(), lastError: 'no live worker reports a switch connection' };
  }
}
