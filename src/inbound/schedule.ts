/**
 * Where a call goes now: the first schedule rule whose days and window contain the current time in
 * the user's time zone (luxon, DST-aware), else the default route.
 */
import { DateTime } from 'luxon';
import type { InboundProfile, Route, ScheduleRule, Weekday } from './types.js';
import { WEEKDAYS } from './types.js';

const TIME = /^(?:[01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/;

export const isTime = (text: string): boolean => TIME.test(text);

/** Minutes since midnight of `HH:MM`. */
export function minutesOf(text: string): number {
  const [h = '0', m = '0'] = text.split(':');
  return Number(h) * 60 + Number(m);
}

/** True when `zone` is an IANA zone luxon knows. */
export function isTimeZone(zone: string): boolean {
  return zone.length <= 64 && DateTime.now().setZone(zone).isValid;
}

function contains(rule: ScheduleRule, day: Weekday, minute: number): boolean {
  return rule.days.includes(day) && minute >= minutesOf(rule.from) && minute < minutesOf(rule.to);
}

/** The route for a call arriving at `at`. */
export function routeAt(profile: Pick<InboundProfile, 'schedule' | 'default' | 'timeZone'>, at: Date): Route & { rule: number | 'default' } {
  const local = DateTime.fromJSDate(at).setZone(profile.timeZone);
  const day = WEEKDAYS[local.weekday - 1] as Weekday;
  const minute = local.hour * 60 + local.minute;
  const index = profile.schedule.findIndex((rule) => contains(rule, day, minute));
  const chosen = index >= 0 ? (profile.schedule[index] as ScheduleRule) : profile.default;
  return { target: chosen.target, alternate: chosen.alternate ?? 'voicemail', rule: index >= 0 ? index : 'default' };
}
