import { createHash } from 'node:crypto';
import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import pino, { type Logger } from 'pino';
import { CrosslineError } from '../errors.js';
import type { RedisClient } from '../store/index.js';
import { ChannelSendError } from './errors.js';
import type { Channel, ChannelKind, MessageSender, OutboundMessage, SentMessage } from './types.js';

/**
 * Outbound messages on their own BullMQ queue, like webhooks: the producer only enqueues, one job
 * per `dedupKey` (its job id is the key's hash), and the worker sends through the channel of the
 * message's address with capped exponential backoff.
 *
 * "Never sent twice for one status change": the job id drops a second enqueue of the same key while
 * the job is kept (a week once sent); a `sent` marker written once the channel accepted the message,
 * kept as long, makes a retried or re-added job a no-op. The one window left is a worker dying
 * between the channel's acceptance and the marker: that message is sent again (at least once, like
 * every queue); for e-mail its Message-ID is fixed per key, so threads show it once.
 */

/** The BullMQ queue name (keys under `<prefix>:messages:`). */
export const MESSAGE_QUEUE = 'messages';

const JOB_NAME = 'send';
const BACKOFF_TYPE = 'crossline-message';
const BACKOFF_JITTER = 0.2;
/** How long a sent key stays known: a repeat within it is dropped. */
const SENT_MARKER_TTL_SEC = 7 * 24 * 3600;

export interface MessageJobData {
  message: OutboundMessage;
  backoff: { delayMs: number; maxDelayMs: number };
}

/** The job id of a dedup key: BullMQ ids may not contain `:` and must not look like integers. */
export function messageJobId(dedupKey: string): string {
  return `m${createHash('sha256').update(dedupKey, 'utf8').digest('hex').slice(0, 40)}`;
}

/** The stable Message-ID-like token of a dedup key (the same key always yields the same id). */
export function messageToken(dedupKey: string): string {
  return createHash('sha256').update(dedupKey, 'utf8').digest('base64url').slice(0, 32);
}

const sentKey = (keyPrefix: string, dedupKey: string): string => `${keyPrefix}:messages:sent:${messageJobId(dedupKey)}`;

const silentLogger = (): Logger => pino({ level: 'silent' });

export interface QueuedMessageSenderOptions {
  /** BullMQ connection: a shared ioredis instance or options. */
  connection: ConnectionOptions;
  /** BullMQ key prefix (`keyPrefixes(…).queue(MESSAGE_QUEUE)`). */
  prefix: string;
  /** Send attempts per message. @defaultValue 8 */
  maxAttempts?: number;
  /** First retry delay; each later one doubles. @defaultValue 5000 */
  backoffDelayMs?: number;
  /** Longest delay between attempts. @defaultValue 3600000 */
  maxBackoffMs?: number;
  logger?: Logger;
}

export interface QueuedMessageSender extends MessageSender {
  /** Closes the queue's connections. Safe to call twice. */
  close(): Promise<void>;
}

/** The {@link MessageSender} port: enqueues each message once per `dedupKey`. */
export function createMessageSender(options: QueuedMessageSenderOptions): QueuedMessageSender {
  const { connection, prefix, maxAttempts = 8, backoffDelayMs = 5000, maxBackoffMs = 3_600_000 } = options;
  const logger = options.logger ?? silentLogger();
  const queue = new Queue<MessageJobData>(MESSAGE_QUEUE, { connection, prefix });
  queue.on('error', (err) => logger.error({ err }, 'message queue error'));
  let closing: Promise<void> | undefined;
  return {
    async enqueue(message: OutboundMessage): Promise<void> {
      if (message.dedupKey.length === 0) throw new Error('OutboundMessage.dedupKey must not be empty');
      try {
        await queue.add(
          JOB_NAME,
          { message, backoff: { delayMs: backoffDelayMs, maxDelayMs: maxBackoffMs } },
          {
            jobId: messageJobId(message.dedupKey),
            attempts: maxAttempts,
            backoff: { type: BACKOFF_TYPE, delay: backoffDelayMs },
            removeOnComplete: { age: SENT_MARKER_TTL_SEC, count: 100_000 },
            removeOnFail: { age: SENT_MARKER_TTL_SEC, count: 10_000 },
          },
        );
      } catch (err) {
        throw new CrosslineError('STORE_UNAVAILABLE', 'Could not queue the message.', [], { cause: err });
      }
      logger.debug({ channel: message.to.channel, dedupKey: message.dedupKey }, 'message queued');
    },
    close() {
      closing ??= queue.close();
      return closing;
    },
  };
}

