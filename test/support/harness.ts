import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import supertest from 'supertest';
import type { CallbackView } from '../../src/callbacks/index.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { startRuntime, type Roles, type Runtime } from '../../src/runtime/index.js';
import type { CapabilityModule } from '../../src/runtime/modules/index.js';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import { testRedisUrl, uniquePrefix } from './redis.js';

export const API_KEY = 'test-key-0123456789';
/** Simulator time scale for end-to-end tests: 1 s of phone behaviour takes 50 ms. */
export const TIME_SCALE = 0.05;

/** A whole Crossline (API and/or workers) connected to some switch, driven over HTTP. */
export interface Crossline {
  runtime: Runtime;
  config: Readonly<Config>;
  /** The environment it was configured from (hand it to a worker process to join the same one). */
  env: Record<string, string>;
  api: () => supertest.Agent;
  create(body: unknown, headers?: Record<string, string>): Promise<supertest.Response>;
  get(id: string): Promise<CallbackView>;
  waitFor(id: string, predicate: (cb: CallbackView) => boolean, timeoutMs?: number): Promise<CallbackView>;
  waitForStatus(id: string, status: CallbackView['status'], timeoutMs?: number): Promise<CallbackView>;
  close(): Promise<void>;
}

/** Crossline on the ESL simulator. */
export interface Harness extends Crossline {
  sim: EslSimulator;
}

export interface HarnessOptions {
  roles?: Roles;
  env?: Record<string, string>;
  /** REDIS_URL, e.g. a `redis+cluster://` URL. @defaultValue the tests' shared Redis ({@link testRedisUrl}) */
  redisUrl?: string;
  /** @defaultValue TIME_SCALE */
  timeScale?: number;
  /** The capability modules, in start order (e.g. one built with test options). @defaultValue CAPABILITY_MODULES */
  modules?: readonly CapabilityModule[];
}

/**
 * A whole Crossline over real parts: Redis (own key prefix), the ESL simulator on a real socket,
 * the ESL client, BullMQ workers and the HTTP API on port 0.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const sim = await createEslSimulator({ timeScale: options.timeScale ?? TIME_SCALE });
  const crossline = await startCrossline(sim.url, options);
  return {
    ...crossline,
    sim,
    close: async () => {
      await crossline.close();
      await sim.close();
    },
  };
}

/**
 * Crossline over real parts (Redis with its own key prefix, BullMQ, the HTTP API on port 0)
 * connected to the switch at `eslUrl`: the simulator or a real FreeSWITCH.
 */
