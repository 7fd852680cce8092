import type { Logger } from 'pino';
import type { IntakeOutcome, MessageIntake } from '../messages.js';
import type { AuthenticityInput, SenderAuthenticator } from './authenticity.js';
import { parseEmail, toInboundMessage } from './parse.js';

/** What the SMTP session (or the HTTP route) knows besides the message. */
export interface EmailEnvelope extends AuthenticityInput {
  rcptTo: string[];
}

export interface EmailIntakeOptions {
  authenticate: SenderAuthenticator;
  messages: MessageIntake;
  /** Crossline's own address: mail from it is a loop, never answered. */
  mailbox: string;
  logger: Logger;
  clock?: () => Date;
}

export interface EmailIntake {
  /** One raw RFC 5322 message through authenticity, parsing and the conversation. Throws to have it offered again. */
  accept(raw: Buffer, envelope: EmailEnvelope): Promise<IntakeOutcome>;
}

/**
 * E-mail intake, the same for SMTP and `POST /v1/inbound/email`: a message whose From is not
 * authenticated (DKIM/SPF/DMARC), that cannot be parsed, or that a machine sent, is dropped with a
 * log line and a metric and no reply.
 */
export function createEmailIntake(options: EmailIntakeOptions): EmailIntake {
  const { authenticate, messages, logger } = options;
  const mailbox = options.mailbox.toLowerCase();
  const clock = options.clock ?? (() => new Date());
  return {
    async accept(raw, envelope) {
      const verdict = await authenticate(raw, envelope);
      const fields = { from: verdict.from, ip: envelope.ip, mailFrom: envelope.mailFrom, reason: verdict.reason };
      if (!verdict.authentic || verdict.from === undefined) {
        messages.dropped('email', 'unauthenticated', { ...fields, authResults: verdict.summary });
        return 'unauthenticated';
      }
      if (verdict.from === mailbox) {
        messages.dropped('email', 'automatic', { ...fields, why: 'from Crossline itself' });
        return 'automatic';
      }
      let parsed;
      try {
        parsed = await parseEmail(raw);
      } catch (err) {
        messages.dropped('email', 'malformed', { ...fields, err: (err as Error).message });
        return 'malformed';
      }
      if (parsed.automatic) {
        messages.dropped('email', 'automatic', { ...fields, messageId: parsed.messageId });
        return 'automatic';
      }
      logger.debug({ ...fields, messageId: parsed.messageId }, 'authenticated e-mail');
      return messages.accept(toInboundMessage(parsed, verdict.from, envelope.rcptTo[0] ?? mailbox, clock()));
    },
  };
}
