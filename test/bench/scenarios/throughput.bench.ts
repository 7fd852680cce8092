/**
 * Max completed callbacks/s and CPU per callback, 1 worker: closed loop with BENCH_INFLIGHT (100)
 * callbacks in flight, BENCH_CALLBACKS (1000) measured after BENCH_WARMUP (100) unmeasured ones.
 * Callees and callers answer at once (answer delay 0), the caller hangs up as soon as the bridge is
 * reported: a callback is all signalling (2 originate, 1 uuid_bridge, 1 uuid_kill). Also the idle
 * CPU of the processes (5 s without callbacks). Under BENCH_CPU_PROF, V8 profiles of the window.
 */
import { throughputRun } from '../callback-runs.js';
import { idle, ms, Rig } from '../rig.js';
import { knob, type BenchScenario } from '../scenario.js';

export const scenario: BenchScenario = {
  name: 'throughput',
  title: 'max completed callbacks/s and CPU per callback (API, worker, Redis), 1 worker',
  order: 10,
  async run(ctx) {
    const callbacks = knob('BENCH_CALLBACKS', 1000);
    const inflight = knob('BENCH_INFLIGHT', 100);
    return Rig.with({ workers: 1, workerConcurrency: knob('BENCH_WORKER_CONCURRENCY', 200), inspect: ctx.profileDir !== undefined }, async (rig) => {
      ctx.out(rig.describe());
      await rig.closedLoop(knob('BENCH_WARMUP', 100), inflight);
      await idle(ctx, rig);
      const r = await throughputRun(ctx, rig, `Max throughput, 1 worker (closed loop, ${inflight} in flight)`, true, callbacks, inflight);
      const worker = r.workers.reduce((s, x) => s + x, 0);
      return {
        ok: r.ok && r.failed === 0,
        summary: [
          `max throughput, 1 worker: ${r.perSecond.toFixed(1)} callbacks/s (${r.failed} failed)`,
          `CPU per callback: API ${ms(r.api)} + worker ${ms(worker)} = ${ms(r.api + worker)} Crossline processes; Redis ${ms(r.redis)}`,
        ],
      };
    });
  },
};