export async function startCrossline(eslUrl: string, options: Omit<HarnessOptions, 'timeScale'> = {}): Promise<Crossline> {
  const env: Record<string, string> = {
    REDIS_URL: options.redisUrl ?? (await testRedisUrl()),
    ESL_URL: eslUrl,
    KEY_PREFIX: uniquePrefix(),
    API_KEYS: API_KEY,
    PORT: '0',
    HOST: '127.0.0.1',
    JOB_LOCK_MS: '2000',
    // A bridged call's job wakes this often to ask the switch about ends nobody heard.
    CALL_END_RECONCILE_MS: '1000',
    DEFAULT_RETRY_DELAY: '0',
    DEFAULT_RING_TIMEOUT: '5',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_SECRET: 'whsec_test_0123456789abcdef',
    ESL_API_TIMEOUT_MS: '3000',
    RATE_LIMIT_PER_MINUTE: '10000',
    // The switch capacity guard stays on, with what the switch reports as its limits; a test that
    // times ESL commands out must not leave the next one waiting a minute for SWITCH_SLOW.
    SWITCH_MAX_SPS: '1000',
    SWITCH_SLOW_REPLY_MS: '60000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // The SMTP intake is for the tests that ask for it (SMTP_ENABLED=true, SMTP_PORT=0).
    SMTP_ENABLED: 'false',
    ...options.env,
  };
  const config = loadConfig(env);
  const runtime = await startRuntime(config, options.roles ?? { api: true, workers: true }, pino({ level: config.logLevel }), options.modules ? { modules: options.modules } : {});
  const apiUrl = runtime.apiUrl ?? '';
  const api = (): supertest.Agent => supertest.agent(apiUrl).set('Authorization', `Bearer ${API_KEY}`);
  const fetchCallback = async (id: string): Promise<CallbackView | 'unavailable'> => {
    const res = await api().get(`/v1/callbacks/${id}`);
    // 503 while the store reconnects is the API doing its job; a poller waits it out.
    if (res.status === 503) return 'unavailable';
    if (res.status !== 200) throw new Error(`GET ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as CallbackView;
  };
  const get = async (id: string): Promise<CallbackView> => {
    const cb = await fetchCallback(id);
    if (cb === 'unavailable') throw new Error(`GET ${id}: 503`);
    return cb;
  };
  const waitFor = async (id: string, predicate: (cb: CallbackView) => boolean, timeoutMs = 15_000): Promise<CallbackView> => {
    const deadline = Date.now() + timeoutMs;
    let last = await fetchCallback(id);
    while (last === 'unavailable' || !predicate(last)) {
      if (Date.now() > deadline) {
        const state = last === 'unavailable' ? 'store unavailable' : { status: last.status, timeline: last.timeline };
        throw new Error(`timed out; last state: ${JSON.stringify(state, null, 1)}`);
      }
      await new Promise((r) => setTimeout(r, 40));
      last = await fetchCallback(id);
    }
    return last;
  };
  return {
    runtime,
    config,
    env,
    api,
    create: (body, headers = {}) => api().post('/v1/callbacks').set(headers).send(body as object),
    get,
    waitFor,
    waitForStatus: (id, status, timeoutMs) => waitFor(id, (cb) => cb.status === status, timeoutMs),
    close: async () => {
      await runtime.close();
      // A prefix of the harness's own is nobody else's: leave the shared Redis as it was found.
      if (options.env?.KEY_PREFIX === undefined) await removeKeys(env.REDIS_URL ?? '', `${env.KEY_PREFIX}`);
    },
  };
}

/** Unlinks every key under `prefix` on a single Redis node (a cluster's nodes are the cluster test's own). */
async function removeKeys(redisUrl: string, prefix: string): Promise<void> {
  if (!redisUrl.startsWith('redis://')) return;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } catch {
    // a test that stopped its Redis on purpose has nothing left to clean
  } finally {
    redis.disconnect();
  }
}

/** A worker process; `up` resolves once it is connected and working (it printed its banner). */
export type WorkerProcess = ChildProcess & { up: Promise<void> };

/** A worker as its own OS process (`workers/main.ts`), so a test can kill -9 it mid-call. */
export function spawnWorkerProcess(env: Record<string, string>): WorkerProcess {
  const root = path.resolve(__dirname, '..', '..');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'workers', 'main.ts')], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const up = new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen = (seen + chunk.toString('utf8')).slice(-200);
      if (seen.includes('Crossline is up')) resolve();
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`worker exited before it was up (${signal ?? code})`)));
  });
  up.catch(() => undefined);
  return Object.assign(child, { up });
}

/** SIGTERM (a deploy), resolved with how long the process took to exit, ms. */
export function stopProcess(child: ChildProcess): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(0);
    child.once('exit', () => resolve(Date.now() - started));
    child.kill('SIGTERM');
  });
}

/** The commands the simulator received, as text, that start with `prefix` (after api/bgapi). */
export function commandsLike(sim: EslSimulator, pattern: RegExp): string[] {
  return sim.commands.map((c) => c.text).filter((t) => pattern.test(t));
}

/** A TCP port free on 127.0.0.1 now (for a server whose address must be known before it starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** HTTP Basic credentials of the switch's CDR posts in tests (CDR_CREDENTIALS and the simulator's `cdrCredentials`). */
export const TEST_CDR_CREDENTIALS = 'switch:cdr-secret-0123456789';

/** SIGKILL, resolved once the process is gone (at once if it already is). */
export function killProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
