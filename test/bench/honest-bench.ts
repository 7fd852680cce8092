/**
 * `npm run bench` (no BENCH_ESL_URL): Crossline as it is deployed — an API process and one or two
 * worker processes (`npm run api` / `npm run worker`), a redis-server of the bench's own, and the
 * ESL simulator in a process of its own (simulator-process.ts) — driven over HTTP from this process.
 * Callees and callers answer at once; the caller hangs up as soon as the bridge is reported, so a
 * callback is all signalling and no talk time. CPU is read per process from /proc/<pid>/stat, Redis's
 * from INFO cpu; the simulator's and the bench's own are shown apart and never counted as Crossline's.
 *
 * Phases (BENCH_PHASES, default all, in this order):
 *   throughput  closed loop, BENCH_INFLIGHT (100) callbacks in flight, BENCH_CALLBACKS (1000), 1 worker
 *   latency     open loop at BENCH_LATENCY_RATE (100) requests/s for BENCH_LATENCY_SECONDS (10):
 *               POST sent → first originate received by the simulator, p50/p99
 *   scaling     a second worker process joins; the throughput run again
 *   hold        fresh processes, 1 worker at WORKER_CONCURRENCY=BENCH_HOLD_CONCURRENCY (1000, the
 *               most the config allows): BENCH_HOLD (1000) bridged calls held up at once; RSS and
 *               heap after a full GC of each process, per live call
 * Other knobs: BENCH_WARMUP (100, unmeasured), BENCH_WORKER_CONCURRENCY (200), BENCH_LOG_LEVEL
 * (info, as deployed; logs are read and dropped by the bench), BENCH_CPU_PROF=<dir> (V8 CPU profiles
 * of the API and worker over the 1-worker throughput window, or the latency window when the
 * throughput phase is left out; summarise with cpuprofile-summary.ts —
 * profiling inflates the CPU figures, so take figures from a run without it).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { apiKeyOwner } from '../../src/api/index.js';
import { CallbackRepository } from '../../src/store/index.js';
import { machineBusySeconds, machineLine, ownCpuSeconds, percentile, procCpuSeconds, procMemoryMb, sleep } from './measure.js';
import { parseEslUrl } from '../../src/telephony/index.js';
import { receivedPerCallback, startEslTally, tallyPerCallback, type EslTally } from './esl-tally.js';
import { BenchRedis, CrosslineProcess, SimulatorProcess } from './processes.js';

const num = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number`);
  return value;
};
const CALLBACKS = num('BENCH_CALLBACKS', 1000);
const INFLIGHT = num('BENCH_INFLIGHT', 100);
const WARMUP = num('BENCH_WARMUP', 100);
const WORKER_CONCURRENCY = num('BENCH_WORKER_CONCURRENCY', 200);
const LATENCY_RATE = num('BENCH_LATENCY_RATE', 100);
const LATENCY_SECONDS = num('BENCH_LATENCY_SECONDS', 10);
const HOLD = num('BENCH_HOLD', 500);
const HOLD_CONCURRENCY = num('BENCH_HOLD_CONCURRENCY', 1000);
const HOLD_RATE = num('BENCH_HOLD_RATE', 50);
const HOLD_TIMEOUT_MS = num('BENCH_HOLD_TIMEOUT_S', 180) * 1000;
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const CPU_PROF = process.env.BENCH_CPU_PROF;
const ESL_TALLY = process.env.BENCH_ESL_TALLY === '1';
const PHASES = new Set((process.env.BENCH_PHASES ?? 'throughput,latency,scaling,hold').split(',').map((p) => p.trim()));
const API_KEY = 'bench-key-0123456789';
/** A run that has not ended this long after its last POST is reported as timed out. */
const DRAIN_MS = 120_000;

const epochNow = (): number => performance.timeOrigin + performance.now();

/** The processes of one set-up, and the bench's view of the store. */
class Rig {
  readonly workers: CrosslineProcess[] = [];
  readonly repository: CallbackRepository;
  private readonly owner = apiKeyOwner(API_KEY);
  private readonly env: Record<string, string>;
  private posted = 0;

  private constructor(
    readonly redis: BenchRedis,
    readonly sim: SimulatorProcess,
    readonly api: CrosslineProcess,
    prefix: string,
    env: Record<string, string>,
    private readonly inspect: boolean,
    readonly tally: EslTally | undefined,
  ) {
    this.repository = new CallbackRepository(redis.client, prefix);
    this.env = env;
  }

