/**
 * Where the CPU goes, from V8 .cpuprofile files (`BENCH_CPU_PROF=<dir> npm run bench`, or any
 * `node --cpu-prof` output):
 *
 *   node --import tsx test/bench/cpuprofile-summary.ts <dir or files…> [--top 25] [--callers <function>]
 *
 * For each profile (or all profiles of one kind, by the file name's prefix before the first '-'):
 *   1. self time by package / file (node_modules/<pkg>, src/<path>, node:<module>, GC, native)
 *   2. self time by function (top N)
 *   3. inclusive time of the usual suspects: time spent with a given function or package anywhere on
 *      the stack (they overlap; an await cuts the stack at the resumed async function, so a suspect's
 *      inclusive time covers the work it does after its awaits, not the callers that awaited it)
 *   4. with --callers <function>: the self time of that function (e.g. writeUtf8String, a native
 *      socket write) by the nearest caller outside node:internal and native code, with its package
 * Percentages are of the busy (non-idle) time.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Suspects: a label, and a test on one stack frame. */
const SUSPECTS: Array<[string, (f: CallFrame, where: string) => boolean]> = [
  ['ESL: modesl socket parse + Event objects', (_f, w) => w === 'drachtio-modesl'],
  ['ESL: Crossline event handling (telephony/)', (_f, w) => w.startsWith('src/telephony/')],
  ['ESL: channelState / show channels parse', (f) => /channelState|channelRows|stateFrom/.test(f.functionName)],
  ['Redis client (ioredis, incl. reply parsing)', (_f, w) => w === 'ioredis' || w === 'redis-parser' || w === '@ioredis/commands'],
  ['BullMQ', (_f, w) => w === 'bullmq'],
  ['Store: callback repository (JSON rewrite)', (_f, w) => /src\/(store|callbacks)\/.*repository/.test(w)],
  ['Callback flow (src/callbacks/flow.ts)', (_f, w) => w === 'src/callbacks/flow.ts'],
  ['Logging (pino, sonic-boom)', (_f, w) => w === 'pino' || w === 'sonic-boom' || w === 'pino-std-serializers' || w === 'thread-stream'],
  ['HTTP + Express', (_f, w) => w === 'express' || w === 'router' || w === 'body-parser' || w.startsWith('node:_http') || w === 'node:http'],
  ['JSON Schema (ajv)', (_f, w) => w === 'ajv' || w === 'ajv-formats'],
  ['JSON.parse / JSON.stringify (builtin)', (f) => f.url === '' && /^(parse|stringify|JSONParse|JSONStringify)$/.test(f.functionName)],
  ['Garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['tsx / module loading', (_f, w) => w === 'tsx' || w === 'esbuild' || w.startsWith('node:internal/modules')],
];

/** Where a frame's code lives: a package, a repo path, a node module, or a V8 pseudo-frame. */
function where(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url.replace(/^node:internal\/(deps\/)?/, 'node:internal/').replace(/^(node:internal\/[^/]+).*$/, '$1');
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? file);
  }
  const repo = /\/(src|workers|test)\/.*$/.exec(file);
  return repo ? repo[0].slice(1) : file;
}

interface Totals {
  busyUs: number;
  idleUs: number;
  byWhere: Map<string, number>;
  byFunction: Map<string, number>;
  bySuspect: Map<string, number>;
  byCaller: Map<string, number>;
}

