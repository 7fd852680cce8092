/**
 * `BENCH_ESL_URL=esl://:ClueCon@127.0.0.1:28021 npm run bench`: the same callbacks, on one run,
 * first as plain `originate callee &bridge(caller)` calls driven straight over ESL (the floor),
 * then through Crossline (API → Redis → worker → ESL) on the same switch, and prints CPU per
 * callback of the switch, of Crossline (and its Redis) and of the plain driver, their ratios,
 * latencies and memory.
 *
 * Calls: callees +1 202 555 0100–0149 ring ~1 s, answer and play a tone until hung up; callers
 * +1 202 555 0190–0199 answer at once and hang up 2 s later. The hang-up is the phone's own timer on
 * the switch, identical in both runs, so the bench sends nothing to the switch while it measures
 * (a uuid_kill from the bench would be switch work, and bench traffic, inside the window).
 *
 * Knobs: BENCH_CALLBACKS (100), BENCH_RATE callbacks/s (5), BENCH_WARMUP (10, unmeasured, per run),
 * BENCH_ROUNDS (1; more repeat floor + Crossline and end with the medians, against a noisy machine),
 * BENCH_FS_DIR (/opt/fs-bench: its run/freeswitch.pid is the switch whose CPU is read) or BENCH_FS_PID,
 * BENCH_FLOOR_EVENTS=crossline (the plain driver subscribes to Crossline's event list: what events cost the switch),
 * BENCH_ESL_TALLY=1 (counts Crossline's ESL commands through a proxy), BENCH_CPU_PROF=<dir> (V8 profile of Crossline).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Callback } from '../../src/callbacks/index.js';
import { freePort, startRedisServer } from '../../src/store/index.js';
import { CrosslineProcess, timelineAt, type CrosslineCall } from './crossline-driver.js';
import { parseEslUrl } from '../../src/telephony/index.js';
import { EslSession } from './esl-session.js';
import { startEslTally, tallyPerCallback, type EslTally } from './esl-tally.js';
import { runFloorCalls, type CallPlan, type FloorCall } from './floor-driver.js';
import { machineBusySeconds, machineLine, ownCpuSeconds, peakOverlap, percentiles, procCpuSeconds, procMemoryMb, sleep } from './measure.js';

const N = Number(process.env.BENCH_CALLBACKS ?? 100);
const RATE = Number(process.env.BENCH_RATE ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const WORKER_CONCURRENCY = 200;
/** Each run must end within its arrivals plus this much (ring, 2 s talk, teardown, margin). */
const DRAIN_MS = 60_000;
const IDLE_SAMPLE_MS = 3_000;

const plan = (count: number): CallPlan => ({
  count,
  ratePerSec: RATE,
  calleeBlock: { first: 0, size: 50 },
  callerBlock: { first: 90, size: 10 },
  ringTimeoutSec: 30,
  crosslineEvents: process.env.BENCH_FLOOR_EVENTS === 'crossline',
});
const runTimeoutMs = (count: number): number => (count / RATE) * 1000 + DRAIN_MS;

/** CPU seconds of the switch, the orchestrator and Redis over one measured window. */
interface Window {
  seconds: number;
  switchCpu: number;
  driverCpu: number;
  redisCpu: number | undefined;
  /** The bench process itself (its load generator; in the floor run, also the plain driver). */
  benchCpu: number;
  /** Busy CPU of the whole machine: what is not ours is other people's load, i.e. noise. */
  machineCpu: number;
}

interface RunResult {
  window: Window;
  completed: number;
  failures: Map<string, number>;
  peakCalls: number;
  toCalleeAnswer: number[];
  toEnd: number[];
  switchRssMb: number;
}