  static async start(workers: number, workerConcurrency: number, inspect: boolean): Promise<Rig> {
    const redis = await BenchRedis.start();
    let sim: SimulatorProcess | undefined;
    let api: CrosslineProcess | undefined;
    let tally: EslTally | undefined;
    try {
      sim = await SimulatorProcess.start();
      // BENCH_ESL_TALLY=1: the workers reach the simulator through a counting proxy in this process.
      tally = ESL_TALLY ? await startEslTally(parseEslUrl(sim.url)) : undefined;
      const prefix = `bench${Date.now().toString(36)}`;
      const env: Record<string, string> = {
        REDIS_URL: redis.url,
        ESL_URL: tally?.url ?? sim.url,
        KEY_PREFIX: prefix,
        API_KEYS: API_KEY,
        PORT: '0',
        HOST: '127.0.0.1',
        WORKER_CONCURRENCY: String(workerConcurrency),
        RATE_LIMIT_PER_MINUTE: '1000000',
        // The same 100 test numbers are dialled over and over: the per-destination and per-key
        // limits stay on (their cost is part of intake) but out of reach.
        DESTINATION_CALLBACKS_PER_HOUR: '1000000',
        DESTINATION_MAX_ACTIVE: '100000',
        KEY_CALLBACKS_PER_DAY: '100000000',
        // The switch capacity guard stays on, configured above the simulator's own limits (10,000
        // sessions, 2,000/s), so the limits it learns from the switch's HEARTBEAT decide.
        SWITCH_MAX_SPS: '100000',
        SWITCH_MAX_SESSIONS: '100000',
        WEBHOOK_SECRET: 'bench-webhook-secret-0123456789',
        LOG_LEVEL,
      };
      api = await CrosslineProcess.start('api', env, { inspect });
      const rig = new Rig(redis, sim, api, prefix, env, inspect, tally);
      for (let i = 0; i < workers; i++) await rig.addWorker();
      return rig;
    } catch (err) {
      await api?.stop();
      await tally?.close();
      await sim?.stop();
      await redis.stop();
      throw err;
    }
  }

  async addWorker(): Promise<void> {
    this.workers.push(await CrosslineProcess.start('worker', this.env, { inspect: this.inspect }));
  }

  async stop(): Promise<void> {
    for (const w of this.workers) await w.stop();
    await this.api.stop();
    await this.tally?.close();
    await this.sim.stop();
    await this.redis.stop();
  }

  checkAlive(): void {
    for (const p of [this.sim, this.api, ...this.workers]) if (!p.alive) throw new Error(`process ${p.pid} died during the run`);
  }

  async ended(): Promise<number> {
    const [completed, failed] = await Promise.all([this.repository.countByStatus(this.owner, 'completed'), this.repository.countByStatus(this.owner, 'failed')]);
    return completed + failed;
  }

  /** "12 UNKNOWN: <detail>, …" over the failed callbacks (the latest 200). */
  async failureCauses(): Promise<string> {
    const page = await this.repository.list(this.owner, { status: 'failed', limit: 200 });
    const causes = new Map<string, number>();
    for (const cb of page.items) {
      const last = cb.timeline[cb.timeline.length - 1];
      const key = `${cb.failureCause ?? '?'}${last?.detail ? `: ${last.detail.slice(0, 80)}` : ''}`;
      causes.set(key, (causes.get(key) ?? 0) + 1);
    }
    return [...causes].map(([k, n]) => `${n}× ${k}`).join('; ');
  }

  async failed(): Promise<number> {
    return this.repository.countByStatus(this.owner, 'failed');
  }

