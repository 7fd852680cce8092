/**
 * A bench rig: Crossline as it is deployed — an API process and worker processes (`npm run api` /
 * `npm run worker`), a redis-server of the rig's own, and the ESL simulator in a process of its own
 * (simulator-process.ts) — driven over HTTP from the bench process. CPU is read per process from
 * /proc/<pid>/stat, Redis's from INFO cpu; the simulator's and the bench's own are kept apart and
 * never counted as Crossline's. Scenarios (scenarios/*.bench.ts) start one with `Rig.start`, take
 * `snapshot`s around what they measure and turn two of them into CPU per item with `cpuWindow`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { apiKeyOwner } from '../../src/api/index.js';
import { CallbackRepository } from '../../src/store/index.js';
import { parseEslUrl } from '../../src/telephony/index.js';
import { startEslTally, type EslTally } from './esl-tally.js';
import { machineBusySeconds, ownCpuSeconds, procCpuSeconds, procMemoryMb, sleep } from './measure.js';
import { BenchRedis, CrosslineProcess, SimulatorProcess, type SimulatorOptions } from './processes.js';
import type { BenchContext } from './scenario.js';

export const API_KEY = 'bench-key-0123456789';
/** A run that has not ended this long after its last POST is reported as timed out. */
const DRAIN_MS = 120_000;

export const epochNow = (): number => performance.timeOrigin + performance.now();

export interface RigOptions {
  /** Worker processes to start (default 1; `addWorker()` adds more later). */
  workers?: number;
  /** WORKER_CONCURRENCY of each worker (default 200). */
  workerConcurrency?: number;
  /** Open the V8 inspector of the Crossline processes: needed for heap-after-GC and CPU profiles. */
  inspect?: boolean;
  /** Route the workers' ESL through a counting proxy (BENCH_ESL_TALLY=1 by default). */
  eslTally?: boolean;
  /** Extra environment for the API and workers (a capability's own settings); wins over the defaults. */
  env?: Record<string, string>;
  /** The simulator's phone plan and capacity (default: callees and callers answer at once). */
  simulator?: SimulatorOptions;
  logLevel?: string;
}

/** The processes of one set-up, and the bench's view of the store. */
export class Rig {
  readonly workers: CrosslineProcess[] = [];
  readonly repository: CallbackRepository;
  readonly owner = apiKeyOwner(API_KEY);
  readonly apiKey = API_KEY;
  private posted = 0;

  private constructor(
    readonly redis: BenchRedis,
    readonly sim: SimulatorProcess,
    readonly api: CrosslineProcess,
    readonly prefix: string,
    readonly env: Record<string, string>,
    private readonly inspect: boolean,
    readonly tally: EslTally | undefined,
  ) {
    this.repository = new CallbackRepository(redis.client, prefix);
  }

  static async start(options: RigOptions = {}): Promise<Rig> {
    const inspect = options.inspect ?? false;
    const redis = await BenchRedis.start();
    let sim: SimulatorProcess | undefined;
    let api: CrosslineProcess | undefined;
    let tally: EslTally | undefined;
    try {
      sim = await SimulatorProcess.start(options.simulator);
      // BENCH_ESL_TALLY=1: the workers reach the simulator through a counting proxy in this process.
      tally = (options.eslTally ?? process.env.BENCH_ESL_TALLY === '1') ? await startEslTally(parseEslUrl(sim.url)) : undefined;
      const prefix = `bench${Date.now().toString(36)}`;
      const env: Record<string, string> = {
        REDIS_URL: redis.url,
        ESL_URL: tally?.url ?? sim.url,
        KEY_PREFIX: prefix,
        API_KEYS: API_KEY,
        PORT: '0',
        HOST: '127.0.0.1',
        WORKER_CONCURRENCY: String(options.workerConcurrency ?? 200),
        RATE_LIMIT_PER_MINUTE: '1000000',
        // The same 100 test numbers are dialled over and over: the per-destination and per-key
        // limits stay on (their cost is part of intake) but out of reach.
        DESTINATION_CALLBACKS_PER_HOUR: '1000000',
        DESTINATION_MAX_ACTIVE: '100000',
        KEY_CALLBACKS_PER_DAY: '100000000',
        // The switch capacity guard stays on, configured above the simulator's own limits, so the
        // limits it learns from the switch's HEARTBEAT decide.
        SWITCH_MAX_SPS: '100000',
        SWITCH_MAX_SESSIONS: '100000',
        WEBHOOK_SECRET: 'bench-webhook-secret-0123456789',
        LOG_LEVEL: options.logLevel ?? process.env.BENCH_LOG_LEVEL ?? 'info',
        ...options.env,
      };
      api = await CrosslineProcess.start('api', env, { inspect });
      const rig = new Rig(redis, sim, api, prefix, env, inspect, tally);
      for (let i = 0; i < (options.workers ?? 1); i++) await rig.addWorker();
      return rig;
    } catch (err) {
      await api?.stop();
      await tally?.close();
      await sim?.stop();
      await redis.stop();
      throw err;
    }
  }

