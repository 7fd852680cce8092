// For the TSDoc link only.
import type { dtmfPlayoutMs } from './dtmf.js';

/** Hangup causes as FreeSWITCH names them (switch_cause_t), plus UNKNOWN when the switch could not tell us. */
export const HANGUP_CAUSES = [
  'UNSPECIFIED', 'UNALLOCATED_NUMBER', 'NO_ROUTE_TRANSIT_NET', 'NO_ROUTE_DESTINATION', 'CHANNEL_UNACCEPTABLE',
  'CALL_AWARDED_DELIVERED', 'NORMAL_CLEARING', 'USER_BUSY', 'NO_USER_RESPONSE', 'NO_ANSWER', 'SUBSCRIBER_ABSENT',
  'CALL_REJECTED', 'NUMBER_CHANGED', 'REDIRECTION_TO_NEW_DESTINATION', 'EXCHANGE_ROUTING_ERROR',
  'DESTINATION_OUT_OF_ORDER', 'INVALID_NUMBER_FORMAT', 'FACILITY_REJECTED', 'RESPONSE_TO_STATUS_ENQUIRY',
  'NORMAL_UNSPECIFIED', 'NORMAL_CIRCUIT_CONGESTION', 'NETWORK_OUT_OF_ORDER', 'NORMAL_TEMPORARY_FAILURE',
  'SWITCH_CONGESTION', 'ACCESS_INFO_DISCARDED', 'REQUESTED_CHAN_UNAVAIL', 'PRE_EMPTED', 'FACILITY_NOT_SUBSCRIBED',
  'OUTGOING_CALL_BARRED', 'INCOMING_CALL_BARRED', 'BEARERCAPABILITY_NOTAUTH', 'BEARERCAPABILITY_NOTAVAIL',
  'SERVICE_UNAVAILABLE', 'BEARERCAPABILITY_NOTIMPL', 'CHAN_NOT_IMPLEMENTED', 'FACILITY_NOT_IMPLEMENTED',
  'SERVICE_NOT_IMPLEMENTED', 'INVALID_CALL_REFERENCE', 'INCOMPATIBLE_DESTINATION', 'INVALID_MSG_UNSPECIFIED',
  'MANDATORY_IE_MISSING', 'MESSAGE_TYPE_NONEXIST', 'WRONG_MESSAGE', 'IE_NONEXIST', 'INVALID_IE_CONTENTS',
  'WRONG_CALL_STATE', 'RECOVERY_ON_TIMER_EXPIRE', 'MANDATORY_IE_LENGTH_ERROR', 'PROTOCOL_ERROR', 'INTERWORKING',
  'SUCCESS', 'ORIGINATOR_CANCEL', 'CRASH', 'SYSTEM_SHUTDOWN', 'LOSE_RACE', 'MANAGER_REQUEST', 'BLIND_TRANSFER',
  'ATTENDED_TRANSFER', 'ALLOTTED_TIMEOUT', 'USER_CHALLENGE', 'MEDIA_TIMEOUT', 'PICKED_OFF', 'USER_NOT_REGISTERED',
  'PROGRESS_TIMEOUT', 'INVALID_GATEWAY', 'GATEWAY_DOWN', 'INVALID_URL', 'INVALID_PROFILE', 'NO_PICKUP',
  'SRTP_READ_ERROR', 'BOWOUT', 'BUSY_EVERYWHERE', 'DECLINE', 'DOES_NOT_EXIST_ANYWHERE', 'NOT_ACCEPTABLE',
  'UNWANTED', 'NO_IDENTITY', 'BAD_IDENTITY_INFO', 'UNSUPPORTED_CERTIFICATE', 'INVALID_IDENTITY',
  'STALE_DATE', 'REJECT_ALL', 'UNKNOWN',
] as const;

export type HangupCause = (typeof HANGUP_CAUSES)[number];

const CAUSE_SET: ReadonlySet<string> = new Set(HANGUP_CAUSES);

/** Turns switch text ("USER_BUSY", "-ERR USER_BUSY\n") into a typed cause; anything unrecognised is UNKNOWN. */
export function parseHangupCause(text: string | undefined): HangupCause {
  const name = (text ?? '').replace(/^-ERR\s+/, '').trim();
  return CAUSE_SET.has(name) ? (name as HangupCause) : 'UNKNOWN';
}

/** A dialable endpoint, already validated and normalised. */
export type Endpoint =
  | { kind: 'number'; /** E.164, e.g. +12025550100 */ e164: string; /** ISO 3166 alpha-2 */ country: string }
  | { kind: 'sip'; uri: string };

/** Something the switch plays to a leg. */
export type Announcement =
  | { kind: 'speak'; /** validated by SPEAKABLE_TEXT */ text: string }
  | { kind: 'file'; /** a sound path from config or a tone_stream:// URL we built ourselves */ path: string };

/** Tags of a leg: lower-case names, values of letters, digits and `._:@+-` (see dial-string.ts). */
export type DialTags = Readonly<Record<string, string>>;

