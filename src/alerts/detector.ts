/**
 * Call attempts from the switch: an Event Socket connection of its own subscribed to
 * CHANNEL_CREATE and CHANNEL_HANGUP_COMPLETE only (the two events that carry an attempt's numbers
 * and its end cause), reconnecting with backoff. Each CHANNEL_CREATE is a call reaching a line;
 * each CHANNEL_HANGUP_COMPLETE with a network cause is a call the network failed — Crossline's own
 * callback legs included, as they are channels of the same switch.
 */
import { EventEmitter } from 'node:events';
import { Connection, type Event as EslEvent } from 'drachtio-modesl';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { isDisplayName, isE164 } from '../telephony/grammar.js';
import { NETWORK_FAILURES, type Attempt } from './types.js';

export const ALERT_EVENTS = 'CHANNEL_CREATE CHANNEL_HANGUP_COMPLETE';

/** E.164 of a number as the switch shows it (`+12025550101`, `12025550101`), or undefined. */
export function lineOf(raw: string | null | undefined): string | undefined {
  const text = (raw ?? '').trim().replace(/[\s().-]/g, '');
  if (!/^\+?[0-9]{7,15}$/.test(text)) return undefined;
  const parsed = parsePhoneNumberFromString(text.startsWith('+') ? text : `+${text}`);
  return parsed?.isValid() && isE164(parsed.number) ? parsed.number : undefined;
}

/** The attempt an event reports, if it is one. */
export function attemptOf(event: EslEvent): Attempt | undefined {
  const name = event.getHeader('Event-Name');
  const uuid = event.getHeader('Unique-ID');
  const line = lineOf(event.getHeader('Caller-Destination-Number'));
  if (uuid === null || line === undefined) return undefined;
  const callerNumber = lineOf(event.getHeader('Caller-Caller-ID-Number')) ?? (event.getHeader('Caller-Caller-ID-Number') ?? '').replace(/[^0-9+*#]/g, '').slice(0, 32);
  const rawName = event.getHeader('Caller-Caller-ID-Name') ?? '';
  const callerName = rawName !== '' && rawName !== callerNumber && isDisplayName(rawName) ? rawName : undefined;
  const micros = Number(event.getHeader('Event-Date-Timestamp'));
  const at = Number.isFinite(micros) && micros > 0 ? new Date(Math.floor(micros / 1000)) : new Date();
  const base = { uuid, callerNumber: callerNumber === '' ? 'anonymous' : callerNumber, ...(callerName !== undefined ? { callerName } : {}), line, at };
  if (name === 'CHANNEL_CREATE') return base;
  if (name === 'CHANNEL_HANGUP_COMPLETE') {
    const cause = event.getHeader('Hangup-Cause') ?? '';
    return NETWORK_FAILURES.has(cause) ? { ...base, failure: cause } : undefined;
  }
  return undefined;
}

export interface DetectorOptions {
  host: string;
  port: number;
  password: string;
  /** @defaultValue 1000 */
  reconnectMs?: number;
}

export class SwitchAttemptDetector extends EventEmitter<{ attempt: [Attempt]; status: [connected: boolean] }> {
  #conn: Connection | undefined;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #delay: number;

  constructor(private readonly options: DetectorOptions) {
    super();
    this.#delay = options.reconnectMs ?? 1000;
  }

  /** Connects (and keeps reconnecting); resolves once the first subscription is in place or failed. */
  start(): Promise<void> {
    return new Promise((resolve) => this.#connect(resolve));
  }

  #connect(ready?: () => void): void {
    if (this.#stopped) return ready?.();
    const conn = new Connection(this.options.host, this.options.port, this.options.password);
    // Our own reconnect (on esl::end) runs instead of the library's: modesl's own, after a connect
    // that never succeeded, retries with a NaN delay, in a tight loop nobody can stop.
    conn.closing = true;
    this.#conn = conn;
    let up = false;
    conn.on('error', () => undefined);
    conn.once('esl::ready', () => {
      conn.events('plain', ALERT_EVENTS, () => {
        up = true;
        this.#delay = this.options.reconnectMs ?? 1000;
        this.emit('status', true);
        ready?.();
      });
    });
    conn.on('esl::event::CHANNEL_CREATE::*', (event: EslEvent) => this.#on(event));
    conn.on('esl::event::CHANNEL_HANGUP_COMPLETE::*', (event: EslEvent) => this.#on(event));
    conn.once('esl::end', () => {
      if (up) this.emit('status', false);
      ready?.();
      if (this.#stopped) return;
      this.#timer = setTimeout(() => this.#connect(), this.#delay);
      this.#delay = Math.min(this.#delay * 2, 30_000);
    });
  }

  #on(event: EslEvent): void {
    const attempt = attemptOf(event);
    if (attempt !== undefined) this.emit('attempt', attempt);
  }

  close(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    // not disconnect(): it writes `exit` first, which throws on a socket that never connected
    this.#conn?.socket?.destroy();
  }
}
