/*
 * One inbound Event Socket connection to FreeSWITCH: connect, auth, subscribe, reconnect with
 * capped backoff, and api / bgapi with our own timeouts and job table.
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
import { Connection, type Event as EslEvent, type FrameHeaders } from 'drachtio-modesl';
import { CrosslineError } from '../../errors.js';
import { assertSafeCommand } from '../dial-string.js';
import { isEslPassword } from './address.js';
import { EVENT_FILTERS, SUBSCRIBED_EVENTS } from './events.js';
import { safeCaller, type EslLogger, type SafeCall } from './safely.js';
import { ReplyLatency } from './switch-load.js';

/** Grace for FIN/`+OK bye` on close before the socket is destroyed, ms. */
const CLOSE_GRACE_MS = 500;

export interface EslConnectionOptions {
  host: string;
  port: number;
  /** ESL password; sent in `auth`, never logged. */
  password: string;
  /** Timeout of one api/bgapi acknowledgement (and of short job results), ms. */
  apiTimeoutMs: number;
  logger?: EslLogger;
  /** Reconnect backoff: doubles from minDelayMs up to maxDelayMs. @defaultValue `{ minDelayMs: 100, maxDelayMs: 5000 }` */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
}

/** What the owner of the connection is told; each call is made safely (a throw is logged). */
export interface EslConnectionHooks {
  /**
   * Authenticated and subscribed (after every reconnect too). `stillCurrent` turns false once
   * this connection is gone, so work begun for it can stand down.
   */
  ready(stillCurrent: () => boolean): Promise<void>;
  /** The connection that was ready is gone; reconnecting has begun. */
  lost(reason: string): void;
  /** Every event other than a BACKGROUND_JOB (those go to the job table). */
  event(name: string | null, event: EslEvent): void;
}

/** What connection state status() reports. */
export type ConnectionState = { ready: true; since: string } | { ready: false; since: string; lastError?: string };

/** Anything in flight that close() or a lost connection must settle. */
export interface InFlight {
  fail(error: Error): void;
}

/**
 * Sends one request and waits for its reply, failing with SWITCH_TIMEOUT after `timeoutMs`. The
 * entry it keeps in `pending` lets the owner fail it when the socket is lost. `onReplyMs` hears how
 * long the reply took (`timeoutMs` when none came).
 */
export function exchangeWithTimeout<R>(
  pending: Set<InFlight>,
  timeoutMs: number,
  send: (cb: (reply: R) => void) => void,
  onReplyMs?: (ms: number) => void,
): Promise<R> {
  const sentAt = performance.now();
  return new Promise<R>((resolve, reject) => {
    let done = false;
    const settle = (): boolean => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      pending.delete(entry);
      return true;
    };
    const entry: InFlight = {
      fail: (error) => {
        if (settle()) reject(error);
      },
    };
    const timer = setTimeout(() => {
      onReplyMs?.(timeoutMs);
      entry.fail(new CrosslineError('SWITCH_TIMEOUT', `The switch did not answer within ${timeoutMs} ms.`));
    }, timeoutMs);
    pending.add(entry);
    send((reply) => {
      if (!settle()) return;
      onReplyMs?.(performance.now() - sentAt);
      resolve(reply);
    });
  });
}

export function unavailable(message: string): CrosslineError {
  return new CrosslineError('SWITCH_UNAVAILABLE', message);
}

export class EslConnection {
  readonly #options: EslConnectionOptions;
  readonly #hooks: EslConnectionHooks;
  readonly #safely: SafeCall;
  readonly #minDelayMs: number;
  readonly #maxDelayMs: number;

  #conn: Connection | null = null;
  #ready = false;
  #since = new Date().toISOString();
  #lastError: string | undefined;
  #started = false;
  #closed = false;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;

  /** Acknowledgements and short job results awaited on the current connection. */
  readonly #pending = new Set<InFlight>();
  /** Round trips of our commands (a timeout counts as the timeout): how slow the switch answers. */
  readonly replyLatency = new ReplyLatency();
  /** BACKGROUND_JOB results by Job-UUID; they outlive a reconnect (the switch broadcasts them). */
  readonly #jobs = new Map<string, (body: string) => void>();
  readonly #startWaiters = new Set<{ resolve(): void; reject(error: Error): void }>();

  constructor(options: EslConnectionOptions, hooks: EslConnectionHooks) {
    if (!isEslPassword(options.password)) throw new TypeError('The ESL password may only hold printable ASCII without spaces.');
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new TypeError('The ESL port must be 1-65535.');
    if (!(options.apiTimeoutMs > 0)) throw new TypeError('apiTimeoutMs must be positive.');
    this.#options = options;
    this.#hooks = hooks;
    this.#safely = safeCaller(options.logger);
    this.#minDelayMs = options.reconnect?.minDelayMs ?? 100;
    this.#maxDelayMs = Math.max(this.#minDelayMs, options.reconnect?.maxDelayMs ?? 5000);
  }

