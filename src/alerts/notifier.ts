/**
 * Turns attempts into messages: every verified callee interest on the line hears of each call
 * (who, name, when), and of each call the network failed; the lists callers chose hear of their
 * failed calls (claim 13). One alert per attempt, kind and address (SET NX on the attempt's UUID,
 * whichever of the switch's events and the inbound IVR reports it first); more than
 * `burstThreshold` calls from one number to one line in `burstWindowSec` become one summary a minute.
 */
import type { Logger } from 'pino';
import type { ChannelAddress, MessageSender } from '../channels/types.js';
import type { RedisClient } from '../store/index.js';
import type { InterestRegistry } from './registry.js';
import type { Attempt } from './types.js';

export interface NotifierOptions {
  redis: RedisClient;
  base: string;
  registry: InterestRegistry;
  sender: () => MessageSender | undefined;
  logger: Logger;
  /** @defaultValue 3 */
  burstThreshold?: number;
  /** @defaultValue 300 */
  burstWindowSec?: number;
  /** Called after each alert is queued (metrics, benches). */
  onAlert?: (attempt: Attempt, to: ChannelAddress) => void;
}

const who = (a: Attempt): string => (a.callerName !== undefined && a.callerName !== a.callerNumber ? `${a.callerName} (${a.callerNumber})` : a.callerNumber);
const when = (a: Attempt): string => `${a.at.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
const addressKey = (to: ChannelAddress): string => `${to.channel}:${to.address}`;

export class AlertNotifier {
  readonly #o: NotifierOptions;

  constructor(options: NotifierOptions) {
    this.#o = options;
  }

  /** Alerts for one attempt; never throws (a failure is logged). */
  async handle(attempt: Attempt): Promise<void> {
    try {
      await this.#handle(attempt);
    } catch (error) {
      this.#o.logger.warn({ err: error, uuid: attempt.uuid }, 'call-attempt alert failed');
    }
  }

  async #handle(attempt: Attempt): Promise<void> {
    const { registry } = this.#o;
    const callee = await registry.on('callee', attempt.line);
    const callerLists = attempt.failure === undefined ? [] : (await registry.on('caller', attempt.callerNumber)).filter((i) => i.targets.includes(attempt.line));
    if (callee.length === 0 && callerLists.length === 0) return;
    const kind = attempt.failure === undefined ? 'attempt' : 'failure';
    if (kind === 'attempt' && (await this.#burst(attempt, callee.flatMap((i) => i.recipients)))) return;
    const text = attempt.failure === undefined
      ? `Call from ${who(attempt)} to ${attempt.line} at ${when(attempt)}.`
      : `${who(attempt)} tried to call ${attempt.line} at ${when(attempt)}; the network could not complete the call (${attempt.failure}).`;
    const recipients = new Map<string, ChannelAddress>();
    for (const interest of [...callee, ...callerLists]) for (const to of interest.recipients) recipients.set(addressKey(to), to);
    for (const to of recipients.values()) await this.#send(attempt, kind, to, text);
  }

  async #send(attempt: Attempt, kind: string, to: ChannelAddress, text: string): Promise<void> {
    const sender = this.#o.sender();
    if (sender === undefined) {
      this.#o.logger.error({ uuid: attempt.uuid }, 'no message channel is running: call-attempt alert not sent');
      return;
    }
    const dedupKey = `alert:${attempt.uuid}:${kind}:${addressKey(to)}`;
    const first = await this.#o.redis.set(`${this.#o.base}:sent:${dedupKey}`, '1', 'EX', 3600, 'NX');
    if (first !== 'OK') return;
    await sender.enqueue({ to, subject: kind === 'attempt' ? `Call from ${attempt.callerNumber}` : `Failed call from ${attempt.callerNumber}`, text, dedupKey });
    this.#o.onAlert?.(attempt, to);
  }

  /** True when this attempt is part of a burst and was folded into a summary. */
  async #burst(attempt: Attempt, recipients: ChannelAddress[]): Promise<boolean> {
    const { redis, base } = this.#o;
    const threshold = this.#o.burstThreshold ?? 3;
    const windowSec = this.#o.burstWindowSec ?? 300;
    // The same attempt heard twice (switch event and IVR) counts once.
    if ((await redis.set(`${base}:counted:${attempt.uuid}`, '1', 'EX', windowSec, 'NX')) !== 'OK') return false;
    const key = `${base}:burst:${attempt.line}:${attempt.callerNumber}`;
    const count = await redis.incr(key);
    if (count === 1) await redis.expire(key, windowSec);
    if (count <= threshold) return false;
    const minute = Math.floor(attempt.at.getTime() / 60_000);
    if ((await redis.set(`${base}:burst-sent:${attempt.line}:${attempt.callerNumber}:${minute}`, '1', 'EX', 120, 'NX')) !== 'OK') return true;
    const text = `${count} calls from ${who(attempt)} to ${attempt.line} in the last ${Math.round(windowSec / 60)} minutes (latest ${when(attempt)}).`;
    const unique = new Map(recipients.map((to) => [addressKey(to), to]));
    for (const to of unique.values()) await this.#send({ ...attempt, uuid: `burst-${attempt.line}-${attempt.callerNumber}-${minute}` }, 'summary', to, text);
    return true;
  }
}
