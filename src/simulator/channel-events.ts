/**
 * Builds channel events the way switch_channel_event_set_data does: core headers, the event's own
 * leading headers, the channel's basic data and caller profile(s), its variables for the event
 * types that carry them, then the event's trailing headers.
 */
import type { Header, SwitchEvent } from './event.js';
import { profileHeaders } from './caller-profile.js';
import type { Channel } from './channel.js';
import { CALL_STATES } from './channel.js';
import type { EventFactory } from './switch-core.js';

/** Event types whose data includes variable_* headers (switch_channel_event_set_extended_data). */
const WITH_VARIABLES = new Set([
  'CHANNEL_CREATE', 'CHANNEL_ORIGINATE', 'CHANNEL_ANSWER', 'CHANNEL_PARK', 'CHANNEL_UNPARK', 'CHANNEL_BRIDGE',
  'CHANNEL_UNBRIDGE', 'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA', 'CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE',
  'CHANNEL_DATA', 'CHANNEL_EXECUTE', 'CHANNEL_EXECUTE_COMPLETE', 'CHANNEL_DESTROY', 'PLAYBACK_START',
  'PLAYBACK_STOP', 'CALL_UPDATE', 'CUSTOM',
]);

export interface ChannelEventParts {
  /** Headers the event adds before the channel data (Bridge-A-Unique-ID, Original-Channel-Call-State…). */
  lead?: readonly Header[];
  /** Headers after the channel data (Application, Playback-File-Path…). */
  trail?: readonly Header[];
  /** Headers before even the core ones (PRIVATE_COMMAND copies the command there). */
  first?: readonly Header[];
}

const CODEC_HEADERS: readonly Header[] = [
  ['Channel-Read-Codec-Name', 'PCMU'], ['Channel-Read-Codec-Rate', '8000'], ['Channel-Read-Codec-Bit-Rate', '64000'],
  ['Channel-Write-Codec-Name', 'PCMU'], ['Channel-Write-Codec-Rate', '8000'], ['Channel-Write-Codec-Bit-Rate', '64000'],
];

/** switch_channel_event_set_basic_data, in its order. */
export function basicData(ch: Channel): Header[] {
  const out: Header[] = [
    ['Channel-State', ch.running],
    ['Channel-Call-State', ch.callState],
    ['Channel-State-Number', String(ch.stateNumber())],
    ['Channel-Name', ch.name],
    ['Unique-ID', ch.uuid],
    ['Call-Direction', ch.direction],
    ['Presence-Call-Direction', ch.direction],
    ['Channel-HIT-Dialplan', String(ch.hitDialplan)],
    ['Channel-Call-UUID', ch.vars.get('call_uuid') ?? ch.uuid],
    ['Answer-State', ch.answerState],
  ];
  if (ch.answerState === 'hangup' && ch.hangupCause) out.push(['Hangup-Cause', ch.hangupCause]);
  if (ch.codecs && ch.readCodec) {
    const { name, rate, bitRate } = ch.readCodec;
    out.push(['Channel-Read-Codec-Name', name], ['Channel-Read-Codec-Rate', rate], ['Channel-Read-Codec-Bit-Rate', bitRate], ...CODEC_HEADERS.slice(3));
  } else if (ch.codecs) out.push(...CODEC_HEADERS);
  if (ch.profileVisible) out.push(...profileHeaders('Caller', ch.profile, true));
  if (ch.other) {
    out.push(['Other-Type', ch.other.type], ...profileHeaders('Other-Leg', ch.other.profile, false));
  }
  return out;
}

export function channelEvent(factory: EventFactory, site: string, ch: Channel, parts: ChannelEventParts = {}): SwitchEvent {
  const event = factory.create(site, parts.first);
  event.addAll(parts.lead ?? []).addAll(basicData(ch));
  if (WITH_VARIABLES.has(event.name)) event.addAll(ch.vars.headers());
  return event.addAll(parts.trail ?? []);
}

/** CHANNEL_CALLSTATE carries the previous call state ahead of the channel data. */
export function callStateLead(previous: Channel['callState'], now: Channel['callState']): Header[] {
  return [['Original-Channel-Call-State', previous], ['Channel-Call-State-Number', String(CALL_STATES.indexOf(now))]];
}
