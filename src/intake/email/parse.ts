import { randomUUID } from 'node:crypto';
import EmailReplyParser from 'email-reply-parser';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { InboundMessage, ThreadRef } from '../../channels/types.js';

/** Text handed on, at most: a command is a line, a long body is a pasted thread. */
export const MAX_TEXT_CHARS = 4000;

/** What intake needs of a parsed e-mail. */
export interface ParsedEmail {
  messageId: string;
  subject: string | undefined;
  /** Plain text: the text part, or the HTML converted; quoted replies and signature removed. */
  text: string;
  thread: ThreadRef;
  /** Sent by a machine (Auto-Submitted, Precedence bulk/list/junk, a List-Id): never answered. */
  automatic: boolean;
}

/** A Message-ID in angle brackets, or undefined when the header is missing or not one. */
function messageIdOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const match = /<[^<>\s]{1,250}>/.exec(value);
  return match?.[0];
}

function referencesOf(mail: ParsedMail): string[] {
  const raw = mail.references;
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/\s+/) : [];
  return list.map((r) => messageIdOf(r)).filter((r): r is string => r !== undefined).slice(-20);
}

/** The new text of a reply: quoted lines ("> …", "On … wrote:") and the signature ("-- ") dropped. */
export function visibleText(text: string): string {
  const visible = new EmailReplyParser().read(text.replace(/\r\n/g, '\n')).getVisibleText().trim();
  return (visible === '' ? text.trim() : visible).slice(0, MAX_TEXT_CHARS);
}

/**
 * Parses a raw RFC 5322 message with mailparser (which turns HTML-only mail into text and decodes
 * 8-bit and encoded-word headers). Attachments are not kept. Throws on input that is not a message.
 */
export async function parseEmail(raw: Buffer): Promise<ParsedEmail> {
  const mail = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true, maxHtmlLengthToParse: 1_000_000 });
  const headers = mail.headers;
  const autoSubmitted = String(headers.get('auto-submitted') ?? 'no').toLowerCase();
  const precedence = String(headers.get('precedence') ?? '').toLowerCase();
  const automatic = autoSubmitted !== 'no' || ['bulk', 'list', 'junk', 'auto_reply'].includes(precedence) || headers.has('list-id');
  const messageId = messageIdOf(mail.messageId) ?? `<${randomUUID()}@crossline.invalid>`;
  const references = referencesOf(mail);
  if (!references.includes(messageId)) references.push(messageId);
  const subject = mail.subject?.slice(0, 500);
  const body = typeof mail.text === 'string' ? mail.text : '';
  return {
    messageId,
    subject,
    text: visibleText(body),
    thread: { messageId, references, ...(subject !== undefined ? { subject } : {}) },
    automatic,
  };
}

/** The channel-neutral message of a parsed, authenticated e-mail. */
export function toInboundMessage(parsed: ParsedEmail, from: string, to: string, receivedAt: Date): InboundMessage {
  return {
    id: parsed.messageId,
    from: { channel: 'email', address: from },
    to: { channel: 'email', address: to },
    ...(parsed.subject !== undefined ? { subject: parsed.subject } : {}),
    text: parsed.text,
    receivedAt,
    thread: parsed.thread,
  };
}
