/**
 * The real-switch bench (switch-bench.ts): the same callbacks as plain `originate … &bridge()` calls
 * driven straight over ESL (the floor), then through Crossline, on a FreeSWITCH given by
 * BENCH_ESL_URL (e.g. esl://:ClueCon@127.0.0.1:28021); CPU per callback of the switch, of Crossline
 * and of the plain driver. Runs only when BENCH_ESL_URL is set.
 */
import { runSwitchBench } from '../switch-bench.js';
import type { BenchScenario } from '../scenario.js';

export const scenario: BenchScenario = {
  name: 'real-switch',
  title: 'Crossline against a plain-originate floor on a real FreeSWITCH (BENCH_ESL_URL)',
  order: 100,
  skip: () => (process.env.BENCH_ESL_URL ? undefined : 'set BENCH_ESL_URL to a FreeSWITCH (see README)'),
  async run() {
    const ok = await runSwitchBench(process.env.BENCH_ESL_URL ?? '');
    return { ok, summary: ['real switch: see the figures above'] };
  },
};
