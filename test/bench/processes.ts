/**
 * The processes of a bench rig (rig.ts), each started as a deployment would run it:
 * a redis-server of the bench's own, the ESL simulator (simulator-process.ts), the API
 * (`src/api/main.ts`, as `npm run api`) and worker processes (`workers/main.ts`, as `npm run worker`),
 * configured from the environment. Their CPU is read from /proc/<pid>/stat (utime + stime), so the
 * product carries no bench code. With `inspect`, a Crossline process opens the V8 inspector on a
 * free loopback port, which the bench uses for a full GC + heap size and for CPU profiles of a window.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRedis, freePort, startRedisServer, type Redis } from '../../src/store/index.js';
import type { SimReply, SimRequest, SimulatorOptions } from './simulator-process.js';

export type { SimulatorOptions } from './simulator-process.js';
import { procCpuSeconds, procMemoryMb, threadCpuSeconds } from './measure.js';

const ROOT = path.join(__dirname, '..', '..');

/** A redis-server of the bench's own (AOF on, as the embedded default runs it): INFO cpu counts only the bench. */
export class BenchRedis {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly url: string,
    readonly client: Redis,
  ) {}

  static async start(): Promise<BenchRedis> {
    const port = await freePort();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'crossline-bench-redis-'));
    const child = await startRedisServer(port, dir);
    const url = `redis://127.0.0.1:${port}`;
    return new BenchRedis(child, dir, url, createRedis(url));
  }

  /** used_cpu_user + used_cpu_sys of the server (its main and I/O threads), seconds. */
  async cpuSeconds(): Promise<number> {
    const info = await this.client.info('cpu');
    const field = (name: string): number => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? NaN);
    return field('used_cpu_user') + field('used_cpu_sys');
  }

  /** Calls so far per command (INFO commandstats), e.g. evalsha → 1234. */
  async commandCalls(): Promise<Map<string, number>> {
    const info = await this.client.info('commandstats');
    const calls = new Map<string, number>();
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1] ?? '?', Number(m[2]));
    return calls;
  }

  async usedMemoryMb(): Promise<number> {
    const info = await this.client.info('memory');
    return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN) / 1048576;
  }

  async stop(): Promise<void> {
    await this.client.quit().catch(() => undefined);
    await stopChild(this.child, 'SIGTERM', 5_000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The ESL simulator in its own process. */
export class SimulatorProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(options: SimulatorOptions = {}): Promise<SimulatorProcess> {
    const child = fork(path.join(__dirname, 'simulator-process.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: { PATH: process.env.PATH, BENCH_SIM_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('error', (err) => process.stderr.write(`simulator process: ${err.message}\n`));
    const ready = await reply(child, 'ready');
    return new SimulatorProcess(child, ready.url);
  }

  get pid(): number {
    return this.child.pid ?? NaN;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async ask<R extends Exclude<SimRequest, { type: 'stop' }>>(request: R): Promise<Extract<SimReply, { type: R['type'] }>> {
    const answer = reply(this.child, request.type);
    this.child.send(request);
    return answer as Promise<Extract<SimReply, { type: R['type'] }>>;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.send({ type: 'stop' } satisfies SimRequest);
    await stopChild(this.child, undefined, 5_000);
  }
}

function reply<T extends SimReply['type']>(child: ChildProcess, type: T): Promise<Extract<SimReply, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: SimReply): void => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as Extract<SimReply, { type: T }>);
    };
    const onExit = (code: number | null): void => reject(new Error(`the simulator process exited (code ${code}) before it sent '${type}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export type CrosslineKind = 'api' | 'worker';

/** `npm run api` / `npm run worker` as a child: `node --import tsx src/api/main.ts` or `workers/main.ts`. */
export class CrosslineProcess {
  private inspector: Inspector | undefined;
  /** Log output (stdout after the banner) so far: lines and bytes. */
  readonly log = { lines: 0, bytes: 0 };

  private constructor(
    readonly kind: CrosslineKind,
    private readonly child: ChildProcess,
    readonly apiUrl: string | undefined,
    private readonly inspectorUrl: string | undefined,
  ) {}

  static async start(kind: CrosslineKind, env: Record<string, string>, options: { inspect: boolean }): Promise<CrosslineProcess> {
    const entry = kind === 'api' ? 'src/api/main.ts' : 'workers/main.ts';
    const child = spawn(process.execPath, ['--import', 'tsx', ...(options.inspect ? ['--inspect=127.0.0.1:0'] : []), entry], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let inspectorUrl: string | undefined;
    let stderrTail = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      const found = /Debugger listening on (ws:\/\/\S+)/.exec(chunk);
      if (found?.[1]) inspectorUrl = found[1];
      const rest = chunk
        .split('\n')
        .filter((l) => l && !/Debugger listening|For help, see: https:\/\/nodejs.org\/|Debugger ending|Debugger attached|Waiting for the debugger/.test(l));
      if (rest.length > 0) {
        stderrTail = (stderrTail + rest.join('\n') + '\n').slice(-4000);
        process.stderr.write(`[${kind} ${child.pid}] ${rest.join('\n')}\n`);
      }
    });
    // The banner tells us it is up (and where the API is); the log lines after it are drained here,
    // in the bench process, as a log shipper would read them.
    const banner = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`${kind} did not start within 120 s: ${stderrTail}`)), 120_000);
      const onData = (chunk: Buffer): void => {
        text += chunk.toString('utf8');
        const at = text.indexOf('Crossline is up');
        if (at >= 0 && text.indexOf('\n\n', at) >= 0) {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          resolve(text.slice(at));
        }
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${kind} exited (code ${code}) before it was up: ${stderrTail}`));
      });
    });
    const apiUrl = /API\s+(http:\/\/\S+)/.exec(banner)?.[1];
    if (kind === 'api' && !apiUrl) throw new Error(`no API address in the banner: ${banner}`);
    if (options.inspect && !inspectorUrl) throw new Error(`${kind} did not open the inspector`);
    const started = new CrosslineProcess(kind, child, apiUrl, inspectorUrl);
    child.stdout?.on('data', (chunk: Buffer) => {
      started.log.bytes += chunk.length;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) started.log.lines++;
    });
    return started;
  }

  get pid(): number {
    return this.child.pid ?? NaN;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  cpuSeconds(): number {
    return procCpuSeconds(this.pid);
  }

  threadCpuSeconds(): Map<string, number> {
    return threadCpuSeconds(this.pid);
  }

  rssMb(): number {
    return procMemoryMb(this.pid, 'VmRSS');
  }

  /** Runs a full GC in the process (through the inspector) and returns the heap that survived it, MB. */
  async heapAfterGcMb(): Promise<number> {
    const inspector = await this.connectInspector();
    await inspector.call('HeapProfiler.collectGarbage');
    const usage = (await inspector.call('Runtime.getHeapUsage')) as { usedSize: number };
    return usage.usedSize / 1048576;
  }

  async startProfile(): Promise<void> {
    const inspector = await this.connectInspector();
    await inspector.call('Profiler.enable');
    await inspector.call('Profiler.setSamplingInterval', { interval: 500 });
    await inspector.call('Profiler.start');
  }

  /** The V8 CPU profile since startProfile(), in .cpuprofile form (what --cpu-prof writes). */
  async stopProfile(): Promise<unknown> {
    const inspector = await this.connectInspector();
    const { profile } = (await inspector.call('Profiler.stop')) as { profile: unknown };
    return profile;
  }

  async stop(): Promise<void> {
    this.inspector?.close();
    // SIGTERM: the launcher closes the runtime in order (workers drain up to 10 s).
    await stopChild(this.child, 'SIGTERM', 15_000);
  }

  private async connectInspector(): Promise<Inspector> {
    if (!this.inspectorUrl) throw new Error(`${this.kind} was started without the inspector`);
    this.inspector ??= await Inspector.connect(this.inspectorUrl);
    return this.inspector;
  }
}

/** A minimal Chrome DevTools Protocol client over Node's WebSocket. */
class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (event: MessageEvent) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
      const waiter = message.id === undefined ? undefined : this.pending.get(message.id);
      if (!waiter || message.id === undefined) return;
      this.pending.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message.result);
    });
  }

  static connect(url: string): Promise<Inspector> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.addEventListener('open', () => resolve(new Inspector(ws)), { once: true });
      ws.addEventListener('error', () => reject(new Error(`cannot reach the inspector at ${url}`)), { once: true });
    });
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** Signals a child (unless `signal` is undefined: it was asked to leave) and waits; SIGKILL after `graceMs`. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals | undefined, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (signal) child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
