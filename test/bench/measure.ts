/**
 * Measuring helpers shared by the benchmarks: CPU of other processes from /proc, percentiles,
 * the most calls in progress at once, and open-loop pacing.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** Clock ticks per second of /proc times (getconf CLK_TCK; 100 on every Linux we run on). */
const CLK_TCK = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process (all its threads), in seconds. */
export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLK_TCK;
}

/** utime + stime of each thread of a process, in seconds, summed by thread name (node, V8Worker, libuv-worker, …). */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const name = Number(tid) === pid ? 'main (JS)' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / CLK_TCK);
  }
  return byName;
}

/** CPU seconds all cores of the machine have spent busy since boot (everything but idle and iowait). */
export function machineBusySeconds(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/) ?? [];
  const values = ticks.map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return (total - idle) / CLK_TCK;
}

/** A /proc/<pid>/status field given in kB (VmRSS, VmHWM), in MB. */
export function procMemoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match?.[1] ? Number(match[1]) / 1024 : NaN;
}

/** This process's user + system CPU, in seconds. */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** "p50 x ms, p99 y ms (n)" of unsorted samples in ms. */
export function percentiles(samples: readonly number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length === 0) return 'no samples';
  return `p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms`;
}

/** The most intervals open at one instant: how many calls were in progress at the peak. */
export function peakOverlap(intervals: ReadonlyArray<{ start: number; end: number }>): number {
  const edges = intervals.flatMap(({ start, end }) => [
    { at: start, delta: 1 },
    { at: end, delta: -1 },
  ]);
  // Ends before starts at the same instant, so back-to-back calls are not counted as overlapping.
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let peak = 0;
  for (const { delta } of edges) {
    open += delta;
    peak = Math.max(peak, open);
  }
  return peak;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A timeout that does not keep the process alive once everything else is done. */
export const unrefSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

/**
 * Starts `count` tasks at `ratePerSec`, open loop: task i starts at i/rate whatever the earlier
 * ones are doing, so both runs see the same offered load. Resolves when every task has settled.
 */
export async function paced<T>(count: number, ratePerSec: number, task: (i: number) => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  const started = performance.now();
  const running: Promise<T>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / ratePerSec;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    running.push(task(i));
  }
  return Promise.allSettled(running);
}

/** The i-th test number of a block of scripted phones: +1 202 555 0<first + i mod size>. */
export function phone(first: number, size: number, i: number): string {
  return `+120255501${String(first + (i % size)).padStart(2, '0')}`;
}

/** Node and redis-server versions, cores and memory: what the figures must be quoted with. */
export function machineLine(): string {
  let redis = 'unknown';
  try {
    redis = /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? redis;
  } catch {
    // No redis-server on PATH: the bench was pointed at a running Redis.
  }
  const gib = (os.totalmem() / 2 ** 30).toFixed(0);
  return `Node ${process.version}, Redis ${redis}, ${os.availableParallelism()} cores, ${gib} GiB`;
}
