/**
 * The callback runs that several scenarios share: a closed loop at full speed (throughput,
 * scaling) on a rig whose callees and callers answer at once and whose caller hangs up as soon as
 * the bridge is reported.
 */
import { cpuWindow, printWindow, profiled, snapshot, type Rig } from './rig.js';
import { receivedPerCallback, tallyPerCallback } from './esl-tally.js';
import type { BenchContext } from './scenario.js';

export interface ThroughputFigures {
  ok: boolean;
  perSecond: number;
  /** CPU ms per callback. */
  api: number;
  workers: number[];
  redis: number;
  failed: number;
}

/**
 * Closed loop of `callbacks` callbacks with `inflight` between POST and their end, on the rig as it
 * is; prints completed/s, CPU per callback of each process, Redis commands and log lines per
 * callback (and ESL traffic with the tally). `profile`: under BENCH_CPU_PROF.
 */
export async function throughputRun(ctx: BenchContext, rig: Rig, title: string, profile: boolean, callbacks: number, inflight: number): Promise<ThroughputFigures> {
  const out = ctx.out;
  const CALLBACKS = callbacks;
  const failedBefore = await rig.failed();
  const commands = rig.tally?.counts();
  const received = rig.tally?.received();
  const redisCalls = await rig.redis.commandCalls();
  const logs = [rig.api, ...rig.workers].map((p) => ({ ...p.log }));
  const a = await snapshot(rig);
  const loop = (): Promise<boolean> => rig.closedLoop(CALLBACKS, inflight);
  const ok = await (profile ? profiled(ctx, rig, loop) : loop());
  const b = await snapshot(rig);
  const w = cpuWindow(a, b, CALLBACKS);
  const failed = (await rig.failed()) - failedBefore;
  printWindow(ctx, title, w, failed);
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
  return { ok, perSecond: w.count / w.seconds, api: w.api, workers: w.workers, redis: w.redis, failed };
}

