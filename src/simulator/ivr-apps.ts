/**
 * The applications an IVR runs on a caller (outbound-socket mode), with the caller scripted:
 * `play_and_get_digits` collects what the script presses, `record` writes a WAV file of what the
 * caller says until the silence detector or the time limit stops it, `rxfax` writes the TIFF of a
 * fax (or fails midway, as the script says). As on FreeSWITCH, the files are written by the
 * switch at the path the client names; the simulator writes them on this host.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Channel, CurrentApp } from './channel.js';
import type { SwitchContext } from './context.js';
import { executeCompleted, executeStarted, fire } from './leg.js';
import { playbackMs } from './apps.js';

/** What a scripted caller does once its call reaches the IVR (InboundCallOptions.caller). */
export interface CallerScript {
  /**
   * What the caller keys in, one entry per try of each `play_and_get_digits`, in order: `'1'`,
   * `'1234#'`; `''` (or the list running out) lets that try time out.
   */
  keys?: readonly string[];
  /** Simulated ms the caller talks into a `record` before falling silent; Infinity never stops. @defaultValue 3000 */
  talkMs?: number;
  /** The caller hangs up this many simulated ms after the call arrived. @defaultValue never */
  hangupAfterMs?: number;
  /** What the caller's fax machine does on `rxfax`: sends `pages` pages, or fails after them. @defaultValue no fax (rxfax fails) */
  fax?: { pages: number; fails?: boolean };
}

const scripts = new WeakMap<Channel, { script: CallerScript; next: number }>();

/** Gives the caller of `ch` its script. */
export function scriptCaller(ch: Channel, script: CallerScript): void {
  scripts.set(ch, { script, next: 0 });
}

function nextKeys(ch: Channel): string {
  const entry = scripts.get(ch);
  if (!entry) return '';
  const keys = entry.script.keys?.[entry.next] ?? '';
  entry.next += 1;
  return keys;
}

/** FreeSWITCH's time per keyed digit as a caller presses them (tone + gap), simulated ms. */
const KEY_MS = 300;

type Timed = (ms: number, response: string | undefined, onDone?: () => void) => void;

/**
 * `play_and_get_digits <min> <max> <tries> <timeout> <terminators> <file> <invalid_file> <var> <regexp> [digit_timeout]`:
 * each try plays the prompt, then takes the script's next keys; valid keys end the app with the
 * variable set, invalid ones play the invalid file and try again; after the last try the variable
 * is empty. DTMF events fire as the keys are pressed.
 */
export function playAndGetDigits(ctx: SwitchContext, ch: Channel, request: CurrentApp, timed: Timed): void {
  const parts = request.arg.split(' ');
  const [min = 0, max = 1, tries = 1, timeout = 5000] = parts.slice(0, 4).map((n) => Number.parseInt(n, 10));
  const terminators = parts[4] === 'none' ? '' : (parts[4] ?? '#');
  const prompt = parts[5] ?? '';
  const invalid = parts[6] ?? '';
  const variable = parts[7] ?? 'digits';
  const pattern = parts[8] !== undefined ? safeRegExp(parts[8]) : undefined;
  let elapsed = 0;
  let result = '';
  for (let attempt = 0; attempt < tries; attempt++) {
    elapsed += playbackMs(prompt);
    const pressed = nextKeys(ch);
    if (pressed === '') {
      elapsed += timeout;
      continue;
    }
    let digits = '';
    for (const key of pressed) {
      elapsed += KEY_MS;
      const at = elapsed;
      ch.own(ctx.clock.after(at, () => fire(ctx, 'DTMF', ch, { trail: [['DTMF-Digit', key], ['DTMF-Duration', '1600'], ['DTMF-Source', 'RTP']] })));
      if (terminators.includes(key)) break;
      digits += key;
      if (digits.length >= max) break;
    }
    if (digits.length >= min && digits.length <= max && (pattern === undefined || pattern.test(digits))) {
      result = digits;
      break;
    }
    elapsed += playbackMs(invalid);
  }
  ch.vars.set('read_result', result === '' ? 'timeout' : 'success');
  timed(elapsed, undefined, () => {
    if (result !== '') ch.vars.set(variable, result);
    else ch.vars.unset(variable);
  });
}

function safeRegExp(source: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch {
    return undefined;
  }
}

type Finish = (response?: string) => void;
type Own = (stop: (how: 'hangup' | 'break') => void) => void;

/**
 * `record <path> [<limit_secs> [<silence_thresh> [<silence_hits>]]]`: RECORD_START, the caller
 * talks for the script's talkMs, the detector stops after `silence_hits` seconds of silence (or the
 * limit first); the WAV is written when it stops, also when the caller hangs up midway (as
 * FreeSWITCH closes the file on hangup). Sets record_ms, record_seconds, record_samples.
 */