function switchPid(): number {
  const fromEnv = process.env.BENCH_FS_PID;
  const pid = fromEnv ? Number(fromEnv) : Number(readFileSync(path.join(process.env.BENCH_FS_DIR ?? '/opt/fs-bench', 'run/freeswitch.pid'), 'utf8').trim());
  const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  if (comm !== 'freeswitch') throw new Error(`pid ${pid} is ${comm}, not freeswitch: set BENCH_FS_DIR or BENCH_FS_PID`);
  return pid;
}

const countBy = (keys: string[]): Map<string, number> => keys.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());

/** Measures `work` from its start until the switch has no channel left. */
async function measured(fsPid: number, observer: EslSession, cpu: () => Promise<number>, redisPid: number | undefined, work: () => Promise<void>): Promise<Window> {
  const redisCpu = (): number => (redisPid === undefined ? 0 : procCpuSeconds(redisPid));
  const started = performance.now();
  const [switch0, driver0, redis0, bench0, machine0] = [procCpuSeconds(fsPid), await cpu(), redisCpu(), ownCpuSeconds(), machineBusySeconds()];
  await work();
  await observer.waitForNoChannels(DRAIN_MS);
  const [switch1, driver1, redis1, bench1, machine1] = [procCpuSeconds(fsPid), await cpu(), redisCpu(), ownCpuSeconds(), machineBusySeconds()];
  return {
    seconds: (performance.now() - started) / 1000,
    switchCpu: switch1 - switch0,
    driverCpu: driver1 - driver0,
    redisCpu: redisPid === undefined ? undefined : redis1 - redis0,
    benchCpu: bench1 - bench0,
    machineCpu: machine1 - machine0,
  };
}

async function floorRun(url: string, fsPid: number, observer: EslSession): Promise<RunResult> {
  await runFloorCalls(url, plan(WARMUP));
  await observer.waitForNoChannels(DRAIN_MS);
  await sleep(1000);
  let calls: FloorCall[] = [];
  const window = await measured(fsPid, observer, async () => ownCpuSeconds(), undefined, async () => {
    calls = await runFloorCalls(url, plan(N));
  });
  const ok = calls.filter((c) => c.ok);
  return {
    window,
    completed: ok.length,
    failures: countBy(calls.filter((c) => !c.ok).map((c) => c.cause)),
    peakCalls: peakOverlap(calls.filter((c) => Number.isFinite(c.end))),
    toCalleeAnswer: ok.flatMap((c) => (c.answered === undefined ? [] : [c.answered - c.start])),
    toEnd: ok.map((c) => c.end - c.start),
    switchRssMb: procMemoryMb(fsPid, 'VmRSS'),
  };
}

interface CrosslineResult extends RunResult {
  /** ESL commands per callback, when BENCH_ESL_TALLY is set. */
  commands: string | undefined;
  toCalleeOriginate: number[];
  callerAnswerToBridge: number[];
  maxRssMb: number;
  heapAfterGcMb: number | undefined;
}

/** Why a callback failed, in a few words: the cause, and which party, and whether it got as far as a bridge. */
function failureLabel(cb: Callback): string {
  const failed = [...cb.timeline].reverse().find((e) => e.event === 'attempt-failed' || e.event === 'failed');
  const bridged = cb.timeline.some((e) => e.event === 'bridged');
  return `${cb.failureCause ?? cb.status} (${failed?.role ?? '?'} leg${bridged ? ', after the bridge' : ''})`;
}

async function crosslineRun(url: string, fsPid: number, observer: EslSession, redis: { url: string; pid: number }): Promise<CrosslineResult> {
  const tally = process.env.BENCH_ESL_TALLY ? await startEslTally(parseEslUrl(url)) : undefined;
  try {
    return await crosslineRunVia(tally, url, fsPid, observer, redis);
  } finally {
    await tally?.close();
  }
}

