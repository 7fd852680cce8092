/**
 * IM offers of calls: "Incoming call from … — reply 1 to accept, 9 to send to voicemail". Each
 * live offer of a user has a number (the smallest free one); "1" / "9" answer the latest offer,
 * "1 2" / "9 2" offer 2. An offer is settled exactly once (SET NX on its answer) by the user's
 * reply, the caller hanging up or the timeout, whichever comes first, from any process: the reply
 * is published on Redis and the session that holds the call hears it.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../store/index.js';

export type OfferAnswer = 'accept' | 'voicemail' | 'timeout' | 'gone';

/** FORM_TYPE of the accept / voicemail buttons of an offer (XEP-0004); the form's `ref` is the offer id. */
export const OFFER_FORM_TYPE = 'urn:crossline:call-offer';

export interface Offer {
  id: string;
  owner: string;
  userId: string;
  /** Bare JID the offer went to: only replies from it count. */
  jid: string;
  /** Per user, among live offers: 1, 2, … */
  number: number;
  callerNumber: string;
  callerName?: string;
  createdAt: number;
  expiresAt: number;
}

/** Parses a reply: `1`, `9`, `1 2`, `9 2`, `accept`, `voicemail` (case-insensitive), or undefined. */
export function parseReply(text: string): { answer: 'accept' | 'voicemail'; number?: number } | undefined {
  const match = /^\s*(1|9|accept|yes|voicemail|no)(?:\s+([1-9][0-9]?))?\s*$/i.exec(text);
  if (!match?.[1]) return undefined;
  const word = match[1].toLowerCase();
  const answer = word === '1' || word === 'accept' || word === 'yes' ? 'accept' : 'voicemail';
  return { answer, ...(match[2] !== undefined ? { number: Number(match[2]) } : {}) };
}