/** One outbound leg, built only from validated values. */
/**
 * A mod_callcenter queue on the switch itself, reached through the dialplan extension that joins it
 * (`loopback/<extension>/<context>`): the leg answers at once and waits in the queue as a member,
 * whose score starts at `baseScore` seconds (cc_base_score).
 */
export interface QueueEndpoint {
  kind: 'queue';
  /** `support@default`, validated by QUEUE_NAME (callcenter.ts). */
  queue: string;
  /** The extension that runs `callcenter <queue>`, validated by the dial-string grammar. */
  extension: string;
  context: string;
  /** Seconds the member stands in line ahead of its join time. */
  baseScore: number;
}

export interface DialRequest {
  /** The leg's UUID, chosen and stored by the caller before dialling (origination_uuid). */
  uuid: string;
  endpoint: Endpoint | QueueEndpoint;
  /** Presented caller id, E.164. */
  callerIdNumber?: string;
  /** Presented caller name, validated by DISPLAY_NAME. */
  callerIdName?: string;
  ringTimeoutSec: number;
  /**
   * What the leg is for, written to channel variables `crossline_<name>` in the order given, so
   * that the switch's logs and CDRs tie it to its callback (callback_id, role, attempt), inbound
   * call or IM offer. Names and values must pass the grammars of dial-string.ts.
   */
  tags: DialTags;
}

/**
 * A leg that carries tags (one Crossline dialled) has ended, as the switch reported it: its
 * `tags` (those of its DialRequest, read back from its `crossline_<name>` variables) tie it to its
 * callback, whichever process dialled it.
 */
export interface LegEnd {
  uuid: string;
  cause: HangupCause;
  tags: DialTags;
}

/**
 * How loaded the switch is, as it reports itself (HEARTBEAT every 20 s, `status`) and as this
 * process measures it. The limits are the switch's own (`fsctl max_sessions`, `fsctl sps`).
 */
export interface SwitchLoad {
  /** Sessions (channels) up: the switch's last count, kept current with the channels created and ended since. */
  sessions: number;
  /** The switch's session limit. */
  maxSessions: number;
  /** The switch's sessions-per-second limit; undefined until read. */
  maxSessionsPerSecond?: number;
  /**
   * What was left of the switch's sessions-per-second budget for that second when it last reported
   * (HEARTBEAT Session-Per-Sec): not a rate. Undefined until the first HEARTBEAT.
   */
  spsBudgetLeft?: number;
  /** Idle CPU, % (0–100), as the switch last reported it. */
  idleCpu: number;
  /** When the switch last reported, ms since the epoch (this process's clock). */
  at: number;
  /**
   * This process's ESL reply round trip (api replies and command acknowledgements; a timeout counts
   * as the timeout), the 90th percentile of the latest samples of the last minute, ms. Undefined
   * before any.
   */
  replyMs?: number;
}

/** Where the switch's load is read from (the ESL client implements it beside Telephony). */
export interface SwitchLoadSource {
  /** The latest load; undefined until the switch has reported once. */
  load(): SwitchLoad | undefined;
  /** Calls `listener` with every new report; returns the function that stops listening. */
  onLoad(listener: (load: SwitchLoad) => void): () => void;
}

/** How a dial ended: answered (answer supervision, early media ignored) or not, with the cause. */
export type LegResult = { outcome: 'answered' } | { outcome: 'failed'; cause: HangupCause };

/**
 * `wait_for_silence <threshold> <silenceHits> <listenHits> <timeoutMs>` on 20 ms frames (traces
 * r-wait-for-silence): it first needs more than `listenHits` frames at or above `threshold` (in
 * all, not in a row), then `silenceHits` quiet frames in a row, then reads 25 frames (0.5 s) more.
 */
export interface SilenceParams {
  /** Energy a frame needs to count as sound (FreeSWITCH's average absolute sample). */
  threshold: number;
  /** Quiet 20 ms frames in a row that end the sound. */
  silenceHits: number;
  /** Frames of sound that must be heard before silence counts. */
  listenHits: number;
  /** The limit, from the start of the app, ms. */
  timeoutMs: number;
}

/**
 * How a wait for silence ended. `silence`: sound was heard, then silence (`heardMs` of sound in
 * all); `timeout`: the limit came first (`heardMs` tells a prompt still talking from one never
 * heard); `hung-up`; `failed` when the switch's answer could not be read (after a reconnect).
 */
export type SilenceResult =
  | { outcome: 'silence'; heardMs: number; tookMs: number }
  | { outcome: 'timeout'; heardMs: number; tookMs: number }
  | { outcome: 'hung-up' }
  | { outcome: 'failed'; reason: string };

/**
 * `play_and_get_digits` on a leg: `prompt` is spoken (TTS) and digits are read until `maxDigits`,
 * `#`, or `timeoutMs` after the prompt; what `regexp` accepts is the result.
 */