async function crosslineRunVia(tally: EslTally | undefined, url: string, fsPid: number, observer: EslSession, redis: { url: string; pid: number }): Promise<CrosslineResult> {
  const crossline = await CrosslineProcess.start({ eslUrl: tally?.url ?? url, redisUrl: redis.url, keyPrefix: `bench${Date.now().toString(36)}`, workerConcurrency: WORKER_CONCURRENCY });
  try {
    await crossline.post(plan(WARMUP));
    await crossline.waitForEnded(WARMUP, runTimeoutMs(WARMUP));
    await observer.waitForNoChannels(DRAIN_MS);
    await sleep(1000);
    let calls: CrosslineCall[] = [];
    const cpu = async (): Promise<number> => (await crossline.usage()).cpuUs / 1e6;
    const commandsBefore = tally?.counts();
    const window = await measured(fsPid, observer, cpu, redis.pid, async () => {
      calls = await crossline.post(plan(N));
      await crossline.waitForEnded(WARMUP + N, runTimeoutMs(N));
    });
    const commands = tally && commandsBefore ? tallyPerCallback(commandsBefore, tally.counts(), N) : undefined;
    const memory = await crossline.usage(true);
    return { window, commands, ...summarize(calls, await crossline.records(calls)), switchRssMb: procMemoryMb(fsPid, 'VmRSS'), maxRssMb: memory.maxRssMb, heapAfterGcMb: memory.heapAfterGcMb };
  } finally {
    await crossline.stop();
  }
}

/** Latencies and outcomes of the Crossline run, from what the store recorded (read after the window). */
function summarize(calls: CrosslineCall[], records: Callback[]): Omit<CrosslineResult, 'window' | 'commands' | 'switchRssMb' | 'maxRssMb' | 'heapAfterGcMb'> {
  const posted = new Map(calls.map((c) => [c.id, c.posted]));
  const since = (cb: Callback, at: number | undefined): number[] => {
    const t0 = posted.get(cb.id);
    return at === undefined || t0 === undefined ? [] : [at - t0];
  };
  const ok = records.filter((cb) => cb.status === 'completed');
  const interval = (cb: Callback): Array<{ start: number; end: number }> => {
    const start = posted.get(cb.id);
    const end = timelineAt(cb, 'completed') ?? timelineAt(cb, 'failed');
    return start === undefined || end === undefined ? [] : [{ start, end }];
  };
  const gap = (cb: Callback): number[] => {
    const answered = timelineAt(cb, 'leg-answered', 'caller');
    const bridged = timelineAt(cb, 'bridged');
    return answered === undefined || bridged === undefined ? [] : [bridged - answered];
  };
  return {
    completed: ok.length,
    failures: countBy(records.filter((cb) => cb.status !== 'completed').map(failureLabel)),
    peakCalls: peakOverlap(records.flatMap(interval)),
    toCalleeOriginate: records.flatMap((cb) => since(cb, timelineAt(cb, 'leg-dialing', 'callee'))),
    toCalleeAnswer: ok.flatMap((cb) => since(cb, timelineAt(cb, 'leg-answered', 'callee'))),
    callerAnswerToBridge: ok.flatMap(gap),
    toEnd: ok.flatMap((cb) => since(cb, timelineAt(cb, 'completed'))),
  };
}

const ms = (seconds: number): string => (Number.isFinite(seconds) ? `${(seconds * 1000).toFixed(1)} ms` : 'n/a');
const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
/** CPU busy on the machine outside the processes measured here, as a share of all cores: the noise. */
function noise(w: Window, crossline: boolean): string {
  // In the floor run the bench process is the driver, so its CPU is already in driverCpu.
  const ours = w.switchCpu + w.driverCpu + (w.redisCpu ?? 0) + (crossline ? w.benchCpu : 0);
  const others = Math.max(0, w.machineCpu - ours) / (w.seconds * os.availableParallelism());
  return `${(others * 100).toFixed(0)}% of ${os.availableParallelism()} cores`;
}
const failures = (m: Map<string, number>): string => [...m].map(([k, v]) => `${v}× ${k}`).join('; ') || 'none';

