/**
 * The Telephony port over FreeSWITCH's inbound Event Socket: the verbs (dial, awaitAnswer,
 * awaitHangup, play, sendDtmf, bridge, hangup) composed from the connection, the channel watch,
 * the late-leg guard and the module check. Reconnects with capped exponential backoff,
 * re-subscribes, and then asks the switch about every leg someone is waiting on, because events
 * sent while we were away are lost. Refuses work (SWITCH_UNAVAILABLE) while not connected.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Event as EslEvent } from 'drachtio-modesl';
import { CrosslineError } from '../../errors.js';
import {
  breakCommand, bridgeCommand, checkUuid, collectDigitsMessage, DIGITS_VARIABLE, killCommand, playMessage, sendDtmfCommand, ttsSetupCommands,
  waitForSilenceMessage,
} from '../commands.js';
import { assertSafeCommand, buildOriginateArgs, type DialStringOptions } from '../dial-string.js';
import {
  parseHangupCause,
  type Announcement,
  type ChannelState,
  type DialRequest,
  type DigitsRequest,
  type DigitsResult,
  type HangupCause,
  type LegEnd,
  type LegResult,
  type PlayResult,
  type SilenceParams,
  type SilenceResult,
  type SwitchLoad,
  type SwitchLoadSource,
  type Telephony,
  type TelephonyStatus,
} from '../types.js';
import { listAgentsCommand, listMembersCommand, parseAgents, parseMembers, type QueueEvent, type QueueStatus, type QueueSwitch } from '../callcenter.js';
import { HUNG_UP, playOutcome } from './announcements.js';
import { toQueueEvent } from './callcenter-events.js';
import { ChannelWatch } from './channel-watch.js';
import { EslConnection, unavailable } from './connection.js';
import { isHangup, toChannelEvent, type ChannelEvent } from './events.js';
import { LegGuard } from './leg-guard.js';
import { SwitchModules } from './modules.js';
import { safeCaller, type EslLogger, type SafeCall } from './safely.js';
import { SwitchLoadTracker } from './switch-load.js';
import { LongWaits, abortReason, onAbort, unlessLost } from './waits.js';

/** Events of {@link EslTelephony}. */
export interface EslTelephonyEvents {
  /** Connected, authenticated and subscribed (after the first connect and after every reconnect). */
  ready: [];
  /** The connection that was ready is gone; reconnecting has begun. */
  lost: [reason: string];
  /** Every channel event received (legs of other processes too). */
  channel: [event: ChannelEvent];
  /** A tagged leg ended (the first of its hangup events), whoever dialled it. */
  legEnded: [end: LegEnd];
  /** After each (re)connect: the modules Crossline needs that the switch lacks (empty when all are there). */
  modules: [missing: string[]];
  /** The switch reported its load (HEARTBEAT every 20 s, and `status` after each connect). */
  load: [load: SwitchLoad];
  /** mod_callcenter announced something (callcenter::info). */
  queue: [event: QueueEvent];
}

export interface EslTelephonyOptions {
  host: string;
  port: number;
  /** ESL password; sent in `auth`, never logged. */
  password: string;
  /** Timeout of one api/bgapi acknowledgement (and of short job results), ms. */
  apiTimeoutMs: number;
  /** Gateway numbers are dialled through: `sofia/gateway/<dialGateway>/<number>`. */
  dialGateway: string;
  /** `e164` (+12025550100) or `digits` (12025550100). */
  dialNumberFormat: 'e164' | 'digits';
  /** Sofia profile SIP URIs are dialled through. */
  sipProfile: string;
  /** TTS module and voice for `speak`. */
  ttsEngine: string;
  ttsVoice: string;
  /** Debug logging only; the client reports state through events. */
  logger?: EslLogger;
  /** Reconnect backoff: doubles from minDelayMs up to maxDelayMs. @defaultValue `{ minDelayMs: 100, maxDelayMs: 5000 }` */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
}

const ANSWERED: LegResult = { outcome: 'answered' };
/** How long after a leg's answer (as this client heard it) a speak waits, ms. */
const MEDIA_SETTLE_MS = 100;
const CANCELED: LegResult = { outcome: 'failed', cause: 'ORIGINATOR_CANCEL' };
/** How an app run through sendmsg ended (see #runApp). */
type AppOutcome =
  | { kind: 'completed'; response?: string; variables?: Readonly<Record<string, string>>; tookMs?: number }
  | { kind: 'hung-up' }
  | { kind: 'failed'; reason: string };
