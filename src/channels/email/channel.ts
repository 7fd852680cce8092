import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import { ChannelSendError } from '../errors.js';
import { messageToken } from '../sender.js';
import type { Channel, OutboundMessage, SentMessage } from '../types.js';
import type { Outbox, OutboxEntry } from './outbox.js';

export interface EmailChannelOptions {
  /** Crossline's own address: the From of every message and the domain of its Message-IDs. */
  from: string;
  /** `smtp://user:pass@host:587` / `smtps://…:465` (nodemailer's URL form); undefined: the outbox. */
  relayUrl?: string;
  /** Where messages go when there is no relay. */
  outbox?: Outbox;
  /** Told of every message put in the outbox (`npm start` prints them). */
  onOutbox?(entry: OutboxEntry): void;
  /** Relay timeouts, ms. @defaultValue 30000 */
  timeoutMs?: number;
  logger: Logger;
}

export interface EmailChannel extends Channel {
  readonly kind: 'email';
  /** Closes the relay's pooled connections. */
  close(): Promise<void>;
}

/** `Re: <subject>` once, however many `Re:`/`AW:` it already had. */
export function replySubject(subject: string | undefined): string {
  const base = (subject ?? '').replace(/^\s*((re|aw|sv|fwd?)\s*:\s*)+/i, '').trim();
  return base === '' ? 'Re: your Crossline request' : `Re: ${base}`;
}

/** SMTP reply codes: 4xx may succeed later, 5xx will not; anything without one is a transport failure. */
function classify(err: unknown): ChannelSendError {
  const e = err as { responseCode?: number; code?: string; message?: string };
  const message = e.message ?? String(err);
  if (typeof e.responseCode === 'number') return new ChannelSendError(`relay answered ${e.responseCode}: ${message}`, e.responseCode < 500, undefined, { cause: err });
  if (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') return new ChannelSendError(message, false, undefined, { cause: err });
  return new ChannelSendError(message, true, undefined, { cause: err });
}

/**
 * E-mail through nodemailer. Replies thread: `In-Reply-To` is the message answered and
 * `References` its chain plus it; the Message-ID is derived from the dedup key, so a message sent
 * again after a crash carries the same id. Every message has a text part; an HTML part when given.
 */
export function createEmailChannel(options: EmailChannelOptions): EmailChannel {
  const { from, logger } = options;
  const domain = from.slice(from.lastIndexOf('@') + 1) || 'localhost';
  const timeoutMs = options.timeoutMs ?? 30_000;
  const relay: Transporter | undefined =
    options.relayUrl === undefined
      ? undefined
      : nodemailer.createTransport({ url: options.relayUrl, pool: true, maxConnections: 5, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs } as never);
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  if (relay === undefined && options.outbox === undefined) throw new Error('the e-mail channel needs a relay URL or an outbox');

  return {
    kind: 'email',
    async send(message: OutboundMessage): Promise<SentMessage> {
      const messageId = `<${messageToken(message.dedupKey)}@${domain}>`;
      const inReplyTo = message.thread?.messageId;
      const references = [...(message.thread?.references ?? [])];
      if (inReplyTo !== undefined && !references.includes(inReplyTo)) references.push(inReplyTo);
      const subject = message.subject ?? (message.thread ? replySubject(message.thread.subject) : 'Crossline');
      const mail = {
        from,
        to: message.to.address,
        subject,
        messageId,
        text: message.text,
        ...(message.html !== undefined ? { html: message.html } : {}),
        ...(inReplyTo !== undefined ? { inReplyTo } : {}),
        ...(references.length > 0 ? { references } : {}),
        headers: { 'Auto-Submitted': 'auto-replied' },
        attachments: (message.attachments ?? []).map((a) => ({ filename: a.filename, contentType: a.contentType, path: a.path })),
      };
      if (relay !== undefined) {
        try {
          const info = (await relay.sendMail(mail)) as { messageId?: string };
          return { channel: 'email', messageId: info.messageId ?? messageId };
        } catch (err) {
          throw classify(err);
        }
      }
      const built = (await composer.sendMail(mail)) as { message: Buffer };
      const entry: OutboxEntry = {
        messageId,
        at: new Date().toISOString(),
        from,
        to: message.to.address,
        subject,
        text: message.text,
        ...(inReplyTo !== undefined ? { inReplyTo } : {}),
        ...(references.length > 0 ? { references } : {}),
        raw: built.message.toString('utf8'),
      };
      await options.outbox!.put(entry);
      logger.info({ messageId, subject }, 'e-mail put in the local outbox (no SMTP_RELAY_URL)');
      options.onOutbox?.(entry);
      return { channel: 'email', messageId };
    },
    async close() {
      relay?.close();
    },
  };
}
