/**
 * One call in outbound-socket mode: FreeSWITCH's `socket <host:port> async full` connected to us
 * for this channel. We subscribe to the channel's events (`myevents json`) and ask the switch to
 * linger, so that the events after the hangup (its cause, CHANNEL_HANGUP_COMPLETE) still reach us;
 * we close the socket ourselves once the channel is gone.
 *
 * Applications run with `sendmsg` (call-command execute, event-lock, our Event-UUID) and each
 * resolves on the CHANNEL_EXECUTE_COMPLETE carrying that Application-UUID, or `hung-up` when the
 * channel hangs up first. Replies are matched by our own timeout per command, as on the inbound
 * connection (see connection.ts for why we do not trust the library there).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Connection, type Event as EslEvent, type FrameHeaders } from 'drachtio-modesl';
import { CrosslineError } from '../../errors.js';
import { playMessage, type TtsOptions } from '../commands.js';
import { assertSafeCommand } from '../dial-string.js';
import { SIP_AOR, isSoundPath, isUuid } from '../grammar.js';
import { HANGUP_CAUSES, type Announcement, type HangupCause } from '../types.js';
import { exchangeWithTimeout, unavailable, type InFlight } from './connection.js';
import { isHangup, toChannelEvent, type ChannelEvent } from './events.js';

/**
 * The applications a caller may run on an outbound call. Their arguments must come from the
 * builders (buildDialString for bridge, playMessage for announcements): they are only checked to
 * be one line here.
 */
export const OUTBOUND_APPS: ReadonlySet<string> = new Set([
  'answer', 'pre_answer', 'ring_ready', 'playback', 'speak', 'play_and_get_digits', 'bridge', 'sleep', 'hangup', 'record', 'rxfax', 'transfer', 'set',
]);

/** The only channel variables `set` may write on an outbound call. */
const SETTABLE: ReadonlySet<string> = new Set(['continue_on_fail=true', 'hangup_after_bridge=true']);