/** wait_for_silence reads 20 ms frames: its hit counts are in frames. */
const FRAME_MS = 20;

export class EslTelephony extends EventEmitter<EslTelephonyEvents> implements Telephony, SwitchLoadSource, QueueSwitch {
  readonly #options: EslTelephonyOptions;
  readonly #dialOptions: DialStringOptions;
  readonly #safely: SafeCall;
  readonly #connection: EslConnection;
  readonly #channels: ChannelWatch;
  readonly #guard: LegGuard;
  readonly #modules: SwitchModules;
  readonly #waits: LongWaits;
  readonly #load = new SwitchLoadTracker();
  #closing: Promise<void> | undefined;

  constructor(options: EslTelephonyOptions) {
    super();
    this.#options = options;
    this.#safely = safeCaller(options.logger);
    this.#connection = new EslConnection(options, {
      ready: async (stillCurrent) => {
        this.#emitSafely('ready');
        // Events missed while away leave any count of ours wrong: the switch's own replaces it.
        void this.#readStatus(stillCurrent, true);
        await this.#channels.reconcile(stillCurrent, this.#connection.retryDelayMs);
        await this.#modules.check(stillCurrent);
      },
      lost: (reason) => {
        this.#channels.connectionLost();
        this.#emitSafely('lost', reason);
      },
      event: (name, event) => {
        if (name === 'HEARTBEAT') return this.#heartbeat(event);
        if (name === 'CUSTOM') {
          const queueEvent = toQueueEvent(event);
          if (queueEvent) this.#emitSafely('queue', queueEvent);
          return;
        }
        const channelEvent = toChannelEvent(name, event);
        if (!channelEvent) return;
        const firstEnd = isHangup(channelEvent) && this.#channels.causeOf(channelEvent.uuid) === undefined;
        if (channelEvent.type === 'created') this.#load.channel(1);
        else if (firstEnd) this.#load.channel(-1);
        this.#channels.dispatch(channelEvent);
        this.#emitSafely('channel', channelEvent);
        if (firstEnd && isHangup(channelEvent) && channelEvent.tags) {
          this.#emitSafely('legEnded', { uuid: channelEvent.uuid, cause: channelEvent.cause, tags: channelEvent.tags });
        }
      },
    });
    this.#dialOptions = { gateway: options.dialGateway, numberFormat: options.dialNumberFormat, sipProfile: options.sipProfile };
    const api = (command: string): Promise<string> => this.#connection.api(command);
    this.#channels = new ChannelWatch({ api, safely: this.#safely, logger: options.logger });
    this.#guard = new LegGuard({
      channels: this.#channels,
      kill: (uuid, cause) => this.hangup(uuid, cause),
      isReady: () => this.#connection.ready,
      logger: options.logger,
    });
    this.#modules = new SwitchModules({ api, ttsEngine: options.ttsEngine, onChecked: (missing) => this.#emitSafely('modules', missing), logger: options.logger });
    this.#waits = new LongWaits(this.#safely);
  }

  /**
   * Starts connecting (once) and resolves when the client is first ready. Rejects with
   * SWITCH_UNAVAILABLE when the switch refuses the password, when `timeoutMs` passes first, or on
   * close(); except after close(), the client keeps trying in the background.
   */
  start(options: { timeoutMs?: number } = {}): Promise<void> {
    return this.#connection.start(options);
  }

  status(): TelephonyStatus {
    const state = this.#connection.state();
    if (state.ready) {
      const missingModules = this.#modules.missing();
      return missingModules === undefined ? { connected: true, since: state.since } : { connected: true, since: state.since, missingModules };
    }
    return state.lastError === undefined ? { connected: false, since: state.since } : { connected: false, since: state.since, lastError: state.lastError };
  }

  /**
   * The switch's load: its last HEARTBEAT (or `status`), the session count kept current with the
   * channels created and ended since, and this process's ESL reply latency. Undefined until the
   * switch has reported once.
   */
  load(): SwitchLoad | undefined {
    return this.#load.current(this.#connection.replyLatency.percentile(90));
  }

  onLoad(listener: (load: SwitchLoad) => void): () => void {
    this.on('load', listener);
    return () => void this.off('load', listener);
  }

  #heartbeat(event: EslEvent): void {
    if (!this.#load.heartbeat(event)) return;
    this.#emitLoad();
    // HEARTBEAT has what is left of this second's budget but not the limit itself (fsctl sps can change it).
    void this.#readStatus(() => this.#connection.ready, false);
  }

  async #readStatus(stillCurrent: () => boolean, seed: boolean): Promise<void> {
    try {
      const text = await this.#connection.api('status');
      if (stillCurrent() && this.#load.status(text, seed)) this.#emitLoad();
    } catch (error) {
      this.#options.logger?.debug({ err: error instanceof Error ? error.message : String(error) }, 'esl status for the switch load failed');
    }
  }

  #emitLoad(): void {
    const load = this.load();
    if (load) this.#emitSafely('load', load);
  }

  #emitSafely<K extends keyof EslTelephonyEvents>(name: K, ...args: EslTelephonyEvents[K]): void {
    this.#safely(() => {
      (this.emit as (name: K, ...args: EslTelephonyEvents[K]) => boolean)(name, ...args);
    });
  }

  #unlessLost(fail: (error: unknown) => void): (error: unknown) => void {
    return unlessLost(fail, () => this.#connection.closed);
  }

  /**
   * Originates one leg with `bgapi originate {vars}<dial string> &park()` and resolves when it is
   * answered (CHANNEL_ANSWER or the job's `+OK`; early media is ignored) or has failed (the job's
   * `-ERR <cause>` or the channel's hangup cause).
   *
   * Throws, with nothing sent, INVALID_* for a value outside the grammars and SWITCH_UNAVAILABLE
   * while disconnected. Throws SWITCH_COMMAND_FAILED when the switch refused the originate (the leg
   * is then killed whenever it shows up during its ring time, so a later dial with a new UUID cannot
   * double the call), SWITCH_TIMEOUT / SWITCH_UNAVAILABLE when it was not acknowledged in time or the
   * connection was lost: the originate may still run, so the leg is left alone for the caller to
   * follow by its UUID (awaitAnswer) or hang up. Once acknowledged, it does not
   * throw: a connection lost meanwhile is reconciled after the reconnect (`failed` UNKNOWN when the
   * channel is gone). Aborting the signal kills the leg and resolves `failed` ORIGINATOR_CANCEL.
   */
  dial(request: DialRequest, signal?: AbortSignal): Promise<LegResult> {
    let args: string;
    try {
      args = buildOriginateArgs(request, this.#dialOptions);
      if (!signal?.aborted) this.#connection.assertReady();
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) return Promise.resolve(CANCELED);
    const { uuid } = request;
    const windowMs = request.ringTimeoutSec * 1000 + 2 * this.#options.apiTimeoutMs;
    const jobId = randomUUID();
    return this.#waits.run<LegResult>(({ finish, fail, onCleanup, done }) => {
      /** Stop waiting without a definite end, and make sure the leg cannot live on unseen. */
      const giveUp = (result: LegResult, cause: HangupCause): void => {
        if (done()) return;
        finish(result);
        this.#guard.guard(uuid, cause, windowMs);
      };
      onCleanup(
        this.#watchForAnswer(uuid, finish, () => giveUp({ outcome: 'failed', cause: this.#channels.causeOf(uuid) ?? 'UNKNOWN' }, 'ORIGINATOR_CANCEL')),
      );
      onCleanup(
        this.#connection.onJob(jobId, (body) => {
          const text = body.trim();
          finish(text.startsWith('+OK') ? ANSWERED : { outcome: 'failed', cause: parseHangupCause(text) });
        }),
      );
      onAbort(signal, onCleanup, () => giveUp(CANCELED, 'ORIGINATOR_CANCEL'));

      let deadline: NodeJS.Timeout | undefined;
      onCleanup(() => clearTimeout(deadline));
      const onDeadline = (): void => {
        if (!this.#connection.ready) return giveUp({ outcome: 'failed', cause: 'UNKNOWN' }, 'ORIGINATOR_CANCEL');
        this.channelState(uuid).then(
          (state) => {
            if (state === 'answered') finish(ANSWERED);
            else if (state === 'ringing') giveUp({ outcome: 'failed', cause: 'NO_ANSWER' }, 'NO_ANSWER');
            else finish({ outcome: 'failed', cause: this.#channels.causeOf(uuid) ?? 'UNKNOWN' });
          },
          () => giveUp({ outcome: 'failed', cause: 'UNKNOWN' }, 'ORIGINATOR_CANCEL'),
        );
      };
      this.#connection.bgapiSend(`originate ${args}`, jobId).then(
        () => {
          // The switch ends the ring itself (originate_timeout); this only covers lost events.
          if (!done()) deadline = setTimeout(onDeadline, windowMs);
        },
        (error: unknown) => {
          if (done()) return;
          fail(error);
          // Not acknowledged in time (or the connection lost) is not refused: the originate may be
          // running on a slow switch, and the caller follows the leg by its UUID (awaitAnswer).
          const mayRun = error instanceof CrosslineError && (error.code === 'SWITCH_TIMEOUT' || error.code === 'SWITCH_UNAVAILABLE');
          if (!mayRun) this.#guard.guard(uuid, 'ORIGINATOR_CANCEL', windowMs);
        },
      );
    });
  }

  /**
   * Watches a ringing leg: answered → ANSWERED, hung up → failed with its cause; after a reconnect
   * the switch is asked again, and a leg it no longer has goes to `onGone`. Returns the cleanup.
   */
  #watchForAnswer(uuid: string, finish: (result: LegResult) => void, onGone: () => void): () => void {
    return this.#channels.watch(uuid, {
      onEvent: (event) => {
        if (event.type === 'answered') finish(ANSWERED);
        else if (isHangup(event)) finish({ outcome: 'failed', cause: event.cause });
      },
      onReconcile: (state) => {
        if (state === 'answered') finish(ANSWERED);
        else if (state === 'absent') onGone();
      },
    });
  }

  /**
   * A leg's state from its events when this connection heard them; otherwise the switch is asked:
   * `uuid_exists`, then its call state in `show channels as json` (ACTIVE / HELD = answered; a
   * hanging-up channel counts as absent).
   */
  channelState(uuid: string): Promise<ChannelState> {
    return this.#channels.state(uuid);
  }

  /** `uuid_exists`, unless this client already heard the leg hang up. */
  exists(uuid: string): Promise<boolean> {
    return this.#channels.exists(uuid);
  }

  /** `callcenter_config queue list members|agents <queue>`, parsed (QueueSwitch). */
  async queueStatus(queue: string): Promise<QueueStatus> {
    const [members, agents] = await Promise.all([this.#connection.api(listMembersCommand(queue)), this.#connection.api(listAgentsCommand(queue))]);
    return { members: parseMembers(members), agents: parseAgents(agents) };
  }

  onQueueEvent(listener: (event: QueueEvent) => void): () => void {
    this.on('queue', listener);
    return () => void this.off('queue', listener);
  }

  onLegEnded(listener: (end: LegEnd) => void): () => void {
    this.on('legEnded', listener);
    return () => void this.off('legEnded', listener);
  }

  /**
   * Waits for a leg dialled by another process to be answered or to end. Subscribes before it asks
   * the switch, so nothing slips between the two. After `timeoutMs` the leg is hung up (NO_ANSWER)
   * and the result is `failed` NO_ANSWER; aborting hangs it up and resolves ORIGINATOR_CANCEL.
   * A UUID the switch does not have and this process never saw end is `failed` UNKNOWN, and is
   * then guarded for `timeoutMs`: if the switch creates it late (an originate sent just before its
   * worker died), it is hung up at once.
   * A connection lost while waiting does not fail the wait: the switch is asked again after the
   * reconnect.
   */
  awaitAnswer(uuid: string, timeoutMs: number, signal?: AbortSignal): Promise<LegResult> {
    try {
      checkUuid(uuid);
      this.#connection.assertReady();
    } catch (error) {
      return Promise.reject(error);
    }
    const guardMs = 2 * this.#options.apiTimeoutMs;
    if (signal?.aborted) {
      this.#guard.guard(uuid, 'ORIGINATOR_CANCEL', guardMs);
      return Promise.resolve(CANCELED);
    }
    return this.#waits.run<LegResult>(({ finish, fail, onCleanup, done }) => {
      const giveUp = (result: LegResult, cause: HangupCause, windowMs = guardMs): void => {
        if (done()) return;
        finish(result);
        this.#guard.guard(uuid, cause, windowMs);
      };
      // A leg never seen to end here may be the originate of a worker that died, still on its way:
      // the switch may create it a moment later. It is failed then, and kept from ringing for the
      // rest of its ring window; otherwise it would double the retry.
      const gone = (): void =>
        this.#channels.whenGone(uuid, onCleanup, (cause, lagged) => {
          if (lagged) giveUp({ outcome: 'failed', cause }, 'ORIGINATOR_CANCEL', timeoutMs);
          else finish({ outcome: 'failed', cause });
        });
      onCleanup(this.#watchForAnswer(uuid, finish, gone));
      const timer = setTimeout(() => giveUp({ outcome: 'failed', cause: 'NO_ANSWER' }, 'NO_ANSWER'), timeoutMs);
      onCleanup(() => clearTimeout(timer));
      onAbort(signal, onCleanup, () => giveUp(CANCELED, 'ORIGINATOR_CANCEL'));
      this.channelState(uuid).then((state) => {
        if (state === 'answered') finish(ANSWERED);
        else if (state === 'absent') gone();
      }, this.#unlessLost(fail));
    });
  }

  /**
   * Resolves with the cause when the leg hangs up; at once when it is already gone (its cause if
   * this process saw the hangup, else UNKNOWN, after HANGUP_EVENT_LAG_MS). Aborting rejects with the signal's reason and
   * leaves the leg alone. A connection lost while waiting does not fail the wait: the switch is
   * asked again after the reconnect.
   */
  awaitHangup(uuid: string, signal?: AbortSignal): Promise<HangupCause> {
    try {
      checkUuid(uuid);
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      this.#connection.assertReady();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#waits.run<HangupCause>(({ finish, fail, onCleanup }) => {
      // The watch below still listens: its hangup event, if it is on its way, finishes first.
      const gone = (): void => this.#channels.whenGone(uuid, onCleanup, finish);
      onCleanup(
        this.#channels.watch(uuid, {
          onEvent: (event) => {
            if (isHangup(event)) finish(event.cause);
          },
          onReconcile: (state) => {
            if (state === 'absent') gone();
          },
        }),
      );
      if (signal) onAbort(signal, onCleanup, () => fail(abortReason(signal)));
      // uuid_exists alone: a channel still hanging up sends its hangup event, which the watch
      // hears. (`show channels` lists every channel on the switch: asked per call, its cost grew
      // with the number of calls up.)
      this.#channels.exists(uuid).then((present) => {
        if (!present) gone();
      }, this.#unlessLost(fail));
    });
  }

  /**
   * Plays an announcement with `sendmsg <uuid>` (execute speak / playback, event-lock, our
   * Event-UUID) and resolves on the CHANNEL_EXECUTE_COMPLETE that carries that Application-UUID:
   * `played`, or `failed` with the reason the switch lets us see — a playback that did not answer
   * FILE PLAYED (FILE NOT FOUND…), a speak whose TTS module is not loaded (asked with module_exists
   * first, since the switch would answer `_none_` as for a success) or that returned at once.
   * `hung-up` when the leg hangs up or no longer exists. After a reconnect the outcome is unknown,
   * so it is `failed` with that reason. Aborting stops the playback (uuid_break) and rejects with
   * the signal's reason.
   */
  async play(uuid: string, announcement: Announcement, signal?: AbortSignal): Promise<PlayResult> {
    const eventUuid = randomUUID();
    const message = playMessage(uuid, announcement, { engine: this.#options.ttsEngine, voice: this.#options.ttsVoice }, eventUuid);
    assertSafeCommand(message.command);
    if (signal?.aborted) throw abortReason(signal);
    this.#connection.assertReady();
    if (announcement.kind === 'speak') {
      const missing = await this.#modules.missingTtsModule();
      if (missing !== undefined) return { outcome: 'failed', reason: `the switch has no ${missing}, so speak would say nothing` };
      // FreeSWITCH 1.10.12 completes a speak at once, saying nothing, when it runs within about
      // 20 ms of the answer (its log: "done speaking text" at once): the media is not flowing yet.
      const answeredAt = this.#channels.answeredAt(uuid);
      const settle = answeredAt === undefined ? 0 : answeredAt + MEDIA_SETTLE_MS - Date.now();
      if (settle > 0) await new Promise((resolve) => setTimeout(resolve, settle));
      if (signal?.aborted) throw abortReason(signal);
    }
    const outcome = await this.#runApp(uuid, message, eventUuid, announcement.kind === 'speak' ? 'speak' : 'playback', signal);
    if (outcome.kind === 'hung-up') return HUNG_UP;
    if (outcome.kind === 'failed') return { outcome: 'failed', reason: outcome.reason };
    return playOutcome(announcement.kind, outcome.response, outcome.tookMs);
  }

  /**
   * `wait_for_silence` through `sendmsg` (event-lock, our Event-UUID). It answers only in channel
   * variables on its CHANNEL_EXECUTE_COMPLETE (`Application-Response` is always `_none_`):
   * `wait_for_silence_timeout` true/false and `wait_for_silence_listenhits` (frames of sound heard,
   * 20 ms each). A hangup first ends it with no variables set (r-wait-for-silence, call 1).
   */
  async waitForSilence(uuid: string, params: SilenceParams, signal?: AbortSignal): Promise<SilenceResult> {
    const eventUuid = randomUUID();
    const message = waitForSilenceMessage(uuid, params, eventUuid);
    const outcome = await this.#runApp(uuid, message, eventUuid, 'wait_for_silence', signal);
    if (outcome.kind !== 'completed') return outcome.kind === 'hung-up' ? { outcome: 'hung-up' } : { outcome: 'failed', reason: outcome.reason };
    const variables = outcome.variables ?? {};
    const heardMs = Number.parseInt(variables.wait_for_silence_listenhits ?? '0', 10) * FRAME_MS || 0;
    const tookMs = outcome.tookMs ?? 0;
    if (variables.wait_for_silence_timeout === 'false') return { outcome: 'silence', heardMs, tookMs };
    if (variables.wait_for_silence_timeout === 'true') return { outcome: 'timeout', heardMs, tookMs };
    return { outcome: 'failed', reason: 'wait_for_silence completed without its result variables' };
  }

  /**
   * `play_and_get_digits` through `sendmsg`, its prompt spoken by the configured TTS engine
   * (`say:`, which reads the channel's tts_engine and tts_voice, set first with uuid_setvar). The
   * digits come back in the variable crossline_digits on CHANNEL_EXECUTE_COMPLETE; it is unset at
   * the start of the app, so an absent or empty one means nothing acceptable was keyed in.
   */
  async collectDigits(uuid: string, request: DigitsRequest, signal?: AbortSignal): Promise<DigitsResult> {
    const eventUuid = randomUUID();
    const tts = { engine: this.#options.ttsEngine, voice: this.#options.ttsVoice };
    const message = collectDigitsMessage(uuid, request, tts, eventUuid);
    if (signal?.aborted) throw abortReason(signal);
    this.#connection.assertReady();
    const missing = await this.#modules.missingTtsModule();
    if (missing !== undefined) return { outcome: 'failed', reason: `the switch has no ${missing}, so the prompt would say nothing` };
    for (const command of ttsSetupCommands(uuid, tts)) {
      const reply = await this.#connection.api(command);
      if (/no such channel|invalid/i.test(reply)) return { outcome: 'hung-up' };
    }
    const outcome = await this.#runApp(uuid, message, eventUuid, 'play_and_get_digits', signal);
    if (outcome.kind !== 'completed') return outcome.kind === 'hung-up' ? { outcome: 'hung-up' } : { outcome: 'failed', reason: outcome.reason };
    const digits = outcome.variables?.[DIGITS_VARIABLE] ?? '';
    return digits === '' ? { outcome: 'none' } : { outcome: 'digits', digits };
  }

  /**
   * Executes one app on a leg through `sendmsg` and resolves on its CHANNEL_EXECUTE_COMPLETE (our
   * Application-UUID) with the variables it answered in and how long it took on the switch's clock;
   * `hung-up` when the leg hangs up first. Aborting breaks the app (uuid_break) and rejects.
   */
  #runApp(
    uuid: string,
    message: { command: string; headers: Record<string, string> },
    eventUuid: string,
    app: string,
    signal?: AbortSignal,
  ): Promise<AppOutcome> {
    assertSafeCommand(message.command);
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    this.#connection.assertReady();
    return this.#waits.run<AppOutcome>(({ finish, fail, onCleanup, done }) => {
      let startedAt: number | undefined;
      onCleanup(
        this.#channels.watch(uuid, {
          onEvent: (event) => {
            if (isHangup(event)) finish({ kind: 'hung-up' });
            else if (event.type === 'execute' && event.applicationUuid === eventUuid) startedAt = event.at;
            else if (event.type === 'execute-complete' && event.applicationUuid === eventUuid) {
              const tookMs = startedAt !== undefined && event.at !== undefined ? event.at - startedAt : undefined;
              finish({
                kind: 'completed',
                ...(event.response !== undefined ? { response: event.response } : {}),
                ...(event.variables ? { variables: event.variables } : {}),
                ...(tookMs !== undefined ? { tookMs } : {}),
              });
            }
          },
          onReconcile: (state) =>
            finish(state === 'absent' ? { kind: 'hung-up' } : { kind: 'failed', reason: `the switch connection was lost while ${app} ran; its result is unknown` }),
        }),
      );
      if (signal) {
        onAbort(signal, onCleanup, () => {
          if (this.#connection.ready) this.#connection.api(breakCommand(uuid)).catch(() => undefined);
          fail(abortReason(signal));
        });
      }
      this.#connection.sendRecv(message.command, message.headers).then((reply) => {
        if (done()) return;
        const text = reply.getHeader('Reply-Text') ?? '';
        if (text.startsWith('+OK')) return;
        if (/invalid session id|no such channel/i.test(text)) finish({ kind: 'hung-up' });
        else fail(new CrosslineError('SWITCH_COMMAND_FAILED', `The switch refused to run ${app}.`));
      }, fail);
    });
  }

  /**
   * `bgapi uuid_send_dtmf <uuid> <digits>`; resolves when the switch has queued the digits, not
   * when they are played: that takes dtmfPlayoutMs(digits) more (see dtmf.ts).
   */
  async sendDtmf(uuid: string, digits: string): Promise<void> {
    const result = await this.#connection.bgapi(sendDtmfCommand(uuid, digits));
    if (!result.startsWith('+OK')) throw new CrosslineError('SWITCH_COMMAND_FAILED', 'The switch refused to send the DTMF digits.');
  }

  /** `bgapi uuid_bridge <a> <b>`. */
  async bridge(uuidA: string, uuidB: string): Promise<void> {
    const result = await this.#connection.bgapi(bridgeCommand(uuidA, uuidB));
    if (!result.startsWith('+OK')) throw new CrosslineError('SWITCH_COMMAND_FAILED', 'The switch refused to bridge the legs.');
  }

  /** `api uuid_getvar <uuid> bridge_uuid`: set by uuid_bridge on both legs (and left set after the unbridge). */
  async bridgedTo(uuid: string): Promise<string | undefined> {
    const reply = (await this.#connection.api(`uuid_getvar ${checkUuid(uuid)} bridge_uuid`)).trim();
    return /^[0-9a-f-]{36}$/.test(reply) ? reply : undefined;
  }

  /** `bgapi uuid_kill <uuid> [cause]`; a channel that no longer exists is not an error. */
  async hangup(uuid: string, cause?: HangupCause): Promise<void> {
    const result = await this.#connection.bgapi(killCommand(uuid, cause));
    if (result.startsWith('+OK') || /no such channel/i.test(result)) return;
    throw new CrosslineError('SWITCH_COMMAND_FAILED', 'The switch refused to hang up the leg.');
  }

  /**
   * Closes the connection (`exit`) and stops reconnecting. Every pending wait rejects with
   * SWITCH_UNAVAILABLE. Safe to call twice; later calls return the same promise.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const error = unavailable('The telephony client was closed.');
    this.#closing = this.#connection.close(error, () => {
      this.#safely(() => this.#waits.failAll(error));
      this.#safely(() => this.#guard.stopAll());
      this.#channels.clear();
    });
    return this.#closing;
  }
}

/**
 * Creates the client and waits until it is first ready. On failure (wrong password, no switch
 * within `timeoutMs`) the client is closed and the SWITCH_UNAVAILABLE error is thrown.
 */
export async function connectTelephony(options: EslTelephonyOptions, connect: { timeoutMs?: number } = {}): Promise<EslTelephony> {
  const telephony = new EslTelephony(options);
  try {
    await telephony.start({ timeoutMs: connect.timeoutMs ?? 30_000 });
  } catch (error) {
    await telephony.close();
    throw error;
  }
  return telephony;
}
