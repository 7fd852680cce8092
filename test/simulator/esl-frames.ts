/**
 * Test-side ESL reading: a strict frame splitter (a Content-Length must be exact, nothing may be
 * left over) and event decoding that keeps header order and duplicates, for plain and JSON events.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

export type Pair = [string, string];

export interface Frame {
  /** Outer headers, in order. */
  headers: Pair[];
  body: Buffer | undefined;
}

export interface DecodedEvent {
  name: string;
  /** Event headers in order, duplicates kept, values decoded. */
  headers: Pair[];
  body: string | undefined;
  format: 'plain' | 'json';
}

export function header(pairs: readonly Pair[], name: string): string | undefined {
  return pairs.find(([n]) => n === name)?.[1];
}

export function contentType(frame: Frame): string {
  return header(frame.headers, 'Content-Type') ?? '';
}

/**
 * Splits a byte stream into frames; throws on anything malformed. With `partial`, an incomplete
 * last frame is left out instead (for a stream still being received).
 */
export function splitFrames(bytes: Buffer, partial = false): Frame[] {
  const frames: Frame[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf('\n\n', at);
    if (end < 0 && partial) break;
    if (end < 0) throw new Error(`unterminated header block at byte ${at}`);
    const headers = bytes.subarray(at, end).toString('utf8').split('\n').map(splitHeader);
    at = end + 2;
    const length = header(headers, 'Content-Length');
    let body: Buffer | undefined;
    if (length !== undefined) {
      const n = Number(length);
      if (partial && at + n > bytes.length) break;
      if (!Number.isInteger(n) || n < 0 || at + n > bytes.length) throw new Error(`bad Content-Length ${length} at byte ${at}`);
      body = bytes.subarray(at, at + n);
      at += n;
    }
    frames.push({ headers, body });
  }
  return frames;
}

function splitHeader(line: string): Pair {
  const i = line.indexOf(': ');
  if (i < 0) throw new Error(`not a header line: ${JSON.stringify(line)}`);
  return [line.slice(0, i), line.slice(i + 2)];
}

/** Decodes text/event-plain or text/event-json; undefined for other frames. */
export function decodeEvent(frame: Frame): DecodedEvent | undefined {
  const type = contentType(frame);
  const text = frame.body?.toString('utf8') ?? '';
  if (type === 'text/event-plain') return decodePlain(text, frame.body ?? Buffer.alloc(0));
  if (type === 'text/event-json') return decodeJson(text);
  return undefined;
}

function decodePlain(text: string, raw: Buffer): DecodedEvent {
  const end = text.indexOf('\n\n');
  if (end < 0) throw new Error('plain event without blank line');
  const headers = text.slice(0, end).split('\n').map(splitHeader).map(([n, v]): Pair => [n, decodeURIComponent(v)]);
  const innerLength = headers.length > 0 && headers[headers.length - 1]?.[0] === 'Content-Length' ? headers.pop() : undefined;
  let body: string | undefined;
  if (innerLength) {
    const start = Buffer.byteLength(text.slice(0, end + 2), 'utf8');
    const n = Number(innerLength[1]);
    if (start + n !== raw.length) throw new Error(`inner Content-Length ${n} does not end the frame`);
    body = raw.subarray(start, start + n).toString('utf8');
  } else if (end + 2 !== text.length) {
    throw new Error('plain event has bytes after its headers but no inner Content-Length');
  }
  return { name: header(headers, 'Event-Name') ?? '', headers, body, format: 'plain' };
}

/** FreeSWITCH JSON events are flat objects of strings, possibly with duplicate keys: parsed by hand. */
function decodeJson(text: string): DecodedEvent {
  if (text.includes('\n{') || !text.startsWith('{') || !text.endsWith('}')) throw new Error('JSON event is not one object');
  const pairs: Pair[] = [];
  let i = 1;
  const readString = (): string => {
    let j = i + 1;
    while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    const value = JSON.parse(text.slice(i, j + 1)) as string;
    i = j + 1;
    return value;
  };
  // Array variables (variable_DP_MATCH) are the one non-string value FreeSWITCH writes (traces README, m–r).
  const readArray = (key: string): string => {
    const start = i;
    i++;
    while (text[i] !== ']') {
      if (text[i] !== '"') throw new Error(`JSON event: value of ${key} is neither a string nor an array of strings`);
      readString();
      if (text[i] === ',') i++;
    }
    i++;
    return text.slice(start, i);
  };
  while (text[i] !== '}') {
    if (text[i] !== '"') throw new Error(`JSON event: key expected at ${i}`);
    const key = readString();
    if (text[i] !== ':') throw new Error(`JSON event: ':' expected at ${i}`);
    i++;
    pairs.push([key, text[i] === '[' ? readArray(key) : readString()]);
    if (text[i] === ',') i++;
  }
  if (i !== text.length - 1) throw new Error('JSON event: trailing bytes');
  const bodyPair = pairs.findIndex(([k]) => k === '_body');
  let body: string | undefined;
  if (bodyPair >= 0) {
    body = pairs[bodyPair]?.[1];
    pairs.splice(bodyPair, 1);
    const len = pairs.findIndex(([k]) => k === 'Content-Length');
    if (len < 0 || Number(pairs[len]?.[1]) !== Buffer.byteLength(body ?? '', 'utf8')) throw new Error('JSON _body length mismatch');
    pairs.splice(len, 1);
  }
  return { name: header(pairs, 'Event-Name') ?? '', headers: pairs, body, format: 'json' };
}

export interface TimelineSend {
  dir: 'send';
  after_frame: number;
  command: string;
  t: number;
}
export interface TimelineRecv {
  dir: 'recv';
  frame: number;
  content_type: string;
  t: number;
}
export type TimelineEntry = TimelineSend | TimelineRecv | { dir: 'close'; t: number };

export interface Capture {
  name: string;
  bytes: Buffer;
  timeline: TimelineEntry[];
}

/** The real FreeSWITCH captures, stored gzipped under test/fixtures/simulator/esl-traces. */
export const TRACES_DIR = path.resolve(__dirname, '..', 'fixtures', 'simulator', 'esl-traces');

export function loadCapture(name: string): Capture {
  const read = (file: string): Buffer => gunzipSync(readFileSync(path.join(TRACES_DIR, `${file}.gz`)));
  const timeline = JSON.parse(read(`${name}.timeline.json`).toString('utf8')) as TimelineEntry[];
  return { name, bytes: read(`${name}.esl`), timeline };
}
