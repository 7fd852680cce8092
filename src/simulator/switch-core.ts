/**
 * What every FreeSWITCH event starts with: the switch's identity, the event date and a global,
 * increasing Event-Sequence; plus the C call site each event type is fired from (as in the traces).
 */
import { randomUUID } from 'node:crypto';
import { SwitchEvent } from './event.js';

export const FREESWITCH_VERSION = '1.10.12-release+git~20240802T210227Z~a88d069d6f~64bit';

export interface SwitchIdentity {
  coreUuid: string;
  hostname: string;
  ipv4: string;
  ipv6: string;
}

type CallSite = readonly [file: string, func: string, line: number];

/** Event-Calling-File/Function/Line-Number, copied from the captures. */
const CALL_SITES: Record<string, CallSite> = {
  API: ['switch_loadable_module.c', 'switch_api_execute', 2954],
  BACKGROUND_JOB: ['mod_event_socket.c', 'api_exec', 1572],
  CALL_UPDATE: ['switch_channel.c', 'switch_channel_flip_cid', 3277],
  'CALL_UPDATE/bridge': ['mod_sofia.c', 'sofia_receive_message', 2100],
  CHANNEL_ANSWER: ['switch_channel.c', 'switch_channel_perform_mark_answered', 3846],
  CHANNEL_BRIDGE: ['switch_ivr_bridge.c', 'switch_ivr_multi_threaded_bridge', 1689],
  CHANNEL_CALLSTATE: ['switch_channel.c', 'switch_channel_perform_set_callstate', 301],
  CHANNEL_CREATE: ['switch_core_state_machine.c', 'switch_core_session_run', 626],
  CHANNEL_DATA: ['mod_event_socket.c', 'parse_command', 2021],
  CHANNEL_DESTROY: ['switch_core_session.c', 'switch_core_session_perform_destroy', 1584],
  CHANNEL_EXECUTE: ['switch_core_session.c', 'switch_core_session_exec', 2944],
  'CHANNEL_EXECUTE/uuid_bridge': ['switch_ivr_bridge.c', 'uuid_bridge_on_soft_execute', 1236],
  'CHANNEL_EXECUTE/uuid_bridge_b': ['switch_ivr_bridge.c', 'uuid_bridge_on_soft_execute', 1243],
  CHANNEL_EXECUTE_COMPLETE: ['switch_core_session.c', 'switch_core_session_exec', 2967],
  CHANNEL_HANGUP: ['switch_channel.c', 'switch_channel_perform_hangup', 3445],
  CHANNEL_HANGUP_COMPLETE: ['switch_core_state_machine.c', 'switch_core_session_reporting_state', 943],
  CHANNEL_ORIGINATE: ['switch_core_state_machine.c', 'switch_core_session_run', 632],
  CHANNEL_OUTGOING: ['switch_core_session.c', 'switch_core_session_outgoing_channel', 768],
  CHANNEL_PARK: ['switch_ivr.c', 'switch_ivr_park', 1002],
  CHANNEL_PROGRESS: ['switch_channel.c', 'switch_channel_perform_mark_ring_ready_value', 3505],
  CHANNEL_STATE: ['switch_channel.c', 'switch_channel_perform_set_running_state', 2408],
  CHANNEL_UNBRIDGE: ['switch_ivr_bridge.c', 'switch_ivr_multi_threaded_bridge', 1879],
  CHANNEL_UNPARK: ['switch_ivr.c', 'switch_ivr_park', 1213],
  // A loopback leg takes origination_uuid by renaming itself (p-callcenter).
  CHANNEL_UUID: ['switch_core_session.c', 'switch_core_session_set_uuid', 2051],
  'CODEC/read': ['switch_core_codec.c', 'switch_core_session_set_real_read_codec', 168],
  'CODEC/write': ['switch_core_codec.c', 'switch_core_session_set_write_codec', 450],
  'CODEC/set_read': ['switch_core_codec.c', 'switch_core_session_set_read_codec', 279],
  DTMF: ['switch_channel.c', 'switch_channel_queue_dtmf', 507],
  HEARTBEAT: ['switch_core.c', 'send_heartbeat', 95],
  PLAYBACK_START: ['switch_ivr_play_say.c', 'switch_ivr_play_file', 1646],
  PLAYBACK_STOP: ['switch_ivr_play_say.c', 'switch_ivr_play_file', 2020],
  PRIVATE_COMMAND: ['switch_ivr.c', 'switch_ivr_parse_next_event', 804],
  RE_SCHEDULE: ['switch_scheduler.c', 'switch_scheduler_execute', 73],
};

/** Microseconds since the epoch, the unit of every *-Time and *_uepoch value. */
export function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** `2026-11-22 02:57:49` in local time, as Event-Date-Local and the *_stamp variables. */
export function localStamp(micros: number): string {
  const d = new Date(Math.floor(micros / 1000));
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Creates events with the 13 core headers every FreeSWITCH event carries, in their order. */
export class EventFactory {
  private sequence = 1000 + Math.floor(Math.random() * 1000);

  constructor(readonly identity: SwitchIdentity) {}

  /**
   * @param site - the event name, or `NAME/variant` where one event type is fired from several places.
   * @param headersFirst - headers FreeSWITCH adds before the core ones (PRIVATE_COMMAND copies the command first).
   */
  create(site: string, headersFirst: ReadonlyArray<readonly [string, string]> = []): SwitchEvent {
    const name = site.split('/')[0] ?? site;
    const [file, func, line] = CALL_SITES[site] ?? CALL_SITES[name] ?? ['switch_event.c', 'switch_event_fire', 0];
    const micros = nowMicros();
    const { coreUuid, hostname, ipv4, ipv6 } = this.identity;
    const event = new SwitchEvent(name).addAll(headersFirst);
    return event
      .add('Event-Name', name)
      .add('Core-UUID', coreUuid)
      .add('FreeSWITCH-Hostname', hostname)
      .add('FreeSWITCH-Switchname', hostname)
      .add('FreeSWITCH-IPv4', ipv4)
      .add('FreeSWITCH-IPv6', ipv6)
      .add('Event-Date-Local', localStamp(micros))
      .add('Event-Date-GMT', new Date(Math.floor(micros / 1000)).toUTCString())
      .add('Event-Date-Timestamp', String(micros))
      .add('Event-Calling-File', file)
      .add('Event-Calling-Function', func)
      .add('Event-Calling-Line-Number', String(line))
      .add('Event-Sequence', String(this.sequence++));
  }
}

export function defaultIdentity(hostname = 'crossline-sim'): SwitchIdentity {
  return { coreUuid: randomUUID(), hostname, ipv4: '127.0.0.1', ipv6: '::1' };
}
