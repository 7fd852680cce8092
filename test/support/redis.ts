import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, redisAnswers, resolveRedis, type ResolvedRedis } from '../../src/store/embedded-redis.js';

let shared: Promise<ResolvedRedis> | undefined;

/**
 * The Redis the tests use: REDIS_URL, else 127.0.0.1:6379, else a spawned redis-server (the same
 * embedded default as `npm start`). A spawned one lives until the test file's process exits: an
 * `after` hook of ours would run before the file's own hooks that still clean up through it.
 */
export function testRedisUrl(): Promise<string> {
  shared ??= resolveRedis(process.env.REDIS_URL, { stopWithProcess: true });
  return shared.then((r) => r.url);
}

/** A key prefix of its own for each test (bullmq's `test-${randomUUID()}` habit). */
export const uniquePrefix = (): string => `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;

/** A Redis Cluster of local masters, for the tests that need one. */
export interface LocalRedisCluster {
  /** `redis+cluster://127.0.0.1:<p1>,…`, as REDIS_URL names a cluster. */
  url: string;
  ports: number[];
  /** Stops every node and removes their files. Safe to call twice. */
  stop(): Promise<void>;
}

/** Why a cluster cannot be formed here (redis-cli or redis-server missing), or undefined when it can. */
export function redisClusterUnavailable(): string | undefined {
  for (const tool of ['redis-server', 'redis-cli']) {
    const probe = spawnSync(tool, ['--version'], { stdio: 'ignore' });
    if (probe.error) return `${tool} is not on PATH (apt-get install redis-server redis-tools)`;
  }
  return undefined;
}

/**
 * Starts `masters` `redis-server --cluster-enabled yes` processes on free ports, joins them with
 * `redis-cli --cluster create … --cluster-replicas 0`, and resolves once every node reports
 * `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<LocalRedisCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crossline-cluster-'));
  const nodes: ChildProcess[] = [];
  const ports: number[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(
      nodes.map(
        (node) =>
          new Promise<void>((resolve) => {
            if (node.exitCode !== null || node.signalCode !== null) return resolve();
            node.once('exit', () => resolve());
            node.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      ports.push(port);
      nodes.push(
        spawn(
          'redis-server',
          ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
            '--appendonly', 'no', '--save', '', '--protected-mode', 'yes'],
          { stdio: 'ignore' },
        ),
      );
    }
    await Promise.all(ports.map((port) => until(() => redisAnswers('127.0.0.1', port, 200), `redis-server on ${port} did not start`)));
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stderr || create.stdout}`);
    await Promise.all(ports.map((port) => until(() => clusterStateOk(port), `node ${port} did not reach cluster_state:ok`)));
    return { url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, ports, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function clusterStateOk(port: number): Promise<boolean> {
  const info = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8', timeout: 5_000 });
  return info.status === 0 && info.stdout.includes('cluster_state:ok');
}

async function until(check: () => Promise<boolean>, failure: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(failure);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
