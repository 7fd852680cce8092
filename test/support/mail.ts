import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { DnsResolver } from '../../src/intake/email/index.js';

/** A sending domain of the test's own: a DKIM key pair and the DNS records that publish it. */
export interface TestDomain {
  domain: string;
  selector: string;
  privateKey: string;
  /** TXT records by name: the DKIM key, DMARC (p=reject), SPF (-all: only DKIM can pass). */
  records: Map<string, string[]>;
}

export function testDomain(domain = 'example.com', selector = 'crossline-test'): TestDomain {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    domain,
    selector,
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    records: new Map([
      [`${selector}._domainkey.${domain}`, [`v=DKIM1; k=rsa; p=${der}`]],
      [`_dmarc.${domain}`, ['v=DMARC1; p=reject']],
      [domain, ['v=spf1 -all']],
    ]),
  };
}

/** A DNS resolver over the test domains' records: TXT only, NXDOMAIN (ENOTFOUND) for the rest. */
export function testResolver(...domains: TestDomain[]): DnsResolver {
  const records = new Map<string, string[]>();
  for (const d of domains) for (const [name, values] of d.records) records.set(name, values);
  return async (name: string, type: string) => {
    const values = type === 'TXT' ? records.get(name.toLowerCase()) : undefined;
    if (values === undefined) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return values.map((v) => [v]);
  };
}

export interface MailOptions {
  from: string;
  to: string;
  subject?: string;
  text?: string;
  html?: string;
  inReplyTo?: string;
  references?: string[];
  messageId?: string;
  headers?: Record<string, string>;
  /** Sign with this domain's key (DKIM). */
  signWith?: TestDomain;
}

/** A raw RFC 5322 message built by nodemailer, DKIM-signed when asked. */
export async function buildMail(options: MailOptions): Promise<Buffer> {
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    ...(options.signWith ? { dkim: { domainName: options.signWith.domain, keySelector: options.signWith.selector, privateKey: options.signWith.privateKey } } : {}),
  });
  const info = (await transport.sendMail({
    from: options.from,
    to: options.to,
    subject: options.subject ?? '',
    ...(options.text !== undefined ? { text: options.text } : {}),
    ...(options.html !== undefined ? { html: options.html } : {}),
    ...(options.inReplyTo ? { inReplyTo: options.inReplyTo } : {}),
    ...(options.references ? { references: options.references } : {}),
    ...(options.messageId ? { messageId: options.messageId } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
  })) as { message: Buffer };
  return info.message;
}

/** Sends over SMTP to `port` on 127.0.0.1 (DKIM-signed by nodemailer when asked). Resolves with the server's reply, or rejects with it. */
export async function sendMail(port: number, options: MailOptions & { envelopeTo?: string[] }): Promise<string> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    ...(options.signWith ? { dkim: { domainName: options.signWith.domain, keySelector: options.signWith.selector, privateKey: options.signWith.privateKey } } : {}),
  });
  try {
    const info = (await transport.sendMail({
      from: options.from,
      to: options.to,
      ...(options.envelopeTo ? { envelope: { from: options.from, to: options.envelopeTo } } : {}),
      subject: options.subject ?? '',
      ...(options.text !== undefined ? { text: options.text } : {}),
      ...(options.html !== undefined ? { html: options.html } : {}),
      ...(options.inReplyTo ? { inReplyTo: options.inReplyTo } : {}),
      ...(options.references ? { references: options.references } : {}),
      ...(options.messageId ? { messageId: options.messageId } : {}),
    })) as { response: string };
    return info.response;
  } finally {
    transport.close();
  }
}

/** A real SMTP server that keeps what it receives: the outbound relay of the tests. */
export interface SmtpSink {
  port: number;
  url: string;
  received: ParsedMail[];
  waitFor(match: (mail: ParsedMail) => boolean, timeoutMs?: number): Promise<ParsedMail>;
  /** The next `n` deliveries are refused with this SMTP code (e.g. 451, 550). */
  refuseNext(n: number, code: number): void;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const received: ParsedMail[] = [];
  let refusals = 0;
  let refusalCode = 451;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (refusals > 0) {
          refusals -= 1;
          return callback(Object.assign(new Error('refused by the test'), { responseCode: refusalCode }));
        }
        simpleParser(Buffer.concat(chunks)).then((mail) => {
          received.push(mail);
          callback();
        }, callback);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    received,
    refuseNext(n, code) {
      refusals = n;
      refusalCode = code;
    },
    async waitFor(match, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = received.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no matching mail within ${timeoutMs} ms; got ${received.map((m) => m.subject).join(', ')}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
