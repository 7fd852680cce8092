/**
 * The variables switch_channel_set_timestamps and the reporting state add before
 * CHANNEL_HANGUP_COMPLETE: cause, stamps (only for what happened), epochs, durations.
 */
import type { Channel } from './channel.js';
import { localStamp } from './switch-core.js';
import { q850 } from './sofia-vars.js';

type Pairs = Array<[string, string]>;

export interface CdrFacts {
  /** µs timestamps; 0 for "did not happen". */
  start: number;
  profileStart: number;
  answer: number;
  bridge: number;
  progress: number;
  end: number;
  lastApp: string | undefined;
  lastArg: string | undefined;
}

const sec = (us: number): string => String(Math.floor(us / 1_000_000));
const span = (from: number, to: number): number => (from && to && to > from ? to - from : 0);

export function cdrVars(ch: Channel, cause: string, f: CdrFacts): Pairs {
  const out: Pairs = [['hangup_cause', cause], ['hangup_cause_q850', String(q850(cause))], ['digits_dialed', 'none']];
  out.push(['start_stamp', localStamp(f.start)], ['profile_start_stamp', localStamp(f.profileStart)]);
  if (f.answer) out.push(['answer_stamp', localStamp(f.answer)]);
  if (f.bridge) out.push(['bridge_stamp', localStamp(f.bridge)]);
  if (f.progress) out.push(['progress_stamp', localStamp(f.progress)]);
  out.push(['end_stamp', localStamp(f.end)]);
  out.push(...epochPairs('start', f.start), ...epochPairs('profile_start', f.profileStart), ...epochPairs('answer', f.answer));
  out.push(...epochPairs('bridge', f.bridge), ...epochPairs('last_hold', 0));
  out.push(['hold_accum_seconds', '0'], ['hold_accum_usec', '0'], ['hold_accum_ms', '0']);
  out.push(...epochPairs('resurrect', 0), ...epochPairs('progress', f.progress), ...epochPairs('progress_media', 0));
  out.push(...epochPairs('end', f.end));
  if (f.lastApp) out.push(['last_app', f.lastApp]);
  if (f.lastArg) out.push(['last_arg', f.lastArg]);
  const name = ch.profile.callerIdName;
  const number = ch.profile.callerIdNumber;
  out.push(['caller_id', name ? `"${name}" <${number}>` : number]);
  out.push(...durations(f));
  return out;
}

function epochPairs(prefix: string, us: number): Pairs {
  return [[`${prefix}_epoch`, sec(us)], [`${prefix}_uepoch`, String(us)]];
}

/** duration, billsec… in seconds, then mduration, billmsec… in ms, then uduration, billusec… in µs. */
function durations(f: CdrFacts): Pairs {
  const spans: Array<[string, number]> = [
    ['duration', span(f.start, f.end)], ['bill', span(f.answer, f.end)], ['progress', span(f.start, f.progress)],
    ['answer', span(f.start, f.answer)], ['wait', span(f.start, f.bridge)], ['progress_media', 0],
    ['flow_bill', span(f.start, f.end)],
  ];
  const named = (name: string, unit: '' | 'm' | 'u'): string => (name === 'duration' ? `${unit}duration` : `${name}${unit}sec`);
  return [
    ...spans.map(([n, us]): [string, string] => [named(n, ''), String(Math.round(us / 1_000_000))]),
    ...spans.map(([n, us]): [string, string] => [named(n, 'm'), String(Math.round(us / 1000))]),
    ...spans.map(([n, us]): [string, string] => [named(n, 'u'), String(us)]),
  ];
}
