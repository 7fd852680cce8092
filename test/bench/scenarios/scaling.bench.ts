/**
 * Scaling from 1 to 2 worker processes: on one rig, the throughput closed loop (BENCH_CALLBACKS,
 * BENCH_INFLIGHT) with one worker, then again once a second worker process has joined.
 */
import { throughputRun } from '../callback-runs.js';
import { ms, Rig } from '../rig.js';
import { knob, type BenchScenario } from '../scenario.js';

export const scenario: BenchScenario = {
  name: 'scaling',
  title: 'completed callbacks/s and CPU per callback with 1, then 2 worker processes',
  order: 30,
  async run(ctx) {
    const callbacks = knob('BENCH_CALLBACKS', 1000);
    const inflight = knob('BENCH_INFLIGHT', 100);
    const warmup = knob('BENCH_WARMUP', 100);
    return Rig.with({ workers: 1, workerConcurrency: knob('BENCH_WORKER_CONCURRENCY', 200) }, async (rig) => {
      ctx.out(rig.describe());
      await rig.closedLoop(warmup, inflight);
      const one = await throughputRun(ctx, rig, `Max throughput, 1 worker (closed loop, ${inflight} in flight)`, false, callbacks, inflight);
      await rig.addWorker();
      await rig.closedLoop(warmup, inflight);
      const two = await throughputRun(ctx, rig, `Max throughput, 2 workers (closed loop, ${inflight} in flight)`, false, callbacks, inflight);
      const total = (r: typeof one): number => r.api + r.workers.reduce((s, x) => s + x, 0);
      return {
        ok: one.ok && two.ok && one.failed + two.failed === 0,
        summary: [
          `1 → 2 workers: ${one.perSecond.toFixed(1)} → ${two.perSecond.toFixed(1)} callbacks/s; CPU per callback (API + workers) ${ms(total(one))} → ${ms(total(two))} (${two.workers.map(ms).join(' + ')} in the workers)`,
        ],
      };
    });
  },
};
