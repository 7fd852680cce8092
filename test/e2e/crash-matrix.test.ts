import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CallbackView } from '../../src/callbacks/index.js';
import { createEslSimulator, type EslSimulator, type PhoneBehaviour, type ReceivedCommand } from '../../src/simulator/index.js';
import { freePort, killProcess, spawnWorkerProcess, startCrossline, TEST_CDR_CREDENTIALS, type Crossline, type WorkerProcess } from '../support/harness.js';

/*
 * The crash-point matrix (issue 11, item 4), simulator only: for every command the flow sends to
 * the switch in a callback's first attempt, the worker process is killed (SIGKILL) right after the
 * simulator received that command — the simulator tells the test through its onCommand hook, before
 * it acts on the command, and the test kills the process; nothing in Crossline knows. A second
 * worker process takes the job over once its lock lapses. Run for each behaviour of the caller's
 * phone (the callee answers, hears an announcement and IVR digits), with a retry left. Each cell must
 * end as the same callback without a crash ends, with one originate per leg, and no new attempt
 * after a conversation. The switch posts its CDRs to the API, as a real one configured with
 * mod_json_cdr does. A real FreeSWITCH cannot tell a test what it received, so there is no
 * FreeSWITCH column here.
 */

const TIME_SCALE = 0.2;
/** Cells run side by side (each has its own simulator, key prefix and worker processes). */
const PARALLEL = 5;

type Behaviour = 'answer' | 'busy' | 'no answer' | 'hang up early' | 'short call';
/**
 * Simulated ms (× TIME_SCALE). A caller who answers stays on the line until the test hangs it up,
 * once bridged: however long a takeover takes (the lock lapses, a new process starts), as a person
 * hearing silence for a moment would. One who hung up in the meantime would make a retry the right
 * outcome, not the crash-free one.
 */
const BEHAVIOURS: Record<Behaviour, PhoneBehaviour> = {
  answer: { kind: 'answer', afterMs: 1000 },
  busy: { kind: 'busy' },
  'no answer': { kind: 'no-answer' },
  'hang up early': { kind: 'answer', afterMs: 1000, hangupAfterMs: 300 },
  // Talks 1 s: killed right after uuid_bridge, the whole conversation happens while no worker runs (issue 11's three failures).
  'short call': { kind: 'answer', afterMs: 1000, hangupAfterMs: 5_000 },
};
/** Where each behaviour is killed: every command of its first attempt, except for the short call (see above). */
const KILL_POINTS: Partial<Record<Behaviour, readonly string[]>> = { 'short call': ['uuid_bridge'] };
const CALLER = '+12025550140';
const CALLEE = '+12025550141';

/** A command that changes a call, named by what it is and whom it is for: `originate callee`, `speak caller`… */
interface Sent {
  label: string;
  attempt: number;
}

function classify(sim: EslSimulator, command: ReceivedCommand): Sent | undefined {
  const text = command.text;
  const kind = /^(?:bg)?api (originate|uuid_send_dtmf|uuid_bridge|uuid_kill) /.exec(text)?.[1] ?? (/^sendmsg /.test(text) ? /execute-app-name: (\w+)/i.exec(text)?.[1] : undefined);
  if (!kind) return undefined;
  if (kind === 'originate') {
    const role = /crossline_role=(\w+)/.exec(text)?.[1] ?? '?';
    return { label: `originate ${role}`, attempt: Number(/crossline_attempt=(\d+)/.exec(text)?.[1] ?? 0) };
  }
  if (kind === 'uuid_bridge') {
    const uuid = /uuid_bridge (\S+)/.exec(text)?.[1];
    return { label: 'uuid_bridge', attempt: Number(sim.channels().find((c) => c.uuid === uuid)?.variables.crossline_attempt ?? 0) };
  }
  const uuid = /^(?:sendmsg|(?:bg)?api \w+) ([0-9a-f-]{36})/.exec(text)?.[1];
  const vars = sim.channels().find((c) => c.uuid === uuid)?.variables ?? {};
  return { label: `${kind} ${vars.crossline_role ?? '?'}`, attempt: Number(vars.crossline_attempt ?? 0) };
}

/** What a cell ended as, and what the switch saw. */
interface CellResult {
  outcome: string;
  /** Attempt-1 commands, numbered per label (`speak callee #2`). */
  commands: string[];
  originatesOk: boolean;
  originates: number;
  /** A conversation happened on the switch and was followed by another attempt. */
  redialledAfterTalk: boolean;
  timeline: string;
}

