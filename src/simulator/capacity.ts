/**
 * The switch's capacity, as FreeSWITCH 1.10 enforces and reports it: a session limit
 * (`fsctl max_sessions`), a sessions-per-second budget (`fsctl sps`), the counters HEARTBEAT and
 * `status` print, an idle CPU that falls with load, and API replies that slow down with load.
 *
 * Measured on a real 1.10.12 (traces README, q-heartbeat, and `fsctl sps 4|5`, `fsctl max_sessions
 * 3|6` with calls to the test phones): every session created takes one from this second's budget,
 * refused ones included (so `sps N` lets N - 1 sessions through per second, and the peak can pass
 * the limit); `max_sessions N` too lets N - 1 sessions up (with 4 up under `max_sessions 6`, a fifth
 * is created and a sixth refused); a session over the budget is refused with `[CRIT] Throttle
 * Error! <sessions>`, one over the limit with `Over Session Limit! <limit>`, and the originate fails
 * at once with DESTINATION_OUT_OF_ORDER, no channel created. The budget is reset every second.
 * Not modelled: a leg whose far end refused it (503) stays counted as a session for seconds after
 * its channel has gone, so one refusal makes the next more likely.
 */
import type { SimClock } from './clock.js';

/** How the simulated switch slows down with load. */
export interface LatencyModel {
  /** Simulated ms added to every api/bgapi reply and BACKGROUND_JOB. @defaultValue 0 */
  baseMs?: number;
  /** Simulated ms more per session up. @defaultValue 0 */
  perSessionMs?: number;
}

export interface CapacityOptions {
  /** `fsctl max_sessions` at start. @defaultValue 10000 (the q-heartbeat capture) */
  maxSessions?: number;
  /** `fsctl sps` at start. @defaultValue 2000 (the q-heartbeat capture) */
  sessionsPerSecond?: number;
  latency?: LatencyModel;
  /** Idle CPU lost per session up, percentage points. @defaultValue 0.05 (0 idle at 1980 sessions) */
  cpuPerSessionPct?: number;
  /**
   * The far ends are phones on this same switch, as on the test switch: each leg dialled to a
   * gateway or SIP address also creates the phone's session, which counts towards the limits; when
   * only that one is refused, the phone answers 503 and the leg fails NORMAL_TEMPORARY_FAILURE.
   * @defaultValue false (one session per leg)
   */
  phoneSessions?: boolean;
}

/** Idle CPU of an empty simulated switch, %. */
const IDLE_CPU_EMPTY = 99;
const SECOND_MS = 1000;
const FIVE_MINUTES_MS = 300_000;

/** Why the core refused a session, with the line FreeSWITCH logs at CRIT. */
export interface Refusal {
  reason: 'throttle' | 'session-limit';
  log: string;
}

export class SwitchCapacity {
  maxSessions: number;
  sessionsPerSecond: number;
  readonly latency: Required<LatencyModel>;
  readonly phoneSessions: boolean;
  private readonly cpuPerSessionPct: number;
  /** What is left of this second's budget (runtime.sps); goes below 0 as refused sessions take from it. */
  private budgetLeft: number;
  private second = 0;
  /** Sessions asked for so far in the current second, and in the last full one. */
  private thisSecondCount = 0;
  private lastSecondCount = 0;
  private spsPeak = 0;
  private spsPeakFiveMin = 0;
  private sessionPeak = 0;
  private sessionPeakFiveMin = 0;
  private fiveMinWindow = 0;
  /** The CRIT lines FreeSWITCH would have logged for refused sessions (the latest 1000). */
  readonly log: string[] = [];
  /** Sessions up that have no channel of their own here: the scripted phones' legs (phoneSessions). */
  private readonly phones = new Set<string>();

  constructor(private readonly clock: SimClock, private readonly liveChannels: () => number, options: CapacityOptions = {}) {
    this.maxSessions = checkedCount('maxSessions', options.maxSessions ?? 10_000);
    this.sessionsPerSecond = checkedCount('sessionsPerSecond', options.sessionsPerSecond ?? 2000);
    this.latency = {
      baseMs: checkedNonNegative('latency.baseMs', options.latency?.baseMs ?? 0),
      perSessionMs: checkedNonNegative('latency.perSessionMs', options.latency?.perSessionMs ?? 0),
    };
    this.phoneSessions = options.phoneSessions ?? false;
    this.cpuPerSessionPct = checkedNonNegative('cpuPerSessionPct', options.cpuPerSessionPct ?? 0.05);
    this.budgetLeft = this.sessionsPerSecond;
  }

