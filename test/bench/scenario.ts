/**
 * The shape of one bench scenario. `npm run bench` (run.ts) loads every file in
 * test/bench/scenarios/ and runs the ones selected, in `order`, one after the other; each prints
 * its own lines and hands back a short summary that the runner prints again at the end, so one run
 * reads as a table of figures.
 *
 * Adding a bench line (e-mail intake, call-center burst, widget, inbound …): add ONE file
 * `test/bench/scenarios/<name>.bench.ts` that exports `scenario: BenchScenario`. Start the
 * processes with `Rig.start` (rig.ts: Redis, the simulator and the API/worker processes each in a
 * process of its own, extra env for your capability), measure with `rig.snapshot()` /
 * `cpuWindow()` (CPU per item of API, workers, Redis; the simulator's and the bench's apart),
 * print with `ctx.out`, and return `{ ok, summary }`. Nothing else to edit: the runner finds it.
 */
export interface BenchContext {
  /** Prints one line of the scenario's report. */
  out(line?: string): void;
  /** Where V8 CPU profiles go when BENCH_CPU_PROF is set (undefined otherwise). */
  readonly profileDir: string | undefined;
  /** Crossline's LOG_LEVEL for the processes the scenario starts (BENCH_LOG_LEVEL, `info` as deployed). */
  readonly logLevel: string;
}

export interface ScenarioResult {
  /** False when the scenario did not run as planned (a callback failed or did not end, a timeout). */
  ok: boolean;
  /** Headline figures, one per line, for the summary table at the end of the run. */
  summary: string[];
}

export interface BenchScenario {
  /** The name to select it with: `npm run bench -- <name> …` or BENCH_SCENARIOS=<name>,… */
  name: string;
  /** One line saying what it measures (shown by `npm run bench -- --list`). */
  title: string;
  /** Position in a full run (lower first). */
  order: number;
  /**
   * Why it cannot run here, if it cannot (e.g. it needs BENCH_ESL_URL): it is then listed as
   * skipped instead of run. Undefined = runs.
   */
  skip?(): string | undefined;
  /** Part of a plain `npm run bench` (default true); false = only when named. */
  byDefault?: boolean;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}

/** A numeric knob from the environment, with its default. */
export function knob(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
}
