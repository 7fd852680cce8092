/**
 * The parent's side of the Crossline run on a real switch: starts Crossline in a child process,
 * posts callbacks to its API at the plan's rate, waits until each has ended, and reads back what
 * the store recorded (for latencies and failure causes) once the measured window is closed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { apiKeyOwner } from '../../src/api/index.js';
import type { Callback, TimelineEntry } from '../../src/callbacks/index.js';
import { CallbackRepository, createRedis, type Redis } from '../../src/store/index.js';
import type { ChildReply, ChildRequest } from './crossline-child.js';
import type { CallPlan } from './floor-driver.js';
import { paced, phone, sleep } from './measure.js';

const API_KEY = 'bench-key-0123456789';
const CHILD = path.join(__dirname, 'crossline-child.ts');

export interface CrosslineUsage {
  cpuUs: number;
  maxRssMb: number;
  heapAfterGcMb: number | undefined;
}

export interface CrosslineCall {
  id: string;
  /** Date.now() when the POST was sent. */
  posted: number;
}

/** A Crossline process started for the bench; `url` is its API. */
export class CrosslineProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly apiUrl: string,
    private readonly redis: Redis,
    readonly repository: CallbackRepository,
  ) {}

  static async start(env: { eslUrl: string; redisUrl: string; keyPrefix: string; workerConcurrency: number }): Promise<CrosslineProcess> {
    const child = fork(CHILD, [], {
      // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of Crossline (warm-up included) when it stops.
      execArgv: ['--expose-gc', '--import', 'tsx', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [])],
      env: {
        PATH: process.env.PATH,
        ESL_URL: env.eslUrl,
        REDIS_URL: env.redisUrl,
        KEY_PREFIX: env.keyPrefix,
        API_KEYS: API_KEY,
        PORT: '0',
        HOST: '127.0.0.1',
        // The scripted phones answer through the `phones` gateway of profile `internal`.
        DIAL_GATEWAY: 'phones',
        SIP_PROFILE: 'internal',
        WORKER_CONCURRENCY: String(env.workerConcurrency),
        RATE_LIMIT_PER_MINUTE: '1000000',
        // The same 60 test numbers are dialled over and over: the per-destination and per-key
        // limits stay on (their cost is part of intake) but out of reach.
        DESTINATION_CALLBACKS_PER_HOUR: '1000000',
        DESTINATION_MAX_ACTIVE: '100000',
        KEY_CALLBACKS_PER_DAY: '100000000',
        // The switch capacity guard stays on, configured above the test switch's own limits (2,000
        // sessions, 200/s), so the limits it learns from the switch decide, as for the floor.
        SWITCH_MAX_SPS: '100000',
        SWITCH_MAX_SESSIONS: '100000',
        LOG_LEVEL: 'silent',
        ...(process.env.BENCH_LOG_LEVEL ? { BENCH_LOG_LEVEL: process.env.BENCH_LOG_LEVEL } : {}),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    // A send to a child that has died emits 'error' on it; unheard, that would kill the bench
    // before it cleans up. The pending request fails through the 'exit' listener instead.
    child.on('error', (err) => process.stderr.write(`crossline process: ${err.message}\n`));
    const ready = await nextReply(child, 'ready');
    const redis = createRedis(env.redisUrl);
    return new CrosslineProcess(child, ready.apiUrl, redis, new CallbackRepository(redis, env.keyPrefix));
  }

  private get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async usage(gc = false): Promise<CrosslineUsage> {
    const reply = nextReply(this.child, 'usage');
    this.request({ type: 'usage', gc });
    const { cpuUs, maxRssMb, heapAfterGcMb } = await reply;
    return { cpuUs, maxRssMb, heapAfterGcMb };
  }

  /** Posts `plan.count` callbacks at the plan's rate; resolves with their ids once all are accepted. */
  async post(plan: CallPlan): Promise<CrosslineCall[]> {
    const results = await paced(plan.count, plan.ratePerSec, (i) => this.postOne(plan, i));
    return results.map((r) => {
      if (r.status === 'rejected') throw r.reason;
      return r.value;
    });
  }

  /**
   * Waits until `total` callbacks of ours have ended (completed or failed), polling two ZCARDs
   * four times a second: cheap for Redis, and the polling runs in this process, not Crossline's.
   */
  async waitForEnded(total: number, timeoutMs: number): Promise<void> {
    const owner = apiKeyOwner(API_KEY);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [completed, failed] = await Promise.all([this.repository.countByStatus(owner, 'completed'), this.repository.countByStatus(owner, 'failed')]);
      if (completed + failed >= total) return;
      if (!this.running) throw new Error('the Crossline process died during the run');
      if (Date.now() > deadline) throw new Error(`only ${completed + failed} of ${total} callbacks ended within ${timeoutMs} ms`);
      await sleep(250);
    }
  }

  async records(calls: readonly CrosslineCall[]): Promise<Callback[]> {
    const found = await Promise.all(calls.map((c) => this.repository.get(c.id)));
    return found.filter((c): c is Callback => c !== undefined);
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => (this.running ? this.child.once('exit', () => resolve()) : resolve()));
    if (this.running) this.request({ type: 'stop' });
    await exited;
    await this.redis.quit();
  }

  private request(request: ChildRequest): void {
    this.child.send(request);
  }

  private async postOne(plan: CallPlan, i: number): Promise<CrosslineCall> {
    const callee = phone(plan.calleeBlock.first, plan.calleeBlock.size, i);
    const caller = phone(plan.callerBlock.first, plan.callerBlock.size, i);
    const posted = Date.now();
    const res = await fetch(`${this.apiUrl}/v1/callbacks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        caller: { number: caller },
        callee: { number: callee },
        ringTimeout: plan.ringTimeoutSec,
        retry: { maxAttempts: 1, delaySeconds: 0 },
      }),
    });
    const body = (await res.json()) as { id?: string };
    if (res.status !== 202 || !body.id) throw new Error(`POST answered ${res.status}: ${JSON.stringify(body)}`);
    return { id: body.id, posted };
  }
}

function nextReply<T extends ChildReply['type']>(child: ChildProcess, type: T): Promise<Extract<ChildReply, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ChildReply): void => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as Extract<ChildReply, { type: T }>);
    };
    const onExit = (code: number | null): void => reject(new Error(`the Crossline process exited (code ${code}) before it sent '${type}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** When the timeline first shows `event` (optionally for `role`), as ms since the epoch. */
export function timelineAt(callback: Callback, event: TimelineEntry['event'], role?: 'caller' | 'callee'): number | undefined {
  const entry = callback.timeline.find((e) => e.event === event && (role === undefined || e.role === role));
  return entry ? Date.parse(entry.at) : undefined;
}
