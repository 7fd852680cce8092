import * as chrono from 'chrono-node';
import { DateTime } from 'luxon';

/** A time found in a message, as an instant, with the words it was written in. */
export interface FoundTime {
  /** The words of the message that said it ("tomorrow at 9"). */
  text: string;
  /** Where they start in the text searched. */
  index: number;
  at: Date;
}

export type TimeProblem =
  /** A day without an hour ("tomorrow", "on Monday"): the call needs a time. */
  | { problem: 'no-hour'; text: string }
  /** Something that looks like a time but is not one ("at 25:99"). */
  | { problem: 'unreadable'; text: string };

// Leftovers that read like a time chrono could not make sense of.
const TIME_LIKE = /(?:\b(?:at|@|by|around)\s*)?\b\d{1,3}\s*[:.h]\s*\d{1,3}\b(?:\s*[ap]\.?m\.?)?|\b(?:at|@)\s*\d{1,4}\s*(?:[ap]\.?m\.?)?\b|\b\d{1,2}\s*[ap]\.?m\.?\b/i;

/**
 * Finds one time in `text` (English, chrono-node) read in `timeZone` as of `now`. Wall-clock times
 * ("at 3pm", "tomorrow at 9") are placed in the sender's zone by luxon, so a DST change between
 * now and then is honoured; relative ones ("in 10 minutes") count from now. An hour from 1 to 6
 * without am/pm is read as the afternoon: a callback at 3 a.m. is rarely what was meant.
 */
export function findTime(text: string, now: Date, timeZone: string): FoundTime | TimeProblem | undefined {
  const offset = DateTime.fromJSDate(now).setZone(timeZone).offset;
  const results = chrono.parse(text, { instant: now, timezone: offset }, { forwardDate: true });
  const result = results[0];
  if (!result) {
    const leftover = TIME_LIKE.exec(text);
    return leftover ? { problem: 'unreadable', text: leftover[0].trim() } : undefined;
  }
  const start = result.start;
  const relative = result.tags().has('result/relativeDate');
  if (!relative && !start.isCertain('hour')) return { problem: 'no-hour', text: result.text };
  let at: Date;
  if (relative) {
    at = result.date();
  } else {
    let hour = start.get('hour') ?? 0;
    if (!start.isCertain('meridiem') && hour >= 1 && hour <= 6 && !/\b0\d[:.h]/.test(result.text)) hour += 12;
    let local = DateTime.fromObject(
      { year: start.get('year') ?? undefined, month: start.get('month') ?? undefined, day: start.get('day') ?? undefined, hour, minute: start.get('minute') ?? 0, second: 0 },
      { zone: timeZone },
    );
    // "at 3" said at 16:00 with no day: the next 15:00 (chrono placed it tomorrow at 3 a.m.).
    if (!start.isCertain('day') && !start.isCertain('weekday')) {
      const today = DateTime.fromJSDate(now).setZone(timeZone).set({ hour, minute: start.get('minute') ?? 0, second: 0, millisecond: 0 });
      local = today.toMillis() > now.getTime() ? today : today.plus({ days: 1 });
    }
    if (!local.isValid) return { problem: 'unreadable', text: result.text };
    at = local.toJSDate();
  }
  return { text: result.text, index: result.index, at };
}

/** "Tue 8 Dec, 15:00 (Europe/London)" in the sender's zone. */
export function describeTime(at: Date, timeZone: string): string {
  return `${DateTime.fromJSDate(at).setZone(timeZone).toFormat('ccc d LLL, HH:mm')} (${timeZone})`;
}