export function recordApp(ctx: SwitchContext, ch: Channel, request: CurrentApp, finish: Finish, own: Own): void {
  const [path = '', limitText, , hitsText] = request.arg.split(' ');
  const limitMs = limitText !== undefined && Number(limitText) > 0 ? Number(limitText) * 1000 : Number.POSITIVE_INFINITY;
  const hitsMs = hitsText !== undefined && Number(hitsText) > 0 ? Number(hitsText) * 1000 : Number.POSITIVE_INFINITY;
  const talkMs = scripts.get(ch)?.script.talkMs ?? 3000;
  const ms = Math.min(limitMs, talkMs + hitsMs);
  const bySilence = talkMs + hitsMs <= limitMs;
  executeStarted(ctx, ch, request, true);
  ch.vars.set('silence_hits_exhausted', 'false');
  const file: Array<[string, string]> = [['Record-File-Path', path]];
  fire(ctx, 'RECORD_START', ch, { trail: file });
  const started = performance.now();
  let done = false;
  const stop = (completed: boolean, atLimit = false): void => {
    if (done) return;
    done = true;
    cancel();
    // The limit's own timer ends it at exactly `ms`: real timers may fire a tick early, and one
    // real millisecond is many simulated ones under a small time scale.
    const recorded = atLimit ? ms : Math.min(ms, Math.round((performance.now() - started) / ctx.clock.timeScale));
    writeWav(path, recorded, talkMs);
    ch.vars.setAll([['record_ms', String(recorded)], ['record_seconds', String(Math.floor(recorded / 1000))], ['record_samples', String(recorded * 8)]]);
    if (completed && recorded >= ms && bySilence) ch.vars.set('silence_hits_exhausted', 'true');
    fire(ctx, 'RECORD_STOP', ch, { trail: file });
    if (completed) finish();
    else executeCompleted(ctx, ch, request);
  };
  const cancel = Number.isFinite(ms) ? ctx.clock.after(ms, () => stop(true, true)) : () => undefined;
  own((how) => stop(how === 'break'));
  ch.own(cancel);
}

/**
 * `rxfax <path>`: the caller's fax sends its pages (3 s each); the TIFF is written and
 * fax_success=1, or, when the script's fax fails (or there is no fax), fax_success=0 with
 * fax_result_text, as mod_spandsp reports.
 */
export function rxfaxApp(ctx: SwitchContext, ch: Channel, request: CurrentApp, finish: Finish, own: Own): void {
  const path = request.arg.trim();
  const fax = scripts.get(ch)?.script.fax;
  executeStarted(ctx, ch, request, true);
  const pages = fax?.pages ?? 0;
  const ms = fax === undefined ? 20_000 : 3000 * Math.max(1, pages);
  let done = false;
  const complete = (hungUp: boolean): void => {
    if (done) return;
    done = true;
    cancel();
    const ok = fax !== undefined && fax.fails !== true && !hungUp && pages > 0;
    if (ok) writeTiff(path, pages);
    ch.vars.setAll([
      ['fax_success', ok ? '1' : '0'],
      ['fax_result_code', ok ? '0' : fax === undefined ? '2' : '49'],
      ['fax_result_text', ok ? 'OK' : fax === undefined ? 'Timed out waiting for initial communication' : 'The call dropped prematurely'],
      ['fax_document_transferred_pages', String(ok ? pages : 0)],
      ['fax_document_total_pages', String(pages)],
    ]);
    if (hungUp) executeCompleted(ctx, ch, request);
    else finish();
  };
  const cancel = ctx.clock.after(ms, () => complete(false));
  own((how) => complete(how === 'hangup'));
  ch.own(cancel);
}

/** 8 kHz 16-bit mono PCM, `ms` long: a 440 Hz tone while the caller talks (`talkMs`), then silence. */
function writeWav(path: string, ms: number, talkMs: number): void {
  if (path === '') return;
  const samples = Math.max(0, Math.round(ms * 8));
  const voiced = Math.min(samples, Math.round(Math.min(talkMs, ms) * 8));
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < voiced; i++) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, Buffer.concat([header, data]));
}

/** A bilevel TIFF of `pages` blank 1728×64 pages (uncompressed), as a fax would give. */
function writeTiff(path: string, pages: number): void {
  const width = 1728;
  const height = 64;
  const rowBytes = width / 8;
  const strip = Buffer.alloc(rowBytes * height);
  const entries = 10;
  const ifdSize = 2 + entries * 12 + 4;
  const chunks: Buffer[] = [];
  const header = Buffer.alloc(8);
  header.write('II', 0);
  header.writeUInt16LE(42, 2);
  let offset = 8;
  header.writeUInt32LE(offset, 4);
  chunks.push(header);
  for (let page = 0; page < pages; page++) {
    const ifd = Buffer.alloc(ifdSize);
    const stripOffset = offset + ifdSize;
    const next = page + 1 < pages ? stripOffset + strip.length : 0;
    const tags: Array<[number, number, number]> = [
      [256, 3, width], [257, 3, height], [258, 3, 1], [259, 3, 1], [262, 3, 0],
      [273, 4, stripOffset], [277, 3, 1], [278, 3, height], [279, 4, strip.length], [296, 3, 2],
    ];
    ifd.writeUInt16LE(entries, 0);
    tags.forEach(([tag, type, value], i) => {
      const at = 2 + i * 12;
      ifd.writeUInt16LE(tag, at);
      ifd.writeUInt16LE(type, at + 2);
      ifd.writeUInt32LE(1, at + 4);
      if (type === 3) ifd.writeUInt16LE(value, at + 8);
      else ifd.writeUInt32LE(value, at + 8);
    });
    ifd.writeUInt32LE(next, 2 + entries * 12);
    chunks.push(ifd, strip);
    offset = stripOffset + strip.length;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, Buffer.concat(chunks));
}
