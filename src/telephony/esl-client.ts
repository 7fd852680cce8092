/*
 * The Telephony port over FreeSWITCH's inbound Event Socket.
 *
 * Library: drachtio-modesl, the maintained fork of modesl (plain modesl has no reconnect, no
 * timeout on api() and leaves callers hanging when the socket closes). We still own the connection
 * lifecycle, because drachtio-modesl's built-in reconnect reuses one Connection object: replies
 * still queued for the dead socket get handed the new socket's replies (auth included), its backoff
 * has no cap, and when the very first connect fails its retry state is never initialised, so it
 * retries every millisecond. Each attempt is therefore a fresh Connection with the built-in
 * reconnect switched off (`closing`), and every command carries our own timeout.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Connection, type Event as EslEvent, type FrameHeaders } from 'drachtio-modesl';
import type { Logger } from 'pino';
import { CrosslineError } from '../errors.js';
import { breakCommand, bridgeCommand, checkUuid, existsCommand, killCommand, playMessage, sendDtmfCommand } from './commands.js';
import { assertSafeCommand, buildOriginateArgs, type DialStringOptions } from './dial-string.js';
import {
  parseHangupCause,
  type Announcement,
  type ChannelState,
  type DialRequest,
  type HangupCause,
  type LegResult,
  type PlayResult,
  type Telephony,
  type TelephonyStatus,
} from './types.js';

/** The events we subscribe to, and nothing more: FreeSWITCH drops listeners that fall behind. */
export const SUBSCRIBED_EVENTS: readonly string[] = [
  'CHANNEL_CREATE',
  'CHANNEL_PROGRESS',
  'CHANNEL_PROGRESS_MEDIA',
  'CHANNEL_ANSWER',
  'CHANNEL_BRIDGE',
  'CHANNEL_UNBRIDGE',
  'CHANNEL_HANGUP',
  'CHANNEL_HANGUP_COMPLETE',
  // The start of an announcement: a speak that completes a few ms later said nothing (o-app-failures).
  'CHANNEL_EXECUTE',
  'CHANNEL_EXECUTE_COMPLETE',
  'DTMF',
  'BACKGROUND_JOB',
];

/** What happened to a channel, as the ESL client reports it (no ESL text). */
export type ChannelEvent =
  | { type: 'created'; uuid: string }
  | { type: 'progress'; uuid: string; /** 183 with media rather than 180 */ media: boolean }
  | { type: 'answered'; uuid: string }
  | { type: 'bridged'; uuid: string; otherUuid?: string }
  | { type: 'unbridged'; uuid: string }
  | { type: 'hangup'; uuid: string; cause: HangupCause }
  | { type: 'hangup-complete'; uuid: string; cause: HangupCause }
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
    }
  | { type: 'dtmf'; uuid: string; digit: string };

/** Events of {@link EslTelephony}. */
export interface EslTelephonyEvents {
  /** Connected, authenticated and subscribed (after the first connect and after every reconnect). */
  ready: [];
  /** The connection that was ready is gone; reconnecting has begun. */
  lost: [reason: string];
  /** Every channel event received (legs of other processes too). */
  channel: [event: ChannelEvent];
  /** After each (re)connect: the modules Crossline needs that the switch lacks (empty when all are there). */
  modules: [missing: string[]];
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
  logger?: Pick<Logger, 'debug' | 'warn'>;
  /** Reconnect backoff: doubles from minDelayMs up to maxDelayMs. @defaultValue `{ minDelayMs: 100, maxDelayMs: 5000 }` */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
}

/** Where an `esl://:password@host:port` URL points. */
export interface EslAddress {
  host: string;
  port: number;
  password: string;
}

/** FreeSWITCH's defaults: port 8021, password ClueCon. */
const DEFAULT_PORT = 8021;
const DEFAULT_PASSWORD = 'ClueCon';
const PASSWORD = /^[\x21-\x7e]{1,128}$/;

/**
 * Parses `esl://:password@host:port` (port 8021 and password ClueCon when left out). The error
 * message never repeats the URL, which holds the password.
 */
export function parseEslUrl(url: string): EslAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError('Invalid ESL URL: expected esl://:password@host:port');
  }
  if (parsed.protocol !== 'esl:' || parsed.hostname === '' || parsed.pathname.replace(/^\/$/, '') !== '' || parsed.search !== '') {
    throw new TypeError('Invalid ESL URL: expected esl://:password@host:port');
  }
  let password = DEFAULT_PASSWORD;
  if (parsed.password !== '') {
    try {
      password = decodeURIComponent(parsed.password);
    } catch {
      throw new TypeError('Invalid ESL URL: the password is not correctly percent-encoded');
    }
  }
  if (!PASSWORD.test(password)) throw new TypeError('Invalid ESL URL: the password may only hold printable ASCII without spaces');
  const port = parsed.port === '' ? DEFAULT_PORT : Number(parsed.port);
  return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port, password };
}