/** Where recordings and faxes are written: an absolute path, no `..`, a known extension. */
const MEDIA_PATH = /^\/(?!.*\.\.)[A-Za-z0-9_./-]{1,240}\.(?:wav|mp3|ogg|opus|tif|tiff)$/;
/** A dialplan extension and context for `transfer`. */
const EXTENSION = /^[0-9A-Za-z+*#_-]{1,32}$/;
const CONTEXT = /^[A-Za-z0-9_-]{1,64}$/;
/** Ringback while a caller waits: the North American ring, until broken. */
export const RINGBACK_TONE = 'tone_stream://%(2000,4000,440,480);loops=-1';

/** `record`: where, how long at most, and when silence ends it. */
export interface RecordOptions {
  /** Absolute path on the switch's host (MEDIA_PATH grammar). */
  path: string;
  /** Longest recording, s (1–3600). */
  maxSeconds: number;
  /** Energy level under which audio counts as silence. @defaultValue 200 */
  silenceThreshold?: number;
  /** Seconds of silence that end the recording (1–60). @defaultValue 5 */
  silenceSeconds?: number;
}

export type RecordResult =
  | { outcome: 'recorded'; /** ms recorded */ ms: number; /** the silence detector ended it (the last `silenceSeconds` are silence) */ endedBySilence: boolean }
  | { outcome: 'hung-up'; cause: HangupCause; ms: number };

export type FaxResult = { outcome: 'received'; pages: number } | { outcome: 'failed'; reason: string; pages: number } | { outcome: 'hung-up'; cause: HangupCause };

/** How a bridge ended: the other side answered (and the bridge is over), or it never did. */
export type BridgeResult = { outcome: 'bridged' } | { outcome: 'failed'; cause: HangupCause } | { outcome: 'hung-up'; cause: HangupCause };

/** The channel variable play_and_get_digits stores the digits in. */
const DIGITS_VARIABLE = 'crossline_digits';
/** Played on invalid input: a short silence, then the prompt again. */
const INVALID_INPUT_SOUND = 'silence_stream://250';
const TERMINATORS = /^(?:[0-9*#]{1,4}|none)$/;
const CAUSES: ReadonlySet<string> = new Set(HANGUP_CAUSES);

export interface OutboundCallOptions {
  /** Timeout of the handshake and of each command's reply, ms. */
  commandTimeoutMs: number;
  /** TTS engine and voice for speak announcements. */
  tts: TtsOptions;
}

/** How an application ended: it completed (its Application-Response and the channel's variables then), or the call hung up first. */
export type ExecuteResult =
  | { outcome: 'completed'; response?: string; variables: Readonly<Record<string, string>> }
  | { outcome: 'hung-up'; cause: HangupCause };

/** play_and_get_digits: a prompt, and how many digits, tries and how long. */
export interface DigitsPrompt {
  /** A sound path or tone_stream:// (SOUND_PATH grammar). */
  prompt: string;
  min: number;
  max: number;
  /** @defaultValue 3 */
  tries?: number;
  /** How long to wait for the first digit after the prompt, ms. @defaultValue 5000 */
  timeoutMs?: number;
  /** Keys that end the input. @defaultValue `#` */
  terminators?: string;
}

export type DigitsResult = { outcome: 'collected'; /** empty when nothing valid was entered */ digits: string } | { outcome: 'hung-up'; cause: HangupCause };

export interface OutboundCallEvents {
  /** Every event of this call's channel, translated (no ESL text). */
  channel: [event: ChannelEvent];
  /** The socket is closed: nothing more will be heard of this call. */
  end: [cause: HangupCause];
}

function refuse(message: string): never {
  throw new CrosslineError('INTERNAL', message, [{ message }]);
}

function headerRecord(event: EslEvent): Record<string, string> {
  const record: Record<string, string> = {};
  for (const { name, value } of event.headers) if (typeof value === 'string') record[name] = value;
  return record;
}

/** The channel variables an event carries (`variable_<name>` headers; `full` mode sends them all). */
function variablesOf(event: EslEvent): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const { name, value } of event.headers) if (name.startsWith('variable_') && typeof value === 'string') variables[name.slice('variable_'.length)] = value;
  return variables;
}

export class OutboundCall extends EventEmitter<OutboundCallEvents> {
  /** The channel's UUID. */
  readonly uuid: string;
  /** The CHANNEL_DATA the switch answered `connect` with: caller profile, channel state, variables. */
  readonly data: Readonly<Record<string, string>>;
  /** Resolves with the hangup cause once the socket is closed (UNKNOWN when no hangup was heard). */
  readonly ended: Promise<HangupCause>;

  readonly #conn: Connection;
  readonly #options: OutboundCallOptions;
  readonly #pending = new Set<InFlight>();
  /** Running applications by their Event-UUID. */
  readonly #executes = new Map<string, (result: ExecuteResult) => void>();
  readonly #hangupWaiters = new Set<(cause: HangupCause) => void>();
  #cause: HangupCause | undefined;
  #closed = false;
  #continuesOnFail = false;

  /**
   * Takes over a socket FreeSWITCH opened: `connect`, `myevents json`, `linger`. Rejects (and
   * closes the socket) when the switch does not get through them within the command timeout.
   */
  static accept(socket: Socket, options: OutboundCallOptions): Promise<OutboundCall> {
    socket.setNoDelay(true);
    const conn = new Connection(socket);
    conn.on('error', () => undefined);
    return new Promise<EslEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(unavailable('The switch sent no channel data after connect.')), options.commandTimeoutMs);
      conn.once('esl::ready', () => {
        clearTimeout(timer);
        const data = conn.getInfo();
        if (data === null) reject(unavailable('The switch sent no channel data after connect.'));
        else resolve(data);
      });
      conn.once('esl::end', () => {
        clearTimeout(timer);
        reject(unavailable('The switch closed the socket before sending the channel data.'));
      });
    }).then(
      async (data) => {
        const uuid = data.getHeader('Unique-ID');
        if (uuid === null || !isUuid(uuid)) throw unavailable('The channel data has no valid Unique-ID.');
        const call = new OutboundCall(conn, uuid, headerRecord(data), options);
        try {
          await call.#expectOk('myevents json');
          await call.#expectOk('linger');
        } catch (error) {
          call.close();
          throw error;
        }
        return call;
      },
      (error: unknown) => {
        socket.destroy();
        throw error;
      },
    );
  }

  private constructor(conn: Connection, uuid: string, data: Record<string, string>, options: OutboundCallOptions) {
    super();
    this.#conn = conn;
    this.uuid = uuid;
    this.data = Object.freeze(data);
    this.#options = options;
    this.ended = new Promise((resolve) => this.once('end', resolve));
    conn.on('esl::event::**', (event: EslEvent, headers?: FrameHeaders) => {
      if (headers !== undefined) this.#onFrame(event, headers);
    });
    conn.once('esl::end', () => this.#onEnd());
  }

  /** The caller's number as the switch presents it. */
  get from(): string | undefined {
    return this.data['Caller-Caller-ID-Number'];
  }

  /** The number dialled. */
  get to(): string | undefined {
    return this.data['Caller-Destination-Number'];
  }

  /** The hangup cause, once the channel has hung up. */
  get hangupCause(): HangupCause | undefined {
    return this.#cause;
  }

  /**
   * Runs one application of {@link OUTBOUND_APPS} and resolves when it completes or the call
   * hangs up. Rejects with SWITCH_COMMAND_FAILED when the switch refuses the sendmsg, and
   * SWITCH_TIMEOUT / SWITCH_UNAVAILABLE when it does not answer or the socket is gone.
   */
  async execute(app: string, arg = ''): Promise<ExecuteResult> {
    if (!OUTBOUND_APPS.has(app)) refuse(`The application ${app} is not allowed on an outbound call.`);
    if (app === 'set' && !SETTABLE.has(arg)) refuse('Only continue_on_fail and hangup_after_bridge may be set on an outbound call.');
    assertSafeCommand(arg === '' ? app : `${app} ${arg}`);
    return this.#run({ 'execute-app-name': app, ...(arg !== '' ? { 'execute-app-arg': arg } : {}) });
  }

  answer(): Promise<ExecuteResult> {
    return this.execute('answer');
  }

  /** speak (the configured TTS engine and voice) or playback; the announcement is checked by its grammar. */
  play(announcement: Announcement): Promise<ExecuteResult> {
    const { headers } = playMessage(this.uuid, announcement, this.#options.tts, randomUUID());
    const app = headers['execute-app-name'] ?? '';
    return this.execute(app, headers['execute-app-arg'] ?? '');
  }

  /** play_and_get_digits: plays the prompt, collects up to `max` digits, tries again on invalid input. */
  async playAndGetDigits(prompt: DigitsPrompt): Promise<DigitsResult> {
    const { min, max, tries = 3, timeoutMs = 5000, terminators = '#' } = prompt;
    const whole = (n: number, low: number, high: number): boolean => Number.isInteger(n) && n >= low && n <= high;
    if (!whole(min, 0, 32) || !whole(max, Math.max(min, 1), 32) || !whole(tries, 1, 10) || !whole(timeoutMs, 100, 120_000)) {
      refuse('play_and_get_digits needs 0 ≤ min ≤ max ≤ 32, 1-10 tries and a timeout of 100 ms to 120 s.');
    }
    if (!TERMINATORS.test(terminators)) refuse('The terminators must be up to four of 0-9 * #, or none.');
    if (!isSoundPath(prompt.prompt)) refuse('The prompt is not an allowed sound path.');
    const arg = [min, max, tries, timeoutMs, terminators, prompt.prompt, INVALID_INPUT_SOUND, DIGITS_VARIABLE, '\\d+'].join(' ');
    const result = await this.execute('play_and_get_digits', arg);
    if (result.outcome === 'hung-up') return result;
    return { outcome: 'collected', digits: result.variables[DIGITS_VARIABLE] ?? '' };
  }

  /** ring_ready: tells the caller's side the call is ringing (180), before an answer. */
  ringReady(): Promise<ExecuteResult> {
    return this.execute('ring_ready');
  }

  /** Plays ringback until {@link breakMedia} (or the call ends). Resolves when it stops. */
  ringback(): Promise<ExecuteResult> {
    return this.execute('playback', RINGBACK_TONE);
  }

  /** Stops what the call plays now and what is queued (`api uuid_break <uuid> all`). */
  async breakMedia(): Promise<void> {
    if (this.#cause !== undefined) return;
    const text = await this.#api(`uuid_break ${this.uuid} all`);
    if (!text.startsWith('+OK') && this.#cause === undefined && !/no such channel|not found|invalid/i.test(text)) {
      throw new CrosslineError('SWITCH_COMMAND_FAILED', 'The switch refused to stop the playback.');
    }
  }

  /**
   * Whether the SIP user `aor` (`user@domain`, {@link SIP_AOR}) has a live registration on the
   * switch (`api sofia_contact` on every profile, `*` / aor): true, false, or undefined when the switch
   * gives an answer of neither kind. An `aor` outside the grammar never reaches the switch.
   */
  async isRegistered(aor: string): Promise<boolean | undefined> {
    if (!SIP_AOR.test(aor)) throw new CrosslineError('INVALID_SIP_URI', 'Not a SIP user@domain the switch may be asked about.');
    const text = (await this.#api(`sofia_contact */${aor}`)).trim();
    if (text === 'error/user_not_registered') return false;
    if (/^sofia\/[A-Za-z0-9_.-]+\/sips?:/.test(text)) return true;
    return undefined;
  }

  /** record with silence detection and a time limit; the file is written by the switch. */
  async record(options: RecordOptions): Promise<RecordResult> {
    const { path, maxSeconds, silenceThreshold = 200, silenceSeconds = 5 } = options;
    const whole = (n: number, low: number, high: number): boolean => Number.isInteger(n) && n >= low && n <= high;
    if (!MEDIA_PATH.test(path)) refuse('The recording path is not an allowed media path.');
    if (!whole(maxSeconds, 1, 3600) || !whole(silenceThreshold, 1, 10_000) || !whole(silenceSeconds, 1, 60)) {
      refuse('record needs 1-3600 s, a threshold of 1-10000 and 1-60 s of silence.');
    }
    const result = await this.execute('record', `${path} ${maxSeconds} ${silenceThreshold} ${silenceSeconds}`);
    const msOf = (variables: Readonly<Record<string, string>>): number => Number.parseInt(variables.record_ms ?? '0', 10) || 0;
    if (result.outcome === 'hung-up') return { outcome: 'hung-up', cause: result.cause, ms: 0 };
    return { outcome: 'recorded', ms: msOf(result.variables), endedBySilence: result.variables.silence_hits_exhausted === 'true' };
  }

  /** rxfax (mod_spandsp) into a TIFF at `path`. */
  async receiveFax(path: string): Promise<FaxResult> {
    if (!MEDIA_PATH.test(path) || !/\.tiff?$/.test(path)) refuse('The fax path is not an allowed TIFF path.');
    const result = await this.execute('rxfax', path);
    if (result.outcome === 'hung-up') return result;
    const pages = Number.parseInt(result.variables.fax_document_transferred_pages ?? '0', 10) || 0;
    if (result.variables.fax_success === '1') return { outcome: 'received', pages };
    return { outcome: 'failed', reason: result.variables.fax_result_text ?? 'unknown', pages };
  }

  /**
   * bridge to a dial string that {@link buildDialString} made, with a variable block from
   * buildVariableBlock (checked here to be one of those shapes only).
   */
  async bridge(variableBlock: string, dialString: string): Promise<BridgeResult> {
    if (!/^\{[^{}\n]*\}$/.test(variableBlock) || !/^sofia\/(?:gateway\/)?[A-Za-z0-9_.-]+\/(?:sips:)?[A-Za-z0-9_.@:+-]+$/.test(dialString)) {
      refuse('The bridge target is not a built dial string.');
    }
    // Without it, mod_dptools hangs the caller up when the bridge fails; we want the caller back.
    if (!this.#continuesOnFail) {
      const set = await this.execute('set', 'continue_on_fail=true');
      if (set.outcome === 'hung-up') return set;
      this.#continuesOnFail = true;
    }
    let joined = false;
    const onChannel = (event: ChannelEvent): void => {
      if (event.type === 'bridged') joined = true;
    };
    this.on('channel', onChannel);
    let result: ExecuteResult;
    try {
      result = await this.execute('bridge', `${variableBlock}${dialString}`);
    } finally {
      this.off('channel', onChannel);
    }
    // A bridge that was up when the call ended was a bridged call, whoever hung up.
    if (joined) return { outcome: 'bridged' };
    if (result.outcome === 'hung-up') return result;
    const status = result.variables.originate_disposition ?? result.variables.DIALSTATUS;
    if (status === 'SUCCESS' || result.variables.bridge_hangup_cause !== undefined && status === undefined) return { outcome: 'bridged' };
    return { outcome: 'failed', cause: CAUSES.has(status ?? '') ? (status as HangupCause) : 'UNKNOWN' };
  }

  /** transfer to `<extension> XML <context>`. */
  async transfer(extension: string, context: string): Promise<ExecuteResult> {
    if (!EXTENSION.test(extension) || !CONTEXT.test(context)) refuse('The transfer target is not a valid extension and context.');
    return this.execute('transfer', `${extension} XML ${context}`);
  }

  /** Hangs the call up (sendmsg call-command hangup) and resolves with the cause the switch reports. */
  async hangup(cause: HangupCause = 'NORMAL_CLEARING'): Promise<HangupCause> {
    if (!CAUSES.has(cause) || cause === 'UNKNOWN') refuse('Unknown hangup cause.');
    if (this.#cause !== undefined) return this.#cause;
    let waiter: (cause: HangupCause) => void = () => undefined;
    const hungUp = new Promise<HangupCause>((resolve) => {
      waiter = resolve;
      this.#hangupWaiters.add(resolve);
    });
    try {
      const text = await this.#command('sendmsg', { 'call-command': 'hangup', 'hangup-cause': cause });
      if (!text.startsWith('+OK') && this.#cause === undefined) {
        throw new CrosslineError('SWITCH_COMMAND_FAILED', 'The switch refused to hang up the call.');
      }
    } catch (error) {
      this.#hangupWaiters.delete(waiter);
      throw error;
    }
    return hungUp;
  }

  /** Closes the socket; the switch then destroys the channel (hanging it up if it is still up). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.socket?.end();
  }

  #run(app: Record<string, string>): Promise<ExecuteResult> {
    if (this.#cause !== undefined) return Promise.resolve({ outcome: 'hung-up', cause: this.#cause });
    const eventUuid = randomUUID();
    return new Promise<ExecuteResult>((resolve, reject) => {
      this.#executes.set(eventUuid, resolve);
      this.#command('sendmsg', { 'call-command': 'execute', ...app, 'event-lock': 'true', 'Event-UUID': eventUuid }).then(
        (text) => {
          if (text.startsWith('+OK') || !this.#executes.has(eventUuid)) return;
          this.#executes.delete(eventUuid);
          reject(new CrosslineError('SWITCH_COMMAND_FAILED', `The switch refused to run ${app['execute-app-name'] ?? 'the application'}.`));
        },
        (error: unknown) => {
          this.#executes.delete(eventUuid);
          reject(error);
        },
      );
    });
  }

  async #expectOk(command: string): Promise<void> {
    const text = await this.#command(command);
    if (!text.startsWith('+OK')) throw new CrosslineError('SWITCH_COMMAND_FAILED', `The switch refused ${command}.`);
  }

  /** One command and its reply text, with a timeout; rejected when the socket closes. */
  #command(command: string, headers?: Record<string, string>): Promise<string> {
    if (this.#closed || this.#conn.socket === null) return Promise.reject(unavailable('The outbound socket is closed.'));
    return exchangeWithTimeout(this.#pending, this.#options.commandTimeoutMs, (cb: (reply: EslEvent) => void) =>
      this.#conn.sendRecv(command, headers ?? null, cb),
    ).then((reply) => reply.getHeader('Reply-Text') ?? '');
  }

  /** `api <command>` on this socket; resolves with the response body. */
  #api(command: string): Promise<string> {
    if (this.#closed || this.#conn.socket === null) return Promise.reject(unavailable('The outbound socket is closed.'));
    assertSafeCommand(command);
    return exchangeWithTimeout(this.#pending, this.#options.commandTimeoutMs, (cb: (reply: EslEvent) => void) =>
      this.#conn.api(command, cb),
    ).then((reply) => reply.getBody() ?? '');
  }

  #onFrame(event: EslEvent, headers: FrameHeaders): void {
    const contentType = headers['Content-Type'];
    if (contentType !== 'text/event-json' && contentType !== 'text/event-plain') return;
    const channelEvent = toChannelEvent(event.getHeader('Event-Name'), event);
    if (!channelEvent || channelEvent.uuid !== this.uuid) return;
    if (channelEvent.type === 'execute-complete' && channelEvent.applicationUuid !== undefined) {
      const settle = this.#executes.get(channelEvent.applicationUuid);
      if (settle) {
        this.#executes.delete(channelEvent.applicationUuid);
        settle({ outcome: 'completed', ...(channelEvent.response !== undefined ? { response: channelEvent.response } : {}), variables: variablesOf(event) });
      }
    }
    if (isHangup(channelEvent)) this.#hungUp(channelEvent.cause);
    this.emit('channel', channelEvent);
    // We linger: after CHANNEL_HANGUP_COMPLETE the switch waits for us to close.
    if (channelEvent.type === 'hangup-complete') this.close();
  }

  #hungUp(cause: HangupCause): void {
    if (this.#cause !== undefined) return;
    this.#cause = cause;
    const running = [...this.#executes.values()];
    this.#executes.clear();
    for (const settle of running) settle({ outcome: 'hung-up', cause });
    for (const resolve of [...this.#hangupWaiters]) resolve(cause);
    this.#hangupWaiters.clear();
  }

  #onEnd(): void {
    this.#closed = true;
    const error = unavailable('The outbound socket closed.');
    for (const entry of [...this.#pending]) entry.fail(error);
    this.#hungUp(this.#cause ?? 'UNKNOWN');
    this.emit('end', this.#cause ?? 'UNKNOWN');
  }
}