  /** Session-Count: every session up, the phones' included. */
  sessions(): number {
    return this.liveChannels() + this.phones.size;
  }

  /**
   * A session is about to be created: takes it from this second's budget, or refuses it
   * (switch_core_session_request_uuid: the budget first, then the limit).
   */
  admit(): Refusal | undefined {
    this.roll();
    const sessions = this.sessions();
    this.budgetLeft -= 1;
    this.thisSecondCount += 1;
    if (this.budgetLeft <= 0) return this.refuse('throttle', `[CRIT] switch_core_session.c:2422 Throttle Error! ${sessions}`);
    if (sessions + 1 >= this.maxSessions) return this.refuse('session-limit', `[CRIT] Over Session Limit! ${this.maxSessions}`);
    return undefined;
  }

  private refuse(reason: Refusal['reason'], log: string): Refusal {
    this.log.push(log);
    if (this.log.length > 1000) this.log.splice(0, this.log.length - 1000);
    return { reason, log };
  }

  /** A session was created: the concurrency peaks follow. */
  created(): void {
    const sessions = this.sessions();
    this.sessionPeak = Math.max(this.sessionPeak, sessions);
    this.sessionPeakFiveMin = Math.max(this.sessionPeakFiveMin, sessions);
  }

  /** The far end of leg `uuid` is a phone on this switch, whose own session lives as long as the leg. */
  phoneUp(uuid: string): void {
    this.phones.add(uuid);
    this.created();
  }

  phoneDown(uuid: string): void {
    this.phones.delete(uuid);
  }

  /** `fsctl sps [N]`: N > 0 sets the budget (from the next second), anything else reads it. */
  setSessionsPerSecond(value: number): number {
    if (Number.isInteger(value) && value > 0) this.sessionsPerSecond = value;
    return this.sessionsPerSecond;
  }

  /** `fsctl max_sessions [N]`: N > 0 sets the limit, anything else reads it. */
  setMaxSessions(value: number): number {
    if (Number.isInteger(value) && value > 0) this.maxSessions = value;
    return this.maxSessions;
  }

  /** Simulated ms an api/bgapi reply (and a BACKGROUND_JOB) waits: baseMs + perSessionMs × sessions. */
  replyDelayMs(): number {
    return this.latency.baseMs + this.latency.perSessionMs * this.sessions();
  }

  /**
   * Idle-CPU, %: a simple model, not a measurement: 99 on an empty switch, `cpuPerSessionPct`
   * less per session up, never below 0.
   */
  idleCpu(): number {
    return Math.max(0, IDLE_CPU_EMPTY - this.cpuPerSessionPct * this.sessions());
  }

  /** The load counters, as HEARTBEAT and `status` print them. */
  counters(): {
    sessions: number; budgetLeft: number; lastSecond: number; spsPeak: number; spsPeakFiveMin: number;
    sessionPeak: number; sessionPeakFiveMin: number; idleCpu: number;
  } {
    this.roll();
    this.created();
    return {
      sessions: this.sessions(),
      // Printed unsigned by the switch; a refused burst leaves it at 0 here (not seen below 0).
      budgetLeft: Math.max(0, this.budgetLeft),
      lastSecond: this.lastSecondCount,
      spsPeak: this.spsPeak,
      spsPeakFiveMin: this.spsPeakFiveMin,
      sessionPeak: this.sessionPeak,
      sessionPeakFiveMin: this.sessionPeakFiveMin,
      idleCpu: this.idleCpu(),
    };
  }

  /** FreeSWITCH resets the budget every second and the five-minute peaks every five minutes. */
  private roll(): void {
    const now = this.clock.simulatedElapsed();
    const second = Math.floor(now / SECOND_MS);
    if (second !== this.second) {
      this.lastSecondCount = second === this.second + 1 ? this.thisSecondCount : 0;
      this.spsPeak = Math.max(this.spsPeak, this.lastSecondCount);
      this.spsPeakFiveMin = Math.max(this.spsPeakFiveMin, this.lastSecondCount);
      this.thisSecondCount = 0;
      this.budgetLeft = this.sessionsPerSecond;
      this.second = second;
    }
    const window = Math.floor(now / FIVE_MINUTES_MS);
    if (window !== this.fiveMinWindow) {
      this.fiveMinWindow = window;
      this.spsPeakFiveMin = this.lastSecondCount;
      this.sessionPeakFiveMin = this.sessions();
    }
  }
}

function checkedCount(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) throw new RangeError(`EslSimulatorOptions.${name} must be a positive integer, got ${value}`);
  return value;
}

function checkedNonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`EslSimulatorOptions.${name} must be 0 or more, got ${value}`);
  return value;
}
