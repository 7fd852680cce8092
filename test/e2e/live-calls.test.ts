import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CallbackView } from '../../src/callbacks/index.js';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import { killProcess, spawnWorkerProcess, startCrossline, stopProcess, type Crossline, type WorkerProcess } from '../support/harness.js';
import { observeSwitch, type SwitchObserver } from '../support/switch-observer.js';

/*
 * Issue 6, item 1: live calls do not hold workers. CALLS callbacks are bridged and stay up at once
 * while a single worker process with concurrency 20 keeps dialling new ones, so a bridged call
 * cannot be holding a slot. The worker is killed (SIGKILL), stopped (SIGTERM, a deploy) and
 * restarted during them; no conversation is touched, and once the far ends hang up every callback
 * ends completed, each leg originated once (counted from the switch's own CHANNEL_CREATE events).
 */

const CALLS = Number(process.env.LIVE_CALLS ?? 2000);
const CONCURRENCY = 20;
const INTAKE_CONCURRENCY = 16;
const RECONCILE_MS = Number(process.env.LIVE_CALLS_RECONCILE_MS ?? 30_000);

const callerOf = (i: number): string => `+1202556${String(i).padStart(4, '0')}`;
const calleeOf = (i: number): string => `+1202557${String(i).padStart(4, '0')}`;
const digits = (number: string): string => number.replace(/\D/g, '').replace(/^1(?=\d{10}$)/, '');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `work` over 0..n-1, `width` at a time. */
async function pool(n: number, width: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await work(next++);
  }));
}

