/**
 * A FreeSWITCH event as mod_event_socket serialises it: an ordered header list (duplicates allowed,
 * because FreeSWITCH really sends `Hangup-Cause` twice) and an optional body.
 */

export type Header = readonly [name: string, value: string];

export class SwitchEvent {
  readonly headers: Header[] = [];
  body: string | undefined;

  constructor(readonly name: string) {}

  add(name: string, value: string): this {
    this.headers.push([name, value]);
    return this;
  }

  addAll(headers: Iterable<Header>): this {
    for (const h of headers) this.headers.push(h);
    return this;
  }

  /** The first header with that name (case-insensitive, as switch_event_get_header). */
  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    return this.headers.find(([n]) => n.toLowerCase() === lower)?.[1];
  }
}

// switch_url_encode's unsafe set; control and non-ASCII bytes are encoded too.
const URL_UNSAFE = new Set('\r\n "#%&+:;<=>?@[\\]^`{|}'.split(''));

/** Percent-encodes a header value the way FreeSWITCH does for text/event-plain. */
export function urlEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    const safe = byte >= 0x20 && byte <= 0x7e && !URL_UNSAFE.has(ch);
    out += safe ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** switch_event_serialize: URL-encoded headers; a body gets an inner Content-Length as the last header. */
export function serializePlain(event: SwitchEvent): string {
  let out = '';
  for (const [name, value] of event.headers) out += `${name}: ${urlEncode(value)}\n`;
  if (event.body !== undefined) {
    return `${out}Content-Length: ${Buffer.byteLength(event.body, 'utf8')}\n\n${event.body}`;
  }
  return `${out}\n`;
}

/**
 * switch_event_serialize_json: one line, every value a string, duplicate keys kept (so it is built
 * by hand, not with JSON.stringify of an object), the body in `_body` after its Content-Length.
 */
export function serializeJson(event: SwitchEvent): string {
  const parts = event.headers.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`);
  if (event.body !== undefined) {
    parts.push(`"Content-Length":${JSON.stringify(String(Buffer.byteLength(event.body, 'utf8')))}`);
    parts.push(`"_body":${JSON.stringify(event.body)}`);
  }
  return `{${parts.join(',')}}`;
}
