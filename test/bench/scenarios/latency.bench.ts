/**
 * Intake → originate latency at a fixed rate: open loop at BENCH_LATENCY_RATE (100) requests/s for
 * BENCH_LATENCY_SECONDS (10), 1 worker, from the POST being sent to the first `originate` the
 * simulator receives (both on the epoch clock, sub-millisecond); p50/p99, POST → completed, and
 * caller answered → bridged from the stored timelines.
 */
import { performance } from 'node:perf_hooks';
import { percentile, sleep } from '../measure.js';
import { cpuWindow, epochNow, ms, profiled, Rig, snapshot } from '../rig.js';
import { knob, type BenchContext, type BenchScenario } from '../scenario.js';

export const scenario: BenchScenario = {
  name: 'latency',
  title: 'intake → first originate p50/p99 at a fixed 100 requests/s',
  order: 20,
  async run(ctx) {
    return Rig.with({ workers: 1, workerConcurrency: knob('BENCH_WORKER_CONCURRENCY', 200), inspect: ctx.profileDir !== undefined }, async (rig) => {
      ctx.out(rig.describe());
      await rig.closedLoop(knob('BENCH_WARMUP', 100), knob('BENCH_INFLIGHT', 100));
      return latency(ctx, rig, knob('BENCH_LATENCY_RATE', 100), knob('BENCH_LATENCY_SECONDS', 10));
    });
  },
};

async function latency(ctx: BenchContext, rig: Rig, LATENCY_RATE: number, LATENCY_SECONDS: number): Promise<{ ok: boolean; summary: string[] }> {
  const out = ctx.out;
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
  const [sent, ok] = await profiled(ctx, rig, run);
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
  const w = cpuWindow(a, b, count);
  const failed = (await rig.failed()) - failedBefore;
  out(`  all ${count} ended after ${w.seconds.toFixed(1)} s (${(count / w.seconds).toFixed(1)}/s, ${failed} failed); CPU per callback API ${ms(w.api)}, workers ${ms(w.workers.reduce((s, x) => s + x, 0))}, Redis ${ms(w.redis)}; other load ${(w.otherShare * 100).toFixed(0)}%`);
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
  return {
    ok: ok && failed === 0,
    summary: [
      `intake → first originate at ${LATENCY_RATE} requests/s: p50 ${percentile(samples, 50).toFixed(1)} ms, p99 ${percentile(samples, 99).toFixed(1)} ms (${samples.length} of ${count}; kept up with ${(count / w.seconds).toFixed(1)}/s, ${failed} failed)`,
    ],
  };
}

