/**
 * ESL framing, byte for byte as mod_event_socket writes it (see shared/esl-traces): each frame
 * type has its own outer header order, and only some carry a Content-Length.
 */
import { type Header, type SwitchEvent, serializeJson, serializePlain } from './event.js';

export type EventFormat = 'plain' | 'json';

const DISCONNECT_TEXT = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';

/** Sent once when an inbound connection is accepted: a bare Content-Type. */
export function authRequestFrame(): string {
  return 'Content-Type: auth/request\n\n';
}

/** `command/reply`: Content-Type, Reply-Text, then any extra headers (Job-UUID for bgapi). */
export function commandReplyFrame(replyText: string, extra: readonly Header[] = []): string {
  const lines = [`Content-Type: command/reply`, `Reply-Text: ${replyText}`, ...extra.map(([n, v]) => `${n}: ${v}`)];
  return `${lines.join('\n')}\n\n`;
}

/** `api/response`: Content-Type before Content-Length, the body exactly as the command printed it. */
export function apiResponseFrame(body: string): string {
  return `Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body, 'utf8')}\n\n${body}`;
}

/** Events put Content-Length first, unlike every other frame. */
export function eventFrame(event: SwitchEvent, format: EventFormat): string {
  const body = format === 'json' ? serializeJson(event) : serializePlain(event);
  return `Content-Length: ${Buffer.byteLength(body, 'utf8')}\nContent-Type: text/event-${format}\n\n${body}`;
}

/** The goodbye after `exit`, a failed auth, or the end of an outbound session. */
export function disconnectNoticeFrame(controlledSessionUuid?: string): string {
  const session = controlledSessionUuid
    ? `Controlled-Session-UUID: ${controlledSessionUuid}\nContent-Disposition: disconnect\n`
    : '';
  return `Content-Type: text/disconnect-notice\n${session}Content-Length: ${Buffer.byteLength(DISCONNECT_TEXT)}\n\n${DISCONNECT_TEXT}`;
}

/** Outbound mode with `linger`: the channel hung up but the socket stays open. */
export function lingerNoticeFrame(uuid: string, channelName: string, lingerSeconds: number): string {
  return (
    'Content-Type: text/disconnect-notice\n' +
    `Controlled-Session-UUID: ${uuid}\n` +
    'Content-Disposition: linger\n' +
    `Channel-Name: ${channelName}\n` +
    `Linger-Time: ${lingerSeconds}\n` +
    'Content-Length: 0\n\n'
  );
}

/** The whole CHANNEL_DATA event as one header-only frame: the reply to `connect` in outbound mode. */
export function connectReplyFrame(channelData: SwitchEvent): string {
  return serializePlain(channelData);
}

/** One command as the client sent it: the first line, then `name: value` headers, then an optional body. */
export interface EslCommand {
  /** The first line, e.g. `bgapi originate {…}sofia/… &park()`. */
  line: string;
  headers: Header[];
  body: string | undefined;
  /** Everything received for this command, as text (for the command log). */
  raw: string;
}

/** A command header's value, by case-insensitive name (as switch_event_get_header). */
export function commandHeader(command: EslCommand, name: string): string | undefined {
  const lower = name.toLowerCase();
  return command.headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

/**
 * Splits the client byte stream into commands the way read_packet does: a command ends at a blank
 * line; blank lines before a command are skipped; a Content-Length header pulls in that many body bytes.
 */
export class CommandReader {
  private buffer = Buffer.alloc(0);

  push(chunk: Buffer): EslCommand[] {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const commands: EslCommand[] = [];
    for (;;) {
      const command = this.next();
      if (!command) return commands;
      commands.push(command);
    }
  }

  private next(): EslCommand | undefined {
    this.skipLeadingNewlines();
    const end = findBlankLine(this.buffer);
    if (end === undefined) return undefined;
    const head = this.buffer.subarray(0, end.index).toString('utf8').replace(/\r/g, '');
    const [line = '', ...rest] = head.split('\n');
    const headers = rest.filter((l) => l.length > 0).map(parseHeaderLine);
    const length = Number(headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1] ?? 0);
    const bodyStart = end.index + end.length;
    if (length > 0 && this.buffer.length < bodyStart + length) return undefined;
    const body = length > 0 ? this.buffer.subarray(bodyStart, bodyStart + length).toString('utf8') : undefined;
    const consumed = bodyStart + Math.max(length, 0);
    const raw = this.buffer.subarray(0, consumed).toString('utf8').replace(/\n+$/, '');
    this.buffer = this.buffer.subarray(consumed);
    return { line, headers, body, raw };
  }

  private skipLeadingNewlines(): void {
    let i = 0;
    while (i < this.buffer.length && (this.buffer[i] === 0x0a || this.buffer[i] === 0x0d)) i++;
    if (i > 0) this.buffer = this.buffer.subarray(i);
  }
}

function findBlankLine(buf: Buffer): { index: number; length: number } | undefined {
  for (let i = 0; i < buf.length - 1; i++) {
    if (buf[i] !== 0x0a) continue;
    if (buf[i + 1] === 0x0a) return { index: i, length: 2 };
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return { index: i, length: 3 };
  }
  return undefined;
}

function parseHeaderLine(line: string): Header {
  const colon = line.indexOf(':');
  if (colon < 0) return [line, ''];
  return [line.slice(0, colon), line.slice(colon + 1).replace(/^ +/, '')];
}
