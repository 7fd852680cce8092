/**
 * The channel events Crossline subscribes to, and their translation from ESL frames into
 * {@link ChannelEvent}s: nothing past this file reads an ESL header.
 */
import type { Event as EslEvent } from 'drachtio-modesl';
import { TAG_PREFIX } from '../dial-string.js';
import { parseHangupCause, type DialTags, type HangupCause } from '../types.js';

/** The events we subscribe to, and nothing more: FreeSWITCH drops listeners that fall behind. */
export const SUBSCRIBED_EVENTS: readonly string[] = [
  'CHANNEL_CREATE',
  'CHANNEL_PROGRESS',
  'CHANNEL_PROGRESS_MEDIA',
  'CHANNEL_ANSWER',
  'CHANNEL_BRIDGE',
  // Not CHANNEL_UNBRIDGE: nothing reads it (a bridge ends with a hangup, hangup_after_bridge).
  // Not CHANNEL_HANGUP_COMPLETE: the largest event of all, and CHANNEL_HANGUP has the cause and the tags.
  'CHANNEL_HANGUP',
  // The start of an announcement: a speak that completes a few ms later said nothing (o-app-failures).
  'CHANNEL_EXECUTE',
  'CHANNEL_EXECUTE_COMPLETE',
  'DTMF',
  'BACKGROUND_JOB',
  // The switch's load every 20 s (q-heartbeat): Session-Count, Max-Sessions, Session-Per-Sec, Idle-CPU.
  'HEARTBEAT',
  // mod_callcenter's queue events (p-callcenter): the queue-time estimate and keep-your-place mode.
  // CUSTOM stays last: every word after it is a subclass.
  'CUSTOM',
  'callcenter::info',
];

/**
 * `filter <header> <value>` lines sent after the subscription. mod_event_socket (1.10.12, checked on
 * the switch) passes an event when any positive filter matches and no `-value` filter does, so the
 * connection gets only Crossline's legs (every originate sets `crossline=true`, which each channel
 * event carries from CHANNEL_CREATE on, before the originate's reply), the job results and the
 * heartbeat; and not the `park` every leg executes, which nothing reads. Foreign channels never
 * reach Crossline: the switch load's session count follows Crossline's legs between heartbeats.
 * The `uuid_bridge` that a bridge executes on both legs is dropped too; announcements (playback,
 * speak) still come through.
 */
export const EVENT_FILTERS: readonly (readonly [header: string, value: string])[] = [
  ['variable_crossline', 'true'],
  ['Event-Name', 'BACKGROUND_JOB'],
  ['Event-Name', 'HEARTBEAT'],
  // Most of them carry an agent's or another customer's leg, without Crossline's variable.
  ['Event-Subclass', 'callcenter::info'],
  ['Application', '-park'],
  ['Application', '-uuid_bridge'],
];

/** What happened to a channel, as the ESL client reports it (no ESL text). */
export type ChannelEvent =
  | { type: 'created'; uuid: string }
  | { type: 'progress'; uuid: string; /** 183 with media rather than 180 */ media: boolean }
  | { type: 'answered'; uuid: string }
  | { type: 'bridged'; uuid: string; otherUuid?: string }
  | { type: 'unbridged'; uuid: string }
  | { type: 'hangup'; uuid: string; cause: HangupCause; /** the leg's `crossline_<name>` variables, when it has any */ tags?: DialTags }
  | { type: 'hangup-complete'; uuid: string; cause: HangupCause; tags?: DialTags }
  | { type: 'execute'; uuid: string; application: string; applicationUuid?: string; /** switch clock, ms */ at?: number }
  | {
      type: 'execute-complete';
      uuid: string;
      application: string;
      applicationUuid?: string;
      /** Application-Response: `FILE PLAYED`, `FILE NOT FOUND`, `_none_`… */
      response?: string;
      /** switch clock, ms */
      at?: number;
      /** The channel variables some apps answer in (READ_BACK_VARIABLES), when present. */
      variables?: Readonly<Record<string, string>>;
    }
  | { type: 'dtmf'; uuid: string; digit: string };

export type HangupEvent = Extract<ChannelEvent, { cause: HangupCause }>;

