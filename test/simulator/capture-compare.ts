/**
 * Compares what the simulator sent with what the real FreeSWITCH sent for the same client steps:
 * framing and outer header order, replies and API results, per-channel event sequences, job
 * results, and the header names (in order) of every matching event. Values that are only noise
 * (UUIDs, dates, sequence numbers) are not compared.
 *
 * Left out on both sides: the telephones' own channels (`sofia/phones/…` in the captures, see the
 * traces' README), their DTMF and CUSTOM events, HEARTBEAT/RE_SCHEDULE, and API events of commands
 * this client did not send (another connection's `show channels count` during the capture).
 */
import { contentType, decodeEvent, header, type DecodedEvent, type Frame, type Pair } from './esl-frames.js';

export interface Classified {
  index: number;
  frame: Frame;
  event: DecodedEvent | undefined;
  relevant: boolean;
}

const NOISE_EVENTS = new Set(['HEARTBEAT', 'RE_SCHEDULE', 'CUSTOM', 'DTMF']);
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

export const normalize = (text: string): string => text.replace(UUID, '<uuid>');

/** The api/bgapi commands a client sent, as `command arg` (what API events name). */
export function sentApiCommands(sends: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const send of sends) {
    const m = /^(?:bg)?api (\S+)(?: ([^\n]*))?/.exec(send);
    if (m?.[1]) out.add(`${m[1]} ${m[2] ?? ''}`.trim());
  }
  return out;
}

export function classify(frames: readonly Frame[], sent: ReadonlySet<string>): Classified[] {
  return frames.map((frame, index) => {
    const event = decodeEvent(frame);
    return { index, frame, event, relevant: !event || isRelevantEvent(event, sent) };
  });
}

function isRelevantEvent(event: DecodedEvent, sent: ReadonlySet<string>): boolean {
  if (NOISE_EVENTS.has(event.name)) return false;
  const channel = header(event.headers, 'Channel-Name') ?? '';
  if (channel.startsWith('sofia/phones/')) return false;
  if (event.name === 'API') {
    const command = `${header(event.headers, 'API-Command') ?? ''} ${header(event.headers, 'API-Command-Argument') ?? ''}`.trim();
    return sent.has(command);
  }
  return true;
}

/** A channel event's place in its sequence: name plus the state it reports. */
function label(event: DecodedEvent): string {
  const h = (n: string): string => header(event.headers, n) ?? '';
  switch (event.name) {
    case 'CHANNEL_STATE':
      return `CHANNEL_STATE(${h('Channel-State')})`;
    case 'CHANNEL_CALLSTATE':
      return `CHANNEL_CALLSTATE(${h('Channel-Call-State')})`;
    case 'CHANNEL_EXECUTE':
    case 'CHANNEL_EXECUTE_COMPLETE':
      return `${event.name}(${h('Application')})`;
    case 'CHANNEL_HANGUP':
    case 'CHANNEL_HANGUP_COMPLETE':
      return `${event.name}(${h('Hangup-Cause')})`;
    default:
      return event.name;
  }
}

const outerNames = (f: Frame): string => f.headers.map(([n]) => n).join(',');

function nonEventLabel(f: Frame): string {
  const type = contentType(f);
  if (type === 'command/reply') return `reply ${normalize(header(f.headers, 'Reply-Text') ?? '')}`;
  if (type === 'api/response') return `api ${normalizeBody(f.body?.toString('utf8') ?? '')}`;
  return `${type} ${f.body?.toString('utf8') ?? ''}`;
}

/**
 * Status counters, epochs and UUIDs vary between runs; the text around them must not. The uptime's
 * units are singular for 1 (`1 minute`), so they are compared without their plural `s`.
 */