function summarize(profiles: Profile[], callersOf: string | undefined): Totals {
  const totals: Totals = { busyUs: 0, idleUs: 0, byWhere: new Map(), byFunction: new Map(), bySuspect: new Map(), byCaller: new Map() };
  const add = (m: Map<string, number>, k: string, v: number): void => void m.set(k, (m.get(k) ?? 0) + v);
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    // The suspects on a node's stack, computed once per node.
    const suspectsOf = new Map<number, Set<string>>();
    const stackSuspects = (id: number): Set<string> => {
      const known = suspectsOf.get(id);
      if (known) return known;
      const node = byId.get(id);
      const up = parent.get(id);
      const set = new Set(up === undefined ? [] : stackSuspects(up));
      if (node) for (const [label, test] of SUSPECTS) if (test(node.callFrame, where(node.callFrame))) set.add(label);
      suspectsOf.set(id, set);
      return set;
    };
    profile.samples.forEach((id, i) => {
      // timeDeltas[i] is the time since the previous sample: charge it to the sample it ends at.
      const us = Math.max(0, profile.timeDeltas[i] ?? 0);
      const node = byId.get(id);
      if (!node) return;
      const frame = node.callFrame;
      if (frame.functionName === '(idle)') {
        totals.idleUs += us;
        return;
      }
      totals.busyUs += us;
      const w = where(frame);
      add(totals.byWhere, w, us);
      add(totals.byFunction, `${frame.functionName || '(anonymous)'}  ${w}${frame.url ? `:${frame.lineNumber + 1}` : ''}`, us);
      for (const label of stackSuspects(id)) add(totals.bySuspect, label, us);
      if (callersOf !== undefined && frame.functionName === callersOf) {
        let up = parent.get(id);
        let caller: ProfileNode | undefined;
        while (up !== undefined) {
          const n = byId.get(up);
          const w2 = n ? where(n.callFrame) : '';
          if (n && !w2.startsWith('node:') && !w2.startsWith('(')) {
            caller = n;
            break;
          }
          up = parent.get(up);
        }
        add(totals.byCaller, caller ? `${caller.callFrame.functionName || '(anonymous)'}  ${where(caller.callFrame)}` : '(no JS caller)', us);
      }
    });
  }
  return totals;
}

function table(title: string, entries: Map<string, number>, busyUs: number, top: number): string {
  const rows = [...entries].sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = rows.map(([k, us]) => `  ${((us / busyUs) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  return `${title}\n${lines.join('\n')}`;
}

function files(args: string[]): string[] {
  return args.flatMap((a) => (statSync(a).isDirectory() ? readdirSync(a).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(a, f)) : [a]));
}

function main(): void {
  const argv = process.argv.slice(2);
  const option = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    if (at < 0) return undefined;
    const value = argv[at + 1];
    argv.splice(at, 2);
    return value;
  };
  const top = Number(option('--top') ?? 25);
  const callersOf = option('--callers');
  const paths = files(argv);
  if (paths.length === 0) {
    process.stderr.write('usage: node --import tsx test/bench/cpuprofile-summary.ts <dir or .cpuprofile files…> [--top N]\n');
    process.exit(2);
  }
  // Profiles of the same kind (file name up to the first '-', e.g. worker-1234.cpuprofile) are summed.
  const kinds = new Map<string, Profile[]>();
  for (const p of paths) {
    const kind = path.basename(p).split('-')[0] ?? p;
    kinds.set(kind, [...(kinds.get(kind) ?? []), JSON.parse(readFileSync(p, 'utf8')) as Profile]);
  }
  for (const [kind, profiles] of kinds) {
    const t = summarize(profiles, callersOf);
    const wall = profiles.reduce((s, p) => s + (p.endTime - p.startTime), 0);
    process.stdout.write(
      [
        `=== ${kind}: ${profiles.length} profile(s), ${(wall / 1e6).toFixed(1)} s sampled, busy ${(t.busyUs / 1000).toFixed(0)} ms, idle ${(t.idleUs / 1000).toFixed(0)} ms`,
        table('self time by package / file', t.byWhere, t.busyUs, top),
        table('self time by function', t.byFunction, t.busyUs, top),
        table('inclusive time of the suspects (overlapping)', t.bySuspect, t.busyUs, SUSPECTS.length),
        ...(callersOf ? [table(`self time of ${callersOf} by its nearest caller outside Node's internals`, t.byCaller, t.busyUs, top)] : []),
        '',
      ].join('\n\n') + '\n',
    );
  }
}

main();
