import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { EmailIntake } from './intake.js';

export interface SmtpIntakeOptions {
  intake: EmailIntake;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Largest message accepted (SIZE), bytes. */
  maxBytes: number;
  /** Recipients per message; more get 452. */
  maxRecipients: number;
  /** Clients connected at once. @defaultValue 100 */
  maxClients?: number;
  /** PEM files; both set: STARTTLS is offered. */
  tlsKeyPath?: string;
  tlsCertPath?: string;
  /** The name in the greeting and Received lines. */
  serverName: string;
  logger: Logger;
}

export interface SmtpIntake {
  readonly port: number;
  close(): Promise<void>;
}

/** An SMTP reply carried by an error, as smtp-server reads it. */
function smtpError(responseCode: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode });
}

/**
 * The SMTP server inside Crossline (smtp-server): receives mail for Crossline's mailbox, never
 * relays (no AUTH, nothing forwarded). A message is acknowledged (250) only once it is handled or
 * deliberately dropped; a failure to handle it is 451, so the sending server tries again.
 */
export async function startSmtpIntake(options: SmtpIntakeOptions): Promise<SmtpIntake> {
  const { intake, logger, maxBytes, maxRecipients } = options;
  const tls = options.tlsKeyPath !== undefined && options.tlsCertPath !== undefined;
  const server = new SMTPServer({
    name: options.serverName,
    banner: 'Crossline',
    size: maxBytes,
    authOptional: true,
    disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(tls ? { key: readFileSync(options.tlsKeyPath!), cert: readFileSync(options.tlsCertPath!) } : {}),
    maxClients: options.maxClients ?? 100,
    socketTimeout: 60_000,
    closeTimeout: 5_000,
    logger: false,
    onRcptTo(_address, session, callback) {
      if (session.envelope.rcptTo.length >= maxRecipients) return callback(smtpError(452, `4.5.3 Too many recipients (at most ${maxRecipients})`));
      callback();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        // Past the limit nothing more is kept; smtp-server reads the rest and flags sizeExceeded.
        if (size <= maxBytes) chunks.push(chunk);
      });
      stream.once('error', (err) => callback(err));
      stream.once('end', () => {
        if (stream.sizeExceeded) {
          logger.info({ ip: session.remoteAddress, bytes: size, maxBytes }, 'e-mail refused: too large');
          return callback(smtpError(552, `5.3.4 Message too large (at most ${maxBytes} bytes)`));
        }
        const mailFrom = session.envelope.mailFrom === false ? undefined : session.envelope.mailFrom.address;
        intake
          .accept(Buffer.concat(chunks), {
            ip: session.remoteAddress,
            helo: session.hostNameAppearsAs,
            ...(mailFrom ? { mailFrom } : {}),
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
          })
          .then(
            () => callback(),
            (err: unknown) => {
              logger.warn({ err, ip: session.remoteAddress }, 'e-mail not handled; the sender will retry');
              callback(smtpError(451, '4.3.0 Temporary failure; try again later'));
            },
          );
      });
    },
  });
  server.on('error', (err) => logger.warn({ err }, 'SMTP server error'));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  logger.info({ host: options.host, port, starttls: tls }, 'SMTP intake listening');
  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closing;
    },
  };
}