export class OfferBoard {
  readonly #waiters = new Map<string, (answer: OfferAnswer) => void>();
  #subscribed: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisClient,
    /** A connection of its own for SUBSCRIBE. */
    private readonly subscriber: RedisClient,
    private readonly base: string,
  ) {}

  private get channel(): string {
    return `${this.base}:offers:answered`;
  }

  private userKey(owner: string, userId: string): string {
    return `${this.base}:offers:${owner}:${userId}`;
  }

  private offerKey(id: string): string {
    return `${this.base}:offer:${id}`;
  }

  private answerKey(id: string): string {
    return `${this.base}:offer:${id}:answer`;
  }

  #subscribe(): Promise<void> {
    this.#subscribed ??= (async () => {
      this.subscriber.on('message', (channel: string, id: string) => {
        if (channel !== this.channel) return;
        const waiter = this.#waiters.get(id);
        if (waiter) void this.redis.get(this.answerKey(id)).then((answer) => answer !== null && waiter(answer as OfferAnswer));
      });
      await this.subscriber.subscribe(this.channel);
    })();
    return this.#subscribed;
  }

  /** The user's live offers, oldest first (expired ones dropped). */
  async live(owner: string, userId: string, now = Date.now()): Promise<Offer[]> {
    const key = this.userKey(owner, userId);
    const ids = await this.redis.zrange(key, '0', '-1');
    const offers: Offer[] = [];
    for (const id of ids) {
      const [text, answer] = await Promise.all([this.redis.get(this.offerKey(id)), this.redis.get(this.answerKey(id))]);
      if (text === null || answer !== null) {
        await this.redis.zrem(key, id);
        continue;
      }
      const offer = JSON.parse(text) as Offer;
      if (offer.expiresAt > now) offers.push(offer);
    }
    return offers;
  }

  /** Opens an offer; its number is the smallest not used by the user's live offers. */
  async open(input: Omit<Offer, 'id' | 'number' | 'createdAt' | 'expiresAt'>, ttlMs: number): Promise<Offer> {
    await this.#subscribe();
    const live = await this.live(input.owner, input.userId);
    const used = new Set(live.map((o) => o.number));
    let number = 1;
    while (used.has(number)) number += 1;
    const now = Date.now();
    const offer: Offer = { ...input, id: randomUUID(), number, createdAt: now, expiresAt: now + ttlMs };
    const keep = Math.ceil(ttlMs / 1000) + 3600;
    await this.redis.multi()
      .set(this.offerKey(offer.id), JSON.stringify(offer), 'EX', keep)
      .zadd(this.userKey(input.owner, input.userId), String(now), offer.id)
      .expire(this.userKey(input.owner, input.userId), keep)
      .exec();
    return offer;
  }

  /** Settles an offer if nobody has yet; returns the answer that holds (ours or the earlier one). */
  async settle(offer: Pick<Offer, 'id' | 'owner' | 'userId'>, answer: OfferAnswer): Promise<{ answer: OfferAnswer; first: boolean }> {
    const set = await this.redis.set(this.answerKey(offer.id), answer, 'EX', 3600, 'NX');
    await this.redis.zrem(this.userKey(offer.owner, offer.userId), offer.id);
    if (set === 'OK') {
      await this.redis.publish(this.channel, offer.id);
      return { answer, first: true };
    }
    return { answer: ((await this.redis.get(this.answerKey(offer.id))) as OfferAnswer | null) ?? answer, first: false };
  }

  /**
   * Waits for the offer's answer; at `expiresAt` settles it as a timeout, and when `gone` resolves
   * first (the caller hung up) settles it as gone. Resolves with the answer that holds.
   */
  async wait(offer: Offer, gone: Promise<unknown>): Promise<OfferAnswer> {
    await this.#subscribe();
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<OfferAnswer>((resolve) => this.#waiters.set(offer.id, resolve));
    try {
      const early = await this.redis.get(this.answerKey(offer.id));
      if (early !== null) return early as OfferAnswer;
      const timeout = new Promise<OfferAnswer>((resolve) => {
        timer = setTimeout(() => resolve(this.settle(offer, 'timeout').then((r) => r.answer)), Math.max(0, offer.expiresAt - Date.now()));
      });
      const hungUp = gone.then(() => this.settle(offer, 'gone')).then((r) => r.answer);
      return await Promise.race([answered, timeout, hungUp]);
    } finally {
      clearTimeout(timer);
      this.#waiters.delete(offer.id);
    }
  }

  /**
   * A reply from `jid` for one of the users whose IM address it is: settles the latest live offer
   * (or offer `number`). Undefined when the text is not an answer or no offer of theirs is live.
   */
  async reply(users: Array<{ owner: string; userId: string }>, jid: string, text: string): Promise<{ offer: Offer; answer: OfferAnswer; won: boolean } | { error: 'no-such-offer'; live: Offer[] } | undefined> {
    const parsed = parseReply(text);
    if (parsed === undefined) return undefined;
    const live = (await Promise.all(users.map((u) => this.live(u.owner, u.userId)))).flat().filter((o) => o.jid === jid);
    if (live.length === 0) return undefined;
    live.sort((a, b) => a.createdAt - b.createdAt);
    const offer = parsed.number === undefined ? live[live.length - 1] : live.find((o) => o.number === parsed.number);
    if (offer === undefined) return { error: 'no-such-offer', live };
    const { answer, first } = await this.settle(offer, parsed.answer);
    return { offer, answer, won: first };
  }

  /**
   * A button pressed on offer `id` (the form's `ref`) by `jid`: settles it when it is live and was
   * offered to that JID. Undefined when there is no such offer for that JID (never reveals others').
   */
  async answerById(id: string, jid: string, answer: 'accept' | 'voicemail'): Promise<{ offer: Offer; answer: OfferAnswer; won: boolean } | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    const text = await this.redis.get(this.offerKey(id));
    if (text === null) return undefined;
    const offer = JSON.parse(text) as Offer;
    if (offer.jid !== jid) return undefined;
    const { answer: held, first } = await this.settle(offer, offer.expiresAt <= Date.now() ? 'timeout' : answer);
    return { offer, answer: held, won: first && held === answer };
  }

  close(): void {
    this.#waiters.clear();
  }
}
