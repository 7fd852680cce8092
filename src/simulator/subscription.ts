/**
 * Which events a connection receives: mod_event_socket's event list, CUSTOM subclasses, filters and
 * `myevents`, with the same rules as its event_handler().
 */
import type { SwitchEvent } from './event.js';
import type { EventFormat } from './wire.js';

/** Event names FreeSWITCH knows (switch_name_event); others are ignored in `event`/`nixevent`. */
const KNOWN_EVENTS = new Set([
  'CUSTOM', 'CLONE', 'CHANNEL_CREATE', 'CHANNEL_DESTROY', 'CHANNEL_STATE', 'CHANNEL_CALLSTATE', 'CHANNEL_ANSWER',
  'CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_EXECUTE', 'CHANNEL_EXECUTE_COMPLETE', 'CHANNEL_HOLD',
  'CHANNEL_UNHOLD', 'CHANNEL_BRIDGE', 'CHANNEL_UNBRIDGE', 'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA',
  'CHANNEL_OUTGOING', 'CHANNEL_PARK', 'CHANNEL_UNPARK', 'CHANNEL_APPLICATION', 'CHANNEL_ORIGINATE', 'CHANNEL_UUID',
  'API', 'LOG', 'INBOUND_CHAN', 'OUTBOUND_CHAN', 'STARTUP', 'SHUTDOWN', 'PUBLISH', 'UNPUBLISH', 'TALK', 'NOTALK',
  'SESSION_CRASH', 'MODULE_LOAD', 'MODULE_UNLOAD', 'DTMF', 'MESSAGE', 'PRESENCE_IN', 'NOTIFY_IN', 'PRESENCE_OUT',
  'PRESENCE_PROBE', 'MESSAGE_WAITING', 'MESSAGE_QUERY', 'ROSTER', 'CODEC', 'BACKGROUND_JOB', 'DETECTED_SPEECH',
  'DETECTED_TONE', 'PRIVATE_COMMAND', 'HEARTBEAT', 'TRAP', 'ADD_SCHEDULE', 'DEL_SCHEDULE', 'EXE_SCHEDULE',
  'RE_SCHEDULE', 'RELOADXML', 'NOTIFY', 'PHONE_FEATURE', 'PHONE_FEATURE_SUBSCRIBE', 'SEND_MESSAGE', 'RECV_MESSAGE',
  'REQUEST_PARAMS', 'CHANNEL_DATA', 'GENERAL', 'COMMAND', 'SESSION_HEARTBEAT', 'CLIENT_DISCONNECTED',
  'SERVER_DISCONNECTED', 'SEND_INFO', 'RECV_INFO', 'RECV_RTCP_MESSAGE', 'SEND_RTCP_MESSAGE', 'CALL_SECURE',
  'NAT', 'RECORD_START', 'RECORD_STOP', 'PLAYBACK_START', 'PLAYBACK_STOP', 'CALL_UPDATE', 'FAILURE',
  'SOCKET_DATA', 'MEDIA_BUG_START', 'MEDIA_BUG_STOP', 'CONFERENCE_DATA_QUERY', 'CONFERENCE_DATA', 'CALL_SETUP_REQ',
  'CALL_SETUP_RESULT', 'CALL_DETAIL', 'DEVICE_STATE', 'TEXT', 'SHUTDOWN_REQUESTED', 'ALL',
]);

/** What `myevents` turns on (mod_event_socket.c). */
const MYEVENTS = [
  'CHANNEL_ANSWER', 'CHANNEL_APPLICATION', 'CHANNEL_BRIDGE', 'CHANNEL_CREATE', 'CHANNEL_DATA', 'CHANNEL_DESTROY',
  'CHANNEL_EXECUTE', 'CHANNEL_EXECUTE_COMPLETE', 'CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_ORIGINATE',
  'CHANNEL_UUID', 'CHANNEL_OUTGOING', 'CHANNEL_PARK', 'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA', 'CHANNEL_STATE',
  'CHANNEL_UNBRIDGE', 'CHANNEL_UNPARK', 'DETECTED_SPEECH', 'DTMF', 'NOTALK', 'TALK',
];

export class Subscription {
  format: EventFormat = 'plain';
  private listening = false;
  private all = false;
  private readonly names = new Set<string>();
  private readonly subclasses = new Set<string>();
  private readonly filters: Array<[string, string]> = [];
  /** Set by `myevents`: only events of this channel. */
  myUuid: string | undefined;

