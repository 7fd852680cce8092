import type { Requester } from '../channels/types.js';
import type { Endpoint, HangupCause } from '../telephony/types.js';
import type { CallCenterRef } from './call-center.js';
import type { CallWindow } from './policies/hours.js';

/** What a party is reached at: the telephony capability's endpoint. */
export type { Endpoint };

export type LegRole = 'callee' | 'caller';

export interface Party {
  endpoint: Endpoint;
  /** Display name, validated by DISPLAY_NAME. */
  name?: string;
}

/**
 * One step of an IVR sequence sent to the called party once it answers (ivr.ts). The compact
 * `dtmf` string is one `digits` step.
 */
export type IvrStep =
  /** Waits until the IVR's prompt has ended (`wait_for_silence`), at most `timeoutMs`; then goes on either way. */
  | { kind: 'wait-for-silence'; timeoutMs: number; silenceMs: number; minSoundMs: number; threshold: number }
  /** DTMF digits, with `w` / `W` pauses, validated by DTMF. */
  | { kind: 'digits'; digits: string }
  | { kind: 'pause'; ms: number }
  /** The request's run-time value `name` (CallbackRequest.values), sent as DTMF. */
  | { kind: 'value'; name: string };

export interface CalleeParty extends Party {
  /** IVR digits sent after the called party answers, validated by DTMF (the compact form). */
  dtmf?: string;
  /** The call center this callee is (its number and route digits are the endpoint and dtmf above). */
  callCenter?: CallCenterRef;
  /** The structured form: steps that wait for prompts and send digits and run-time values. */
  ivr?: IvrStep[];
}

/** Press-1 confirmation: the party hears `prompt` and must key in 1 within `timeoutSec`. */
export interface ConfirmPolicy {
  /** Validated by CONFIRM_PROMPT. */
  prompt: string;
  timeoutSec: number;
}

/** What to do when an answering machine picks up. */
export type MachineAction = 'hangup-retry' | 'leave-message';

/**
 * Answering-machine detection by greeting length (human-check.ts): a person says a short hello
 * and waits; a machine talks for `greetingMs` or more.
 */
export interface MachinePolicy {
  onMachine: MachineAction;
  /** Spoken after the beep with `leave-message`; validated by SPEAKABLE_TEXT. */
  message?: string;
  /** Speech at least this long is a machine's greeting, ms. */
  greetingMs: number;
}

/** The checks that a person, not a machine, answered a leg; each optional. */
export interface HumanCheck {
  machineDetection?: MachinePolicy;
  confirm?: ConfirmPolicy;
}

export type CallOrder = 'callee-first' | 'caller-first';

export interface RetryPolicy {
  maxAttempts: number;
  delaySeconds: number;
}

/** A validated callback request: what the domain accepts from any intake. */
export interface CallbackRequest {
  caller: Party;
  callee: CalleeParty;
  /** When to place the call (ISO 8601, UTC); absent = now. */
  at?: string;
  /** The caller's daily window: attempts start only inside it. */
  window?: CallWindow;
  ringTimeoutSec: number;
  retry: RetryPolicy;
  announce: { callee?: string; caller?: string };
  /** E.164 caller id presented to both legs. */
  callerId?: string;
  webhook?: string;
  order: CallOrder;
  /** Run-time values IVR steps send (`{value: "accountNumber"}`): digits only, validated by IVR_VALUE. */
  values?: Record<string, string>;
  /** Per leg: press-1 confirmation and answering-machine detection before the leg counts as answered. */
  humanCheck?: { caller?: HumanCheck; callee?: HumanCheck };
  /**
   * The caller does not want to wait on hold longer than this: the callback waits
   * (`waiting-for-agent`) until the call center's expected wait is at or below it. Seconds.
   */
  maxWaitSec?: number;
}

export type CallbackStatus =
  | 'scheduled'
  | 'queued'
  /** Held until the call center's expected wait is at or below the request's maxWaitSeconds; no leg exists. */
  | 'waiting-for-agent'
  | 'calling-callee'
  | 'callee-answered'
  | 'calling-caller'
  | 'bridged'
  | 'completed'
  | 'failed'
  | 'canceled';

export const FINAL_STATUSES: readonly CallbackStatus[] = ['completed', 'failed', 'canceled'];

/**
 * A leg's own lifecycle. `reserved`: its UUID is stored and it waits for the switch's originate
 * budget; no originate was sent, so a worker taking over asks the budget again instead of following
 * it. `dialing` is written *before* the originate is sent, with the UUID we chose, so that a worker
 * taking over can ask the switch about that UUID instead of dialling again.
 */
export type LegState = 'reserved' | 'dialing' | 'answered' | 'ended';

export interface Leg {
  role: LegRole;
  /** E.164 number or SIP URI. */
  endpoint: string;
  uuid: string;
  state: LegState;
  startedAt: string;
  answeredAt?: string;
  endedAt?: string;
  hangupCause?: HangupCause;
}