  /** POSTs one callback; resolves with its id and when the request was sent (epoch ms). */
  async post(): Promise<{ id: string; at: number }> {
    const i = this.posted++;
    const callee = `+120255501${String(i % 50).padStart(2, '0')}`;
    const caller = `+120255501${String(50 + (i % 50)).padStart(2, '0')}`;
    const at = epochNow();
    const res = await fetch(`${this.api.apiUrl}/v1/callbacks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ caller: { number: caller }, callee: { number: callee }, retry: { maxAttempts: 1, delaySeconds: 0 } }),
    });
    const body = (await res.json()) as { id?: string };
    if (res.status !== 202 || !body.id) throw new Error(`POST answered ${res.status}: ${JSON.stringify(body)}`);
    return { id: body.id, at };
  }

  /** Waits until `target` callbacks (since the rig started) have ended. */
  async waitEnded(target: number, timeoutMs = DRAIN_MS): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.ended()) < target) {
      this.checkAlive();
      if (Date.now() > deadline) return false;
      await sleep(25);
    }
    return true;
  }

  /**
   * Closed loop: keeps `inflight` callbacks between POST and their end, `count` in all. Ends are
   * polled (two ZCARDs every 25 ms, on the bench's Redis connection).
   */
  async closedLoop(count: number, inflight: number): Promise<boolean> {
    const base = await this.ended();
    let started = 0;
    let ended = base;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        ended = await this.ended();
        await sleep(25);
      }
    })();
    const client = async (): Promise<void> => {
      while (started < count) {
        if (started - (ended - base) >= inflight) {
          await sleep(5);
          continue;
        }
        started++;
        await this.post();
      }
    };
    try {
      // 16 HTTP clients are enough to keep the in-flight window full.
      await Promise.all(Array.from({ length: Math.min(16, inflight) }, client));
      return await this.waitEnded(base + count);
    } finally {
      polling = false;
      await poller;
    }
  }
}

interface Snapshot {
  at: number;
  /** CPU by thread name, per Crossline process (API first, then the workers). */
  threads: Array<Map<string, number>>;
  api: number;
  workers: number[];
  sim: number;
  redis: number;
  bench: number;
  machine: number;
}

async function snapshot(rig: Rig): Promise<Snapshot> {
  return {
    at: performance.now(),
    threads: [rig.api, ...rig.workers].map((p) => p.threadCpuSeconds()),
    api: rig.api.cpuSeconds(),
    workers: rig.workers.map((w) => w.cpuSeconds()),
    sim: procCpuSeconds(rig.sim.pid),
    redis: await rig.redis.cpuSeconds(),
    bench: ownCpuSeconds(),
    machine: machineBusySeconds(),
  };
}

interface Window {
  seconds: number;
  /** "API: main (JS) 1.0, V8Worker 0.3 …" CPU ms per callback by thread. */
  threads: string;
  count: number;
  /** CPU ms per callback. */
  api: number;
  workers: number[];
  sim: number;
  redis: number;
  bench: number;
  /** Busy CPU outside every process above, as a share of all cores (other engineers' tests). */
  otherShare: number;
}

function window(a: Snapshot, b: Snapshot, count: number): Window {
  const per = (x: number, y: number): number => ((y - x) * 1000) / count;
  const seconds = (b.at - a.at) / 1000;
  const ours = b.api - a.api + b.workers.reduce((s, w, i) => s + w - (a.workers[i] ?? 0), 0) + (b.sim - a.sim) + (b.redis - a.redis) + (b.bench - a.bench);
  const kinds = ['API', ...b.workers.map((_, i) => `worker ${i + 1}`)];
  const threads = b.threads
    .map((after, i) => {
      const before = a.threads[i] ?? new Map<string, number>();
      const parts = [...after]
        .map(([name, sec]) => [name, per(before.get(name) ?? 0, sec)] as const)
        .filter(([, v]) => v >= 0.05)
        .sort((x, y) => y[1] - x[1])
        .map(([name, v]) => `${name} ${v.toFixed(1)}`);
      return `${kinds[i]}: ${parts.join(', ')}`;
    })
    .join('; ');
  return {
    seconds,
    threads,
    count,
    api: per(a.api, b.api),
    workers: b.workers.map((w, i) => per(a.workers[i] ?? 0, w)),
    sim: per(a.sim, b.sim),
    redis: per(a.redis, b.redis),
    bench: per(a.bench, b.bench),
    otherShare: Math.max(0, (b.machine - a.machine - ours) / (seconds * os.availableParallelism())),
  };
}

const ms = (x: number): string => `${x.toFixed(1)} ms`;
const out = (line = ''): void => void process.stdout.write(`${line}\n`);

function printWindow(title: string, w: Window, failed: number): void {
  const workers = w.workers.reduce((s, x) => s + x, 0);
  out(`${title}`);
  out(`  completed/s                 ${(w.count / w.seconds).toFixed(1)}  (${w.count} callbacks in ${w.seconds.toFixed(1)} s, ${failed} failed)`);
  out(`  CPU per callback, API       ${ms(w.api)}`);
  out(`  CPU per callback, workers   ${ms(workers)}${w.workers.length > 1 ? `  (${w.workers.map(ms).join(' + ')})` : ''}`);
  out(`  CPU per callback, Redis     ${ms(w.redis)}`);
  out(`  Crossline total             ${ms(w.api + workers + w.redis)}  (API + workers + Redis)`);
  out(`  not Crossline               simulator ${ms(w.sim)}, bench client ${ms(w.bench)}`);
  out(`  by thread, ms per callback  ${w.threads}`);
  out(`  other load on the machine   ${(w.otherShare * 100).toFixed(0)}% of ${os.availableParallelism()} cores`);
}

/** Runs `run` under the V8 CPU profiler of the API and worker processes when BENCH_CPU_PROF is set. */
async function profiled<T>(rig: Rig, run: () => Promise<T>): Promise<T> {
  if (!CPU_PROF) return run();
  const targets = [rig.api, ...rig.workers];
  for (const p of targets) await p.startProfile();
  try {
    return await run();
  } finally {
    mkdirSync(CPU_PROF, { recursive: true });
    for (const p of targets) {
      const file = path.join(CPU_PROF, `${p.kind}-${p.pid}.cpuprofile`);
      writeFileSync(file, JSON.stringify(await p.stopProfile()));
      out(`  profile written: ${file}`);
    }
  }
}

/** CPU the processes use with no callback at all (timers, BullMQ's blocking fetch, status posts), per second. */
async function idle(rig: Rig, seconds = 5): Promise<void> {
  const a = await snapshot(rig);
  await sleep(seconds * 1000);
  const b = await snapshot(rig);
  const w = window(a, b, 1);
  const perSecond = (x: number): string => `${(x / w.seconds).toFixed(1)} ms/s`;
  out(`Idle, after the warm-up (${seconds} s, no callbacks): API ${perSecond(w.api)}, worker ${perSecond(w.workers.reduce((s, x) => s + x, 0))}, Redis ${perSecond(w.redis)}`);
}

async function throughput(rig: Rig, title: string, profile: boolean): Promise<boolean> {
  const failedBefore = await rig.failed();
  const commands = rig.tally?.counts();
  const received = rig.tally?.received();
  const redisCalls = await rig.redis.commandCalls();
  const logs = [rig.api, ...rig.workers].map((p) => ({ ...p.log }));
  const a = await snapshot(rig);
  const loop = (): Promise<boolean> => rig.closedLoop(CALLBACKS, INFLIGHT);
  const ok = await (profile ? profiled(rig, loop) : loop());
  const b = await snapshot(rig);
  printWindow(title, window(a, b, CALLBACKS), (await rig.failed()) - failedBefore);
  const redisAfter = await rig.redis.commandCalls();
  const perCommand = [...redisAfter].map(([c, n]) => [c, (n - (redisCalls.get(c) ?? 0)) / CALLBACKS] as const).filter(([, n]) => n > 0);
  perCommand.sort((x, y) => y[1] - x[1]);
  const totalCalls = perCommand.reduce((s, [, n]) => s + n, 0);
  out(`  Redis commands per callback ${totalCalls.toFixed(1)} (incl. the bench's polling): ${perCommand.slice(0, 8).map(([c, n]) => `${n.toFixed(1)} ${c}`).join(', ')}`);
  const logLine = [rig.api, ...rig.workers].map((p, i) => {
    const before = logs[i] ?? { lines: 0, bytes: 0 };
    return `${p.kind} ${((p.log.lines - before.lines) / CALLBACKS).toFixed(1)} lines (${((p.log.bytes - before.bytes) / CALLBACKS / 1024).toFixed(1)} KB)`;
  });
  out(`  log output per callback     ${logLine.join(', ')}`);
  if (rig.tally && commands && received) {
    const now = rig.tally.received();
    const bytes = (m: Map<string, { bytes: number }>, events: boolean): number => [...m].filter(([k]) => k.startsWith('event ') === events).reduce((s, [, v]) => s + v.bytes, 0);
    out(`  ESL commands per callback  ${tallyPerCallback(commands, rig.tally.counts(), CALLBACKS)}`);
    out(`  ESL received per callback  events ${((bytes(now, true) - bytes(received, true)) / 1024 / CALLBACKS).toFixed(1)} KB, replies ${((bytes(now, false) - bytes(received, false)) / 1024 / CALLBACKS).toFixed(1)} KB: ${receivedPerCallback(received, now, CALLBACKS)}`);
  }
  if (!ok) out('  TIMED OUT: not every callback ended');
  const { doubleDestroys } = await rig.sim.ask({ type: 'bridged' });
  if (doubleDestroys > 0) out(`  simulator double-destroy races so far (see simulator-process.ts): ${doubleDestroys}`);
  return ok;
}

async function latency(rig: Rig): Promise<boolean> {
  const count = Math.round(LATENCY_RATE * LATENCY_SECONDS);
  const failedBefore = await rig.failed();
  const base = await rig.ended();
  const since = epochNow();
  const a = await snapshot(rig);
  const run = async (): Promise<[Array<{ id: string; at: number }>, boolean]> => {
    const posts: Array<Promise<{ id: string; at: number }>> = [];
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = started + (i * 1000) / LATENCY_RATE - performance.now();
      if (wait > 0) await sleep(wait);
      posts.push(rig.post());
    }
    const sent = await Promise.all(posts);
    return [sent, await rig.waitEnded(base + count)];
  };
  // Profiled only when the throughput phase (which is) does not run.
  const [sent, ok] = await (!PHASES.has('throughput') ? profiled(rig, run) : run());
  const b = await snapshot(rig);
  const { firsts } = await rig.sim.ask({ type: 'originates', sinceEpochMs: since });
  const originated = new Map(firsts);
  const samples = sent.flatMap(({ id, at }) => {
    const o = originated.get(id);
    return o === undefined ? [] : [o - at];
  });
  samples.sort((x, y) => x - y);
  out(`Intake → first originate, open loop at ${LATENCY_RATE} requests/s for ${LATENCY_SECONDS} s (1 worker)`);
  out(`  p50 ${percentile(samples, 50).toFixed(1)} ms, p99 ${percentile(samples, 99).toFixed(1)} ms, max ${(samples[samples.length - 1] ?? NaN).toFixed(0)} ms  (${samples.length} of ${count} samples)`);
  const w = window(a, b, count);
  out(`  all ${count} ended after ${w.seconds.toFixed(1)} s (${(count / w.seconds).toFixed(1)}/s, ${(await rig.failed()) - failedBefore} failed); CPU per callback API ${ms(w.api)}, workers ${ms(w.workers.reduce((s, x) => s + x, 0))}, Redis ${ms(w.redis)}; other load ${(w.otherShare * 100).toFixed(0)}%`);
  out(`  by thread, ms per callback  ${w.threads}`);
  // From the stored timelines: the caller's answer as recorded to the bridge as recorded. In between:
  // one Redis save and one uuid_bridge round trip.
  const records = await Promise.all(sent.map(({ id }) => rig.repository.get(id)));
  const bridgeDelays = records.flatMap((cb) => {
    const answered = cb?.timeline.find((e) => e.event === 'leg-answered' && e.role === 'caller')?.at;
    const bridged = cb?.timeline.find((e) => e.event === 'bridged')?.at;
    return answered && bridged ? [Date.parse(bridged) - Date.parse(answered)] : [];
  });
  bridgeDelays.sort((x, y) => x - y);
  const durations = records.flatMap((cb, i) => {
    const done = cb?.timeline.find((e) => e.event === 'completed')?.at;
    const at = sent[i]?.at;
    return done && at !== undefined ? [Date.parse(done) - at] : [];
  });
  durations.sort((x, y) => x - y);
  out(`  POST → completed           p50 ${percentile(durations, 50).toFixed(0)} ms, p99 ${percentile(durations, 99).toFixed(0)} ms`);
  out(`  caller answered → bridged  p50 ${percentile(bridgeDelays, 50).toFixed(0)} ms, p99 ${percentile(bridgeDelays, 99).toFixed(0)} ms (stored timelines, ms resolution)`);
  if (!ok) out('  TIMED OUT: not every callback ended');
  return ok;
}

interface Memory {
  rss: { api: number; worker: number; sim: number };
  heap: { api: number; worker: number };
  redisMb: number;
}

async function memory(rig: Rig): Promise<Memory> {
  const worker = rig.workers[0];
  if (!worker) throw new Error('no worker');
  return {
    rss: { api: rig.api.rssMb(), worker: worker.rssMb(), sim: procMemoryMb(rig.sim.pid, 'VmRSS') },
    // Two full GCs each: the first may leave garbage that only a second one frees (weak maps, finalizers).
    heap: { api: (await rig.api.heapAfterGcMb(), await rig.api.heapAfterGcMb()), worker: (await worker.heapAfterGcMb(), await worker.heapAfterGcMb()) },
    redisMb: await rig.redis.usedMemoryMb(),
  };
}

async function hold(): Promise<boolean> {
  const rig = await Rig.start(1, HOLD_CONCURRENCY, true);
  try {
    await rig.closedLoop(Math.min(WARMUP, 100), Math.min(INFLIGHT, 50));
    const before = await memory(rig);
    await rig.sim.ask({ type: 'mode', hold: true });
    const base = await rig.ended();
    const a = await snapshot(rig);
    const started = performance.now();
    let live = 0;
    let nextReport = started + 10_000;
    const progress: string[] = [];
    let posted = 0;
    // Posts up to `target` at HOLD_RATE and waits until that many are bridged (or time runs out).
    const rampTo = async (target: number): Promise<void> => {
      const from = performance.now();
      const first = posted;
      const posts: Array<Promise<unknown>> = [];
      for (; posted < target; posted++) {
        const wait = from + ((posted - first) * 1000) / HOLD_RATE - performance.now();
        if (wait > 0) await sleep(wait);
        posts.push(rig.post());
      }
      await Promise.all(posts);
      while (live < target && performance.now() - started < HOLD_TIMEOUT_MS) {
        await sleep(250);
        live = (await rig.sim.ask({ type: 'bridged' })).live;
        if (performance.now() > nextReport) {
          progress.push(`${((performance.now() - started) / 1000).toFixed(0)} s: ${live}`);
          while (nextReport < performance.now()) nextReport += 10_000;
        }
      }
    };
    // Half first: the heap at half and at all of them differs only by the live calls (no call has
    // ended in between), which the comparison with before the ramp cannot promise.
    const halfTarget = Math.floor(HOLD / 2);
    await rampTo(halfTarget);
    const halfLive = live;
    const half = await memory(rig);
    await rampTo(HOLD);
    const rampSeconds = (performance.now() - started) / 1000;
    const b = await snapshot(rig);
    const held = await memory(rig);
    const failed = (await rig.ended()) - base;
    const failures = await rig.failureCauses();
    // BullMQ's active lists: each live call should hold one job (one WORKER_CONCURRENCY slot).
    const activeKeys = (await rig.redis.client.keys('*:active')).filter((k) => !k.includes('webhook'));
    const activeJobs = (await Promise.all(activeKeys.map((k) => rig.redis.client.llen(k)))).reduce((x, y) => x + y, 0);
    const per = (x: number, y: number): string => (live > 0 ? `${(((y - x) * 1024) / live).toFixed(1)} KB` : 'n/a');
    out(`Live bridged calls held at once (1 worker, WORKER_CONCURRENCY=${HOLD_CONCURRENCY}; posted ${HOLD} at ${HOLD_RATE}/s)`);
    out(`  bridged and up             ${live} of ${HOLD} after ${rampSeconds.toFixed(1)} s${live < HOLD ? ' (timed out)' : ''}; ${failed} ended early${failures ? ` (${failures})` : ''}${progress.length ? `; bridged by then: ${progress.join(', ')}` : ''}`);
    out(`  BullMQ active jobs         ${activeJobs} (${activeKeys.join(', ')})`);
    out(`  worker RSS                 ${before.rss.worker.toFixed(0)} → ${held.rss.worker.toFixed(0)} MB, ${per(before.rss.worker, held.rss.worker)} per live call`);
    out(`  worker heap after full GC  ${before.heap.worker.toFixed(1)} → ${held.heap.worker.toFixed(1)} MB, ${per(before.heap.worker, held.heap.worker)} per live call`);
    if (live > halfLive) {
      const perCall = (x: number, y: number): string => `${(((y - x) * 1024) / (live - halfLive)).toFixed(1)} KB`;
      out(`  from ${halfLive} to ${live} live    worker heap after GC ${half.heap.worker.toFixed(1)} → ${held.heap.worker.toFixed(1)} MB (${perCall(half.heap.worker, held.heap.worker)} per added call), RSS ${half.rss.worker.toFixed(0)} → ${held.rss.worker.toFixed(0)} MB (${perCall(half.rss.worker, held.rss.worker)}); Redis ${perCall(half.redisMb, held.redisMb)}`);
    }
    out(`  API RSS / heap after GC    ${before.rss.api.toFixed(0)} → ${held.rss.api.toFixed(0)} MB / ${before.heap.api.toFixed(1)} → ${held.heap.api.toFixed(1)} MB`);
    out(`  Redis used_memory          ${before.redisMb.toFixed(1)} → ${held.redisMb.toFixed(1)} MB, ${per(before.redisMb, held.redisMb)} per live call`);
    out(`  simulator RSS (not ours)   ${before.rss.sim.toFixed(0)} → ${held.rss.sim.toFixed(0)} MB`);
    const w = window(a, b, Math.max(live, 1));
    out(`  CPU per call to get it bridged: worker ${ms(w.workers[0] ?? NaN)}, API ${ms(w.api)}, Redis ${ms(w.redis)}, simulator ${ms(w.sim)}`);
    await rig.sim.ask({ type: 'hangup-all' });
    await rig.sim.ask({ type: 'mode', hold: false });
    const drained = await rig.waitEnded(base + HOLD, 60_000);
    await sleep(2_000);
    const after = await memory(rig);
    out(`  after the callers hung up: ${(await rig.ended()) - base} of ${HOLD} ended${drained ? '' : ' (timed out)'}`);
    // The same process before and after the live calls: (held − after) / live is their own footprint,
    // without the caches and pools the ramp itself leaves behind.
    out(`  once they ended            worker RSS ${after.rss.worker.toFixed(0)} MB, heap after GC ${after.heap.worker.toFixed(1)} MB → ${per(after.heap.worker, held.heap.worker)} heap per live call; Redis ${after.redisMb.toFixed(1)} MB → ${per(after.redisMb, held.redisMb)} per live call`);
    return live >= HOLD && drained;
  } finally {
    await rig.stop();
  }
}

/** The commit measured, and whether src/ or workers/ had uncommitted changes (others' work in progress). */
function codeVersion(): string {
  // A tree exported with `git archive` has no .git: say which commit it was.
  if (process.env.BENCH_COMMIT) return `commit ${process.env.BENCH_COMMIT} (exported tree)`;
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'src', 'workers') !== '';
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes in src/ or workers/' : ''}`;
  } catch {
    return 'commit unknown';
  }
}