/** Retry delay: `delayMs · 2^(n-1)` capped, less up to 20 % at random, at least the channel's own hint. */
export function messageBackoff(attemptsMade: number, job: Job<MessageJobData> | undefined, err: Error | undefined): number {
  const delayMs = job?.data.backoff.delayMs ?? 5000;
  const maxDelayMs = job?.data.backoff.maxDelayMs ?? 3_600_000;
  const exponential = Math.min(maxDelayMs, delayMs * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = Math.round(exponential * (1 - BACKOFF_JITTER * Math.random()));
  const hint = err instanceof ChannelSendError && err.retryAfterMs !== undefined ? Math.min(err.retryAfterMs, maxDelayMs) : 0;
  return Math.max(jittered, hint);
}

export interface MessageWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  /** Redis for the sent markers (`<keyPrefix>:messages:sent:<id>`). */
  redis: RedisClient;
  keyPrefix: string;
  /** The channels this process sends through; a message to another kind fails for good. */
  channels: readonly Channel[];
  /** Messages in flight at once. @defaultValue 10 */
  concurrency?: number;
  logger?: Logger;
  /** Told of every message handed to a channel (metrics). */
  onSent?(message: OutboundMessage, sent: SentMessage): void;
  /** Told of every message given up on. */
  onGivenUp?(message: OutboundMessage, reason: string): void;
}

export interface MessageWorker {
  /** Waits for sends in flight, then closes. Safe to call twice. */
  close(): Promise<void>;
}

/** The BullMQ worker that sends queued messages through their channels. */
export function createMessageWorker(options: MessageWorkerOptions): MessageWorker {
  const { connection, prefix, redis, keyPrefix, concurrency = 10 } = options;
  const logger = options.logger ?? silentLogger();
  const byKind = new Map<ChannelKind, Channel>(options.channels.map((c) => [c.kind, c]));

  const send = async (job: Job<MessageJobData>): Promise<SentMessage | { skipped: 'already-sent' }> => {
    const { message } = job.data;
    const attempt = Math.max(job.attemptsStarted, job.attemptsMade + 1);
    const maxAttempts = job.opts.attempts ?? 1;
    const log = logger.child({ channel: message.to.channel, dedupKey: message.dedupKey, attempt, maxAttempts });
    const marker = sentKey(keyPrefix, message.dedupKey);
    if ((await redis.exists(marker)) === 1) {
      log.info('message already sent for this key; not sent again');
      return { skipped: 'already-sent' };
    }
    const channel = byKind.get(message.to.channel);
    if (channel === undefined) {
      const reason = `no ${message.to.channel} channel is configured`;
      log.warn({ reason }, 'message not sent; giving up');
      options.onGivenUp?.(message, reason);
      throw new UnrecoverableError(reason);
    }
    let sent: SentMessage;
    try {
      sent = await channel.send(message);
    } catch (err) {
      const retry = !(err instanceof ChannelSendError) || err.retryable;
      const reason = err instanceof Error ? err.message : String(err);
      if (!retry || attempt >= maxAttempts) {
        log.warn({ reason }, 'message not sent; giving up');
        options.onGivenUp?.(message, reason);
        if (!retry) throw new UnrecoverableError(reason);
      } else {
        log.warn({ reason, willRetry: true }, 'message send failed');
      }
      throw err;
    }
    await redis.set(marker, sent.messageId, 'EX', SENT_MARKER_TTL_SEC);
    log.info({ messageId: sent.messageId }, 'message sent');
    options.onSent?.(message, sent);
    return sent;
  };

  const worker = new Worker<MessageJobData>(MESSAGE_QUEUE, send, {
    connection,
    prefix,
    concurrency,
    settings: { backoffStrategy: (attemptsMade, _type, err, job) => messageBackoff(attemptsMade, job as Job<MessageJobData> | undefined, err) },
  });
  worker.on('error', (err) => logger.error({ err }, 'message worker error'));
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= worker.close();
      return closing;
    },
  };
}
