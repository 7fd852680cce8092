import type { ChannelAddress } from '../channels/types.js';
import type { Choice } from '../directory/resolve.js';
import type { RedisClient } from '../store/index.js';

/** A call waiting for the sender to pick who ("reply with the number"). */
export interface PendingChoice {
  choices: Choice[];
  /** The caller's E.164 number already settled for this call. */
  callerNumber: string;
  /** ISO instant, when the call was asked for later. */
  at?: string;
  /** When the choice was offered (ISO). */
  offeredAt: string;
}

/** What a conversation remembers between messages. */
export interface ConversationState {
  pending?: PendingChoice;
  /** The last callback asked for in this conversation, for "status" and "cancel". */
  lastCallbackId?: string;
  /** Who it calls, as shown in replies. */
  lastCalleeLabel?: string;
}

/**
 * Short conversation state per sender and channel address in Redis, expiring `ttlSec` after the
 * last message (`<p>:conv:<owner>:<userId>:<channel>:<address>`). Also remembers which inbound
 * messages were handled, so a message delivered twice (a channel retry) is answered with the same
 * replies and never creates a second call.
 */
export class ConversationStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly ttlSec: number,
  ) {}

  private key = (owner: string, userId: string, a: ChannelAddress): string => `${this.prefix}:conv:${owner}:${userId}:${a.channel}:${a.address}`;
  private seenKey = (a: ChannelAddress, messageId: string): string => `${this.prefix}:conv:seen:${a.channel}:${a.address}:${messageId}`;

  async get(owner: string, userId: string, address: ChannelAddress): Promise<ConversationState | undefined> {
    const json = await this.redis.get(this.key(owner, userId, address));
    return json === null ? undefined : (JSON.parse(json) as ConversationState);
  }

  async put(owner: string, userId: string, address: ChannelAddress, state: ConversationState): Promise<void> {
    await this.redis.set(this.key(owner, userId, address), JSON.stringify(state), 'EX', this.ttlSec);
  }

  /**
   * Claims an inbound message for handling: 'new' the first time; the stored replies when it was
   * handled already; 'in-progress' while another process handles it. Kept for a day.
   */
  async claim(address: ChannelAddress, messageId: string): Promise<'new' | 'in-progress' | { replies: string }> {
    const key = this.seenKey(address, messageId);
    const set = await this.redis.set(key, '', 'EX', 86_400, 'NX');
    if (set === 'OK') return 'new';
    const stored = await this.redis.get(key);
    return stored === null || stored === '' ? 'in-progress' : { replies: stored };
  }

  /** Drops the claim of a message that was not handled, so its retry is. */
  async forget(address: ChannelAddress, messageId: string): Promise<void> {
    await this.redis.del(this.seenKey(address, messageId));
  }

  async remember(address: ChannelAddress, messageId: string, replies: string): Promise<void> {
    await this.redis.set(this.seenKey(address, messageId), replies, 'EX', 86_400);
  }
}
