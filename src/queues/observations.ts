/**
 * What Crossline observed of each queue, kept in Redis so that every process (API and workers)
 * shares it: recent handle times and recent waits (each with the model's figure at join), capped
 * lists per queue, and the join record of each member until it is answered or leaves.
 *
 * Every worker's ESL connection hears the same callcenter::info event; each fact is recorded once,
 * by whichever process claims it first (SET NX on the member and the action).
 */
import type { RedisClient } from '../store/index.js';
import type { QueueHistory, WaitSample } from './ewt.js';

/** Observations kept per queue (newest first). */
export const HISTORY_LENGTH = 50;
/** How long a join record or a claim is kept: longer than any wait in a queue. */
const RECORD_TTL_SEC = 12 * 3600;
/** How long a queue's history outlives its last observation. */
const HISTORY_TTL_SEC = 7 * 24 * 3600;

export interface JoinRecord {
  /** ms since the epoch. */
  at: number;
  /** The model's figure for this member when it joined, s. */
  modelSeconds: number;
}

export class QueueObservations {
  constructor(private readonly redis: RedisClient, private readonly prefix: string) {}

  private key(queue: string, what: string): string {
    return `${this.prefix}queue:${what}:${queue}`;
  }

  /** True for the first process to claim `fact` of a member; false for every later one. */
  async claim(queue: string, memberUuid: string, fact: string): Promise<boolean> {
    const done = await this.redis.set(`${this.key(queue, 'seen')}:${memberUuid}:${fact}`, '1', 'EX', RECORD_TTL_SEC, 'NX');
    return done === 'OK';
  }

  async joined(queue: string, memberUuid: string, record: JoinRecord): Promise<void> {
    await this.redis.set(`${this.key(queue, 'join')}:${memberUuid}`, JSON.stringify(record), 'EX', RECORD_TTL_SEC);
  }

  async joinOf(queue: string, memberUuid: string): Promise<JoinRecord | undefined> {
    const raw = await this.redis.get(`${this.key(queue, 'join')}:${memberUuid}`);
    if (raw === null) return undefined;
    try {
      const parsed = JSON.parse(raw) as Partial<JoinRecord>;
      return typeof parsed.at === 'number' && typeof parsed.modelSeconds === 'number' ? { at: parsed.at, modelSeconds: parsed.modelSeconds } : undefined;
    } catch {
      return undefined;
    }
  }

  async answered(queue: string, memberUuid: string, sample: WaitSample): Promise<void> {
    await this.push(this.key(queue, 'waits'), JSON.stringify(sample));
    await this.redis.del(`${this.key(queue, 'join')}:${memberUuid}`);
  }

  /** When the member's agent answered, ms (to measure the handle time at bridge-agent-end). */
  async bridgedAt(queue: string, memberUuid: string, at?: number): Promise<number | undefined> {
    const key = `${this.key(queue, 'bridge')}:${memberUuid}`;
    if (at !== undefined) {
      await this.redis.set(key, String(at), 'EX', RECORD_TTL_SEC);
      return at;
    }
    const raw = await this.redis.get(key);
    await this.redis.del(key);
    return raw === null ? undefined : Number(raw);
  }

  async handled(queue: string, seconds: number): Promise<void> {
    await this.push(this.key(queue, 'handle'), String(seconds));
  }

  private async push(key: string, value: string): Promise<void> {
    await this.redis.multi().lpush(key, value).ltrim(key, 0, HISTORY_LENGTH - 1).expire(key, HISTORY_TTL_SEC).exec();
  }

  async history(queue: string): Promise<QueueHistory> {
    const [handles, waits] = await Promise.all([
      this.redis.lrange(this.key(queue, 'handle'), 0, HISTORY_LENGTH - 1),
      this.redis.lrange(this.key(queue, 'waits'), 0, HISTORY_LENGTH - 1),
    ]);
    const samples: WaitSample[] = [];
    for (const raw of waits) {
      try {
        const w = JSON.parse(raw) as Partial<WaitSample>;
        if (typeof w.modelSeconds === 'number' && typeof w.actualSeconds === 'number') samples.push({ modelSeconds: w.modelSeconds, actualSeconds: w.actualSeconds });
      } catch {
        // a sample that does not parse is left out
      }
    }
    return { handleSeconds: handles.map(Number).filter((n) => Number.isFinite(n)), waits: samples };
  }
}
