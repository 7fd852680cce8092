/**
 * Memory of live bridged calls: fresh processes, 1 worker at WORKER_CONCURRENCY=BENCH_HOLD_CONCURRENCY
 * (200: a bridged call's job leaves the worker, so concurrency bounds dialling only), BENCH_HOLD
 * (10,000) callbacks posted at BENCH_HOLD_RATE (100) per second whose calls stay bridged; then RSS,
 * heap after two full GCs (through the V8 inspector) and Redis used_memory, against the same
 * processes before the ramp, with half of the calls up, and after they ended; also BullMQ's active
 * jobs. BENCH_HOLD_TIMEOUT_S (600) bounds the ramp. The simulator is given room for 2 sessions a
 * call (its default max_sessions is 10,000).
 */
import { performance } from 'node:perf_hooks';
import { sleep } from '../measure.js';
import { cpuWindow, memory, ms, Rig, snapshot } from '../rig.js';
import { knob, type BenchContext, type BenchScenario, type ScenarioResult } from '../scenario.js';

const HOLD = knob('BENCH_HOLD', 10_000);
const HOLD_RATE = knob('BENCH_HOLD_RATE', 100);
const HOLD_TIMEOUT_MS = knob('BENCH_HOLD_TIMEOUT_S', 600) * 1000;
const POSTS_IN_FLIGHT = 32;

export const scenario: BenchScenario = {
  name: 'hold',
  title: 'memory of a live bridged call, BENCH_HOLD (10,000) held at once',
  order: 40,
  async run(ctx) {
    const concurrency = knob('BENCH_HOLD_CONCURRENCY', 200);
    return Rig.with(
      { workers: 1, workerConcurrency: concurrency, inspect: true, simulator: { maxSessions: 2 * HOLD + 1000 } },
      (rig) => hold(ctx, rig, concurrency),
    );
  },
};

async function hold(ctx: BenchContext, rig: Rig, HOLD_CONCURRENCY: number): Promise<ScenarioResult> {
  const out = ctx.out;
  {
    ctx.out(rig.describe());
    await rig.closedLoop(Math.min(knob('BENCH_WARMUP', 100), 100), 50);
    const before = await memory(rig);
    await rig.sim.ask({ type: 'mode', hold: true });
    const base = await rig.ended();
    const a = await snapshot(rig);
    const started = performance.now();
    let live = 0;
    let nextReport = started + 10_000;
    const progress: string[] = [];
    let posted = 0;
    const postErrors: string[] = [];
    // Posts up to `target` at HOLD_RATE and waits until that many are bridged (or time runs out).
    const rampTo = async (target: number): Promise<void> => {
      const from = performance.now();
      const first = posted;
      // At most POSTS_IN_FLIGHT requests open at once: when the API falls behind the rate (a busy
      // machine), the ramp slows down instead of piling up connections that time out.
      const inFlight = new Set<Promise<unknown>>();
      for (; posted < target && performance.now() - started < HOLD_TIMEOUT_MS; posted++) {
        const wait = from + ((posted - first) * 1000) / HOLD_RATE - performance.now();
        if (wait > 0) await sleep(wait);
        while (inFlight.size >= POSTS_IN_FLIGHT) await Promise.race(inFlight);
        const post: Promise<unknown> = rig.post().then(
          () => undefined,
          (err: unknown) => void postErrors.push(err instanceof Error ? err.message : String(err)),
        );
        inFlight.add(post);
        void post.finally(() => inFlight.delete(post));
      }
      await Promise.all(inFlight);
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
    const perAdded = (x: number, y: number): string => (live > halfLive ? `${(((y - x) * 1024) / (live - halfLive)).toFixed(1)} KB` : 'n/a');
    out(`Live bridged calls held at once (1 worker, WORKER_CONCURRENCY=${HOLD_CONCURRENCY}; posted ${HOLD} at ${HOLD_RATE}/s)`);
    out(`  bridged and up             ${live} of ${HOLD} after ${rampSeconds.toFixed(1)} s${live < HOLD ? ' (timed out)' : ''}; ${failed} ended early${failures ? ` (${failures})` : ''}${progress.length ? `; bridged by then: ${progress.join(', ')}` : ''}`);
    if (postErrors.length > 0) out(`  POSTs that failed           ${postErrors.length} (first: ${postErrors[0]})`);
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
    const w = cpuWindow(a, b, Math.max(live, 1));
    out(`  CPU per call to get it bridged: worker ${ms(w.workers[0] ?? NaN)}, API ${ms(w.api)}, Redis ${ms(w.redis)}, simulator ${ms(w.sim)}`);
    await rig.sim.ask({ type: 'hangup-all' });
    await rig.sim.ask({ type: 'mode', hold: false });
    const drained = await rig.waitEnded(base + HOLD, 120_000);
    await sleep(2_000);
    const after = await memory(rig);
    out(`  after the callers hung up: ${(await rig.ended()) - base} of ${HOLD} ended${drained ? '' : ' (timed out)'}`);
    // The same process before and after the live calls: (held − after) / live is their own footprint,
    // without the caches and pools the ramp itself leaves behind.
    out(`  once they ended            worker RSS ${after.rss.worker.toFixed(0)} MB, heap after GC ${after.heap.worker.toFixed(1)} MB → ${per(after.heap.worker, held.heap.worker)} heap per live call; Redis ${after.redisMb.toFixed(1)} MB → ${per(after.redisMb, held.redisMb)} per live call`);
    return {
      ok: live >= HOLD && drained,
      summary: [
        `${live} of ${HOLD} bridged calls held at once (${activeJobs} BullMQ active jobs): per live call, worker heap after GC ${perAdded(half.heap.worker, held.heap.worker)}, worker RSS ${perAdded(half.rss.worker, held.rss.worker)}, Redis ${perAdded(half.redisMb, held.redisMb)} (between ${halfLive} and ${live} up)`,
      ],
    };
  }
}

