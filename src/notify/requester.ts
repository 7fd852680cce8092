import type { CallbackNotifier } from '../callbacks/ports.js';
import type { Callback, TimelineEntry } from '../callbacks/types.js';
import type { MessageSender, OutboundMessage } from '../channels/types.js';

/**
 * Status messages to the person who asked for a callback over a channel (claims 3 and 18): told on
 * the channel they asked on, as replies in the same conversation. One message per status change,
 * keyed by the callback and the change (its timeline entry), so a status announced twice (a retried
 * worker step) is sent once.
 */

/** Who is being called, as the message names them: the display name, else the number or URI. */
function calleeName(callback: Callback): string {
  const { callee } = callback.request;
  if (callee.name) return callee.name;
  return callee.endpoint.kind === 'number' ? callee.endpoint.e164 : callee.endpoint.uri;
}

interface ZoneFormats {
  /** UTC when the requester's zone is not one Intl knows. */
  zone: string;
  time: Intl.DateTimeFormat;
  day: Intl.DateTimeFormat;
  date: Intl.DateTimeFormat;
}

/** Intl formatters are costly to build (a locale and zone lookup each): one set per zone, kept. */
const formatsByZone = new Map<string, ZoneFormats>();
const MAX_ZONES = 1000;

function formatsFor(timeZone: string): ZoneFormats {
  const known = formatsByZone.get(timeZone);
  if (known) return known;
  let zone = timeZone;
  let time: Intl.DateTimeFormat;
  try {
    time = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  } catch {
    zone = 'UTC';
    time = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  }
  const formats: ZoneFormats = {
    zone,
    time,
    day: new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }),
    date: new Intl.DateTimeFormat('en-GB', { timeZone: zone, weekday: 'short', day: 'numeric', month: 'short' }),
  };
  if (formatsByZone.size >= MAX_ZONES) formatsByZone.clear();
  formatsByZone.set(timeZone, formats);
  return formats;
}

/** `15:10` in the requester's zone (and the date when it is not today there). */
export function tellTime(at: Date, now: Date, timeZone: string): string {
  const f = formatsFor(timeZone);
  const time = f.time.format(at);
  const suffix = f.zone === 'UTC' ? ' UTC' : '';
  if (f.day.format(at) === f.day.format(now)) return `${time}${suffix}`;
  return `${f.date.format(at)} ${time}${suffix}`;
}

const CAUSE_WORDS: Record<string, string> = {
  USER_BUSY: 'busy',
  NO_ANSWER: 'no answer',
  NO_USER_RESPONSE: 'no answer',
  CALL_REJECTED: 'call rejected',
  UNALLOCATED_NUMBER: 'number does not exist',
  NORMAL_TEMPORARY_FAILURE: 'network failure',
  DESTINATION_OUT_OF_ORDER: 'line out of order',
  ORIGINATOR_CANCEL: 'canceled',
};

/** `busy`, `no answer`, … for a hang-up cause; the cause itself, lower-cased, when not listed. */
export function causeWords(cause: string | undefined): string {
  if (cause === undefined) return 'the call could not be made';
  return CAUSE_WORDS[cause] ?? cause.toLowerCase().replace(/_/g, ' ');
}

/**
 * The text for a status change, or undefined when it is not worth a message (queued, the callee's
 * answer before the caller's, …).
 */
export function statusText(callback: Callback, entry: TimelineEntry, now: Date, timeZone: string): string | undefined {
  const who = calleeName(callback);
  const lastCause = [...callback.timeline].reverse().find((e) => e.hangupCause !== undefined)?.hangupCause;
  switch (entry.status) {
    case 'calling-callee':
    case 'calling-caller': {
      // One message per attempt: at the first leg it dials.
      const first = callback.timeline.find((e) => e.attempt === entry.attempt && (e.status === 'calling-callee' || e.status === 'calling-caller'));
      if (first !== undefined && (first.at !== entry.at || first.status !== entry.status)) return undefined;
      return entry.attempt !== undefined && entry.attempt > 1 ? `Calling ${who} now (attempt ${entry.attempt}).` : `Calling ${who} now.`;
    }
    case 'bridged':
      return `You are connected with ${who}.`;
    case 'completed':
      return `Your call with ${who} has ended.`;
    case 'scheduled': {
      if (callback.nextAttemptAt === undefined) return undefined;
      const at = tellTime(new Date(callback.nextAttemptAt), now, timeZone);
      if (callback.attempts.length === 0) return `I will call ${who} at ${at}.`;
      const cause = entry.hangupCause ?? lastCause;
      const what = cause === 'USER_BUSY' ? 'was busy' : cause === 'NO_ANSWER' || cause === 'NO_USER_RESPONSE' || cause === undefined ? 'did not answer' : `could not be reached (${causeWords(cause)})`;
      return `${who} ${what} — I will try again at ${at}.`;
    }
    case 'failed':
      return `Failed: ${causeWords(callback.failureCause ?? entry.hangupCause ?? lastCause)}. ${who} could not be connected.`;
    case 'canceled':
      return `Your call to ${who} is canceled.`;
    default:
      return undefined;
  }
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface RequesterNotifierOptions {
  sender: MessageSender;
  clock?: () => Date;
}

/** The {@link CallbackNotifier} that tells the requester (callbacks without one are skipped). */
export function createRequesterNotifier(options: RequesterNotifierOptions): CallbackNotifier {
  const clock = options.clock ?? (() => new Date());
  return {
    async statusChanged(callback: Callback, entry: TimelineEntry): Promise<void> {
      const requester = callback.requester;
      if (requester === undefined) return;
      const text = statusText(callback, entry, clock(), requester.timeZone ?? 'UTC');
      if (text === undefined) return;
      const message: OutboundMessage = {
        to: requester.address,
        text: `${text}\n\nReply "status" or "cancel".`,
        ...(requester.address.channel === 'email'
          ? { html: `<p>${escapeHtml(text)}</p><p style="color:#666">Reply <b>status</b> or <b>cancel</b>.</p>` }
          : {}),
        ...(requester.thread ? { thread: requester.thread } : {}),
        dedupKey: `callback:${callback.id}:status:${entry.status ?? entry.event}:${entry.at}`,
      };
      await options.sender.enqueue(message);
    },
  };
}

/** Tells every notifier, in order; one failing does not keep the others from being told, and the first failure is rethrown. */
export function fanOutNotifier(notifiers: readonly CallbackNotifier[]): CallbackNotifier {
  return {
    async statusChanged(callback, entry) {
      let failure: unknown;
      for (const n of notifiers) {
        try {
          await n.statusChanged(callback, entry);
        } catch (err) {
          failure ??= err;
        }
      }
      if (failure !== undefined) throw failure;
    },
  };
}