export const isHangup = (event: ChannelEvent): event is HangupEvent => event.type === 'hangup' || event.type === 'hangup-complete';

/**
 * Channel variables read back from CHANNEL_EXECUTE_COMPLETE: `wait_for_silence` and
 * `play_and_get_digits` answer in variables, not in Application-Response (r-wait-for-silence).
 */
const READ_BACK_VARIABLES: readonly string[] = [
  'wait_for_silence_timeout', 'wait_for_silence_listenhits', 'wait_for_silence_silence_hits', 'crossline_digits', 'read_result',
];

function readBack(event: EslEvent): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const name of READ_BACK_VARIABLES) {
    const value = event.getHeader(`variable_${name}`);
    if (typeof value === 'string') (out ??= {})[name] = value;
  }
  return out;
}

/** Application-UUID and the event's time (Event-Date-Timestamp, µs → ms) of an execute event. */
function executeDetails(event: EslEvent): { applicationUuid?: string; at?: number } {
  const applicationUuid = event.getHeader('Application-UUID');
  const micros = Number(event.getHeader('Event-Date-Timestamp') ?? Number.NaN);
  return {
    ...(applicationUuid !== null ? { applicationUuid } : {}),
    ...(Number.isFinite(micros) ? { at: micros / 1000 } : {}),
  };
}

const VARIABLE_PREFIX = `variable_${TAG_PREFIX}`;

/** The leg's tags from its `variable_crossline_<name>` headers; undefined when it has none. */
export function tagsOf(event: EslEvent): DialTags | undefined {
  let tags: Record<string, string> | undefined;
  for (const { name, value } of event.headers) {
    if (!name.startsWith(VARIABLE_PREFIX) || typeof value !== 'string') continue;
    (tags ??= {})[name.slice(VARIABLE_PREFIX.length)] = value;
  }
  return tags;
}

/** A hangup event, with the leg's tags when it has any. */
function hangupEvent(type: 'hangup' | 'hangup-complete', uuid: string, event: EslEvent): HangupEvent {
  const cause = parseHangupCause(event.getHeader('Hangup-Cause') ?? undefined);
  const tags = tagsOf(event);
  return tags === undefined ? { type, uuid, cause } : { type, uuid, cause, tags };
}

/** The ChannelEvent an ESL event stands for; undefined for events without a channel or of no interest. */
export function toChannelEvent(name: string | null, event: EslEvent): ChannelEvent | undefined {
  const uuid = event.getHeader('Unique-ID');
  if (uuid === null) return undefined;
  switch (name) {
    case 'CHANNEL_CREATE':
      return { type: 'created', uuid };
    case 'CHANNEL_PROGRESS':
      return { type: 'progress', uuid, media: false };
    case 'CHANNEL_PROGRESS_MEDIA':
      return { type: 'progress', uuid, media: true };
    case 'CHANNEL_ANSWER':
      return { type: 'answered', uuid };
    case 'CHANNEL_BRIDGE': {
      const other = event.getHeader('Other-Leg-Unique-ID') ?? event.getHeader('Bridge-B-Unique-ID');
      return other !== null && other !== uuid ? { type: 'bridged', uuid, otherUuid: other } : { type: 'bridged', uuid };
    }
    case 'CHANNEL_UNBRIDGE':
      return { type: 'unbridged', uuid };
    case 'CHANNEL_HANGUP':
      return hangupEvent('hangup', uuid, event);
    case 'CHANNEL_HANGUP_COMPLETE':
      return hangupEvent('hangup-complete', uuid, event);
    case 'CHANNEL_EXECUTE':
      return { type: 'execute', uuid, application: event.getHeader('Application') ?? '', ...executeDetails(event) };
    case 'CHANNEL_EXECUTE_COMPLETE': {
      const response = event.getHeader('Application-Response');
      const variables = readBack(event);
      return {
        type: 'execute-complete',
        uuid,
        application: event.getHeader('Application') ?? '',
        ...executeDetails(event),
        ...(response !== null ? { response } : {}),
        ...(variables !== undefined ? { variables } : {}),
      };
    }
    case 'DTMF': {
      const digit = event.getHeader('DTMF-Digit');
      return digit === null ? undefined : { type: 'dtmf', uuid, digit };
    }
    default:
      return undefined;
  }
}
