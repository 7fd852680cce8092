import { EventEmitter } from 'node:events';
import smpp, { PDU, type Session } from 'smpp';
import type { Logger } from 'pino';

/**
 * One SMPP v3.4 transceiver bind to the carrier's SMSC, kept up: connect, `bind_transceiver`,
 * `enquire_link` every `enquireLinkMs` (a link whose answer does not come within
 * `responseTimeoutMs` is dropped), reconnect with capped, jittered exponential backoff after any
 * loss or refused bind. Requests resolve with their response PDU (whatever its command_status) and
 * reject with {@link LinkError} when the link is down, drops, or the answer does not come in time.
 * Incoming `deliver_sm` go to the handler, whose result is the status answered to the SMSC.
 *
 * Library-like: it emits `bound` / `lost` events and logs only connection changes (never the
 * password).
 */

export interface SmppLinkOptions {
  host: string;
  port: number;
  /** `ssmpp://`: TLS. @defaultValue false */
  tls?: boolean;
  systemId: string;
  password: string;
  /** @defaultValue '' */
  systemType?: string;
  /** @defaultValue 30000 */
  enquireLinkMs?: number;
  /** How long a bind, submit or enquire_link may wait for its answer. @defaultValue 10000 */
  responseTimeoutMs?: number;
  /** First reconnect delay, doubled per failure up to `maxReconnectMs`. @defaultValue 1000 */
  reconnectMs?: number;
  /** @defaultValue 60000 */
  maxReconnectMs?: number;
  logger: Logger;
}

export interface LinkStatus {
  bound: boolean;
  /** Consecutive failed connection or bind attempts. */
  failures: number;
  /** Why the last attempt failed (no secrets). */
  lastError?: string;
}

/** The link could not carry a request: down, dropped while waiting, or no answer in time. */
export class LinkError extends Error {
  constructor(
    message: string,
    /** true when the request may have reached the SMSC (it went out, the answer did not come back). */
    readonly maybeDelivered: boolean,
  ) {
    super(message);
    this.name = 'LinkError';
  }
}

/** Answers a deliver_sm: the command_status to send back (0 = ESME_ROK). */
export type DeliverHandler = (pdu: PDU) => Promise<number>;

interface Pending {
  resolve(pdu: PDU): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

const BIND_ERRORS: Record<number, string> = {
  [smpp.errors.ESME_RINVPASWD ?? 0x0e]: 'invalid password',
  [smpp.errors.ESME_RINVSYSID ?? 0x0f]: 'invalid system_id',
  [smpp.errors.ESME_RBINDFAIL ?? 0x0d]: 'bind failed',
  [smpp.errors.ESME_RALYBND ?? 0x05]: 'already bound',
};

export class SmppLink extends EventEmitter {
  private readonly o: Required<Omit<SmppLinkOptions, 'logger'>> & { logger: Logger };
  private session: Session | undefined;
  private bound = false;
  private stopped = false;
  private failures = 0;
  private lastError: string | undefined;
  /** Bumped per connection: answers and timers of an old connection are ignored. */
  private generation = 0;
  private readonly pending = new Map<number, Pending>();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private enquireTimer: NodeJS.Timeout | undefined;
  private deliverHandler: DeliverHandler | undefined;

  constructor(options: SmppLinkOptions) {
    super();
    this.setMaxListeners(0);
    this.o = {
      tls: false,
      systemType: '',
      enquireLinkMs: 30_000,
      responseTimeoutMs: 10_000,
      reconnectMs: 1000,
      maxReconnectMs: 60_000,
      ...options,
    };
  }

  /** Where deliver_sm go (MO messages, delivery receipts). Until set, they are answered with ESME_RX_T_APPN (the SMSC retries). */
  onDeliver(handler: DeliverHandler): void {
    this.deliverHandler = handler;
  }

  /** Connects; resolves once bound, or after `waitMs` with the bind still being retried in the background. */
  async start(waitMs = 10_000): Promise<void> {
    const bound = this.waitBound(waitMs).catch(() => undefined);
    this.connect();
    await bound;
  }

  status(): LinkStatus {
    return { bound: this.bound, failures: this.failures, ...(this.lastError !== undefined ? { lastError: this.lastError } : {}) };
  }