  /** Starts `fn` on a fresh rig and stops the rig whatever happens. */
  static async with<T>(options: RigOptions, fn: (rig: Rig) => Promise<T>): Promise<T> {
    const rig = await Rig.start(options);
    try {
      return await fn(rig);
    } finally {
      await rig.stop();
    }
  }

  async addWorker(): Promise<void> {
    this.workers.push(await CrosslineProcess.start('worker', this.env, { inspect: this.inspect }));
  }

  /** "processes: API 123, worker 456, …" */
  describe(): string {
    return `processes: API ${this.api.pid}, worker ${this.workers.map((w) => w.pid).join(', ')}, simulator ${this.sim.pid}, redis-server ${this.redis.url}; WORKER_CONCURRENCY=${this.env.WORKER_CONCURRENCY}`;
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

  /** Calls the API with the bench's key: `rig.request('POST', '/v1/callbacks', body)`. */
  async request(method: string, pathname: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.api.apiUrl}${pathname}`, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
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

export interface Snapshot {
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

export async function snapshot(rig: Rig): Promise<Snapshot> {
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

export interface CpuWindow {
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

export function cpuWindow(a: Snapshot, b: Snapshot, count: number): CpuWindow {
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

export const ms = (x: number): string => `${x.toFixed(1)} ms`;

export function printWindow(ctx: BenchContext, title: string, w: CpuWindow, failed: number): void {
  const out = ctx.out;
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
export async function profiled<T>(ctx: BenchContext, rig: Rig, run: () => Promise<T>): Promise<T> {
  const CPU_PROF = ctx.profileDir;
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
      ctx.out(`  profile written: ${file}`);
    }
  }
}

/** CPU the processes use with no callback at all (timers, BullMQ's blocking fetch, status posts), per second. */
export async function idle(ctx: BenchContext, rig: Rig, seconds = 5): Promise<void> {
  const a = await snapshot(rig);
  await sleep(seconds * 1000);
  const b = await snapshot(rig);
  const w = cpuWindow(a, b, 1);
  const perSecond = (x: number): string => `${(x / w.seconds).toFixed(1)} ms/s`;
  ctx.out(`Idle, after the warm-up (${seconds} s, no callbacks): API ${perSecond(w.api)}, worker ${perSecond(w.workers.reduce((s, x) => s + x, 0))}, Redis ${perSecond(w.redis)}`);
}

/** RSS and heap after two full GCs of the API and the first worker, and Redis used_memory (needs `inspect`). */
export interface Memory {
  rss: { api: number; worker: number; sim: number };
  heap: { api: number; worker: number };
  redisMb: number;
}

export async function memory(rig: Rig): Promise<Memory> {
  const worker = rig.workers[0];
  if (!worker) throw new Error('no worker');
  return {
    rss: { api: rig.api.rssMb(), worker: worker.rssMb(), sim: procMemoryMb(rig.sim.pid, 'VmRSS') },
    // Two full GCs each: the first may leave garbage that only a second one frees (weak maps, finalizers).
    heap: { api: (await rig.api.heapAfterGcMb(), await rig.api.heapAfterGcMb()), worker: (await worker.heapAfterGcMb(), await worker.heapAfterGcMb()) },
    redisMb: await rig.redis.usedMemoryMb(),
  };
}

