import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { killProcess, spawnWorkerProcess, startCrossline, stopProcess, TIME_SCALE, type Crossline } from '../../support/harness.js';
import { freeswitchUnderTest, simulatorUnderTest, type Column, type SwitchUnderTest } from '../../support/switch-under-test.js';
import { SCENARIOS, type Observation, type Scenario, type ScenarioContext } from './scenarios.js';

/*
 * The dual-run tier: every whole-callback scenario runs on the ESL simulator and on a real
 * FreeSWITCH 1.10.12 with the same steps and assertions, and the two columns must agree on the
 * outcome, the timeline and the hangup causes. The real column runs when TEST_FREESWITCH_ESL_URL
 * names the test switch of ../shared/freeswitch (.ci/run starts one); otherwise it is skipped
 * with a line saying so.
 */

const FREESWITCH_URL = process.env.TEST_FREESWITCH_ESL_URL;

type Result = { observation: Observation } | { error: string };
type Results = Map<string, Partial<Record<Column, Result>>>;

async function attempt(scenario: Scenario, ctx: ScenarioContext): Promise<Result> {
  const started = Date.now();
  let result: Result;
  try {
    result = { observation: await scenario.run(ctx) };
  } catch (err) {
    result = { error: err instanceof Error ? err.message : String(err) };
  }
  // Progress as it happens: the real column takes minutes and the table comes at the end.
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`dual run: [${ctx.sw.column}] ${scenario.name} → ${'error' in result ? 'ERROR' : 'ok'} (${seconds} s)`);
  return result;
}

/**
 * Crossline (API and workers in this process) against `sw`, one per scenario configuration;
 * `together`: all scenarios at once, else one after the other.
 */
async function runInProcess(sw: SwitchUnderTest, scenarios: readonly Scenario[], together: boolean): Promise<Map<string, Result>> {
  const configs = [...new Set(scenarios.map((s) => JSON.stringify(s.env ?? {})))];
  const crosslines = new Map<string, Crossline>();
  try {
    for (const config of configs) {
      crosslines.set(config, await startCrossline(sw.eslUrl, { env: { ...sw.env, ...(JSON.parse(config) as Record<string, string>) } }));
    }
    const run = async (s: Scenario): Promise<[string, Result]> => {
      const crossline = crosslines.get(JSON.stringify(s.env ?? {}));
      if (!crossline) throw new Error(`no Crossline for ${s.name}`);
      return [s.name, await attempt(s, { crossline, sw })];
    };
    if (together) return new Map(await Promise.all(scenarios.map(run)));
    const out = new Map<string, Result>();
    for (const s of scenarios) {
      const [name, result] = await run(s);
      out.set(name, result);
    }
    return out;
  } finally {
    // Only once every scenario is over: it hangs up whatever any of them left behind.
    await sw.hangupLeftovers();
    await Promise.all([...crosslines.values()].map((c) => c.close()));
  }
}

/** The API here, the workers as child processes that a scenario can kill -9. */
async function runWithWorkerProcesses(sw: SwitchUnderTest, scenarios: readonly Scenario[]): Promise<Map<string, Result>> {
  const out = new Map<string, Result>();
  for (const scenario of scenarios) {
    const crossline = await startCrossline(sw.eslUrl, { env: { ...sw.env, ...scenario.env }, roles: { api: true, workers: false } });
    let worker: ChildProcess | undefined;
    const children: ChildProcess[] = [];
    try {
      out.set(scenario.name, await attempt(scenario, {
        crossline,
        sw,
        startWorker: async () => {
          const started = spawnWorkerProcess(crossline.env);
          worker = started;
          children.push(started);
          await started.up;
        },
        killWorker: async () => {
          if (worker) await killProcess(worker);
        },
        stopWorker: async () => (worker ? stopProcess(worker) : 0),
      }));
    } finally {
      await Promise.all(children.map(killProcess));
      await sw.hangupLeftovers();
      await crossline.close();
    }
  }
  return out;
}

async function runColumn(sw: SwitchUnderTest, killable: SwitchUnderTest): Promise<Map<string, Result>> {
  const of = (kind: Scenario['kind']): Scenario[] => SCENARIOS.filter((s) => s.kind === kind);
  return new Map([
    ...(await runInProcess(sw, of('together'), true)),
    ...(await runInProcess(sw, of('alone'), false)),
    ...(await runWithWorkerProcesses(killable, of('processes'))),
  ]);
}

function printTable(results: Results, columns: readonly Column[]): void {
  const lines: string[] = ['', 'dual run: scenario × switch → outcome, timeline, hangup causes'];
  for (const [name, byColumn] of results) {
    lines.push(`▸ ${name}`);
    for (const column of columns) {
      const r = byColumn[column];
      if (!r) continue;
      if ('error' in r) {
        lines.push(`    ${column.padEnd(10)} ERROR ${r.error.split('\n')[0]}`);
        continue;
      }
      const o = r.observation;
      lines.push(`    ${column.padEnd(10)} ${o.status}${o.failureCause ? ` (${o.failureCause})` : ''} · legs ${o.legs.join(', ')} · originates ${o.originates}`);
      lines.push(`    ${''.padEnd(10)} ${o.timeline.join(' → ')}`);
    }
  }
  console.log(lines.join('\n'));
}

describe('dual run: the same callbacks on the simulator and on a real FreeSWITCH', () => {
  const results: Results = new Map(SCENARIOS.map((s) => [s.name, {}]));
  const columns: Column[] = FREESWITCH_URL ? ['simulator', 'FreeSWITCH'] : ['simulator'];
  const switches: SwitchUnderTest[] = [];

  before(async () => {
    if (!FREESWITCH_URL) {
      console.log('dual run: FreeSWITCH column SKIPPED — set TEST_FREESWITCH_ESL_URL=esl://:ClueCon@127.0.0.1:18021 after starting ../shared/freeswitch/start.sh (see README, "Tests on a real FreeSWITCH")');
    }
    const simulator = await simulatorUnderTest(TIME_SCALE);
    // Killing a worker while a leg rings needs phones that ring in real time.
    const realTimeSimulator = await simulatorUnderTest(1);
    switches.push(simulator, realTimeSimulator);
    const runs: Array<Promise<[Column, Map<string, Result>]>> = [runColumn(simulator, realTimeSimulator).then((r) => ['simulator', r])];
    if (FREESWITCH_URL) {
      const freeswitch = await freeswitchUnderTest(FREESWITCH_URL);
      switches.push(freeswitch);
      runs.push(runColumn(freeswitch, freeswitch).then((r) => ['FreeSWITCH', r]));
    }
    for (const [column, byScenario] of await Promise.all(runs)) {
      for (const [name, result] of byScenario) {
        const row = results.get(name);
        if (row) row[column] = result;
      }
    }
    printTable(results, columns);
  });

  after(async () => {
    await Promise.all(switches.map((s) => s.close()));
  });

  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: ${columns.join(' and ')} ${columns.length > 1 ? 'agree' : 'pass'}`, () => {
      const row = results.get(scenario.name) ?? {};
      for (const column of columns) {
        const r = row[column];
        assert.ok(r, `${column} did not run`);
        if ('error' in r) assert.fail(`${column}: ${r.error}`);
      }
      const [first, ...rest] = columns.map((c) => row[c]);
      for (const other of rest) {
        assert.ok(first && other && 'observation' in first && 'observation' in other);
        assert.deepEqual(other.observation, first.observation, 'FreeSWITCH and the simulator disagree');
      }
    });
  }
});
