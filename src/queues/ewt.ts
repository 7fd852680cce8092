/**
 * Crossline's expected wait time (EWT) for a caller who would join a queue now, computed from what
 * Crossline itself observed of that queue, not from what the queue claims.
 *
 * The model. Agents free now take the first callers at once. Every caller further back waits for
 * agents to come free; with `N` agents staffed (available or busy, not on break) and an effective
 * handle time `H` (talk time observed between bridge-agent-start and bridge-agent-end, plus the
 * agents' wrap-up time), agents come free at a rate of N / H. A caller at position `p` (the callers
 * waiting, plus one) with `A` agents available therefore waits about
 *
 *     model = max(0, p − A) × H / N
 *
 * Calibration. The model assumes a busy agent has a whole handle time left; in a real queue some are
 * nearly done, handle times vary, callers abandon and agents pause. So Crossline also records, for
 * each caller it saw join, the model's figure at join time and the wait the caller then really had
 * (member-queue-start → bridge-agent-start). The ratio of the recent actual waits to the recent
 * modelled ones (sums over the latest samples, clamped to 0.25–4) scales the model:
 *
 *     expected = model × Σ actual / Σ model
 *
 * Until three such samples exist the ratio is 1, and until a handle time has been observed H is the
 * configured default. No agent staffed: no estimate (the wait is unbounded).
 */

/** How the queue looks now. */
export interface QueueNow {
  /** Callers waiting for an agent. */
  waiting: number;
  /** Agents logged in and free to take a call now. */
  agentsAvailable: number;
  /** Agents logged in and on a call or in wrap-up. */
  agentsBusy: number;
  /** Mean wrap-up time of the staffed agents, s (mod_callcenter's wrap_up_time); 0 when unknown. */
  wrapUpSeconds: number;
}

/** One caller Crossline saw through the queue: what the model said at join, and what happened. */
export interface WaitSample {
  modelSeconds: number;
  actualSeconds: number;
}

/** What Crossline observed of a queue recently (newest first, capped). */
export interface QueueHistory {
  /** Talk times, s (bridge-agent-start → bridge-agent-end). */
  handleSeconds: readonly number[];
  /** Answered callers: modelled and actual waits. */
  waits: readonly WaitSample[];
}

export interface EwtOptions {
  /** Handle time assumed before any was observed, s. @defaultValue 300 */
  defaultHandleSeconds?: number;
}

export interface Estimate {
  /** Undefined when no agent is staffed: nobody will answer. */
  expectedWaitSeconds?: number;
  /** The model's figure before calibration. */
  modelSeconds?: number;
  /** The calibration ratio applied. */
  calibration: number;
  /** The effective handle time used (talk + wrap-up), s. */
  handleSeconds: number;
  /** How many observations the figure rests on. */
  samples: { handle: number; waits: number };
}

/** Fewer answered callers than this: the model is used as it is. */
const MIN_CALIBRATION_SAMPLES = 3;
const CALIBRATION_RANGE = [0.25, 4] as const;

/** The mean of `values` with the top and bottom 10 % left out (one odd call does not swing it). */
export function trimmedMean(values: readonly number[]): number | undefined {
  const finite = values.filter((v) => Number.isFinite(v) && v >= 0).sort((a, b) => a - b);
  if (finite.length === 0) return undefined;
  const cut = Math.floor(finite.length / 10);
  const kept = finite.slice(cut, finite.length - cut);
  return kept.reduce((sum, v) => sum + v, 0) / kept.length;
}

/** The effective handle time: observed talk time (or the default) plus wrap-up, s. */
export function effectiveHandleSeconds(now: QueueNow, history: QueueHistory, options: EwtOptions = {}): number {
  return (trimmedMean(history.handleSeconds) ?? options.defaultHandleSeconds ?? 300) + Math.max(0, now.wrapUpSeconds);
}

/** The uncalibrated model for a caller joining now; undefined with no agent staffed. */
export function modelWaitSeconds(now: QueueNow, handleSeconds: number): number | undefined {
  const staffed = now.agentsAvailable + now.agentsBusy;
  if (staffed <= 0) return undefined;
  const position = now.waiting + 1;
  return (Math.max(0, position - now.agentsAvailable) * handleSeconds) / staffed;
}

export function calibrationOf(waits: readonly WaitSample[]): number {
  const usable = waits.filter((w) => Number.isFinite(w.modelSeconds) && Number.isFinite(w.actualSeconds) && w.actualSeconds >= 0 && w.modelSeconds >= 0);
  if (usable.length < MIN_CALIBRATION_SAMPLES) return 1;
  const model = usable.reduce((s, w) => s + w.modelSeconds, 0);
  const actual = usable.reduce((s, w) => s + w.actualSeconds, 0);
  if (model <= 0) return 1;
  return Math.min(CALIBRATION_RANGE[1], Math.max(CALIBRATION_RANGE[0], actual / model));
}

/** The expected wait of a caller joining the queue now (see the file's comment for the method). */
export function estimateWait(now: QueueNow, history: QueueHistory, options: EwtOptions = {}): Estimate {
  const handleSeconds = effectiveHandleSeconds(now, history, options);
  const modelSeconds = modelWaitSeconds(now, handleSeconds);
  const calibration = calibrationOf(history.waits);
  const samples = { handle: history.handleSeconds.length, waits: history.waits.length };
  if (modelSeconds === undefined) return { calibration, handleSeconds, samples };
  return { expectedWaitSeconds: Math.round(modelSeconds * calibration), modelSeconds, calibration, handleSeconds, samples };
}