export interface Attempt {
  number: number;
  startedAt: string;
  /**
   * The switch its legs are on (a pool's switch id), stored before its first leg's UUID; absent on
   * attempts made before the pool (the first switch of ESL_URL).
   */
  switchId?: string;
  endedAt?: string;
  legs: Leg[];
}

export type TimelineEvent =
  | 'created'
  | 'scheduled'
  | 'queued'
  | 'attempt-started'
  /**
   * A leg is not dialled yet because the switch is at capacity (detail: SWITCH_SPS_BUDGET,
   * SWITCH_SESSIONS_FULL, SWITCH_SLOW, SWITCH_CPU_LOW, or SWITCH_REFUSED when the switch refused it
   * at once despite the budget); no attempt is used.
   */
  | 'waiting-for-switch'
  /** A callback to a call center waits for the center to open (detail: the opening, or the caller's window). */
  | 'waiting-for-hours'
  /**
   * A callback to a call center waits for its pacing (detail: CALL_CENTER_IN_PROGRESS_LIMIT,
   * or CALL_CENTER_ORIGINATE_RATE); no attempt is used and no worker is held.
   */
  | 'waiting-for-pacing'
  /** PATCH moved a callback that had not started (detail: the new time). */
  | 'rescheduled'
  /**
   * The call center's expected wait is longer than the caller's maxWaitSeconds (detail: the
   * figures); nothing is dialled and no worker is held until it is not.
   */
  | 'waiting-for-agent'
  /** The expected wait came down to maxWaitSeconds (detail: the figures): the call is placed now. */
  | 'agent-near'
  /** The call center's queue could not be read (detail: why); the callback keeps waiting, nothing is dialled. */
  | 'queue-lookup-failed'
  /**
   * Keep-your-place: the call-center leg joined the center's mod_callcenter queue (detail: the
   * queue, the member, and the seconds of score it carries from when the customer asked).
   */
  | 'queue-joined'
  /** Keep-your-place: an agent picked the member up (detail: the agent); the caller is rung now. */
  | 'agent-answered'
  /** Keep-your-place: the member left the queue before any agent picked it up (detail: why). */
  | 'queue-left'
  | 'leg-dialing'
  | 'leg-answered'
  | 'leg-failed'
  | 'leg-ended'
  | 'announcement-played'
  /** The switch did not play an announcement (detail: why); the call goes on without it. */
  | 'announcement-failed'
  /** IVR digits handed to the switch (detail: the digits); they are still being played out. */
  | 'dtmf-started'
  /** Every IVR digit and pause has been played out to the callee (detail: the digits). */
  | 'dtmf-sent'
  /** An IVR step's prompt ended (detail: the step and how long it took) or did not within its limit. */
  | 'ivr-prompt-ended'
  | 'ivr-prompt-timeout'
  /** Answering-machine detection's verdict (detail: person, machine or unknown, and the speech heard). */
  | 'machine-detection'
  /** A message was left on an answering machine after its beep (the callback then ends). */
  | 'machine-message-left'
  /** Press-1 confirmation: the party pressed 1, or did not in time (it then counts as not answered). */
  | 'party-confirmed'
  | 'party-not-confirmed'
  | 'caller-no-answer-message-played'
  /**
   * Intents, written before the command goes to the switch (detail: which announcement; the
   * cause asked for): a worker taking over finds out what became of one with no outcome after it
   * before it acts (see resume.ts).
   */
  | 'announcement-started'
  | 'hangup-requested'
  | 'bridge-requested'
  | 'bridged'
  | 'attempt-failed'
  | 'retry-scheduled'
  | 'resumed'
  | 'cancel-requested'
  | 'completed'
  | 'failed'
  | 'canceled';

export interface TimelineEntry {
  at: string;
  event: TimelineEvent;
  status?: CallbackStatus;
  attempt?: number;
  role?: LegRole;
  uuid?: string;
  hangupCause?: HangupCause;
  detail?: string;
}

/** Who asked through a message channel and where status messages go (the channel contract's type). */
export type { Requester };

/** The stored callback: request, lifecycle and history. */
export interface Callback {
  id: string;
  status: CallbackStatus;
  request: CallbackRequest;
  attempts: Attempt[];
  timeline: TimelineEntry[];
  createdAt: string;
  updatedAt: string;
  /** When the next attempt is due (scheduled or retry). */
  nextAttemptAt?: string;
  /** Why the callback failed, when it did. */
  failureCause?: HangupCause;
  /** API key (its id, not the key) that created it. */
  owner: string;
  /** Who asked through a message channel, and where status messages go; absent for REST requests. */
  requester?: Requester;
  /** Incremented by every save; a save based on an older revision is refused (optimistic concurrency). */
  revision: number;
}
