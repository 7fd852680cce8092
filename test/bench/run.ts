/**
 * `npm run bench`: runs the bench scenarios (one file each in test/bench/scenarios/, see
 * scenario.ts for how to add one) and prints each one's figures, then a summary with the headline
 * figure of each, the date, the machine and the commit measured.
 *
 *   npm run bench                          every scenario that runs by default, in order
 *   npm run bench -- throughput latency    only those (BENCH_SCENARIOS=throughput,latency too)
 *   npm run bench -- --list                what there is
 *
 * Common knobs: BENCH_LOG_LEVEL (info, as deployed; the processes' logs are read and dropped),
 * BENCH_CPU_PROF=<dir> (V8 CPU profiles of the API and workers over a scenario's measured window;
 * summarise with cpuprofile-summary.ts; profiling inflates CPU figures), BENCH_ESL_TALLY=1 (ESL
 * commands and bytes per callback through a counting proxy), BENCH_COMMIT (label of an exported
 * tree). Each scenario documents its own knobs at the top of its file.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { machineLine } from './measure.js';
import type { BenchContext, BenchScenario } from './scenario.js';

const out = (line = ''): void => void process.stdout.write(`${line}\n`);

async function loadScenarios(): Promise<BenchScenario[]> {
  const dir = path.join(__dirname, 'scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.bench.ts')).sort();
  const scenarios: BenchScenario[] = [];
  for (const file of files) {
    const mod = (await import(path.join(dir, file))) as { scenario?: BenchScenario };
    if (!mod.scenario) throw new Error(`test/bench/scenarios/${file} exports no \`scenario\``);
    scenarios.push(mod.scenario);
  }
  const names = new Set<string>();
  for (const s of scenarios) {
    if (names.has(s.name)) throw new Error(`two bench scenarios are named ${s.name}`);
    names.add(s.name);
  }
  return scenarios.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}

/** The commit measured, and whether src/ or workers/ had uncommitted changes. */
function codeVersion(): string {
  // A tree exported with `git archive` has no .git: say which commit it was.
  if (process.env.BENCH_COMMIT) return `commit ${process.env.BENCH_COMMIT} (exported tree)`;
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'src', 'workers') !== '';
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes in src/ or workers/' : ''}`;
  } catch {
    return 'commit unknown';
  }
}

async function main(): Promise<boolean> {
  const args = process.argv.slice(2);
  const all = await loadScenarios();
  if (args.includes('--list')) {
    for (const s of all) out(`${s.name.padEnd(16)} ${s.title}${s.byDefault === false ? ' (only when named)' : ''}${s.skip?.() ? ` — skipped here: ${s.skip()}` : ''}`);
    return true;
  }
  // BENCH_PHASES is the older name of the selection.
  const named = [...args, ...(process.env.BENCH_SCENARIOS ?? process.env.BENCH_PHASES ?? '').split(',')].map((s) => s.trim()).filter(Boolean);
  const unknown = named.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`no bench scenario ${unknown.join(', ')}; there are: ${all.map((s) => s.name).join(', ')}`);
  // Naming only the real-switch bench (or setting BENCH_ESL_URL alone) runs just that.
  const selected = named.length > 0 ? all.filter((s) => named.includes(s.name)) : process.env.BENCH_ESL_URL ? all.filter((s) => s.name === 'real-switch') : all.filter((s) => s.byDefault !== false);

  const ctx: BenchContext = { out, profileDir: process.env.BENCH_CPU_PROF || undefined, logLevel: process.env.BENCH_LOG_LEVEL ?? 'info' };
  const header = `${new Date().toISOString()}  ${machineLine()}, ${os.arch()}  ${codeVersion()}`;
  out(header);
  out(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; Crossline LOG_LEVEL=${ctx.logLevel}`);
  const summary: string[] = [];
  let ok = true;
  for (const s of selected) {
    const why = s.skip?.();
    if (why) {
      summary.push(`${s.name}: skipped (${why})`);
      continue;
    }
    out();
    out(`== ${s.name}: ${s.title}`);
    const started = Date.now();
    try {
      const result = await s.run(ctx);
      ok = result.ok && ok;
      summary.push(...result.summary.map((line, i) => `${i === 0 ? s.name.padEnd(12) : ' '.repeat(12)} ${line}`));
      if (!result.ok) summary.push(`${' '.repeat(12)} NOT AS PLANNED (see above)`);
    } catch (err) {
      ok = false;
      out(`  FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      summary.push(`${s.name.padEnd(12)} FAILED: ${err instanceof Error ? err.message : String(err)}`);
    }
    out(`  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  out();
  out(`== summary  ${header}`);
  for (const line of summary) out(line);
  out(`load average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  return ok;
}

main().then(
  (ok) => {
    if (!ok) process.exitCode = 1;
  },
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