const ANSWERED: LegResult = { outcome: 'answered' };
const PLAYED: PlayResult = { outcome: 'played' };
const HUNG_UP: PlayResult = { outcome: 'hung-up' };
const CANCELED: LegResult = { outcome: 'failed', cause: 'ORIGINATOR_CANCEL' };
/** How many hangup causes we remember, so a leg that ended just before we asked still gets its real cause. */
const REMEMBERED_CAUSES = 5000;
/**
 * How long a leg found gone (uuid_exists false) is given for its hangup event to arrive before its
 * cause counts as UNKNOWN: mod_event_socket writes queued events between commands, so a reply can
 * overtake the CHANNEL_HANGUP of a leg that ended just before (seen on FreeSWITCH 1.10.12).
 */
const HANGUP_EVENT_LAG_MS = 1000;
/** Grace for FIN/`+OK bye` on close before the socket is destroyed, ms. */
const CLOSE_GRACE_MS = 500;

/** Someone waiting on one channel: told about its events, and what the switch says after a reconnect. */
interface Watcher {
  onEvent(event: ChannelEvent): void;
  onReconcile(state: ChannelState): void;
}

/** What a long wait's executor gets from #wait. */
interface WaitControl<T> {
  finish(value: T): void;
  fail(error: unknown): void;
  onCleanup(fn: () => void): void;
  done(): boolean;
}

/** Anything in flight that close() or a lost connection must settle. */
interface InFlight {
  fail(error: Error): void;
}

