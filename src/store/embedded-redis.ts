import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface ResolvedRedis {
  url: string;
  /** How it was found: configured, the local default port, or a redis-server we spawned. */
  origin: 'configured' | 'local-default' | 'spawned';
  /** Stops a spawned server; a no-op otherwise. Safe to call twice. */
  stop(): Promise<void>;
}

export class RedisUnavailableError extends Error {
  constructor() {
    super(
      'No Redis: REDIS_URL is not set, nothing answers on 127.0.0.1:6379 and redis-server is not on PATH.\n' +
        'Install Redis (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`) or set REDIS_URL=redis://host:6379.',
    );
    this.name = 'RedisUnavailableError';
  }
}

/** True when a Redis answers PING on host:port within the timeout. */
export function redisAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** A TCP port nothing listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * The embedded default: a configured URL as is; else 127.0.0.1:6379 if it answers; else a
 * redis-server spawned from PATH on a free port (append-only persistence in a temp dir, so a
 * restart of that server inside one run keeps accepted callbacks).
 */
export interface ResolveRedisOptions {
  /**
   * Tie a spawned server to this process instead of to `stop()`: it does not keep the event loop
   * alive and is killed when the process exits. For test files, whose own `after` hooks may still
   * use Redis after any hook of ours would have run.
   */
  stopWithProcess?: boolean;
}

export async function resolveRedis(configuredUrl: string | undefined, options: ResolveRedisOptions = {}): Promise<ResolvedRedis> {
  if (configuredUrl) return { url: configuredUrl, origin: 'configured', stop: async () => {} };
  if (await redisAnswers('127.0.0.1', 6379)) return { url: 'redis://127.0.0.1:6379', origin: 'local-default', stop: async () => {} };
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crossline-redis-'));
  let child: ChildProcess;
  try {
    child = await startRedisServer(port, dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  if (options.stopWithProcess) {
    child.unref();
    process.once('exit', () => {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    });
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    origin: 'spawned',
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts `redis-server` on 127.0.0.1:`port` with append-only persistence in `dir` and resolves once
 * it answers PING. `extraArgs` are passed on (e.g. `--appendfsync always`).
 */
export function startRedisServer(port: number, dir: string, extraArgs: readonly string[] = []): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--protected-mode', 'yes', ...extraArgs],
      { stdio: 'ignore' },
    );
    child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new RedisUnavailableError() : err));
    const started = Date.now();
    const poll = async (): Promise<void> => {
      if (child.exitCode !== null) return reject(new Error(`redis-server exited with code ${child.exitCode}`));
      if (await redisAnswers('127.0.0.1', port, 200)) return resolve(child);
      if (Date.now() - started > 10_000) {
        child.kill('SIGKILL');
        return reject(new Error('redis-server did not start within 10 s'));
      }
      setTimeout(() => void poll(), 50);
    };
    void poll();
  });
}
