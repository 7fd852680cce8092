/**
 * switch_caller_profile_t and the order switch_caller_profile_event_set_data writes it in. Empty text
 * fields are left out, times are always written, and only the channel's own profile has an index.
 */
import type { Header } from './event.js';

export interface ProfileTimes {
  profileCreated: number;
  created: number;
  answered: number;
  progress: number;
  progressMedia: number;
  hangup: number;
  transfer: number;
  resurrect: number;
  bridged: number;
  lastHold: number;
  holdAccum: number;
}

export interface CallerProfile {
  direction: 'inbound' | 'outbound';
  logicalDirection: 'inbound' | 'outbound';
  username: string;
  dialplan: string;
  callerIdName: string;
  callerIdNumber: string;
  origCallerIdName: string;
  origCallerIdNumber: string;
  calleeIdName: string;
  calleeIdNumber: string;
  networkAddr: string;
  ani: string;
  destinationNumber: string;
  uniqueId: string;
  source: string;
  transferSource: string;
  context: string;
  channelName: string;
  profileIndex: number;
  times: ProfileTimes;
}

export function emptyTimes(now: number): ProfileTimes {
  return {
    profileCreated: now, created: now, answered: 0, progress: 0, progressMedia: 0, hangup: 0,
    transfer: 0, resurrect: 0, bridged: 0, lastHold: 0, holdAccum: 0,
  };
}

export function copyProfile(p: CallerProfile): CallerProfile {
  return { ...p, times: { ...p.times } };
}

/** @param prefix - `Caller` for the channel itself, `Other-Leg` for its peer, `Channel` in CHANNEL_DATA. */
export function profileHeaders(prefix: string, p: CallerProfile, withIndex: boolean): Header[] {
  const out: Header[] = [];
  const text = (name: string, value: string): void => {
    if (value !== '') out.push([`${prefix}-${name}`, value]);
  };
  const time = (name: string, value: number): void => {
    out.push([`${prefix}-${name}`, String(value)]);
  };
  text('Direction', p.direction);
  text('Logical-Direction', p.logicalDirection);
  text('Username', p.username);
  text('Dialplan', p.dialplan);
  text('Caller-ID-Name', p.callerIdName);
  text('Caller-ID-Number', p.callerIdNumber);
  text('Orig-Caller-ID-Name', p.origCallerIdName);
  text('Orig-Caller-ID-Number', p.origCallerIdNumber);
  text('Callee-ID-Name', p.calleeIdName);
  text('Callee-ID-Number', p.calleeIdNumber);
  text('Network-Addr', p.networkAddr);
  text('ANI', p.ani);
  text('Destination-Number', p.destinationNumber);
  text('Unique-ID', p.uniqueId);
  text('Source', p.source);
  text('Transfer-Source', p.transferSource);
  text('Context', p.context);
  text('Channel-Name', p.channelName);
  if (withIndex) text('Profile-Index', String(p.profileIndex));
  time('Profile-Created-Time', p.times.profileCreated);
  time('Channel-Created-Time', p.times.created);
  time('Channel-Answered-Time', p.times.answered);
  time('Channel-Progress-Time', p.times.progress);
  time('Channel-Progress-Media-Time', p.times.progressMedia);
  time('Channel-Hangup-Time', p.times.hangup);
  time('Channel-Transfer-Time', p.times.transfer);
  time('Channel-Resurrect-Time', p.times.resurrect);
  time('Channel-Bridged-Time', p.times.bridged);
  time('Channel-Last-Hold', p.times.lastHold);
  time('Channel-Hold-Accum', p.times.holdAccum);
  out.push([`${prefix}-Screen-Bit`, 'true'], [`${prefix}-Privacy-Hide-Name`, 'false'], [`${prefix}-Privacy-Hide-Number`, 'false']);
  return out;
}