function unavailable(message: string): CrosslineError {
  return new CrosslineError('SWITCH_UNAVAILABLE', message);
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

const isHangup = (event: ChannelEvent): event is Extract<ChannelEvent, { cause: HangupCause }> =>
  event.type === 'hangup' || event.type === 'hangup-complete';

/** `show channels` call states that mean the leg has been answered. */
const ANSWERED_CALLSTATES = new Set(['ACTIVE', 'HELD', 'UNHELD']);

/** Application-UUID and the event's time (Event-Date-Timestamp, µs → ms) of an execute event. */
function executeDetails(event: EslEvent): { applicationUuid?: string; at?: number } {
  const applicationUuid = event.getHeader('Application-UUID');
  const micros = Number(event.getHeader('Event-Date-Timestamp') ?? Number.NaN);
  return {
    ...(applicationUuid !== null ? { applicationUuid } : {}),
    ...(Number.isFinite(micros) ? { at: micros / 1000 } : {}),
  };
}

/**
 * The modules Crossline cannot work without: mod_sofia dials, mod_dptools runs park, playback and
 * speak, and the TTS engine's module speaks the announcements.
 */
export function requiredModules(ttsEngine: string): string[] {
  return ['mod_sofia', 'mod_dptools', `mod_${ttsEngine}`];
}

/**
 * A speak that completes within this (switch clock) said nothing: FreeSWITCH answers `_none_` for a
 * missing TTS engine too, but after about 1 ms instead of the length of the text (o-app-failures).
 */
const SPEAK_AT_ONCE_MS = 10;

/** What an announcement's CHANNEL_EXECUTE_COMPLETE says about it. */
function playOutcome(kind: Announcement['kind'], response: string | undefined, tookMs: number | undefined): PlayResult {
  if (kind === 'file') {
    // FILE PLAYED when it played; FILE NOT FOUND and the like when it did not.
    return response === 'FILE PLAYED' ? PLAYED : { outcome: 'failed', reason: `playback answered ${response ?? 'nothing'}` };
  }
  if (tookMs !== undefined && tookMs < SPEAK_AT_ONCE_MS) {
    return { outcome: 'failed', reason: `speak returned after ${tookMs.toFixed(1)} ms without speaking (TTS engine or voice not available on the switch)` };
  }
  if (response !== undefined && /error|fail|invalid|not found/i.test(response)) return { outcome: 'failed', reason: `speak answered ${response}` };
  return PLAYED;
}

function toChannelEvent(name: string | null, event: EslEvent): ChannelEvent | undefined {
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
      return { type: 'hangup', uuid, cause: parseHangupCause(event.getHeader('Hangup-Cause') ?? undefined) };
    case 'CHANNEL_HANGUP_COMPLETE':
      return { type: 'hangup-complete', uuid, cause: parseHangupCause(event.getHeader('Hangup-Cause') ?? undefined) };
    case 'CHANNEL_EXECUTE':
      return { type: 'execute', uuid, application: event.getHeader('Application') ?? '', ...executeDetails(event) };
    case 'CHANNEL_EXECUTE_COMPLETE': {
      const response = event.getHeader('Application-Response');
      return {
        type: 'execute-complete',
        uuid,
        application: event.getHeader('Application') ?? '',
        ...executeDetails(event),
        ...(response !== null ? { response } : {}),
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

/**
 * FreeSWITCH over one persistent inbound ESL connection. Reconnects with capped exponential
 * backoff, re-subscribes, and then asks the switch about every leg someone is waiting on, because
 * events sent while we were away are lost. Refuses work (SWITCH_UNAVAILABLE) while not connected.
 */
export class EslTelephony extends EventEmitter<EslTelephonyEvents> implements Telephony {
  readonly #options: EslTelephonyOptions;
  readonly #dialOptions: DialStringOptions;
  readonly #minDelayMs: number;
  readonly #maxDelayMs: number;

  #conn: Connection | null = null;
  #ready = false;
  #since = new Date().toISOString();
  #lastError: string | undefined;
  #started = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;

  /** Acknowledgements and short job results awaited on the current connection. */
  readonly #pending = new Set<InFlight>();
  /** Long waits (dial, awaitAnswer, awaitHangup, play): they outlive a reconnect, not close(). */
  readonly #waits = new Set<InFlight>();
  /** BACKGROUND_JOB results by Job-UUID; they outlive a reconnect (the switch broadcasts them). */
  readonly #jobs = new Map<string, (body: string) => void>();
  readonly #watchers = new Map<string, Set<Watcher>>();
  /** Stoppers of orphan guards (see #guardLeg). */
  readonly #guards = new Set<() => void>();
  readonly #causes = new Map<string, HangupCause>();
  /** Required modules the switch lacks, as last checked (undefined: not checked yet). */
  #missingModules: Set<string> | undefined;
  readonly #startWaiters = new Set<{ resolve(): void; reject(error: Error): void }>();

  constructor(options: EslTelephonyOptions) {
    super();
    if (!PASSWORD.test(options.password)) throw new TypeError('The ESL password may only hold printable ASCII without spaces.');
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new TypeError('The ESL port must be 1-65535.');
    if (!(options.apiTimeoutMs > 0)) throw new TypeError('apiTimeoutMs must be positive.');
    this.#options = options;
    this.#dialOptions = { gateway: options.dialGateway, numberFormat: options.dialNumberFormat, sipProfile: options.sipProfile };
    this.#minDelayMs = options.reconnect?.minDelayMs ?? 100;
    this.#maxDelayMs = Math.max(this.#minDelayMs, options.reconnect?.maxDelayMs ?? 5000);
  }

  /**
   * Starts connecting (once) and resolves when the client is first ready. Rejects with
   * SWITCH_UNAVAILABLE when the switch refuses the password, when `timeoutMs` passes first, or on
   * close(); except after close(), the client keeps trying in the background.
   */
  start(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closed) return Promise.reject(unavailable('The telephony client is closed.'));
    if (!this.#started) {
      this.#started = true;
      this.#connect();
    }
    if (this.#ready) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          this.#startWaiters.delete(waiter);
          resolve();
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          this.#startWaiters.delete(waiter);
          reject(error);
        },
      };
      this.#startWaiters.add(waiter);
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          waiter.reject(unavailable(`The switch was not ready within ${options.timeoutMs} ms (${this.#lastError ?? 'no answer'}).`));
        }, options.timeoutMs);
      }
    });
  }

  status(): TelephonyStatus {
    if (this.#ready) {
      return this.#missingModules === undefined
        ? { connected: true, since: this.#since }
        : { connected: true, since: this.#since, missingModules: [...this.#missingModules] };
    }
    return this.#lastError === undefined
      ? { connected: false, since: this.#since }
      : { connected: false, since: this.#since, lastError: this.#lastError };
  }

  // ---------------------------------------------------------------- connection lifecycle

  #connect(): void {
    if (this.#closed) return;
    const { host, port, password } = this.#options;
    this.#options.logger?.debug({ host, port }, 'esl connecting');
    const conn = new Connection(host, port, password);
    // Our own reconnect runs instead of the library's (see the top of this file).
    conn.closing = true;
    this.#conn = conn;
    // A switch that accepts TCP but never gets through auth and subscribe is as good as down.
    const handshake = setTimeout(() => {
      if (this.#conn !== conn || this.#ready) return;
      this.#lastError = 'ESL handshake timed out';
      conn.socket?.destroy();
    }, Math.max(this.#options.apiTimeoutMs, 1000));
    handshake.unref();

    conn.on('error', (error: Error) => {
      if (this.#conn === conn) this.#lastError = error.message;
      this.#options.logger?.debug({ err: error.message }, 'esl socket error');
    });
    conn.on('esl::event::auth::fail', () => {
      if (this.#conn !== conn) return;
      this.#lastError = 'ESL authentication failed';
      for (const waiter of [...this.#startWaiters]) waiter.reject(unavailable('The switch refused the ESL password.'));
    });
    conn.on('esl::ready', () => {
      void this.#subscribe(conn, handshake);
    });
    conn.on('esl::end', () => {
      clearTimeout(handshake);
      this.#onGone(conn);
    });
    conn.on('esl::event::**', (event: EslEvent, headers?: FrameHeaders) => {
      if (this.#conn === conn && headers !== undefined) this.#onFrame(event, headers);
    });
  }

  async #subscribe(conn: Connection, handshake: NodeJS.Timeout): Promise<void> {
    try {
      const reply = await this.#exchange((cb) => conn.events('json', [...SUBSCRIBED_EVENTS], cb));
      const text = reply.getHeader('Reply-Text') ?? '';
      if (!text.startsWith('+OK')) throw new Error(`event subscription refused: ${text}`);
    } catch (error) {
      if (this.#conn === conn) {
        this.#lastError = error instanceof Error ? error.message : String(error);
        conn.socket?.destroy();
      }
      return;
    }
    if (this.#conn !== conn || this.#closed) return;
    clearTimeout(handshake);
    this.#ready = true;
    this.#since = new Date().toISOString();
    this.#lastError = undefined;
    this.#failures = 0;
    this.#options.logger?.debug({ host: this.#options.host, port: this.#options.port }, 'esl ready');
    for (const waiter of [...this.#startWaiters]) waiter.resolve();
    this.#emitSafely('ready');
    await this.#reconcile(conn);
    await this.#checkModules(conn);
  }

  /**
   * Asks the switch (`module_exists`) for every module Crossline needs, after each (re)connect: a
   * switch without them accepts calls but cannot do its part (without the TTS module every
   * announcement is silent, and the switch does not say so). Reported by status() and warned about.
   */
  async #checkModules(conn: Connection): Promise<void> {
    const missing = new Set<string>();
    try {
      for (const module of requiredModules(this.#options.ttsEngine)) {
        if ((await this.#api(`module_exists ${module}`)).trim() === 'false') missing.add(module);
      }
    } catch (error) {
      this.#options.logger?.debug({ err: (error as Error).message }, 'esl module check failed');
      return;
    }
    if (this.#conn !== conn) return;
    this.#missingModules = missing;
    if (missing.size > 0) {
      this.#options.logger?.warn({ missingModules: [...missing] }, `the switch lacks modules Crossline needs: ${[...missing].join(', ')}`);
    }
    this.#emitSafely('modules', [...missing]);
  }

  /** Records what a module_exists said, so status() stays current between reconnects. */
  #noteModule(module: string, loaded: boolean): void {
    if (!this.#missingModules) return;
    if (loaded) this.#missingModules.delete(module);
    else this.#missingModules.add(module);
  }

  #onGone(conn: Connection): void {
    if (this.#conn !== conn) return;
    this.#conn = null;
    const wasReady = this.#ready;
    this.#ready = false;
    const reason = this.#lastError ?? 'connection closed';
    if (wasReady) this.#since = new Date().toISOString();
    if (this.#lastError === undefined) this.#lastError = reason;
    const error = unavailable(`Lost the connection to the switch (${reason}).`);
    for (const entry of [...this.#pending]) entry.fail(error);
    this.#pending.clear();
    if (wasReady) this.#emitSafely('lost', reason);
    if (this.#closed) return;
    const delay = Math.min(this.#maxDelayMs, this.#minDelayMs * 2 ** this.#failures);
    this.#failures += 1;
    // Up to 20% less, so that many workers do not all come back at the same instant.
    const jittered = Math.round(delay * (0.8 + Math.random() * 0.2));
    this.#options.logger?.debug({ delayMs: jittered, attempt: this.#failures, reason }, 'esl reconnect scheduled');
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect();
    }, jittered);
  }

  /**
   * After a (re)connect: events sent while we were away are lost, so ask the switch about every
   * watched leg. The subscription is already in place, so nothing can slip between the two.
   */
  async #reconcile(conn: Connection): Promise<void> {
    while (this.#conn === conn && this.#ready && this.#watchers.size > 0) {
      try {
        const uuids = [...this.#watchers.keys()];
        const rows = await this.#channelRows();
        for (const uuid of uuids) {
          if (!this.#watchers.has(uuid)) continue;
          const state = await this.#stateFrom(uuid, rows);
          for (const watcher of [...(this.#watchers.get(uuid) ?? [])]) this.#safely(() => watcher.onReconcile(state));
        }
        return;
      } catch (error) {
        this.#options.logger?.debug({ err: (error as Error).message }, 'esl reconcile failed, retrying');
        await new Promise((resolve) => setTimeout(resolve, this.#minDelayMs).unref());
      }
    }
  }

  // ---------------------------------------------------------------- frames and events

  #onFrame(event: EslEvent, headers: FrameHeaders): void {
    const contentType = headers['Content-Type'];
    if (contentType !== 'text/event-json' && contentType !== 'text/event-plain') return;
    const name = event.getHeader('Event-Name');
    if (name === 'BACKGROUND_JOB') {
      const jobId = event.getHeader('Job-UUID');
      const handler = jobId === null ? undefined : this.#jobs.get(jobId);
      if (handler) this.#safely(() => handler(event.getBody()));
      return;
    }
    const channelEvent = toChannelEvent(name, event);
    if (!channelEvent) return;
    if (isHangup(channelEvent) && !this.#causes.has(channelEvent.uuid)) {
      this.#causes.set(channelEvent.uuid, channelEvent.cause);
      if (this.#causes.size > REMEMBERED_CAUSES) {
        const oldest = this.#causes.keys().next();
        if (!oldest.done) this.#causes.delete(oldest.value);
      }
    }
    for (const watcher of [...(this.#watchers.get(channelEvent.uuid) ?? [])]) this.#safely(() => watcher.onEvent(channelEvent));
    this.#emitSafely('channel', channelEvent);
  }

  /** A throwing listener must not break the frame parser, which runs in the socket's data handler. */
  #safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#options.logger?.warn({ err: error }, 'telephony listener threw');
    }
  }

  #emitSafely<K extends keyof EslTelephonyEvents>(name: K, ...args: EslTelephonyEvents[K]): void {
    this.#safely(() => {
      (this.emit as (name: K, ...args: EslTelephonyEvents[K]) => boolean)(name, ...args);
    });
  }

  #watch(uuid: string, watcher: Watcher): () => void {
    let set = this.#watchers.get(uuid);
    if (!set) {
      set = new Set();
      this.#watchers.set(uuid, set);
    }
    set.add(watcher);
    return () => {
      const current = this.#watchers.get(uuid);
      if (!current) return;
      current.delete(watcher);
      if (current.size === 0) this.#watchers.delete(uuid);
    };
  }

  // ---------------------------------------------------------------- commands

  #readyConnection(): Connection {
    if (this.#closed) throw unavailable('The telephony client is closed.');
    if (!this.#ready || this.#conn === null) {
      throw unavailable(`The switch is not connected${this.#lastError === undefined ? '' : ` (${this.#lastError})`}.`);
    }
    return this.#conn;
  }

  /** One request/reply exchange with a timeout; rejected when the connection is lost. */
  #exchange(send: (cb: (reply: EslEvent) => void) => void): Promise<EslEvent> {
    return new Promise<EslEvent>((resolve, reject) => {
      let done = false;
      const entry: InFlight = {
        fail: (error) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          this.#pending.delete(entry);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        entry.fail(new CrosslineError('SWITCH_TIMEOUT', `The switch did not answer within ${this.#options.apiTimeoutMs} ms.`));
      }, this.#options.apiTimeoutMs);
      this.#pending.add(entry);
      send((reply) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#pending.delete(entry);
        resolve(reply);
      });
    });
  }

  /** `api <command>`: resolves with the response body. */
  async #api(command: string): Promise<string> {
    assertSafeCommand(command);
    const conn = this.#readyConnection();
    const reply = await this.#exchange((cb) => conn.api(command, cb));
    return reply.getBody();
  }

  /** `bgapi <command>` with our Job-UUID; resolves once the switch has acknowledged it. */
  async #bgapiSend(command: string, jobId: string): Promise<void> {
    assertSafeCommand(command);
    const conn = this.#readyConnection();
    const reply = await this.#exchange((cb) => conn.sendRecv(`bgapi ${command}`, { 'Job-UUID': jobId }, cb));
    const text = reply.getHeader('Reply-Text') ?? '';
    if (!text.startsWith('+OK')) {
      throw new CrosslineError('SWITCH_COMMAND_FAILED', `The switch refused bgapi ${command.split(' ')[0] ?? ''}.`);
    }
  }

  /** `bgapi <command>` whose job ends quickly: resolves with the job's result text (trimmed). */
  #bgapi(command: string): Promise<string> {
    const jobId = randomUUID();
    return new Promise<string>((resolve, reject) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (fn: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#jobs.delete(jobId);
        this.#pending.delete(entry);
        fn();
      };
      const entry: InFlight = { fail: (error) => settle(() => reject(error)) };
      this.#jobs.set(jobId, (body) => settle(() => resolve(body.trim())));
      this.#bgapiSend(command, jobId).then(
        () => {
          if (done) return;
          this.#pending.add(entry);
          timer = setTimeout(() => {
            entry.fail(new CrosslineError('SWITCH_TIMEOUT', `The switch did not finish ${command.split(' ')[0] ?? ''} within ${this.#options.apiTimeoutMs} ms.`));
          }, this.#options.apiTimeoutMs);
        },
        (error: unknown) => settle(() => reject(error)),
      );
    });
  }

  /** `show channels as json` → call state by UUID. */
  async #channelRows(): Promise<Map<string, string>> {
    const body = (await this.#api('show channels as json')).trim();
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new CrosslineError('SWITCH_COMMAND_FAILED', 'The switch answered show channels with something other than JSON.');
    }
    const rows = typeof parsed === 'object' && parsed !== null ? (parsed as { rows?: unknown }).rows : undefined;
    const states = new Map<string, string>();
    if (Array.isArray(rows)) {
      for (const row of rows as Array<Record<string, unknown> | null>) {
        if (row !== null && typeof row === 'object' && typeof row.uuid === 'string') states.set(row.uuid, typeof row.callstate === 'string' ? row.callstate : '');
      }
    }
    return states;
  }

  /**
   * A leg's state from a `show channels` snapshot. The channels table is written asynchronously,
   * so a UUID missing from it is asked about with uuid_exists (present but not listed = ringing).
   */
  async #stateFrom(uuid: string, rows: Map<string, string>): Promise<ChannelState> {
    const callstate = rows.get(uuid);
    if (callstate !== undefined) {
      if (ANSWERED_CALLSTATES.has(callstate)) return 'answered';
      return callstate === 'HANGUP' ? 'absent' : 'ringing';
    }
    const exists = (await this.#api(existsCommand(uuid))).trim();
    return exists === 'true' ? 'ringing' : 'absent';
  }

  /** Best-effort kill that never throws (used when we stop caring about a leg). */
  #killQuietly(uuid: string, cause: HangupCause): void {
    if (!this.#ready) return;
    this.hangup(uuid, cause).catch((error: unknown) => {
      this.#options.logger?.debug({ uuid, err: (error as Error).message }, 'esl kill failed');
    });
  }

  /**
   * We stopped waiting for a leg without a definite end (abort, timeout, a lost acknowledgement):
   * kill it now, and for `windowMs` kill it again whenever it shows a sign of life, including
   * after a reconnect. So an originate that ran late, or a kill that arrived before the channel
   * existed, cannot leave a phone ringing or a parked call that nobody drives.
   */
  #guardLeg(uuid: string, cause: HangupCause, windowMs: number): void {
    this.#killQuietly(uuid, cause);
    let lastKill = 0;
    const killAgain = (): void => {
      const now = Date.now();
      if (now - lastKill < 50) return;
      lastKill = now;
      this.#killQuietly(uuid, cause);
    };
    const unwatch = this.#watch(uuid, {
      onEvent: (event) => {
        if (isHangup(event)) stop();
        else if (event.type === 'created' || event.type === 'progress' || event.type === 'answered' || event.type === 'bridged') killAgain();
      },
      onReconcile: (state) => {
        if (state === 'absent') return;
        killAgain();
      },
    });
    const timer = setTimeout(() => stop(), windowMs);
    timer.unref();
    const stop = (): void => {
      clearTimeout(timer);
      unwatch();
      this.#guards.delete(stop);
    };
    this.#guards.add(stop);
  }

  /**
   * Runs a long wait on one leg: registered for close(), settled once; `finish` / `fail` run every
   * cleanup registered with `onCleanup`, and `done()` tells late callbacks to stand down.
   */
  #wait<T>(executor: (wait: WaitControl<T>) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const cleanups: Array<() => void> = [];
      const settle = (fn: () => void): void => {
        if (done) return;
        done = true;
        this.#waits.delete(entry);
        for (const cleanup of cleanups.splice(0)) this.#safely(cleanup);
        fn();
      };
      const entry: InFlight = { fail: (error) => settle(() => reject(error)) };
      this.#waits.add(entry);
      const control: WaitControl<T> = {
        finish: (value) => settle(() => resolve(value)),
        fail: (error) => settle(() => reject(error)),
        onCleanup: (fn) => {
          if (done) this.#safely(fn);
          else cleanups.push(fn);
        },
        done: () => done,
      };
      try {
        executor(control);
      } catch (error) {
        control.fail(error);
      }
    });
  }

  /**
   * Passes errors on, except a lost connection: a wait stays registered across a reconnect, and
   * the reconciliation that follows the reconnect settles it.
   */
  #unlessLost(fail: (error: unknown) => void): (error: unknown) => void {
    return (error) => {
      if (error instanceof CrosslineError && error.code === 'SWITCH_UNAVAILABLE' && !this.#closed) return;
      fail(error);
    };
  }

  /** Registers an abort listener, removed on cleanup. */
  #onAbort(signal: AbortSignal | undefined, onCleanup: (fn: () => void) => void, handler: () => void): void {
    if (!signal) return;
    signal.addEventListener('abort', handler, { once: true });
    onCleanup(() => signal.removeEventListener('abort', handler));
  }

  // ---------------------------------------------------------------- the Telephony port

  /**
   * Originates one leg with `bgapi originate {vars}<dial string> &park()` and resolves when it is
   * answered (CHANNEL_ANSWER or the job's `+OK`; early media is ignored) or has failed (the job's
   * `-ERR <cause>` or the channel's hangup cause).
   *
   * Throws, with nothing sent, INVALID_* for a value outside the grammars and SWITCH_UNAVAILABLE
   * while disconnected. Throws SWITCH_TIMEOUT / SWITCH_COMMAND_FAILED / SWITCH_UNAVAILABLE when the
   * originate was not acknowledged; the leg is then killed whenever it shows up during its ring
   * time, so a later dial with a new UUID cannot double the call. Once acknowledged, it does not
   * throw: a connection lost meanwhile is reconciled after the reconnect (`failed` UNKNOWN when the
   * channel is gone). Aborting the signal kills the leg and resolves `failed` ORIGINATOR_CANCEL.
   */
  dial(request: DialRequest, signal?: AbortSignal): Promise<LegResult> {
    let args: string;
    try {
      args = buildOriginateArgs(request, this.#dialOptions);
      if (!signal?.aborted) this.#readyConnection();
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) return Promise.resolve(CANCELED);
    const { uuid } = request;
    const windowMs = request.ringTimeoutSec * 1000 + 2 * this.#options.apiTimeoutMs;
    const jobId = randomUUID();
    return this.#wait<LegResult>(({ finish, fail, onCleanup, done }) => {
      /** Stop waiting without a definite end, and make sure the leg cannot live on unseen. */
      const giveUp = (result: LegResult, cause: HangupCause): void => {
        if (done()) return;
        finish(result);
        this.#guardLeg(uuid, cause, windowMs);
      };
      onCleanup(
        this.#watchForAnswer(uuid, finish, () => giveUp({ outcome: 'failed', cause: this.#causes.get(uuid) ?? 'UNKNOWN' }, 'ORIGINATOR_CANCEL')),
      );
      this.#jobs.set(jobId, (body) => {
        const text = body.trim();
        finish(text.startsWith('+OK') ? ANSWERED : { outcome: 'failed', cause: parseHangupCause(text) });
      });
      onCleanup(() => this.#jobs.delete(jobId));
      this.#onAbort(signal, onCleanup, () => giveUp(CANCELED, 'ORIGINATOR_CANCEL'));

      let deadline: NodeJS.Timeout | undefined;
      onCleanup(() => clearTimeout(deadline));
      const onDeadline = (): void => {
        if (!this.#ready) return giveUp({ outcome: 'failed', cause: 'UNKNOWN' }, 'ORIGINATOR_CANCEL');
        this.channelState(uuid).then(
          (state) => {
            if (state === 'answered') finish(ANSWERED);
            else if (state === 'ringing') giveUp({ outcome: 'failed', cause: 'NO_ANSWER' }, 'NO_ANSWER');
            else finish({ outcome: 'failed', cause: this.#causes.get(uuid) ?? 'UNKNOWN' });
          },
          () => giveUp({ outcome: 'failed', cause: 'UNKNOWN' }, 'ORIGINATOR_CANCEL'),
        );
      };
      this.#bgapiSend(`originate ${args}`, jobId).then(
        () => {
          // The switch ends the ring itself (originate_timeout); this only covers lost events.
          if (!done()) deadline = setTimeout(onDeadline, windowMs);
        },
        (error: unknown) => {
          if (done()) return;
          fail(error);
          this.#guardLeg(uuid, 'ORIGINATOR_CANCEL', windowMs);
        },
      );
    });
  }

  /**
   * Watches a ringing leg: answered → ANSWERED, hung up → failed with its cause; after a reconnect
   * the switch is asked again, and a leg it no longer has goes to `onGone`. Returns the cleanup.
   */
  #watchForAnswer(uuid: string, finish: (result: LegResult) => void, onGone: () => void): () => void {
    return this.#watch(uuid, {
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
   * Asks the switch about a UUID: `uuid_exists`, then its call state in `show channels as json`
   * (ACTIVE / HELD = answered; a hanging-up channel counts as absent).
   */
  async channelState(uuid: string): Promise<ChannelState> {
    checkUuid(uuid);
    const exists = (await this.#api(existsCommand(uuid))).trim();
    if (exists !== 'true') return 'absent';
    return this.#stateFrom(uuid, await this.#channelRows());
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
      this.#readyConnection();
    } catch (error) {
      return Promise.reject(error);
    }
    const guardMs = 2 * this.#options.apiTimeoutMs;
    if (signal?.aborted) {
      this.#guardLeg(uuid, 'ORIGINATOR_CANCEL', guardMs);
      return Promise.resolve(CANCELED);
    }
    return this.#wait<LegResult>(({ finish, fail, onCleanup, done }) => {
      const giveUp = (result: LegResult, cause: HangupCause, windowMs = guardMs): void => {
        if (done()) return;
        finish(result);
        this.#guardLeg(uuid, cause, windowMs);
      };
      const gone = (): void => {
        const cause = this.#causes.get(uuid);
        if (cause !== undefined) return finish({ outcome: 'failed', cause });
        // Its hangup event may still be queued behind the reply (HANGUP_EVENT_LAG_MS); if none comes,
        // it was never seen here: the originate of a worker that died may still be on its way, and
        // the switch may create the leg a moment later. It is failed then, and kept from ringing for
        // the rest of its ring window: otherwise it would double the retry.
        const lag = setTimeout(() => giveUp({ outcome: 'failed', cause: this.#causes.get(uuid) ?? 'UNKNOWN' }, 'ORIGINATOR_CANCEL', timeoutMs), HANGUP_EVENT_LAG_MS);
        onCleanup(() => clearTimeout(lag));
      };
      onCleanup(this.#watchForAnswer(uuid, finish, gone));
      const timer = setTimeout(() => giveUp({ outcome: 'failed', cause: 'NO_ANSWER' }, 'NO_ANSWER'), timeoutMs);
      onCleanup(() => clearTimeout(timer));
      this.#onAbort(signal, onCleanup, () => giveUp(CANCELED, 'ORIGINATOR_CANCEL'));
      this.channelState(uuid).then((state) => {
        if (state === 'answered') finish(ANSWERED);
        else if (state === 'absent') gone();
      }, this.#unlessLost(fail));
    });
  }

  /**
   * Resolves with the cause when the leg hangs up; at once when it is already gone (its cause if
   * this process saw the hangup, else UNKNOWN). Aborting rejects with the signal's reason and
   * leaves the leg alone. A connection lost while waiting does not fail the wait: the switch is
   * asked again after the reconnect.
   */
  awaitHangup(uuid: string, signal?: AbortSignal): Promise<HangupCause> {
    try {
      checkUuid(uuid);
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      this.#readyConnection();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#wait<HangupCause>(({ finish, fail, onCleanup }) => {
      const gone = (): void => {
        const cause = this.#causes.get(uuid);
        if (cause !== undefined) return finish(cause);
        // The watch below still listens: its hangup event, if it is on its way, finishes first.
        const lag = setTimeout(() => finish(this.#causes.get(uuid) ?? 'UNKNOWN'), HANGUP_EVENT_LAG_MS);
        onCleanup(() => clearTimeout(lag));
      };
      onCleanup(
        this.#watch(uuid, {
          onEvent: (event) => {
            if (isHangup(event)) finish(event.cause);
          },
          onReconcile: (state) => {
            if (state === 'absent') gone();
          },
        }),
      );
      if (signal) this.#onAbort(signal, onCleanup, () => fail(abortReason(signal)));
      this.channelState(uuid).then((state) => {
        if (state === 'absent') gone();
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
    this.#readyConnection();
    if (announcement.kind === 'speak') {
      const missing = await this.#missingTtsModule();
      if (missing !== undefined) return { outcome: 'failed', reason: `the switch has no ${missing}, so speak would say nothing` };
    }
    return this.#execute(uuid, announcement.kind, message, eventUuid, signal);
  }

  /** The TTS engine's module when the switch says it is not loaded; undefined when it is, or when that cannot be told. */
  async #missingTtsModule(): Promise<string | undefined> {
    const module = `mod_${this.#options.ttsEngine}`;
    let reply: string;
    try {
      reply = (await this.#api(`module_exists ${module}`)).trim();
    } catch {
      // Cannot tell now: speak anyway; a speak that says nothing is still caught by its duration.
      return undefined;
    }
    this.#noteModule(module, reply !== 'false');
    return reply === 'false' ? module : undefined;
  }

  #execute(uuid: string, kind: Announcement['kind'], message: ReturnType<typeof playMessage>, eventUuid: string, signal?: AbortSignal): Promise<PlayResult> {
    const conn = this.#readyConnection();
    return this.#wait<PlayResult>(({ finish, fail, onCleanup, done }) => {
      let startedAt: number | undefined;
      onCleanup(
        this.#watch(uuid, {
          onEvent: (event) => {
            if (isHangup(event)) finish(HUNG_UP);
            else if (event.type === 'execute' && event.applicationUuid === eventUuid) startedAt = event.at;
            else if (event.type === 'execute-complete' && event.applicationUuid === eventUuid) {
              const tookMs = startedAt !== undefined && event.at !== undefined ? event.at - startedAt : undefined;
              finish(playOutcome(kind, event.response, tookMs));
            }
          },
          onReconcile: (state) =>
            finish(state === 'absent' ? HUNG_UP : { outcome: 'failed', reason: 'the switch connection was lost while it played; whether it was heard is unknown' }),
        }),
      );
      if (signal) {
        this.#onAbort(signal, onCleanup, () => {
          if (this.#ready) this.#api(breakCommand(uuid)).catch(() => undefined);
          fail(abortReason(signal));
        });
      }
      this.#exchange((cb) => conn.sendRecv(message.command, message.headers, cb)).then((reply) => {
        if (done()) return;
        const text = reply.getHeader('Reply-Text') ?? '';
        if (text.startsWith('+OK')) return;
        if (/invalid session id|no such channel/i.test(text)) finish(HUNG_UP);
        else fail(new CrosslineError('SWITCH_COMMAND_FAILED', 'The switch refused to play the announcement.'));
      }, fail);
    });
  }

  /**
   * `bgapi uuid_send_dtmf <uuid> <digits>`; resolves when the switch has queued the digits, not
   * when they are played: that takes dtmfPlayoutMs(digits) more (see dtmf.ts).
   */
  async sendDtmf(uuid: string, digits: string): Promise<void> {
    const result = await this.#bgapi(sendDtmfCommand(uuid, digits));
    if (!result.startsWith('+OK')) throw new CrosslineError('SWITCH_COMMAND_FAILED', 'The switch refused to send the DTMF digits.');
  }

  /** `bgapi uuid_bridge <a> <b>`. */
  async bridge(uuidA: string, uuidB: string): Promise<void> {
    const result = await this.#bgapi(bridgeCommand(uuidA, uuidB));
    if (!result.startsWith('+OK')) throw new CrosslineError('SWITCH_COMMAND_FAILED', 'The switch refused to bridge the legs.');
  }

  /** `bgapi uuid_kill <uuid> [cause]`; a channel that no longer exists is not an error. */
  async hangup(uuid: string, cause?: HangupCause): Promise<void> {
    const result = await this.#bgapi(killCommand(uuid, cause));
    if (result.startsWith('+OK') || /no such channel/i.test(result)) return;
    throw new CrosslineError('SWITCH_COMMAND_FAILED', 'The switch refused to hang up the leg.');
  }

  /**
   * Closes the connection (`exit`) and stops reconnecting. Every pending wait rejects with
   * SWITCH_UNAVAILABLE. Safe to call twice; later calls return the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const error = unavailable('The telephony client was closed.');
    const steps: Array<() => void> = [
      () => {
        for (const waiter of [...this.#startWaiters]) waiter.reject(error);
      },
      () => {
        for (const entry of [...this.#waits]) entry.fail(error);
      },
      () => {
        for (const entry of [...this.#pending]) entry.fail(error);
      },
      () => {
        for (const stop of [...this.#guards]) stop();
      },
    ];
    for (const step of steps) this.#safely(step);
    this.#jobs.clear();
    this.#watchers.clear();
    const conn = this.#conn;
    this.#conn = null;
    this.#ready = false;
    this.#since = new Date().toISOString();
    this.#lastError = 'closed';
    if (conn === null) return;
    const socket = conn.socket;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket?.destroy();
        resolve();
      }, CLOSE_GRACE_MS);
      socket?.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (socket === null || socket.destroyed) {
        clearTimeout(timer);
        resolve();
        return;
      }
      this.#safely(() => conn.disconnect());
    });
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
