/**
 * The switch's load from what it sends us: HEARTBEAT (every 20 s: Session-Count, Max-Sessions,
 * Session-Per-Sec = what is left of this second's budget, not a rate; Idle-CPU; see the q-heartbeat
 * capture), `status` (the sessions-per-second limit, which HEARTBEAT does not carry), the channels
 * created and ended between two heartbeats, and the round trips of our own commands.
 */
import type { Event as EslEvent } from 'drachtio-modesl';
import type { SwitchLoad } from '../types.js';

/** Round-trip samples kept, and for how long. */
const LATENCY_SAMPLES = 64;
const LATENCY_WINDOW_MS = 60_000;

/** A moving percentile of ESL reply round trips. */
export class ReplyLatency {
  readonly #samples: Array<{ ms: number; at: number }> = [];

  constructor(private readonly now: () => number = Date.now) {}

  record(ms: number): void {
    this.#samples.push({ ms, at: this.now() });
    if (this.#samples.length > LATENCY_SAMPLES) this.#samples.shift();
  }

  /** The `p`-th percentile (0–100) of the samples of the last minute; undefined without any. */
  percentile(p: number): number | undefined {
    const since = this.now() - LATENCY_WINDOW_MS;
    const recent = this.#samples.filter((s) => s.at >= since).map((s) => s.ms).sort((a, b) => a - b);
    if (recent.length === 0) return undefined;
    return recent[Math.min(recent.length - 1, Math.ceil((p / 100) * recent.length) - 1)];
  }
}

type Reported = Omit<SwitchLoad, 'replyMs'>;

const count = (text: string | null | undefined): number | undefined => {
  const n = Number(text ?? Number.NaN);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
};

export class SwitchLoadTracker {
  #reported: Reported | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** A HEARTBEAT: the switch's own count replaces ours. Undefined when it lacks the load fields. */
  heartbeat(event: EslEvent): Reported | undefined {
    const sessions = count(event.getHeader('Session-Count'));
    const maxSessions = count(event.getHeader('Max-Sessions'));
    const spsBudgetLeft = count(event.getHeader('Session-Per-Sec'));
    const idleCpu = count(event.getHeader('Idle-CPU'));
    if (sessions === undefined || maxSessions === undefined || idleCpu === undefined) return undefined;
    const perSecond = this.#reported?.maxSessionsPerSecond;
    this.#reported = {
      sessions, maxSessions, idleCpu, at: this.now(),
      ...(spsBudgetLeft === undefined ? {} : { spsBudgetLeft }),
      ...(perSecond === undefined ? {} : { maxSessionsPerSecond: perSecond }),
    };
    return this.#reported;
  }

  /**
   * `api status`: `N session(s) - peak …`, `… per Sec out of max S, …`, `M session(s) max`,
   * `min idle cpu 0.00/I`. The sessions-per-second limit is only here. With `seed` (after a
   * connect, when no count of ours can be trusted) the session count and idle CPU are taken too;
   * otherwise the HEARTBEAT's, kept in step with the channel events, stay.
   */
  status(text: string, seed: boolean): Reported | undefined {
    const sessions = count(/^(\d+) session\(s\) - peak/m.exec(text)?.[1]);
    const maxSessionsPerSecond = count(/ per Sec out of max (\d+)/.exec(text)?.[1]);
    const maxSessions = count(/^(\d+) session\(s\) max$/m.exec(text)?.[1]);
    const idleCpu = count(/min idle cpu [\d.]+\/([\d.]+)/.exec(text)?.[1]);
    if (sessions === undefined || maxSessions === undefined || idleCpu === undefined || maxSessionsPerSecond === undefined) return undefined;
    const before = this.#reported;
    this.#reported = seed || before === undefined
      ? { sessions, maxSessions, idleCpu, maxSessionsPerSecond, at: this.now(), ...(before?.spsBudgetLeft === undefined ? {} : { spsBudgetLeft: before.spsBudgetLeft }) }
      : { ...before, maxSessions, maxSessionsPerSecond };
    return this.#reported;
  }

  /** A channel was created (CHANNEL_CREATE) or has ended (its first hangup event) since the last count. */
  channel(change: 1 | -1): void {
    if (this.#reported) this.#reported = { ...this.#reported, sessions: Math.max(0, this.#reported.sessions + change) };
  }

  current(replyMs: number | undefined): SwitchLoad | undefined {
    if (!this.#reported) return undefined;
    return replyMs === undefined ? { ...this.#reported } : { ...this.#reported, replyMs };
  }
}