/** Versions and machine, printed with the figures so that they can be quoted with them. */
async function setup(observer: EslSession): Promise<string> {
  const fs = /FreeSWITCH Version ([^~\s]+)/.exec(await observer.api('version'))?.[1] ?? 'unknown';
  return `${machineLine()}, FreeSWITCH ${fs}`;
}

function report(setupLine: string, idleCpuPerSec: number, floor: RunResult, xl: CrosslineResult): string {
  const row = (label: string, a: string, b: string, c = ''): string => `${label.padEnd(30)}${a.padEnd(40)}${b.padEnd(28)}${c}`.trimEnd();
  const perCall = (r: RunResult, cpuSeconds: number): number => (r.completed > 0 ? cpuSeconds / r.completed : NaN);
  const xlSwitch = perCall(xl, xl.window.switchCpu);
  const floorSwitch = perCall(floor, floor.window.switchCpu);
  const xlOwn = perCall(xl, xl.window.driverCpu);
  const xlRedis = perCall(xl, xl.window.redisCpu ?? NaN);
  const floorOwn = perCall(floor, floor.window.driverCpu);
  return [
    setupLine,
    `real switch: ${N} callbacks at ${RATE}/s (+${WARMUP} unmeasured warm-up per run), worker concurrency ${WORKER_CONCURRENCY}`,
    `switch idle: ${(idleCpuPerSec * 1000).toFixed(1)} ms CPU/s (included below, as is)`,
    '',
    row('', 'Crossline', 'plain originate (floor)', 'ratio'),
    row('completed / failed', `${xl.completed} / ${N - xl.completed}`, `${floor.completed} / ${N - floor.completed}`),
    row('window', `${xl.window.seconds.toFixed(1)} s`, `${floor.window.seconds.toFixed(1)} s`),
    row('completed/s', (xl.completed / xl.window.seconds).toFixed(2), (floor.completed / floor.window.seconds).toFixed(2)),
    row('peak calls in progress', String(xl.peakCalls), String(floor.peakCalls)),
    row('switch CPU per callback', ms(xlSwitch), ms(floorSwitch), ratio(xlSwitch, floorSwitch)),
    row('driver CPU per callback', `${ms(xlOwn)} (Crossline)`, `${ms(floorOwn)} (plain ESL)`, ratio(xlOwn, floorOwn)),
    row('Redis CPU per callback', ms(xlRedis), '-'),
    row('driver + Redis CPU', ms(xlOwn + xlRedis), ms(floorOwn), ratio(xlOwn + xlRedis, floorOwn)),
    row('start → callee answered', percentiles(xl.toCalleeAnswer), percentiles(floor.toCalleeAnswer)),
    row('start → call ended', percentiles(xl.toEnd), percentiles(floor.toEnd)),
    row('POST → callee originate', percentiles(xl.toCalleeOriginate), '-'),
    row('caller answer → bridge', percentiles(xl.callerAnswerToBridge), '0 (bridge app)'),
    row('orchestrator memory', `peak RSS ${xl.maxRssMb.toFixed(0)} MB, heap after GC ${xl.heapAfterGcMb?.toFixed(0) ?? 'n/a'} MB`, '-'),
    row('other load on the machine', noise(xl.window, true), noise(floor.window, false)),
    row('switch RSS after the run', `${xl.switchRssMb.toFixed(0)} MB`, `${floor.switchRssMb.toFixed(0)} MB`),
    `failures, Crossline: ${failures(xl.failures)}`,
    `failures, floor:     ${failures(floor.failures)}`,
    ...(xl.commands ? [`ESL commands per callback, Crossline (BENCH_ESL_TALLY, via a proxy): ${xl.commands}`] : []),
    '',
    'Switch CPU is the whole FreeSWITCH process: each callback makes 4 channels on this test switch',
    '(the 2 legs dialled + the 2 scripted phones answering them on the same switch).',
  ].join('\n');
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
};