const outcomeOf = (cb: CallbackView): string => `${cb.status}${cb.failureCause ? ` ${cb.failureCause}` : ''}, ${cb.attempts.length} attempt${cb.attempts.length === 1 ? '' : 's'}`;

/** One callback, with the worker killed right after the `killAt`-th command of attempt 1 (none: no crash). */
async function runCell(behaviour: Behaviour, killAt: string | undefined): Promise<CellResult> {
  const port = await freePort();
  const sim = await createEslSimulator({
    timeScale: TIME_SCALE,
    cdrUrl: `http://127.0.0.1:${port}/v1/switch/cdr`,
    cdrCredentials: TEST_CDR_CREDENTIALS,
    cdrDelayMs: 1000,
  });
  sim.setPhone(CALLER, BEHAVIOURS[behaviour]);
  sim.setPhone(CALLEE, { kind: 'answer', afterMs: 1000 });
  let crossline: Crossline | undefined;
  const workers: WorkerProcess[] = [];
  try {
    crossline = await startCrossline(sim.url, {
      roles: { api: true, workers: false },
      env: { PORT: String(port), CDR_CREDENTIALS: TEST_CDR_CREDENTIALS, JOB_LOCK_MS: '1000', CALL_END_RECONCILE_MS: '500', DEFAULT_RING_TIMEOUT: '10' },
    });
    const env = crossline.env;
    const start = (): WorkerProcess => {
      const w = spawnWorkerProcess(env);
      workers.push(w);
      return w;
    };
    const commands: string[] = [];
    const seen = new Map<string, number>();
    let killed: Promise<void> | undefined;
    const first = start();
    sim.onCommand((command) => {
      const sent = classify(sim, command);
      if (!sent || sent.attempt !== 1) return;
      const n = (seen.get(sent.label) ?? 0) + 1;
      seen.set(sent.label, n);
      const name = n === 1 ? sent.label : `${sent.label} #${n}`;
      commands.push(name);
      if (name === killAt && !killed) {
        // Before the simulator acts on the command: the process dies with it on the wire.
        first.kill('SIGKILL');
        killed = killProcess(first).then(() => void start());
      }
    });
    await first.up;
    const res = await crossline.create({
      caller: { number: CALLER },
      callee: { number: CALLEE, dtmf: '1#' },
      announce: { callee: 'Connecting you to a customer.', caller: 'Connecting you.' },
      retry: { maxAttempts: 2, delaySeconds: 0 },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = res.body.id as string;
    if (behaviour === 'answer') {
      // They talk a moment, then the caller hangs up.
      void crossline.waitForStatus(id, 'bridged', 60_000).then(
        async (cb) => {
          await new Promise((r) => setTimeout(r, 300));
          sim.remoteHangup(cb.attempts.at(-1)?.legs.find((l) => l.role === 'caller')?.uuid ?? '');
        },
        () => undefined,
      );
    }
    const done = await crossline.waitFor(id, (cb) => ['completed', 'failed', 'canceled'].includes(cb.status), 60_000);
    await killed;
    // Let a switch that still had something to do (a late leg, a survivor) finish before counting.
    await new Promise((r) => setTimeout(r, 300));

    const legs = done.attempts.flatMap((a) => a.legs);
    const originates = sim.originates();
    const originatesOk = originates.length === legs.length && legs.every((l) => originates.filter((c) => c.text.includes(l.uuid)).length === 1);
    const channels = sim.channels();
    const talked = channels.filter((c) => c.variables.last_bridge_to !== undefined).map((c) => Number(c.variables.crossline_attempt ?? 0));
    const redialledAfterTalk = talked.length > 0 && channels.some((c) => Number(c.variables.crossline_attempt ?? 0) > Math.min(...talked));
    return {
      outcome: outcomeOf(done),
      commands,
      originatesOk,
      originates: originates.length,
      redialledAfterTalk,
      timeline: done.timeline.map((e) => [e.event, e.role, e.hangupCause, e.detail?.startsWith('found') ? `(${e.detail})` : ''].filter(Boolean).join(':')).join(' → '),
    };
  } finally {
    await Promise.all(workers.map(killProcess));
    await crossline?.close();
    await sim.close();
  }
}

/**
 * runCell, again on a new port when the API's could not listen: a port found free may be taken
 * (by another cell's, or any outgoing connection's, ephemeral port) before the API binds it.
 * Nothing was dialled then: the API never started.
 */
async function runCellOnFreePort(behaviour: Behaviour, killAt: string | undefined): Promise<CellResult> {
  for (let tries = 1; ; tries++) {
    try {
      return await runCell(behaviour, killAt);
    } catch (err) {
      if (tries >= 3 || !(err instanceof Error) || !err.message.includes('EADDRINUSE')) throw err;
    }
  }
}

async function pool<T, R>(items: readonly T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await work(items[i] as T);
    }),
  );
  return out;
}

