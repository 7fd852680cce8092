/**
 * What the domain needs from the rest of Crossline, declared here so that the domain depends on
 * nothing but these: `store/` (repository, cancel signal, limits), `queue/` (scheduler),
 * `notify/` (notifier) and `telephony/` (the Telephony port in telephony/types) implement them.
 */
import { CrosslineError } from '../errors.js';
import type { Telephony } from '../telephony/types.js';
import type { LimitedDestination } from './limits.js';
import type { CallCenter } from './call-center.js';
import type { CallWindow } from './policies/hours.js';
import type { Callback, CallbackStatus, Requester, TimelineEntry } from './types.js';

/** The body of POST /v1/callbacks after JSON Schema validation (shape only; values not yet checked). */
export interface EndpointInput {
  number?: string;
  sipUri?: string;
  name?: string;
}

/** One IVR step as given: exactly one of its keys (see IvrStep). */
export interface IvrStepInput {
  waitForSilence?: { timeoutMs?: number; silenceMs?: number; minSoundMs?: number; threshold?: number };
  digits?: string;
  pause?: number;
  value?: string;
}

export interface ConfirmInput {
  prompt?: string;
  timeoutSeconds?: number;
}

export interface MachineDetectionInput {
  onMachine?: 'hangup-retry' | 'leave-message';
  message?: string;
  greetingMs?: number;
}

export interface CallbackInput {
  caller: EndpointInput;
  /** A number or SIP URI, or a call center of the owner's directory (`callCenter`, optional `route`). */
  callee: EndpointInput & { dtmf?: string; ivr?: IvrStepInput[]; callCenter?: string; route?: string };
  values?: Record<string, string>;
  confirm?: { caller?: ConfirmInput; callee?: ConfirmInput };
  machineDetection?: { caller?: MachineDetectionInput; callee?: MachineDetectionInput };
  at?: string;
  /** The caller's daily window: the call is placed only between `from` and `to` in `timeZone`. */
  window?: CallWindow;
  ringTimeout?: number;
  retry?: { maxAttempts?: number; delaySeconds?: number };
  announce?: { callee?: string; caller?: string };
  callerId?: string;
  webhook?: string;
  order?: 'callee-first' | 'caller-first';
  /** Hold the callback until the call center's expected wait is at most this many seconds. */
  maxWaitSeconds?: number;
  /** Keep-your-place in the call center's queue (default: the center's keepPlace.byDefault). */
  keepPlace?: boolean;
}

/** What an intake other than the public REST body adds to a request. */
export interface CreateOptions {
  /** Who asked through a message channel; stored with the callback for status messages. */
  requester?: Requester;
}