export function normalizeBody(body: string): string {
  const text = normalize(body);
  if (!text.startsWith('UP ')) return text.replace(/\b\d{10}\b/g, '<epoch>');
  return text.replace(/\d+(\.\d+)?/g, '#').replace(/# (year|day|hour|minute|second|millisecond|microsecond)s\b/g, '# $1');
}

interface ChannelTrack {
  uuid: string;
  events: DecodedEvent[];
}

/** Channels in order of first appearance; their relevant events in order. */
function channels(items: readonly Classified[]): ChannelTrack[] {
  const byUuid = new Map<string, ChannelTrack>();
  for (const item of items) {
    const uuid = item.event && item.relevant ? header(item.event.headers, 'Unique-ID') : undefined;
    if (!item.event || !uuid) continue;
    let track = byUuid.get(uuid);
    if (!track) {
      track = { uuid, events: [] };
      byUuid.set(uuid, track);
    }
    track.events.push(item.event);
  }
  return [...byUuid.values()];
}

/**
 * Set only for some codecs: the m–r captures' phones negotiated OPUS (which has fmtp parameters),
 * the simulator's legs PCMU like a–l; which codec is negotiated is not the simulator's business.
 */
const CODEC_SPECIFIC = new Set(['variable_rtp_use_codec_fmtp']);

function namesDiff(where: string, expected: readonly Pair[], actual: readonly Pair[]): string | undefined {
  const a = expected.map(([n]) => n).filter((n) => !CODEC_SPECIFIC.has(n));
  const b = actual.map(([n]) => n).filter((n) => !CODEC_SPECIFIC.has(n));
  if (a.join('\n') === b.join('\n')) return undefined;
  const missing = a.filter((n) => !b.includes(n));
  const extra = b.filter((n) => !a.includes(n));
  const firstDiff = a.findIndex((n, i) => b[i] !== n);
  return `${where}: header names differ (missing ${JSON.stringify(missing)}, extra ${JSON.stringify(extra)}, first difference at #${firstDiff}: expected ${a[firstDiff]}, got ${b[firstDiff]})`;
}

export interface Comparison {
  differences: string[];
  /** How many event pairs had their header names compared. */
  comparedEvents: number;
}

export function compareStreams(capture: readonly Classified[], sim: readonly Classified[]): Comparison {
  const differences: string[] = [];
  let comparedEvents = 0;
  const diff = (text: string): void => {
    differences.push(text);
  };

  // Framing: every event frame is Content-Length, Content-Type; other frames as FreeSWITCH orders them.
  const outerByType = new Map<string, Set<string>>();
  for (const c of capture) {
    const key = c.event ? 'event' : contentType(c.frame);
    const set = outerByType.get(key) ?? new Set<string>();
    set.add(outerNames(c.frame));
    outerByType.set(key, set);
  }
  for (const s of sim) {
    const key = s.event ? 'event' : contentType(s.frame);
    if (!outerByType.get(key)?.has(outerNames(s.frame))) diff(`frame #${s.index} (${key}): outer headers ${outerNames(s.frame)} not seen in the capture`);
    if (s.event?.format === 'json' && s.frame.body?.toString('utf8').endsWith('\n')) diff(`frame #${s.index}: JSON event ends with a newline`);
  }

  // Replies, API results, auth and disconnect frames: same texts in the same order.
  const capNonEvents = capture.filter((c) => !c.event).map((c) => nonEventLabel(c.frame));
  const simNonEvents = sim.filter((s) => !s.event).map((s) => nonEventLabel(s.frame));
  if (capNonEvents.join('\n---\n') !== simNonEvents.join('\n---\n')) {
    diff(`non-event frames differ:\n  capture: ${JSON.stringify(capNonEvents)}\n  sim:     ${JSON.stringify(simNonEvents)}`);
  }

  // Background jobs and API events: same commands and results, same order, same header names.
  for (const name of ['BACKGROUND_JOB', 'API']) {
    const pick = (items: readonly Classified[]): DecodedEvent[] =>
      items.filter((i) => i.relevant && i.event?.name === name).map((i) => i.event as DecodedEvent);
    const capEvents = pick(capture);
    const simEvents = pick(sim);
    const text = (e: DecodedEvent): string => normalize([
      header(e.headers, 'Job-Command') ?? header(e.headers, 'API-Command'),
      header(e.headers, 'Job-Command-Arg') ?? header(e.headers, 'API-Command-Argument') ?? '',
      e.body === undefined ? '' : `=> ${normalizeBody(e.body)}`,
    ].join(' '));
    const capText = capEvents.map(text);
    const simText = simEvents.map(text);
    if (capText.join('\n') !== simText.join('\n')) diff(`${name} events differ:\n  capture: ${JSON.stringify(capText)}\n  sim:     ${JSON.stringify(simText)}`);
    capEvents.forEach((e, i) => {
      const s = simEvents[i];
      if (!s) return;
      comparedEvents++;
      const d = namesDiff(`${name} #${i}`, e.headers, s.headers);
      if (d) diff(d);
    });
  }

  // Channels: the same legs, each with the same events in the same order and the same header names.
  const capChannels = channels(capture);
  const simChannels = channels(sim);
  if (capChannels.length !== simChannels.length) diff(`capture has ${capChannels.length} channel(s), simulator ${simChannels.length}`);
  capChannels.forEach((cap, n) => {
    const mine = simChannels[n];
    if (!mine) return;
    const capLabels = cap.events.map(label);
    const simLabels = mine.events.map(label);
    if (capLabels.join(' ') !== simLabels.join(' ')) {
      diff(`channel ${n + 1} events differ:\n  capture: ${capLabels.join(' ')}\n  sim:     ${simLabels.join(' ')}`);
    }
    cap.events.forEach((e, i) => {
      const s = mine.events[i];
      if (!s || label(s) !== label(e)) return;
      comparedEvents++;
      const d = namesDiff(`channel ${n + 1} event #${i} ${label(e)}`, e.headers, s.headers);
      if (d) diff(d);
    });
  });
  return { differences, comparedEvents };
}
