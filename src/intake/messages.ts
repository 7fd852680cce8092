import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { ChannelKind, InboundMessage, MessageHandler, MessageSender, OutboundMessage, SenderDirectory } from '../channels/types.js';
import type { RedisClient } from '../store/index.js';

/**
 * The part every messaging intake shares (e-mail, XMPP; SMS later), once the channel has
 * authenticated the sender: the directory is asked whether anyone has the address (unknown senders
 * are dropped without a reply: no backscatter), a message seen before is dropped (a relay's
 * retransmission), a sender over its rate is told once and then ignored, and what the handler
 * answers is queued on the message sender (once per `dedupKey`).
 */

/** What became of a message; the label of `crossline_messages_received_total`. */
export type IntakeOutcome =
  | 'handled'
  | 'unauthenticated'
  | 'unknown-sender'
  | 'duplicate'
  | 'rate-limited'
  | 'automatic'
  | 'malformed'
  | 'too-large'
  | 'no-handler';

export interface IntakeMetrics {
  received: Counter<'channel' | 'outcome'>;
}

/** The intake counters on `registry` (shared by every intake of the process). */
export function intakeMetrics(registry: Registry): IntakeMetrics {
  const existing = registry.getSingleMetric('crossline_messages_received_total') as Counter<'channel' | 'outcome'> | undefined;
  return {
    received:
      existing ??
      new Counter({
        name: 'crossline_messages_received_total',
        help: 'Messages received by the messaging intakes, by channel and outcome (handled, unauthenticated, unknown-sender, duplicate, rate-limited, automatic, malformed, too-large, no-handler).',
        labelNames: ['channel', 'outcome'],
        registers: [registry],
      }),
  };
}

export interface MessageIntakeOptions {
  redis: RedisClient;
  keyPrefix: string;
  /** Read at each message: the conversation may start after the channels. */
  handler(): MessageHandler | undefined;
  senders(): SenderDirectory | undefined;
  sender: MessageSender;
  metrics: IntakeMetrics;
  /** Messages one address may send per minute before it is ignored. @defaultValue 20 */
  perSenderPerMinute?: number;
  /** How long a message id is remembered, s. @defaultValue 604800 (a week: relays retry for days) */
  dedupTtlSec?: number;
  logger: Logger;
}

export interface MessageIntake {
  /** Takes an authenticated message; resolves once it is handled (its replies queued) or dropped. Throws when it should be offered again (handler or store failure). */
  accept(message: InboundMessage): Promise<IntakeOutcome>;
  /** Counts and logs a message the channel dropped before `accept` (unauthenticated, malformed, …). */
  dropped(channel: ChannelKind, outcome: IntakeOutcome, fields: Record<string, unknown>): void;
  /** Queues a reply outside the handler (e.g. "too long"), only to an address the directory knows. */
  notice(message: InboundMessage, text: string, key: string): Promise<boolean>;
}

const hash = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 32);

export function createMessageIntake(options: MessageIntakeOptions): MessageIntake {
  const { redis, keyPrefix, sender, metrics, logger } = options;
  const perMinute = options.perSenderPerMinute ?? 20;
  const dedupTtlSec = options.dedupTtlSec ?? 7 * 24 * 3600;
  const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${keyPrefix}:intake:rate`, points: perMinute, duration: 60, useRedisPackage: false });

  const count = (channel: ChannelKind, outcome: IntakeOutcome): void => metrics.received.inc({ channel, outcome });
  const dropped = (channel: ChannelKind, outcome: IntakeOutcome, fields: Record<string, unknown>): void => {
    count(channel, outcome);
    logger.info({ channel, outcome, ...fields }, 'message dropped');
  };
  const known = async (message: InboundMessage): Promise<boolean> => {
    const directory = options.senders();
    return directory !== undefined && (await directory.standing(message.from)) !== 'unknown';
  };
  const reply = (message: InboundMessage, text: string, key: string): OutboundMessage => ({
    to: message.from,
    text,
    ...(message.thread ? { thread: message.thread } : {}),
    dedupKey: `notice:${message.from.channel}:${hash(message.id)}:${key}`,
  });

  return {
    dropped,
    async notice(message, text, key) {
      if (!(await known(message))) return false;
      await sender.enqueue(reply(message, text, key));
      return true;
    },
    async accept(message) {
      const channel = message.from.channel;
      const fields = { from: message.from.address, messageId: message.id };
      if (!(await known(message))) {
        dropped(channel, 'unknown-sender', fields);
        return 'unknown-sender';
      }
      const seenKey = `${keyPrefix}:intake:seen:${channel}:${hash(message.id)}`;
      if ((await redis.set(seenKey, '1', 'EX', dedupTtlSec, 'NX')) !== 'OK') {
        dropped(channel, 'duplicate', fields);
        return 'duplicate';
      }
      try {
        try {
          await limiter.consume(`${channel}:${message.from.address}`);
        } catch (err) {
          if (!(err instanceof RateLimiterRes)) throw err;
          // Told once per window (the first refused message), then ignored until the window ends.
          if (err.consumedPoints === perMinute + 1) {
            const minutes = Math.max(1, Math.ceil(err.msBeforeNext / 60_000));
            await sender.enqueue(reply(message, `You are sending messages too fast; I will ignore them for the next ${minutes} minute${minutes === 1 ? '' : 's'}.`, 'rate-limited'));
          }
          dropped(channel, 'rate-limited', { ...fields, consumed: err.consumedPoints });
          return 'rate-limited';
        }
        const handler = options.handler();
        if (handler === undefined) {
          // Kept for a retry by the relay: nothing is lost while the conversation is not running.
          await redis.del(seenKey);
          dropped(channel, 'no-handler', fields);
          return 'no-handler';
        }
        const replies = await handler.handle(message);
        for (const r of replies) await sender.enqueue(r);
        count(channel, 'handled');
        logger.info({ channel, ...fields, replies: replies.length }, 'message handled');
        return 'handled';
      } catch (err) {
        // Not handled: forget it was seen, so the relay's retry (SMTP 451) is handled.
        await redis.del(seenKey).catch(() => undefined);
        throw err;
      }
    },
  };
}