  get ready(): boolean {
    return this.#ready;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The shortest reconnect delay: also how long a failed reconciliation waits before it asks again. */
  get retryDelayMs(): number {
    return this.#minDelayMs;
  }

  state(): ConnectionState {
    if (this.#ready) return { ready: true, since: this.#since };
    return this.#lastError === undefined ? { ready: false, since: this.#since } : { ready: false, since: this.#since, lastError: this.#lastError };
  }

  /**
   * Starts connecting (once) and resolves when first ready. Rejects with SWITCH_UNAVAILABLE when
   * the switch refuses the password, when `timeoutMs` passes first, or on close(); except after
   * close(), it keeps trying in the background.
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

  // ---------------------------------------------------------------- lifecycle

  #connect(): void {
    if (this.#closed) return;
    const { host, port, password } = this.#options;
    this.#options.logger?.debug({ host, port }, 'esl connecting');
    const conn = new Connection(host, port, password);
    // Our own reconnect runs instead of the library's (see the top of this file).
    conn.closing = true;
    // modesl writes each command in several small pieces; with Nagle's algorithm the later ones
    // wait for the switch's delayed ACK, about 45 ms per command (measured by the real-switch bench).
    conn.socket?.setNoDelay(true);
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
      const filtered = await Promise.all(EVENT_FILTERS.map(([header, value]) => this.#exchange((cb) => conn.sendRecv(`filter ${header} ${value}`, cb))));
      for (const filterReply of filtered) {
        const filterText = filterReply.getHeader('Reply-Text') ?? '';
        if (!filterText.startsWith('+OK')) throw new Error(`event filter refused: ${filterText}`);
      }
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
    await this.#hooks.ready(() => this.#conn === conn && this.#ready);
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
    if (wasReady) this.#safely(() => this.#hooks.lost(reason));
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
    this.#hooks.event(name, event);
  }

  /**
   * Stops reconnecting and closes the connection (`exit`). Start waiters and everything in flight
   * reject with `error`; `settleOthers` runs in between, for what the owner keeps in flight.
   */
  async close(error: Error, settleOthers: () => void): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#safely(() => {
      for (const waiter of [...this.#startWaiters]) waiter.reject(error);
    });
    this.#safely(settleOthers);
    this.#safely(() => {
      for (const entry of [...this.#pending]) entry.fail(error);
    });
    this.#jobs.clear();
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

  // ---------------------------------------------------------------- commands

  /** Throws SWITCH_UNAVAILABLE unless connected and subscribed. */
  assertReady(): void {
    this.#readyConnection();
  }

  #readyConnection(): Connection {
    if (this.#closed) throw unavailable('The telephony client is closed.');
    if (!this.#ready || this.#conn === null) {
      throw unavailable(`The switch is not connected${this.#lastError === undefined ? '' : ` (${this.#lastError})`}.`);
    }
    return this.#conn;
  }

  /** One request/reply exchange with a timeout; rejected when the connection is lost. */
  #exchange(send: (cb: (reply: EslEvent) => void) => void): Promise<EslEvent> {
    return exchangeWithTimeout(this.#pending, this.#options.apiTimeoutMs, send, (ms) => this.replyLatency.record(ms));
  }

  /** `api <command>`: resolves with the response body. */
  async api(command: string): Promise<string> {
    assertSafeCommand(command);
    const conn = this.#readyConnection();
    const reply = await this.#exchange((cb) => conn.api(command, cb));
    return reply.getBody();
  }

  /** A command with headers (`sendmsg <uuid>`…): resolves with the command/reply. */
  sendRecv(command: string, headers: Record<string, string>): Promise<EslEvent> {
    try {
      const conn = this.#readyConnection();
      return this.#exchange((cb) => conn.sendRecv(command, headers, cb));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Hands the BACKGROUND_JOB result of `jobId` to `handler`; returns what removes it. */
  onJob(jobId: string, handler: (body: string) => void): () => void {
    this.#jobs.set(jobId, handler);
    return () => this.#jobs.delete(jobId);
  }

  /** `bgapi <command>` with our Job-UUID; resolves once the switch has acknowledged it. */
  async bgapiSend(command: string, jobId: string): Promise<void> {
    assertSafeCommand(command);
    const conn = this.#readyConnection();
    const reply = await this.#exchange((cb) => conn.sendRecv(`bgapi ${command}`, { 'Job-UUID': jobId }, cb));
    const text = reply.getHeader('Reply-Text') ?? '';
    if (!text.startsWith('+OK')) {
      throw new CrosslineError('SWITCH_COMMAND_FAILED', `The switch refused bgapi ${command.split(' ')[0] ?? ''}.`);
    }
  }

  /** `bgapi <command>` whose job ends quickly: resolves with the job's result text (trimmed). */
  bgapi(command: string): Promise<string> {
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
      this.bgapiSend(command, jobId).then(
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
}
