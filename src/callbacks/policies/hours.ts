/**
 * Business hours and caller windows: when a call may be placed. All calendar work is done by luxon
 * in the place's own IANA time zone, so that "09:00" means nine o'clock on the wall clock there on
 * every day, whatever its length (23 h and 25 h days at DST changes).
 *
 * DST rules (luxon's, documented here because they decide edge cases):
 * - a wall time that does not exist (02:30 on the spring-forward night in New York) is moved
 *   forward by the gap (03:30 EDT): a range starting in the gap opens when the clocks say it does;
 * - a wall time that exists twice (01:30 on the fall-back night) is its first occurrence.
 */
import { DateTime, IANAZone } from 'luxon';
import { CrosslineError, type ErrorDetail } from '../../errors.js';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Open from `from` to `to` (wall-clock `HH:mm`, `to` may be `24:00`) on each of `days`. */
export interface WeeklyRange {
  days: Weekday[];
  from: string;
  to: string;
}

/** When a place is open, in its own time zone. */
export interface BusinessHours {
  /** IANA time zone, e.g. `America/New_York`. */
  timeZone: string;
  weekly: WeeklyRange[];
  /** Local dates (`YYYY-MM-DD`) on which it is closed all day. */
  holidays: string[];
}

/** A caller's daily window ("between 2 and 4 pm my time"). */
export interface CallWindow {
  from: string;
  to: string;
  timeZone: string;
}

/** Anything that says whether a moment is allowed: business hours, a caller window. */
export type Schedule = BusinessHours;

const HH_MM = /^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** How far ahead an opening is looked for: a place closed for longer than this counts as never open. */
const HORIZON_DAYS = 400;
const MAX_RANGES = 70;
const MAX_HOLIDAYS = 400;

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether `zone` is an IANA time zone this server knows (fixed offsets such as `UTC+2` are refused). */
export function isTimeZone(zone: string): boolean {
  return typeof zone === 'string' && zone.length <= 64 && /^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+){0,2}$/.test(zone) && IANAZone.isValidZone(zone);
}

function assertTimeZone(zone: string, path: string): void {
  if (!isTimeZone(zone)) throw new CrosslineError('INVALID_TIME_ZONE', `"${String(zone).slice(0, 64)}" is not an IANA time zone.`, [{ path, message: 'must be an IANA time zone such as America/New_York or Europe/Berlin' }]);
}

/**
 * Checks and normalises business hours: a real time zone, `HH:mm` times with `from` before `to`
 * (a range past midnight is written as two), no two ranges of one day overlapping, real dates.
 * Throws INVALID_TIME_ZONE or INVALID_HOURS with a detail per problem.
 */
export function parseBusinessHours(input: { timeZone: string; weekly: WeeklyRange[]; holidays?: string[] }, path: string): BusinessHours {
  assertTimeZone(input.timeZone, `${path}/timeZone`);
  const problems: ErrorDetail[] = [];
  if (!Array.isArray(input.weekly) || input.weekly.length === 0) problems.push({ path: `${path}/weekly`, message: 'give at least one range (a place that is never open has no hours)' });
  if (Array.isArray(input.weekly) && input.weekly.length > MAX_RANGES) problems.push({ path: `${path}/weekly`, message: `at most ${MAX_RANGES} ranges` });
  const perDay = new Map<Weekday, Array<{ from: number; to: number; at: string }>>();
  (input.weekly ?? []).slice(0, MAX_RANGES).forEach((range, i) => {
    const at = `${path}/weekly/${i}`;
    if (!HH_MM.test(range.from) || range.from === '24:00') return void problems.push({ path: `${at}/from`, message: 'must be a time HH:mm from 00:00 to 23:59' });
    if (!HH_MM.test(range.to)) return void problems.push({ path: `${at}/to`, message: 'must be a time HH:mm from 00:01 to 24:00' });
    const from = minutesOf(range.from);
    const to = range.to === '24:00' ? 1440 : minutesOf(range.to);
    if (to <= from) return void problems.push({ path: at, message: `inverted range: ${range.from} is not before ${range.to} (write a range past midnight as two ranges)` });
    if (!Array.isArray(range.days) || range.days.length === 0) return void problems.push({ path: `${at}/days`, message: 'give at least one day' });
    for (const day of new Set(range.days)) {
      if (!WEEKDAYS.includes(day)) {
        problems.push({ path: `${at}/days`, message: `"${String(day).slice(0, 8)}" is not one of ${WEEKDAYS.join(', ')}` });
        continue;
      }
      const list = perDay.get(day) ?? [];
      const clash = list.find((r) => r.from < to && from < r.to);
      if (clash) problems.push({ path: at, message: `overlaps ${clash.at} on ${day}` });
      else list.push({ from, to, at });
      perDay.set(day, list);
    }
  });
  const holidays = [...new Set(input.holidays ?? [])];
  if (holidays.length > MAX_HOLIDAYS) problems.push({ path: `${path}/holidays`, message: `at most ${MAX_HOLIDAYS} dates` });
  holidays.slice(0, MAX_HOLIDAYS).forEach((date, i) => {
    if (!DATE.test(date) || !DateTime.fromISO(date, { zone: input.timeZone }).isValid) problems.push({ path: `${path}/holidays/${i}`, message: 'must be a real date YYYY-MM-DD' });
  });
  if (problems.length > 0) throw new CrosslineError('INVALID_HOURS', 'The business hours are not valid.', problems);
  const weekly: WeeklyRange[] = input.weekly.map((r) => ({ days: WEEKDAYS.filter((d) => r.days.includes(d)), from: r.from, to: r.to }));
  return { timeZone: input.timeZone, weekly, holidays: holidays.sort() };
}