describe('live calls do not hold workers', () => {
  let sim: EslSimulator;
  let observer: SwitchObserver;
  let crossline: Crossline;
  const workers: WorkerProcess[] = [];
  const startWorker = async (): Promise<WorkerProcess> => {
    const child = spawnWorkerProcess({ ...crossline.env, WORKER_CONCURRENCY: String(CONCURRENCY) });
    workers.push(child);
    await child.up;
    return child;
  };

  /** Pairs the switch has bridged right now (both legs answered), by Crossline's leg UUIDs. */
  const bridgedOnSwitch = (): Array<[string, string]> =>
    sim.channels().filter((c) => c.state === 'answered' && c.bridgedTo !== undefined && c.uuid < (c.bridgedTo ?? '')).map((c) => [c.uuid, c.bridgedTo ?? '']);

  const untilSwitch = async (what: string, predicate: () => boolean, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what} (${bridgedOnSwitch().length} bridged)`);
      await sleep(250);
    }
  };

  before(async () => {
    sim = await createEslSimulator({ timeScale: 1 });
    for (let i = 0; i < CALLS; i++) {
      sim.setPhone(callerOf(i), { kind: 'answer', afterMs: 0 });
      sim.setPhone(calleeOf(i), { kind: 'answer', afterMs: 0 });
    }
    observer = await observeSwitch(sim.host, sim.port, sim.password);
    crossline = await startCrossline(sim.url, {
      roles: { api: true, workers: false },
      env: {
        CALL_END_RECONCILE_MS: String(RECONCILE_MS),
        DESTINATION_LIMIT_EXEMPT: '+1202556,+1202557',
        KEY_CALLBACKS_PER_DAY: '1000000',
        RATE_LIMIT_PER_MINUTE: '1000000',
        // A worker killed mid-dial is taken over soon.
        JOB_LOCK_MS: '3000',
        // 2,000 bridged calls are 4,000 sessions: above the capacity guard's default budget (1,000).
        SWITCH_MAX_SESSIONS: '10000',
      },
    });
  });
  after(async () => {
    await Promise.all(workers.map(killProcess));
    observer?.close();
    await crossline?.close();
    await sim?.close();
  });

  it(`${CALLS} bridged calls stay up while one worker with concurrency ${CONCURRENCY} keeps dialling, through a kill -9 and a deploy of it, and every callback completes once hung up`, async () => {
    const started = Date.now();
    const mark = (what: string): void => console.log(`live calls: ${what} at ${((Date.now() - started) / 1000).toFixed(1)} s (${bridgedOnSwitch().length} bridged)`);
    let worker = await startWorker();

    const ids: string[] = new Array<string>(CALLS);
    const intake = pool(CALLS, INTAKE_CONCURRENCY, async (i) => {
      const res = await crossline.create({ caller: { number: callerOf(i) }, callee: { number: calleeOf(i) } });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      ids[i] = res.body.id as string;
    });

    // A crash while dialling: the successor resumes what was being dialled.
    await untilSwitch(`${Math.round(CALLS / 3)} bridged`, () => bridgedOnSwitch().length >= CALLS / 3, 120_000);
    await killProcess(worker);
    mark('worker killed (SIGKILL)');
    worker = await startWorker();

    // A deploy: SIGTERM drains only the attempts being dialled, never waits for a conversation.
    await untilSwitch(`${Math.round((2 * CALLS) / 3)} bridged`, () => bridgedOnSwitch().length >= (2 * CALLS) / 3, 120_000);
    const exitMs = await stopProcess(worker);
    mark(`worker stopped (SIGTERM, exited in ${exitMs} ms)`);
    assert.ok(exitMs < 15_000, `a deploy does not wait for live calls (exited in ${exitMs} ms)`);
    worker = await startWorker();

    await intake;
    await untilSwitch(`all ${CALLS} bridged`, () => bridgedOnSwitch().length === CALLS, 120_000);
    mark('all bridged');
    const pairs = bridgedOnSwitch();

    // Every conversation is up at once, so none holds one of the 20 slots; a crash now touches none.
    await killProcess(worker);
    worker = await startWorker();
    await sleep(2_000);
    assert.equal(bridgedOnSwitch().length, CALLS, 'no conversation was touched by the crash or the restart');
    const originatedBefore = observer.channels().filter((c) => c.direction === 'outbound').length;
    mark('restarted with all bridged');

    for (const [a] of pairs) sim.remoteHangup(a, 'NORMAL_CLEARING');
    const left = async (): Promise<number> => {
      const res = await crossline.api().get('/v1/callbacks?status=bridged&limit=1');
      return (res.body as { items: unknown[] }).items.length;
    };
    const deadline = Date.now() + 60_000;
    while ((await left()) > 0) {
      assert.ok(Date.now() < deadline, 'every call end is recorded');
      await sleep(200);
    }
    mark('all completed');

    const callbacks: CallbackView[] = [];
    await pool(CALLS, INTAKE_CONCURRENCY, async (i) => void callbacks.push(await crossline.get(ids[i] ?? '')));
    const notCompleted = callbacks.filter((cb) => cb.status !== 'completed');
    assert.deepEqual(notCompleted.map((cb) => `${cb.id} ${cb.status}`), [], 'every callback completed');
    // Legs Crossline recorded per number, against legs the switch created per number.
    const recorded = new Map<string, number>();
    for (const cb of callbacks) for (const leg of cb.attempts.flatMap((a) => a.legs)) recorded.set(digits(leg.endpoint), (recorded.get(digits(leg.endpoint)) ?? 0) + 1);
    const created = new Map<string, number>();
    for (const ch of observer.channels()) if (ch.direction === 'outbound') created.set(digits(ch.destination), (created.get(digits(ch.destination)) ?? 0) + 1);
    assert.equal(observer.channels().filter((c) => c.direction === 'outbound').length, originatedBefore, 'nothing dialled after the bridges');
    assert.deepEqual([...created.entries()].filter(([n, count]) => recorded.get(n) !== count), [], 'each leg originated once');
    const retried = callbacks.filter((cb) => cb.attempts.length > 1).length;
    const resumed = callbacks.filter((cb) => cb.timeline.some((e) => e.event === 'resumed')).length;
    for (const cb of callbacks.filter((c) => c.attempts.length > 1).slice(0, 2)) console.log(JSON.stringify(cb.timeline.map((e) => [e.event, e.role, e.hangupCause, e.detail].filter(Boolean).join(' '))));
    console.log(`live calls: ${CALLS} completed in ${((Date.now() - started) / 1000).toFixed(1)} s; ${resumed} taken over mid-dial, ${retried} needed a second attempt`);
  });
});