interface Row {
  behaviour: Behaviour;
  killAt: string;
  expected: string;
  result?: CellResult;
  error?: string;
}

const verdictOf = (row: Row): string => {
  if (row.error || !row.result) return `ERROR ${row.error?.split('\n')[0] ?? ''}`;
  const r = row.result;
  const wrong = [
    r.outcome !== row.expected ? 'outcome differs' : '',
    r.originatesOk ? '' : 'originates',
    r.redialledAfterTalk ? 'redialled after a conversation' : '',
  ].filter(Boolean);
  return wrong.length === 0 ? 'ok' : `FAIL (${wrong.join(', ')})`;
};

describe('crash-point matrix: kill -9 of the worker right after each command the switch receives (simulator)', () => {
  const baselines = new Map<Behaviour, CellResult>();
  const rows: Row[] = [];

  before(async () => {
    const behaviours = Object.keys(BEHAVIOURS) as Behaviour[];
    const base = await pool(behaviours, PARALLEL, (b) => runCellOnFreePort(b, undefined));
    behaviours.forEach((b, i) => baselines.set(b, base[i] as CellResult));
    for (const b of behaviours) {
      const baseline = baselines.get(b) as CellResult;
      for (const killAt of KILL_POINTS[b] ?? baseline.commands) rows.push({ behaviour: b, killAt, expected: baseline.outcome });
    }
    await pool(rows, PARALLEL, async (row) => {
      try {
        row.result = await runCellOnFreePort(row.behaviour, row.killAt);
      } catch (err) {
        row.error = err instanceof Error ? err.message : String(err);
      }
    });
    const lines = ['', 'crash-point matrix (simulator): phone behaviour × command killed after → outcome · originates · verdict'];
    for (const b of behaviours) {
      lines.push(`▸ caller ${b} — without a crash: ${baselines.get(b)?.outcome}`);
      for (const row of rows.filter((r) => r.behaviour === b)) {
        lines.push(`    ${row.killAt.padEnd(22)} ${(row.result?.outcome ?? '-').padEnd(32)} originates ${String(row.result?.originates ?? '-').padEnd(3)} ${verdictOf(row)}`);
        if ((verdictOf(row) !== 'ok' || b === 'short call') && row.result) lines.push(`      ${row.result.timeline}`);
      }
    }
    console.log(lines.join('\n'));
  });

  after(() => undefined);

  it('without a crash, each behaviour ends as its phone dictates', () => {
    assert.equal(baselines.get('answer')?.outcome, 'completed, 1 attempt');
    assert.equal(baselines.get('busy')?.outcome, 'failed USER_BUSY, 2 attempts');
    assert.equal(baselines.get('no answer')?.outcome, 'failed NO_ANSWER, 2 attempts');
    assert.equal(baselines.get('hang up early')?.outcome, 'failed NORMAL_CLEARING, 2 attempts');
    assert.equal(baselines.get('short call')?.outcome, 'completed, 1 attempt');
    for (const b of baselines.values()) assert.ok(b.commands.length >= 5, `every step was sent: ${b.commands.join(', ')}`);
  });

  it('every cell ends as without a crash, with one originate per leg and no new attempt after a conversation', () => {
    const short = rows.find((r) => r.behaviour === 'short call')?.result;
    assert.match(short?.timeline ?? '', /bridge-requested → resumed → bridged:\(found bridged by the switch after a takeover; talked \d+ s \(switch CDR\)\) → leg-ended:callee:NORMAL_CLEARING → leg-ended:caller:NORMAL_CLEARING → completed$/, 'the short call was found talked and over, from the CDRs');
    const bad = rows.filter((r) => verdictOf(r) !== 'ok').map((r) => `${r.behaviour} / ${r.killAt}: ${verdictOf(r)} (${r.result?.outcome ?? ''}; ${r.result?.timeline ?? ''})`);
    assert.deepEqual(bad, []);
    assert.ok(rows.length >= 20, `${rows.length} cells`);
  });
});