  /** Resolves once bound; rejects with LinkError after `timeoutMs`. */
  waitBound(timeoutMs: number): Promise<void> {
    if (this.bound) return Promise.resolve();
    if (this.stopped) return Promise.reject(new LinkError('the SMPP link is closed', false));
    return new Promise((resolve, reject) => {
      const onBound = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.off('bound', onBound);
        reject(new LinkError(`the SMPP link is not bound${this.lastError ? ` (${this.lastError})` : ''}`, false));
      }, timeoutMs);
      this.once('bound', onBound);
    });
  }

  /** Sends a request on the bound link; resolves with its response PDU. */
  request(command: string, params: Record<string, unknown>): Promise<PDU> {
    const session = this.session;
    if (!this.bound || session === undefined) return Promise.reject(new LinkError('the SMPP link is not bound', false));
    return this.send(session, new PDU(command, params));
  }

  /** Unbinds (politely, briefly) and disconnects; safe to call twice. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.enquireTimer);
    const session = this.session;
    if (session !== undefined && this.bound) {
      await this.send(session, new PDU('unbind', {}), Math.min(2000, this.o.responseTimeoutMs)).catch(() => undefined);
    }
    this.drop('closed');
    this.removeAllListeners();
  }

  private send(session: Session, pdu: PDU, timeoutMs = this.o.responseTimeoutMs): Promise<PDU> {
    return new Promise((resolve, reject) => {
      const generation = this.generation;
      let sequence = 0;
      const written = session.send(pdu, (response) => {
        const p = this.pending.get(sequence);
        if (p === undefined || generation !== this.generation) return;
        this.pending.delete(sequence);
        clearTimeout(p.timer);
        p.resolve(response);
      });
      if (!written) {
        reject(new LinkError('the SMPP connection is not writable', false));
        return;
      }
      sequence = pdu.sequence_number;
      const timer = setTimeout(() => {
        if (!this.pending.delete(sequence)) return;
        reject(new LinkError(`no ${pdu.command}_resp within ${timeoutMs} ms`, true));
        // A link that stops answering is broken: drop it, the reconnect starts afresh.
        if (generation === this.generation) this.drop(`no answer to ${pdu.command}`);
      }, timeoutMs);
      this.pending.set(sequence, { resolve, reject, timer });
    });
  }

  private connect(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    const session = smpp.connect({ host: this.o.host, port: this.o.port, tls: this.o.tls });
    this.session = session;
    const current = (): boolean => generation === this.generation && !this.stopped;
    session.on('error', (err: Error) => {
      if (!current()) return;
      this.lastError = err.message;
      // A PDU the library cannot parse leaves the session unusable: start again.
      this.drop(err.message);
    });
    session.on('close', () => {
      if (current()) this.drop('connection closed');
    });
    session.on(this.o.tls ? 'secureConnect' : 'connect', () => {
      if (!current()) return;
      this.bind(session, generation).catch((err: unknown) => {
        if (current()) this.drop((err as Error).message);
      });
    });
    session.on('pdu', (pdu: PDU) => {
      if (current()) this.onPdu(session, pdu);
    });
  }

  private async bind(session: Session, generation: number): Promise<void> {
    const response = await this.send(
      session,
      new PDU('bind_transceiver', { system_id: this.o.systemId, password: this.o.password, system_type: this.o.systemType, interface_version: 0x34 }),
    );
    if (generation !== this.generation) return;
    if (response.command_status !== 0) {
      const reason = BIND_ERRORS[response.command_status] ?? `command_status 0x${response.command_status.toString(16)}`;
      throw new Error(`bind_transceiver refused: ${reason}`);
    }
    this.bound = true;
    this.failures = 0;
    this.lastError = undefined;
    this.o.logger.info({ host: this.o.host, port: this.o.port, systemId: this.o.systemId }, 'SMPP bound (transceiver)');
    clearInterval(this.enquireTimer);
    this.enquireTimer = setInterval(() => {
      if (generation !== this.generation || !this.bound) return;
      this.send(session, new PDU('enquire_link', {})).catch(() => undefined);
    }, this.o.enquireLinkMs);
    this.emit('bound');
  }

  private onPdu(session: Session, pdu: PDU): void {
    if (pdu.isResponse()) {
      // generic_nack answers a request we sent: it resolves that request with its error status.
      return;
    }
    switch (pdu.command) {
      case 'enquire_link':
        session.send(pdu.response());
        return;
      case 'unbind':
        session.send(pdu.response());
        this.o.logger.warn({ host: this.o.host }, 'SMSC unbound the link; reconnecting');
        this.drop('unbound by the SMSC');
        return;
      case 'deliver_sm':
      case 'data_sm':
        this.deliver(session, pdu);
        return;
      case 'alert_notification':
        return;
      default:
        session.send(new PDU('generic_nack', { sequence_number: pdu.sequence_number, command_status: smpp.errors.ESME_RINVCMDID ?? 0x03 }));
    }
  }

  private deliver(session: Session, pdu: PDU): void {
    const handler = this.deliverHandler;
    const answer = (status: number): void => {
      if (session.socket.writable) session.send(pdu.response(status === 0 ? {} : { command_status: status }));
    };
    if (handler === undefined) return answer(smpp.errors.ESME_RX_T_APPN ?? 0x64);
    handler(pdu).then(answer, (err: unknown) => {
      this.o.logger.warn({ err }, 'deliver_sm not handled; the SMSC will deliver it again');
      answer(smpp.errors.ESME_RX_T_APPN ?? 0x64);
    });
  }

  /** Ends the current connection (if any) and schedules the next attempt. */
  private drop(reason: string): void {
    const wasBound = this.bound;
    this.bound = false;
    this.generation += 1;
    clearInterval(this.enquireTimer);
    for (const [sequence, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new LinkError(`the SMPP link dropped (${reason})`, true));
      this.pending.delete(sequence);
    }
    const session = this.session;
    this.session = undefined;
    if (session !== undefined) {
      session.removeAllListeners('pdu');
      session.on('error', () => undefined);
      session.destroy();
    }
    if (this.stopped) return;
    this.failures += 1;
    this.lastError = reason;
    const delay = this.nextDelay();
    if (wasBound) this.emit('lost', reason);
    if (wasBound || this.failures === 1 || this.failures % 10 === 0) {
      this.o.logger.warn({ host: this.o.host, port: this.o.port, reason, failures: this.failures, retryInMs: delay }, 'SMPP link down; reconnecting');
    }
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private nextDelay(): number {
    const exponential = Math.min(this.o.maxReconnectMs, this.o.reconnectMs * 2 ** Math.max(0, this.failures - 1));
    return Math.round(exponential * (1 - 0.2 * Math.random()));
  }
}