export interface ListQuery {
  status?: CallbackStatus;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface CallbackPage {
  items: Callback[];
  nextCursor?: string;
}

/**
 * What intake (REST today; e-mail, IM and the widget later) calls. Every method scopes to `owner`,
 * the id of the API key (never the key itself): one key never sees another's callbacks.
 */
export interface CallbackService {
  /** Validates, applies the toll-fraud policy, stores and queues. Throws CrosslineError (4xx codes). */
  create(input: CallbackInput, owner: string, options?: CreateOptions): Promise<Callback>;
  /** Throws CALLBACK_NOT_FOUND. */
  get(id: string, owner: string): Promise<Callback>;
  list(query: ListQuery, owner: string): Promise<CallbackPage>;
  /** Cancels; hangs up legs in progress. Throws CALLBACK_NOT_FOUND, CALLBACK_FINISHED. */
  cancel(id: string, owner: string): Promise<Callback>;
  /**
   * Moves a callback that has not started (`scheduled` or `queued`, no attempt made) to a new time
   * and/or window. Throws CALLBACK_NOT_FOUND, CALLBACK_STARTED, INVALID_SCHEDULE, CALL_CENTER_CLOSED.
   */
  reschedule(id: string, change: RescheduleInput, owner: string): Promise<Callback>;
}

/** The body of PATCH /v1/callbacks/{id}: a new `at`, a new `window`, or both (`window: null` removes it). */
export interface RescheduleInput {
  at?: string;
  window?: CallWindow | null;
}

/**
 * The numbers each owner was asked never to call (`/v1/do-not-call`; src/store/do-not-call.ts keeps
 * them in Redis). Every intake's callback is checked against it (policies/do-not-call.ts).
 */
export interface DoNotCallList {
  /** Which of `numbers` (E.164) are on the owner's list. */
  listed(owner: string, numbers: readonly string[]): Promise<string[]>;
}

/** The list as its owner edits it (`/v1/do-not-call`). */
export interface DoNotCallStore extends DoNotCallList {
  add(owner: string, e164: string): Promise<void>;
  /** Whether it was on the list. */
  remove(owner: string, e164: string): Promise<boolean>;
  /** The owner's numbers, sorted. */
  list(owner: string): Promise<string[]>;
}

/**
 * The owner's call centers (src/directory/call-centers implements it over Redis). Intake resolves
 * `callee: {callCenter}` with it; the flow reads hours and pacing from it at each attempt.
 */
export interface CallCenterDirectory {
  /** A center by its name or one of its aliases (case-insensitive); undefined when the owner has none such. */
  find(owner: string, nameOrAlias: string): Promise<CallCenter | undefined>;
  /** The owner's center names, sorted (for "known names" in errors). */
  names(owner: string): Promise<string[]>;
}

/** Why a callback to a call center is not started now. */
export type PacingWaitReason = 'CALL_CENTER_IN_PROGRESS_LIMIT' | 'CALL_CENTER_ORIGINATE_RATE';

export type PacingDecision = { granted: true } | { granted: false; reason: PacingWaitReason; retryInMs: number; /** Callbacks ahead of this one. */ ahead: number };

/**
 * Per call center: at most N callbacks in progress and M attempts started a minute, across every
 * worker process (src/directory/call-centers implements it over Redis). Waiters are served
 * roughly in the order they first asked (the longest waiting ask most often).
 */
export interface CallCenterPacer {
  /** Takes an in-progress slot and an originate for `callbackId` (asking again while holding one renews it), or says why not. */
  acquire(owner: string, center: string, callbackId: string, pacing: { maxInProgress: number; originatesPerMinute: number }, leaseMs: number): Promise<PacingDecision>;
  /** Extends the lease of the slot `callbackId` holds; does nothing when it holds none. */
  renew(owner: string, center: string, callbackId: string, leaseMs: number): Promise<void>;
  /** Frees the slot `callbackId` holds (and its place in line); harmless when it holds none. */
  release(owner: string, center: string, callbackId: string): Promise<void>;
  /**
   * The callback that has waited longest for a slot and is still expected to ask (its job asleep),
   * so that a freed slot can wake it at once instead of at its next look. @defaultValue absent: waiters wake on their own time
   */
  nextInLine?(owner: string, center: string): Promise<string | undefined>;
  /** How many hold a slot now. */
  inProgress(owner: string, center: string): Promise<number>;
}

/** Told about every status change, after it is stored (webhooks, later IM / e-mail). */
export interface CallbackNotifier {
  statusChanged(callback: Callback, entry: TimelineEntry): Promise<void>;
}

/** Refuses webhook URLs that resolve to addresses the policy forbids (SSRF). Throws WEBHOOK_URL_NOT_ALLOWED / INVALID_WEBHOOK_URL. */
export type WebhookUrlGuard = (url: string) => Promise<void>;

/** Everything one accepted callback counts against: its owner and the destinations it will ring. */
export interface Admission {
  callbackId: string;
  owner: string;
  destinations: readonly LimitedDestination[];
  /**
   * Unix ms after which its in-progress slots lapse even if nothing released them: a safety net
   * for a process that died between admission and the store. Releasing on a final status is the rule.
   */
  holdUntilMs: number;
}

/** Counts and refuses callbacks (anti call-bombing, quotas); implemented over Redis in `store/`. */
export interface IntakeLimits {
  /** Counts `admission`; throws DESTINATION_RATE_LIMITED / DAILY_QUOTA_EXCEEDED (429, nothing counted) when over a limit. */
  admit(admission: Admission): Promise<void>;
  /** Gives back what admit counted, for a callback that was not accepted after all. */
  refund(admission: Admission): Promise<void>;
}

/** Where callbacks are kept; implemented over Redis in `store/`. */
export interface CallbackRepository {
  /** Stores a new callback; throws INTERNAL if its id exists. */
  create(callback: Callback): Promise<void>;
  get(id: string): Promise<Callback | undefined>;
  /**
   * Stores `callback` if the stored revision is still the one it was read at, and bumps
   * `callback.revision`. `previousStatus` is the status it was read with. Throws
   * {@link RevisionConflictError} when someone saved a newer revision meanwhile.
   */
  save(callback: Callback, previousStatus: CallbackStatus): Promise<void>;
  /** Removes a callback that was never accepted (its job could not be queued). */
  discard(callback: Callback): Promise<void>;
  /** An owner's callbacks, newest first; `cursor` is the last id of the previous page. */
  list(owner: string, options: { status?: CallbackStatus; limit: number; cursor?: string }): Promise<{ items: Callback[]; nextCursor?: string }>;
}

/** A save lost a race: someone saved a newer revision since this copy was read. Re-read and retry. */
export class RevisionConflictError extends CrosslineError {
  constructor(id: string) {
    super('STORE_UNAVAILABLE', `callback ${id} was changed concurrently`);
    this.name = 'RevisionConflictError';
  }
}

/** Where the domain puts attempts; implemented over BullMQ in `queue/`. */
export interface AttemptScheduler {
  enqueue(callbackId: string, attempt: number, delayMs: number): Promise<void>;
  /**
   * Runs a sleeping attempt job now instead of at its wake-up (an agent picked a kept place up, a
   * cancel): true when it was asleep and is due now. @defaultValue absent: the job wakes on its own time
   */
  wake?(callbackId: string, attempt: number): Promise<boolean>;
  /** Takes a not-yet-started attempt off the queue: 'removed', 'active' (a worker holds it) or 'missing'. */
  remove(callbackId: string, attempt: number): Promise<'removed' | 'active' | 'missing'>;
}

/**
 * Carries "cancel callback X" from intake to whichever worker drives it, now or later;
 * implemented over Redis in `store/`.
 */
/** The member a keep-your-place leg became in its queue (its loopback twin, `CC-Member-Session-UUID`). */
export interface QueuePlace {
  queue: string;
  /** The member leg's UUID (loopback-b). */
  sessionUuid: string;
  /** The queue entry's UUID (CC-Member-UUID). */
  memberUuid: string;
}

/**
 * Where keep-your-place legs stand in their mod_callcenter queues; the queues capability implements
 * it from the switch's callcenter::info events and its member lists.
 */
export interface QueuePlaces {
  /**
   * The member `legUuid` became (mod_callcenter's member-queue-start names its loopback twin's
   * `other_loopback_leg_uuid`), waiting up to `timeoutMs`; undefined if the queue never took it.
   */
  memberOf(legUuid: string, timeoutMs: number, signal: AbortSignal, switchId?: string): Promise<QueuePlace | undefined>;
  /**
   * Where the member stands now: still `waiting` (offered or not), `answered` by an agent (with its
   * name), or `gone` (abandoned, timed out, or no longer listed). Throws when the switch cannot be asked.
   */
  standing(place: QueuePlace, switchId?: string): Promise<{ state: 'waiting' } | { state: 'answered'; agent: string } | { state: 'gone' }>;
}

export interface CancelSignal {
  /** Asks for the cancel: seen by a worker that picks the callback up later, and at once by the one driving it now. */
  request(id: string): Promise<void>;
  isRequested(id: string): Promise<boolean>;
  /** Calls `onCancel` when a cancel for `id` arrives; resolves with the function that stops watching. */
  watch(id: string, onCancel: () => void): Promise<() => void>;
  /**
   * Calls `onCancel(id)` for every cancel requested from now on, of any callback (for callbacks
   * no job holds, such as a live call); resolves with the function that stops watching.
   */
  watchAll(onCancel: (id: string) => void): Promise<() => void>;
}

/**
 * What the switch itself reported about one leg once it ended (mod_json_cdr's record, parsed at
 * the edge): the durable answer to "was it answered, was it bridged, why did it end" when no
 * worker heard the events. Times are ISO 8601 (UTC, ms).
 */
export interface LegFacts {
  /** The leg's channel UUID (Crossline's origination_uuid). */
  uuid: string;
  /** The tags Crossline put on the leg (`crossline_callback_id`, `crossline_role`, `crossline_attempt`); absent on foreign legs. */
  callbackId?: string;
  role?: string;
  attempt?: number;
  /** answer_epoch > 0: a person (or a machine) picked up, whatever happened next. */
  answered: boolean;
  answeredAt?: string;
  /** bridge_epoch > 0: the leg was bridged to another one (the two parties talked). */
  bridged: boolean;
  bridgedAt?: string;
  /** The UUID of the last leg it was bridged to (`last_bridge_to`). */
  bridgedTo?: string;
  /** FreeSWITCH's hangup cause name, e.g. NORMAL_CLEARING, NO_ANSWER. */
  hangupCause: string;
  /** `sip_hangup_disposition`: who ended it (`send_bye`, `recv_bye`, `send_cancel`, `recv_refuse`…). */
  hangupDisposition?: string;
  startedAt?: string;
  endedAt: string;
  /** Seconds from creation to the end (`duration`) and from the answer to the end (`billsec`). */
  durationSec: number;
  billSec: number;
  /** When Crossline stored the record. */
  receivedAt: string;
}

/** Leg facts by leg UUID, as the switch posted them; implemented over Redis in `store/`. */
export interface LegFactsRepository {
  /** Keeps `facts` unless facts for that leg are already kept: 'duplicate' then (the switch retries). */
  record(facts: LegFacts): Promise<'stored' | 'duplicate'>;
  /** The facts of a leg, or undefined when the switch has not reported it (yet) or they expired. */
  get(uuid: string): Promise<LegFacts | undefined>;
}

/** Why a leg waits for the switch instead of being dialled (shown as the `waiting-for-switch` detail). */
export type SwitchWaitReason = 'SWITCH_SPS_BUDGET' | 'SWITCH_SESSIONS_FULL' | 'SWITCH_SLOW' | 'SWITCH_CPU_LOW' | 'SWITCH_REFUSED';

export type GateDecision = { granted: true } | { granted: false; reason: SwitchWaitReason; /** When asking again may succeed, ms. */ retryInMs: number };

/**
 * The switch's capacity guard: a call is dialled only once the switch has room for it (session
 * slots and the sessions-per-second budget); implemented over the Redis-shared originate budget
 * in `switches/`.
 */
export interface OriginateGate {
  /**
   * Takes room for a call whose first leg is `uuid`: that leg and the one that will be bridged to
   * it (asking again for the same leg is harmless), or says why it must wait. Throws STORE_UNAVAILABLE.
   */
  acquire(uuid: string): Promise<GateDecision>;
  /**
   * Frees what `uuid` holds: a first leg's room for its call (when it ended, or was never created);
   * any other leg holds nothing, and an unknown one is ignored.
   */
  release(uuid: string): Promise<void>;
}

/**
 * The switches a worker dials through (a pool, in `switches/`). An attempt's legs all go to the
 * switch picked for it (uuid_bridge needs both legs on one switch); its id is stored on the attempt.
 */
export interface SwitchRouter {
  /**
   * The switch for a new attempt: connected, not drained, most free room; undefined when there is
   * none. `exclude`: switches already tried (and refused); `withRoom`: only one whose budget shows
   * free room now. A hint only: the room itself is claimed by the switch's gate, atomically in
   * Redis, so two workers that pick the same switch for its last room get one grant between them,
   * and the refused one asks the next switch (see the flow's reachLeg). Throws STORE_UNAVAILABLE.
   */
  pick(options?: { exclude?: ReadonlySet<string>; withRoom?: boolean }): Promise<string | undefined>;
  /** The connection to a switch of the pool; undefined for an id the pool no longer has. */
  telephonyFor(switchId: string): Telephony | undefined;
  /** That switch's capacity guard. */
  gateFor(switchId: string): OriginateGate | undefined;
  /** Every switch's id. */
  ids(): string[];
  /**
   * Whether a switch is lost: unreachable for longer than the grace (SWITCH_LOST_AFTER_MS), or no
   * longer in the pool. Its legs cannot be asked about; they are gone with it.
   */
  isLost(switchId: string): boolean;
}
