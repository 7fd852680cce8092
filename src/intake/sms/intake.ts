import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { InboundMessage } from '../../channels/types.js';
import type { SmsChannel } from '../../channels/sms/channel.js';
import type { RedisClient } from '../../store/index.js';
import type { MessageIntake } from '../messages.js';

export interface SmsIntakeOptions {
  channel: Pick<SmsChannel, 'onMessage'>;
  messages: MessageIntake;
  redis: RedisClient;
  /** Key base (`<prefix>:sms`). */
  keyBase: string;
  /** A text longer than this gets "too long" and is not handled. @defaultValue 1000 */
  maxChars?: number;
  /**
   * The same text from the same number within this many seconds is the SMSC delivering it again
   * (SMPP gives MO messages no id of their own), and is not handled twice. @defaultValue 120
   */
  duplicateWindowSec?: number;
  /** Messages of one number waiting their turn; more are dropped (a flood). @defaultValue 20 */
  maxPendingPerSender?: number;
  logger: Logger;
}

const hash = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 32);

/**
 * Text-message intake: MO messages to Crossline's number go to the conversation, one at a time per
 * sender (a person's commands are answered in the order sent), and what it answers goes back by
 * SMS. Who may ask is the directory's decision, as for e-mail and IM: a phone number verified for
 * a user (a code sent to it by SMS and answered) — a sender number is easy to forge, so an
 * unverified number gets neither a call nor a reply. Returns the function that detaches it.
 */
export function attachSmsIntake(options: SmsIntakeOptions): () => void {
  const { messages, redis, keyBase, logger } = options;
  const maxChars = options.maxChars ?? 1000;
  const windowSec = options.duplicateWindowSec ?? 120;
  const maxPending = options.maxPendingPerSender ?? 20;
  const queues = new Map<string, { pending: number; tail: Promise<void> }>();

  const handle = async (message: InboundMessage): Promise<void> => {
    const text = message.text.trim();
    if (text.length > maxChars) {
      messages.dropped('sms', 'too-large', { from: message.from.address, length: text.length });
      await messages.notice(message, `Your message is too long (${text.length} characters). Send a short command, like "call Ada" or "help".`, 'too-long');
      return;
    }
    if (text === '') return;
    const recent = `${keyBase}:mo:recent:${hash(`${message.from.address}\n${text}`)}`;
    if ((await redis.set(recent, message.id, 'EX', windowSec, 'NX')) !== 'OK') {
      messages.dropped('sms', 'duplicate', { from: message.from.address, why: `same text within ${windowSec} s` });
      return;
    }
    try {
      const outcome = await messages.accept({ ...message, text });
      // The conversation is not running in this process yet: let the SMSC deliver it again later.
      if (outcome === 'no-handler') throw new Error('the messaging conversation is not running');
    } catch (err) {
      // Not handled: the SMSC is told to try again, and that delivery must not look like a repeat.
      await redis.del(recent).catch(() => undefined);
      throw err;
    }
  };

  return options.channel.onMessage((message) => {
    const key = message.from.address;
    const queue = queues.get(key) ?? { pending: 0, tail: Promise.resolve() };
    if (queue.pending >= maxPending) {
      messages.dropped('sms', 'rate-limited', { from: key, pending: queue.pending, why: 'flood' });
      return Promise.resolve();
    }
    queue.pending += 1;
    queues.set(key, queue);
    const run = queue.tail.then(() => handle(message));
    queue.tail = run
      .catch((err: unknown) => logger.warn({ err, from: key }, 'text message not handled'))
      .finally(() => {
        queue.pending -= 1;
        if (queue.pending === 0) queues.delete(key);
      });
    return run;
  });
}