/** Per-callback CPU of every round and their medians: one noisy round does not make the figure. */
function summary(rounds: Array<{ floor: RunResult; xl: CrosslineResult }>): string {
  const per = (r: RunResult, cpu: number): number => (cpu * 1000) / r.completed;
  const line = (label: string, values: number[], unit: string): string =>
    `${label.padEnd(34)}${values.map((v) => v.toFixed(unit === '×' ? 2 : 1)).join(', ')}  → median ${median(values).toFixed(unit === '×' ? 2 : 1)}${unit}`;
  const xlSwitch = rounds.map(({ xl }) => per(xl, xl.window.switchCpu));
  const floorSwitch = rounds.map(({ floor }) => per(floor, floor.window.switchCpu));
  const xlOwn = rounds.map(({ xl }) => per(xl, xl.window.driverCpu));
  const xlRedis = rounds.map(({ xl }) => per(xl, xl.window.redisCpu ?? NaN));
  const floorOwn = rounds.map(({ floor }) => per(floor, floor.window.driverCpu));
  return [
    `summary of ${rounds.length} rounds (CPU per callback)`,
    line('switch, Crossline run', xlSwitch, ' ms'),
    line('switch, floor run', floorSwitch, ' ms'),
    line('switch ratio Crossline / floor', rounds.map(({ xl, floor }) => per(xl, xl.window.switchCpu) / per(floor, floor.window.switchCpu)), '×'),
    line('Crossline process', xlOwn, ' ms'),
    line('Crossline Redis', xlRedis, ' ms'),
    line('plain driver', floorOwn, ' ms'),
    line('Crossline + Redis / plain driver', rounds.map(({ xl, floor }) => (per(xl, xl.window.driverCpu) + per(xl, xl.window.redisCpu ?? NaN)) / per(floor, floor.window.driverCpu)), '×'),
  ].join('\n');
}

export async function runSwitchBench(url: string): Promise<boolean> {
  const fsPid = switchPid();
  const observer = await EslSession.connect(url);
  const redisDir = mkdtempSync(path.join(os.tmpdir(), 'crossline-bench-redis-'));
  const redisPort = await freePort();
  const redis = await startRedisServer(redisPort, redisDir);
  // Should the bench die without reaching `finally` (an unhandled error), its redis-server goes too.
  const killRedis = (): void => void redis.kill('SIGKILL');
  process.once('exit', killRedis);
  try {
    if ((await observer.channelCount()) > 0) throw new Error('the switch has calls up already: the bench needs a switch of its own');
    const setupLine = await setup(observer);
    const idle0 = procCpuSeconds(fsPid);
    await sleep(IDLE_SAMPLE_MS);
    const idleCpuPerSec = (procCpuSeconds(fsPid) - idle0) / (IDLE_SAMPLE_MS / 1000);
    let allCompleted = true;
    const rounds: Array<{ floor: RunResult; xl: CrosslineResult }> = [];
    for (let round = 1; round <= ROUNDS; round++) {
      if (ROUNDS > 1) process.stdout.write(`${round > 1 ? '\n' : ''}round ${round} of ${ROUNDS}\n`);
      const floor = await floorRun(url, fsPid, observer);
      const xl = await crosslineRun(url, fsPid, observer, { url: `redis://127.0.0.1:${redisPort}`, pid: redis.pid ?? NaN });
      process.stdout.write(`${report(setupLine, idleCpuPerSec, floor, xl)}\n`);
      rounds.push({ floor, xl });
      allCompleted &&= xl.completed === N && floor.completed === N;
    }
    if (ROUNDS > 1) process.stdout.write(`\n${summary(rounds)}\n`);
    return allCompleted;
  } finally {
    observer.close();
    process.off('exit', killRedis);
    redis.kill('SIGTERM');
    await new Promise((r) => (redis.exitCode !== null ? r(undefined) : redis.once('exit', r)));
    rmSync(redisDir, { recursive: true, force: true });
  }
}
