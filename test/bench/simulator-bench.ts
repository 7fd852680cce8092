/**
 * `npm run bench` without BENCH_ESL_URL: drives N callbacks through the whole path — HTTP API → Redis → BullMQ → worker →
 * ESL client → the simulator's socket — with phones that answer at once (callees stay up; callers
 * hang up 3 s after answering, which ends the bridged call),
 * and prints CPU per callback, completed callbacks/s, intake-to-first-originate latency (p50/p99) and peak RSS.
 *
 *   BENCH_CALLBACKS=500 BENCH_CONCURRENCY=32 npm run bench
 *   BENCH_LOG_LEVEL=warn  logs the runtime's warnings; BENCH_DEBUG=1 prints the timelines of failed callbacks
 */
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { apiKeyOwner } from '../../src/api/index.js';
import { loadConfig } from '../../src/config/index.js';
import { startRuntime } from '../../src/runtime/index.js';
import { createEslSimulator } from '../../src/simulator/index.js';
import { CallbackRepository, createRedis, resolveRedis } from '../../src/store/index.js';
import os from 'node:os';
import { machineBusySeconds, machineLine, ownCpuSeconds, percentile } from './measure.js';

const N = Number(process.env.BENCH_CALLBACKS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const API_KEY = 'bench-key-0123456789';
const TIMEOUT_MS = 120_000;

/** Runs the simulator bench and prints its figures; true when every callback completed. */
export async function runSimulatorBench(): Promise<boolean> {
  const redis = await resolveRedis(process.env.REDIS_URL);
  // A failed run must not leave a spawned redis-server behind (the process exits right after).
  try {
    return await simulatorBench(redis.url);
  } finally {
    await redis.stop();
  }
}

async function simulatorBench(redisUrl: string): Promise<boolean> {
  // The simulator stamps commands in ms since its start; this maps them onto our clock.
  const simStartedAt = performance.now();
  const sim = await createEslSimulator({
    plan: [
      { from: '+12025550100', to: '+12025550149', behaviour: { kind: 'answer', afterMs: 0 } },
      { from: '+12025550150', to: '+12025550199', behaviour: { kind: 'answer', afterMs: 0, hangupAfterMs: 3000 } },
    ],
  });
  const prefix = `bench${Date.now().toString(36)}`;
  const config = loadConfig({
    REDIS_URL: redisUrl,
    ESL_URL: sim.url,
    KEY_PREFIX: prefix,
    API_KEYS: API_KEY,
    PORT: '0',
    HOST: '127.0.0.1',
    WORKER_CONCURRENCY: '200',
    RATE_LIMIT_PER_MINUTE: '1000000',
    // The bench dials 100 test numbers over and over: per-destination and per-key limits stay on
    // (their cost is part of intake) but out of reach.
    DESTINATION_CALLBACKS_PER_HOUR: '1000000',
    DESTINATION_MAX_ACTIVE: '100000',
    KEY_CALLBACKS_PER_DAY: '100000000',
    LOG_LEVEL: 'silent',
  });
  const runtime = await startRuntime(config, { api: true, workers: true }, pino({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' }));
  const store = createRedis(redisUrl);
  const repository = new CallbackRepository(store, prefix);
  const owner = apiKeyOwner(API_KEY);

  const postedAt = new Map<string, number>();
  let next = 0;
  const started = performance.now();
  // Everything runs in this process (API, workers, simulator and the HTTP client), so this CPU is all of it.
  const cpuStarted = ownCpuSeconds();
  const machineStarted = machineBusySeconds();
  const post = async (): Promise<void> => {
    while (next < N) {
      const i = next++;
      const callee = `+120255501${String(i % 50).padStart(2, '0')}`;
      const caller = `+120255501${String(50 + (i % 50)).padStart(2, '0')}`;
      const t = performance.now();
      const res = await fetch(`${runtime.apiUrl}/v1/callbacks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ caller: { number: caller }, callee: { number: callee }, retry: { maxAttempts: 1, delaySeconds: 0 } }),
      });
      const body = (await res.json()) as { id?: string };
      if (res.status !== 202 || !body.id) throw new Error(`POST answered ${res.status}: ${JSON.stringify(body)}`);
      postedAt.set(body.id, t);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, post));
  const intakeDone = performance.now();

  let completed = 0;
  let failed = 0;
  while (completed + failed < N && performance.now() - started < TIMEOUT_MS) {
    [completed, failed] = await Promise.all([repository.countByStatus(owner, 'completed'), repository.countByStatus(owner, 'failed')]);
    await new Promise((r) => setTimeout(r, 20));
  }
  const finished = performance.now();
  const ownCpu = ownCpuSeconds() - cpuStarted;
  const cpuPerCallbackMs = completed > 0 ? (ownCpu * 1000) / completed : NaN;
  // Busy CPU outside this process (Redis, and whatever else runs on the machine): the noise.
  const otherShare = (machineBusySeconds() - machineStarted - ownCpu) / (((finished - started) / 1000) * os.availableParallelism());

  const firstOriginate = new Map<string, number>();
  for (const c of sim.originates()) {
    const id = /crossline_callback_id=([0-9a-f-]{36})/.exec(c.text)?.[1];
    if (id && !firstOriginate.has(id)) firstOriginate.set(id, simStartedAt + c.at);
  }
  const latencies = [...postedAt].flatMap(([id, t]) => {
    const o = firstOriginate.get(id);
    return o === undefined ? [] : [o - t];
  });
  latencies.sort((a, b) => a - b);
  const rssMb = process.resourceUsage().maxRSS / 1024;
  // Peak RSS is mostly garbage not yet collected; the heap that survives a full GC shows what is retained.
  global.gc?.();
  const retainedMb = process.memoryUsage().heapUsed / 1048576;

  const lines = [
    machineLine(),
    `callbacks            ${N} (intake concurrency ${CONCURRENCY}, worker concurrency ${config.workerConcurrency})`,
    `completed / failed   ${completed} / ${failed}${completed + failed < N ? ` (timed out after ${TIMEOUT_MS / 1000} s)` : ''}`,
    `intake               ${(N / ((intakeDone - started) / 1000)).toFixed(0)} requests/s`,
    `CPU per callback     ${cpuPerCallbackMs.toFixed(1)} ms (API, workers, simulator and client in one process)`,
    `completed/s          ${(completed / ((finished - started) / 1000)).toFixed(1)}`,
    `intake→originate     p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms (${latencies.length} samples)`,
    `other CPU            ${(Math.max(0, otherShare) * 100).toFixed(0)}% of ${os.availableParallelism()} cores (Redis and anything else on the machine)`,
    `peak RSS             ${rssMb.toFixed(0)} MB (API, workers, simulator in one process)`,
    `heap after full GC   ${global.gc ? `${retainedMb.toFixed(0)} MB` : 'n/a (run with --expose-gc)'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  if (process.env.BENCH_DEBUG) {
    const page = await repository.list(owner, { status: 'failed', limit: 3 });
    for (const cb of page.items) process.stdout.write(JSON.stringify({ cause: cb.failureCause, timeline: cb.timeline.map((e) => [e.at.slice(17), e.event, e.role, e.hangupCause, e.detail]) }) + '\n');
  }
  await store.quit();
  await runtime.close();
  await sim.close();
  return completed === N;
}
