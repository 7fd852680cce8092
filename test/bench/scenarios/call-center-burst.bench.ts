/**
 * A burst of BENCH_CC_BURST (1,000) callbacks to one paced call center (at most
 * BENCH_CC_MAX_IN_PROGRESS (20) in progress, BENCH_CC_PER_MINUTE (600) originates a minute), all
 * POSTed at once: the time to drain against the ideal pace the pacing allows — the slower of the
 * rate limit (the last start no sooner than floor((burst − 1) / perMinute) windows after the first)
 * and the in-progress limit (burst × the mean time a callback held its slot / maxInProgress) —, the
 * ratio, and the
 * most callbacks in progress sampled (from the pacer's own count in Redis, every 20 ms). Waiting
 * callbacks hold no worker: WORKER_CONCURRENCY stays at the rig's default.
 */
import { sleep } from '../measure.js';
import { epochNow, Rig } from '../rig.js';
import { knob, type BenchScenario } from '../scenario.js';
import { RedisCallCenterPacer } from '../../../src/directory/call-centers/pacer.js';

export const scenario: BenchScenario = {
  name: 'call-center',
  title: '1,000-callback burst to one paced call center: drain time vs the ideal pace',
  order: 60,
  async run(ctx) {
    const burst = knob('BENCH_CC_BURST', 1_000);
    const pacing = { maxInProgress: knob('BENCH_CC_MAX_IN_PROGRESS', 20), originatesPerMinute: knob('BENCH_CC_PER_MINUTE', 600) };
    return Rig.with({ workers: 1 }, async (rig) => {
      ctx.out(rig.describe());
      const created = await rig.request('POST', '/v1/call-centers', { name: 'burst', numbers: ['+12025550100'], pacing });
      if (created.status !== 201) throw new Error(`call center not created: ${created.status} ${JSON.stringify(created.body)}`);
      const pacer = new RedisCallCenterPacer(rig.redis.client, rig.prefix);
      let maxInProgress = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          maxInProgress = Math.max(maxInProgress, await pacer.inProgress(rig.owner, 'burst'));
          await sleep(20);
        }
      })();
      const base = await rig.ended();
      const started = epochNow();
      const ids: string[] = [];
      for (let i = 0; i < burst; i += 50) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(50, burst - i) }, async (_, j) => {
            const caller = `+120255501${String(50 + ((i + j) % 50)).padStart(2, '0')}`;
            const res = await rig.request('POST', '/v1/callbacks', { caller: { number: caller }, callee: { callCenter: 'burst' }, retry: { maxAttempts: 1, delaySeconds: 0 } });
            if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${JSON.stringify(res.body)}`);
            return (res.body as { id: string }).id;
          }),
        );
        ids.push(...batch);
      }
      const accepted = epochNow();
      const ideal = Math.floor((burst - 1) / pacing.originatesPerMinute) * 60_000;
      const ok = await rig.waitEnded(base + burst, ideal + 180_000);
      const drained = epochNow();
      sampling = false;
      await sampler;
      const records = await Promise.all(ids.map((id) => rig.repository.get(id)));
      const starts = records.flatMap((cb) => (cb?.attempts[0] ? [Date.parse(cb.attempts[0].startedAt)] : [])).sort((a, b) => a - b);
      const completed = records.filter((cb) => cb?.status === 'completed').length;
      const spread = (starts.at(-1) ?? 0) - (starts[0] ?? 0);
      const drain = drained - started;
      // How long each callback held its slot (attempt start → completed): with that, the in-progress
      // limit alone allows burst × hold / maxInProgress; the ideal is the slower of the two limits.
      const holds = records.flatMap((cb) => {
        const from = cb?.attempts[0]?.startedAt;
        const to = cb?.timeline.find((e) => e.event === 'completed')?.at;
        return from && to ? [Date.parse(to) - Date.parse(from)] : [];
      });
      const meanHold = holds.reduce((a, b) => a + b, 0) / Math.max(1, holds.length);
      const slotIdeal = (burst * meanHold) / pacing.maxInProgress;
      const paceIdeal = Math.max(ideal, slotIdeal);
      const ratio = paceIdeal > 0 ? drain / paceIdeal : NaN;
      ctx.out(`Burst of ${burst} to one call center (≤ ${pacing.maxInProgress} in progress, ${pacing.originatesPerMinute}/min), 1 worker`);
      ctx.out(`  accepted in ${((accepted - started) / 1000).toFixed(1)} s; starts spread over ${(spread / 1000).toFixed(1)} s; drained in ${(drain / 1000).toFixed(1)} s`);
      ctx.out(`  ideal pace: rate limit ${(ideal / 1000).toFixed(1)} s, in-progress limit ${(slotIdeal / 1000).toFixed(1)} s (mean slot held ${(meanHold / 1000).toFixed(2)} s) → ${(paceIdeal / 1000).toFixed(1)} s; ratio ${ratio.toFixed(3)}`);
      ctx.out(`  ${completed} of ${burst} completed; most in progress sampled ${maxInProgress} (limit ${pacing.maxInProgress})`);
      if (!ok) ctx.out('  TIMED OUT: not every callback ended');
      return {
        ok: ok && completed === burst && maxInProgress <= pacing.maxInProgress,
        summary: [
          `call-center burst of ${burst} at ${pacing.originatesPerMinute}/min, ≤ ${pacing.maxInProgress} in progress: drained in ${(drain / 1000).toFixed(1)} s vs ideal pace ${(paceIdeal / 1000).toFixed(1)} s, ratio ${ratio.toFixed(3)}; max in progress ${maxInProgress}; ${completed}/${burst} completed`,
        ],
      };
    });
  },
};
