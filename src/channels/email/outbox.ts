import type { components } from '../../api/contract.gen.js';
import type { RedisClient } from '../../store/index.js';

/**
 * One message the embedded default "sent" into the outbox instead of a relay: what `GET
 * /v1/outbox` shows (the contract's OutboxMessage), plus the whole message as it would have gone
 * out (RFC 5322), kept for a client that wants the HTML part.
 */
export type OutboxEntry = components['schemas']['OutboxMessage'] & { raw: string };

/** Messages kept; the oldest fall off. */
export const OUTBOX_CAPACITY = 1000;

/**
 * The local outbox: with no SMTP_RELAY_URL, e-mail goes here so a newcomer sees the replies
 * (`GET /v1/outbox`, and printed by `npm start`). A capped Redis list, newest first.
 */
export class Outbox {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
    private readonly capacity = OUTBOX_CAPACITY,
  ) {
    this.key = `${keyPrefix}:outbox`;
  }

  async put(entry: OutboxEntry): Promise<void> {
    await this.redis.multi().lpush(this.key, JSON.stringify(entry)).ltrim(this.key, 0, this.capacity - 1).exec();
  }

  /** Newest first. */
  async list(limit = 50): Promise<OutboxEntry[]> {
    const items = await this.redis.lrange(this.key, 0, Math.max(0, limit - 1));
    return items.map((item) => JSON.parse(item) as OutboxEntry);
  }
}
