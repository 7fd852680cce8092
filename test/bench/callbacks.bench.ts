/**
 * `npm run bench`: without a switch, the honest bench (honest-bench.ts: API, workers, Redis and
 * the ESL simulator each in a process of their own); with one,
 * `BENCH_ESL_URL=esl://:ClueCon@127.0.0.1:28021 npm run bench` (or `npm run bench -- <url>`),
 * the real-switch bench next to the plain-originate floor (switch-bench.ts).
 */
import { runHonestBench } from './honest-bench.js';
import { runSwitchBench } from './switch-bench.js';

const eslUrl = process.env.BENCH_ESL_URL || process.argv[2];

(eslUrl ? runSwitchBench(eslUrl) : runHonestBench()).then(
  (allCompleted) => {
    if (!allCompleted) process.exitCode = 1;
  },
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