export interface DigitsRequest {
  /** Spoken with the configured TTS engine; validated by CONFIRM_PROMPT. */
  prompt: string;
  minDigits: number;
  maxDigits: number;
  /** After the prompt ends, ms. */
  timeoutMs: number;
  /** Digits accepted, a regular expression of `[0-9*#]` classes and literals, e.g. `^1$`. */
  regexp: string;
}

/** What `play_and_get_digits` read: the digits (accepted by the regexp), none, or the leg hung up. */
export type DigitsResult = { outcome: 'digits'; digits: string } | { outcome: 'none' } | { outcome: 'hung-up' } | { outcome: 'failed'; reason: string };

/** What the switch says about a UUID right now. */
export type ChannelState = 'absent' | 'ringing' | 'answered';

/**
 * How an announcement went. `failed` carries the reason: the switch says so for a missing file
 * (`FILE NOT FOUND`), but a `speak` whose TTS module is missing completes like a success, so the
 * client checks the module before speaking and distrusts a speak that returns at once.
 */
export type PlayResult = { outcome: 'played' } | { outcome: 'failed'; reason: string } | { outcome: 'hung-up' };

export type TelephonyStatus =
  | {
      connected: true;
      since: string;
      /**
       * Modules Crossline needs (mod_sofia, mod_dptools, the TTS engine's) that the switch does not
       * have loaded (`module_exists`), as last checked; absent until checked.
       */
      missingModules?: string[];
    }
  | { connected: false; since: string; lastError?: string };

/**
 * The switch as the domain sees it. The ESL client implements it over FreeSWITCH; the domain never
 * sees ESL text. Every method fails with CrosslineError SWITCH_UNAVAILABLE / SWITCH_TIMEOUT /
 * SWITCH_COMMAND_FAILED when the switch is down, slow, or refuses.
 */
export interface Telephony {
  status(): TelephonyStatus;
  /**
   * Originates one leg (bgapi originate … &park()) and resolves when it is answered or has failed.
   * Aborting the signal hangs the leg up and resolves `failed` with ORIGINATOR_CANCEL.
   */
  dial(request: DialRequest, signal?: AbortSignal): Promise<LegResult>;
  /** Asks the switch about a UUID (for a worker taking over, or after an ESL reconnect). */
  channelState(uuid: string): Promise<ChannelState>;
  /**
   * Whether the switch still has the channel: false once this client heard it hang up, else
   * `uuid_exists`. Cheaper than channelState, for checking many live calls.
   */
  exists(uuid: string): Promise<boolean>;
  /**
   * Calls `listener` once for every tagged leg on the switch that ends (the first of its hangup
   * events this client hears), whoever dialled it. Returns the function that stops listening.
   * Ends while the connection is down are not heard: ask with exists() after a reconnect.
   */
  onLegEnded(listener: (end: LegEnd) => void): () => void;
  /**
   * Waits for a leg we did not dial in this process (resume) to be answered or to end.
   * Resolves `failed` at once when the channel is absent (cause UNKNOWN: the switch no longer knows it).
   */
  awaitAnswer(uuid: string, timeoutMs: number, signal?: AbortSignal): Promise<LegResult>;
  /** Resolves with the hangup cause when the channel hangs up (UNKNOWN when it vanished while we were away). */
  awaitHangup(uuid: string, signal?: AbortSignal): Promise<HangupCause>;
  /**
   * Plays an announcement to an answered leg and resolves when it has finished, failed (with the
   * reason), or the leg hung up.
   */
  play(uuid: string, announcement: Announcement, signal?: AbortSignal): Promise<PlayResult>;
  /**
   * Queues DTMF (with w/W pauses) on an answered leg and resolves when the switch accepted it, which
   * is *before* the digits are played: they take {@link dtmfPlayoutMs} more, and the switch drops
   * what is still queued if the leg hangs up meanwhile.
   */
  sendDtmf(uuid: string, digits: string): Promise<void>;
  /**
   * Runs `wait_for_silence` on an answered leg and resolves when it returns: silence after sound,
   * the limit, or a hangup. Aborting stops it (uuid_break) and rejects with the signal's reason.
   */
  waitForSilence(uuid: string, params: SilenceParams, signal?: AbortSignal): Promise<SilenceResult>;
  /**
   * Speaks a prompt and reads digits (`play_and_get_digits`); resolves with what the party keyed
   * in, `none` when nothing acceptable came in time, or `hung-up`.
   */
  collectDigits(uuid: string, request: DigitsRequest, signal?: AbortSignal): Promise<DigitsResult>;
  /** Bridges two answered legs (uuid_bridge). */
  bridge(uuidA: string, uuidB: string): Promise<void>;
  /**
   * The leg a channel is or was bridged to (`uuid_getvar <uuid> bridge_uuid`), for a worker that
   * finds a bridge requested but not recorded; undefined when it never was, or the channel is gone.
   */
  bridgedTo(uuid: string): Promise<string | undefined>;
  /** Hangs a leg up; a leg that no longer exists is not an error. */
  hangup(uuid: string, cause?: HangupCause): Promise<void>;
  /** Closes the connection; safe to call twice. */
  close(): Promise<void>;
}