/** Checks a caller window and returns it as hours open every day from `from` to `to`. */
export function parseCallWindow(input: CallWindow, path: string): CallWindow {
  assertTimeZone(input.timeZone, `${path}/timeZone`);
  const bad = (message: string, at: string): CrosslineError => new CrosslineError('INVALID_SCHEDULE', 'The call window is not valid.', [{ path: at, message }]);
  if (!HH_MM.test(input.from) || input.from === '24:00') throw bad('must be a time HH:mm from 00:00 to 23:59', `${path}/from`);
  if (!HH_MM.test(input.to)) throw bad('must be a time HH:mm from 00:01 to 24:00', `${path}/to`);
  const to = input.to === '24:00' ? 1440 : minutesOf(input.to);
  if (to <= minutesOf(input.from)) throw bad(`inverted window: ${input.from} is not before ${input.to}`, path);
  return { from: input.from, to: input.to, timeZone: input.timeZone };
}

export const windowHours = (w: CallWindow): BusinessHours => ({ timeZone: w.timeZone, weekly: [{ days: [...WEEKDAYS], from: w.from, to: w.to }], holidays: [] });

/**
 * The wall time `hhmm` on local date `day` as an instant (`24:00` is the next day's start). A wall
 * time that occurs twice (fall-back night) is its first occurrence; one that does not occur
 * (spring-forward gap) is moved forward by the gap.
 */
function at(day: DateTime, hhmm: string): DateTime {
  if (hhmm === '24:00') return day.plus({ days: 1 }).startOf('day');
  const wall = { year: day.year, month: day.month, day: day.day, hour: Number(hhmm.slice(0, 2)), minute: Number(hhmm.slice(3, 5)) };
  const resolved = DateTime.fromObject(wall, { zone: day.zone });
  // The offsets in force around it; each gives a candidate instant, kept when it shows that wall time.
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
  const offsets = new Set([resolved.minus({ hours: 3 }).offset, resolved.plus({ hours: 3 }).offset, resolved.offset]);
  const candidates = [...offsets]
    .map((offset) => DateTime.fromMillis(asUtc - offset * 60_000, { zone: day.zone }))
    .filter((c) => c.hour === wall.hour && c.minute === wall.minute && c.day === wall.day)
    .sort((a, b) => a.toMillis() - b.toMillis());
  return candidates[0] ?? resolved;
}

/**
 * The open intervals [start, end) (ms) that end after `fromMs`, in order, adjacent ones merged
 * (Monday 00:00-24:00 and Tuesday 00:00-08:00 are one interval), over the horizon.
 */
export function* openIntervals(hours: BusinessHours, fromMs: number, horizonDays = HORIZON_DAYS): Generator<[number, number]> {
  const holidays = new Set(hours.holidays);
  // From the day before: a range of yesterday may still be open (a 25-hour day, or 24:00).
  let day = DateTime.fromMillis(fromMs, { zone: hours.timeZone }).startOf('day').minus({ days: 1 });
  let pending: [number, number] | undefined;
  for (let i = 0; i <= horizonDays + 1; i += 1, day = day.plus({ days: 1 }).startOf('day')) {
    if (holidays.has(day.toISODate() ?? '')) continue;
    const weekday = WEEKDAYS[day.weekday - 1] as Weekday;
    const ranges = hours.weekly.filter((r) => r.days.includes(weekday)).map((r) => [at(day, r.from).toMillis(), at(day, r.to).toMillis()] as [number, number]);
    ranges.sort((a, b) => a[0] - b[0]);
    for (const [start, end] of ranges) {
      if (end <= start) continue;
      if (pending && start <= pending[1]) {
        pending[1] = Math.max(pending[1], end);
        continue;
      }
      if (pending && pending[1] > fromMs) yield pending;
      pending = [start, end];
    }
  }
  if (pending && pending[1] > fromMs) yield pending;
}

/** Whether the place is open at `ms`. */
export function isOpenAt(hours: BusinessHours, ms: number): boolean {
  for (const [start] of openIntervals(hours, ms, 2)) return start <= ms;
  return false;
}

/** `ms` itself when open then, else the next opening; undefined when none within the horizon. */
export function nextOpenAt(hours: BusinessHours, ms: number): number | undefined {
  for (const [start] of openIntervals(hours, ms)) return Math.max(start, ms);
  return undefined;
}

/**
 * The earliest moment at or after `ms` at which every schedule is open (a call center's hours and
 * the caller's window); undefined when there is none within the horizon.
 */
export function nextAllowedAt(schedules: readonly BusinessHours[], ms: number): number | undefined {
  let t = ms;
  const limit = ms + HORIZON_DAYS * 86_400_000;
  for (let round = 0; round < 1_000 && t <= limit; round += 1) {
    let moved = false;
    for (const hours of schedules) {
      const next = nextOpenAt(hours, t);
      if (next === undefined) return undefined;
      if (next !== t) {
        t = next;
        moved = true;
      }
    }
    if (!moved) return t;
  }
  return undefined;
}