  /** `event <format> <names…>`; false when no known event name was given. */
  subscribe(words: readonly string[]): boolean {
    let known = 0;
    let custom = false;
    for (const word of words) {
      const name = word.toUpperCase();
      if (custom) this.subclasses.add(word);
      else if (KNOWN_EVENTS.has(name)) {
        known++;
        if (name === 'ALL') this.all = true;
        else this.names.add(name);
        if (name === 'CUSTOM') custom = true;
      }
    }
    if (known > 0) this.listening = true;
    return known > 0;
  }

  /** `nixevent <names…>`. */
  unsubscribe(words: readonly string[]): boolean {
    let known = 0;
    let custom = false;
    for (const word of words) {
      const name = word.toUpperCase();
      if (custom) this.subclasses.delete(word);
      else if (KNOWN_EVENTS.has(name)) {
        known++;
        if (name === 'CUSTOM') custom = true;
        else if (name === 'ALL') {
          this.all = false;
          this.names.clear();
        } else this.nix(name);
      }
    }
    if (known > 0) this.listening = true;
    return known > 0;
  }

  /** Taking one name out of ALL turns ALL into "every other name". */
  private nix(name: string): void {
    if (this.all) {
      this.all = false;
      for (const known of KNOWN_EVENTS) if (known !== 'ALL') this.names.add(known);
    }
    this.names.delete(name);
  }

  /** `noevents`; false when nothing was being listened to. */
  stop(): boolean {
    const was = this.listening;
    this.listening = false;
    this.all = false;
    this.names.clear();
    this.subclasses.clear();
    return was;
  }

  myevents(uuid: string | undefined, format: EventFormat | undefined): void {
    this.myUuid = uuid;
    for (const name of MYEVENTS) this.names.add(name);
    if (format) this.format = format;
    this.listening = true;
  }

  addFilter(header: string, value: string): void {
    this.filters.push([header, value]);
  }

  deleteFilter(header: string, value: string | undefined): void {
    if (header.toLowerCase() === 'all') {
      this.filters.length = 0;
      return;
    }
    for (let i = this.filters.length - 1; i >= 0; i--) {
      const f = this.filters[i];
      if (f && f[0].toLowerCase() === header.toLowerCase() && (value === undefined || f[1] === value)) this.filters.splice(i, 1);
    }
  }

  wants(event: SwitchEvent): boolean {
    if (!this.listening) return false;
    const subclass = event.get('Event-Subclass');
    const named = this.all || (this.names.has(event.name) && (event.name !== 'CUSTOM' || !subclass || this.subclasses.has(subclass)));
    if (!named || !this.passesFilters(event)) return false;
    return this.myUuid === undefined || event.get('Unique-ID') === this.myUuid;
  }

  /**
   * Filters are "any one matches" as in event_handler() (mod_event_socket.c, 1.10.12): an event
   * without the header skips the filter; leading `+`, `-` and spaces set the sign (the last one
   * wins); once an event is passed, only `-` filters are still looked at, and one that matches
   * drops it. A value is a regex only when it starts with `/` as written (so `-/x/` is compared as
   * text); otherwise the comparison is case-insensitive equality.
   */
  private passesFilters(event: SwitchEvent): boolean {
    if (this.filters.length === 0) return true;
    let send = false;
    for (const [header, raw] of this.filters) {
      const actual = event.get(header);
      if (actual === undefined) continue;
      let positive = true;
      let start = 0;
      for (; start < raw.length; start++) {
        const c = raw[start];
        if (c === '+') positive = true;
        else if (c === '-') positive = false;
        else if (c !== ' ') break;
      }
      if (send && positive) continue;
      const wanted = raw.slice(start);
      const matches = raw.startsWith('/') ? regexMatch(actual, wanted) : actual.toLowerCase() === wanted.toLowerCase();
      if (!matches) continue;
      if (!positive) return false;
      send = true;
    }
    return send;
  }
}

/** switch_regex_perform(): `/body/flags`, flags `i` and `s`; without the closing `/` nothing matches. */
function regexMatch(value: string, pattern: string): boolean {
  const end = pattern.lastIndexOf('/');
  if (end < 1) return false;
  const options = pattern.slice(end + 1);
  const flags = (options.includes('i') ? 'i' : '') + (options.includes('s') ? 's' : '');
  try {
    return new RegExp(pattern.slice(1, end), flags).test(value);
  } catch {
    return false;
  }
}