/** Runs the phases and prints their figures; true when every callback ended as planned. */
export async function runHonestBench(): Promise<boolean> {
  out(`${new Date().toISOString()}  ${machineLine()}  ${codeVersion()}`);
  out(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; Crossline LOG_LEVEL=${LOG_LEVEL}`);
  let ok = true;
  if (PHASES.has('throughput') || PHASES.has('latency') || PHASES.has('scaling')) {
    const rig = await Rig.start(1, WORKER_CONCURRENCY, CPU_PROF !== undefined);
    try {
      out(`processes: API ${rig.api.pid}, worker ${rig.workers[0]?.pid}, simulator ${rig.sim.pid}, redis-server ${rig.redis.url}; WORKER_CONCURRENCY=${WORKER_CONCURRENCY}`);
      await rig.closedLoop(WARMUP, INFLIGHT);
      await idle(rig);
      if (PHASES.has('throughput')) ok = (await throughput(rig, `Max throughput, 1 worker (closed loop, ${INFLIGHT} in flight)`, true)) && ok;
      if (PHASES.has('latency')) ok = (await latency(rig)) && ok;
      if (PHASES.has('scaling')) {
        await rig.addWorker();
        await rig.closedLoop(WARMUP, INFLIGHT);
        ok = (await throughput(rig, `Max throughput, 2 workers (closed loop, ${INFLIGHT} in flight)`, false)) && ok;
      }
    } finally {
      await rig.stop();
    }
  }
  if (PHASES.has('hold')) ok = (await hold()) && ok;
  out(`load average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  return ok;
}
