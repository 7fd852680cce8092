/**
 * `npm run bench`: without a switch, the simulator bench (simulator-bench.ts); with one,
 * `BENCH_ESL_URL=esl://:ClueCon@127.0.0.1:28021 npm run bench` (or `npm run bench -- <url>`),
 * the real-switch bench next to the plain-originate floor (switch-bench.ts).
 */
import { runSimulatorBench } from './simulator-bench.js';
import { runSwitchBench } from './switch-bench.js';

const eslUrl = process.env.BENCH_ESL_URL || process.argv[2];

(eslUrl ? runSwitchBench(eslUrl) : runSimulatorBench()).then(
  (allCompleted) => {
    if (!allCompleted) process.exitCode = 1;
  },
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
