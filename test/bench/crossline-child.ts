/**
 * Crossline (API + workers) in a process of its own for the real-switch bench, so that its CPU is
 * Crossline's alone: the load generator, its HTTP client and its polling stay in the parent.
 * Configured from the environment like `npm start`; talks to the parent over the fork IPC channel:
 *   → { type: 'ready', apiUrl }            once it serves
 *   ← { type: 'usage', gc }  → { type: 'usage', cpuUs, maxRssMb, heapAfterGcMb }  (CPU read before any GC)
 *   ← { type: 'stop' }   closes the runtime and exits
 */
import pino from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { startRuntime } from '../../src/runtime/index.js';

export type ChildRequest = { type: 'usage'; gc: boolean } | { type: 'stop' };
export type ChildReply =
  | { type: 'ready'; apiUrl: string }
  | { type: 'usage'; cpuUs: number; maxRssMb: number; heapAfterGcMb: number | undefined };

function usage(gc: boolean): ChildReply {
  const { user, system } = process.cpuUsage();
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  // Peak RSS is mostly garbage not yet collected; what survives a full GC is what is retained.
  // The GC runs only when asked (after the window), so it never counts as a callback's CPU.
  const collect = gc ? global.gc : undefined;
  collect?.();
  const heapAfterGcMb = collect ? process.memoryUsage().heapUsed / 1048576 : undefined;
  return { type: 'usage', cpuUs: user + system, maxRssMb, heapAfterGcMb };
}

async function main(): Promise<void> {
  const send = (reply: ChildReply): void => void process.send?.(reply);
  const config = loadConfig(process.env);
  const runtime = await startRuntime(config, { api: true, workers: true }, pino({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' }));
  process.on('message', (request: ChildRequest) => {
    if (request.type === 'usage') send(usage(request.gc));
    else void runtime.close().then(() => process.exit(0));
  });
  // No IPC channel means nobody can stop us: leave rather than run on.
  process.on('disconnect', () => void runtime.close().then(() => process.exit(0)));
  send({ type: 'ready', apiUrl: runtime.apiUrl ?? '' });
}

main().catch((err: unknown) => {
  process.stderr.write(`crossline child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
