import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimateWait, modelWaitSeconds, effectiveHandleSeconds, type QueueHistory, type WaitSample } from '../../src/queues/ewt.js';

/** A seeded generator (mulberry32): the same queue every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface QueueScenario {
  agents: number;
  /** Mean talk time, s, and how far one call's may stray from it (uniform, ± fraction). */
  handle: number;
  spread: number;
  wrapUp: number;
  /** Offered load: arrivals × effective handle time / agents. */
  load: number;
  /** Callers waiting when the clock starts. */
  backlog: number;
  callers: number;
  seed: number;
}

interface Result {
  meanAbsoluteError: number;
  meanTrueWait: number;
  relative: number;
  judged: number;
}

/**
 * A FIFO queue with `agents` agents, run event by event. Each caller, at the moment it joins, is
 * given Crossline's estimate from what an observer of the queue's events would have seen by then
 * (handle times of calls that ended, waits of callers answered, each with the model's figure at
 * their join); its true wait is known once an agent takes it.
 */
function simulate(s: QueueScenario, calibrate = true): Result {
  const rnd = random(s.seed);
  const talk = (): number => s.handle * (1 - s.spread + 2 * s.spread * rnd());
  const cycle = s.handle + s.wrapUp;
  const arrivalRate = (s.load * s.agents) / cycle;
  const freeAt: number[] = Array.from({ length: s.agents }, () => 0);
  // Observations, stamped with when they became known.
  const handles: Array<{ at: number; seconds: number }> = [];
  const waits: Array<{ at: number; sample: WaitSample }> = [];
  const answerTimes: number[] = [];
  const errors: number[] = [];
  const trueWaits: number[] = [];
  let t = 0;
  for (let i = 0; i < s.backlog + s.callers; i++) {
    if (i >= s.backlog) t += -Math.log(1 - rnd()) / arrivalRate;
    // The queue as it stands at t: callers answered after t are still waiting.
    const waiting = answerTimes.filter((a) => a > t).length;
    const busy = freeAt.filter((f) => f > t).length;
    const now = { waiting, agentsAvailable: s.agents - busy, agentsBusy: busy, wrapUpSeconds: s.wrapUp };
    const history: QueueHistory = {
      handleSeconds: handles.filter((h) => h.at <= t).slice(-50).map((h) => h.seconds).reverse(),
      waits: waits.filter((w) => w.at <= t).slice(-50).map((w) => w.sample).reverse(),
    };
    const model = modelWaitSeconds(now, effectiveHandleSeconds(now, history)) ?? 0;
    const estimate = calibrate ? (estimateWait(now, history).expectedWaitSeconds ?? Number.NaN) : model;
    // FIFO: the agent free first takes the caller.
    let k = 0;
    for (let j = 1; j < freeAt.length; j++) if ((freeAt[j] ?? 0) < (freeAt[k] ?? 0)) k = j;
    const answeredAt = Math.max(t, freeAt[k] ?? 0);
    const seconds = talk();
    freeAt[k] = answeredAt + seconds + s.wrapUp;
    answerTimes.push(answeredAt);
    handles.push({ at: answeredAt + seconds, seconds });
    waits.push({ at: answeredAt, sample: { modelSeconds: model, actualSeconds: answeredAt - t } });
    // Judged once the observer has had time to learn the queue (the first 100 callers teach it).
    if (i >= s.backlog + 100) {
      errors.push(Math.abs(estimate - (answeredAt - t)));
      trueWaits.push(answeredAt - t);
    }
  }
  const meanAbsoluteError = errors.reduce((a, b) => a + b, 0) / errors.length;
  const meanTrueWait = trueWaits.reduce((a, b) => a + b, 0) / trueWaits.length;
  return { meanAbsoluteError, meanTrueWait, relative: meanAbsoluteError / meanTrueWait, judged: errors.length };
}

const report = (name: string, r: Result): void => {
  console.log(
    `EWT accuracy, ${name}: mean absolute error ${r.meanAbsoluteError.toFixed(1)} s on a mean true wait of ${r.meanTrueWait.toFixed(1)} s ` +
      `= ${(r.relative * 100).toFixed(1)} % (${r.judged} callers)`,
  );
};

test('on a steady queue (5 agents, 4 min calls ±15 %, 30 s wrap-up, a standing line of callers) the expected wait is within 20 % of the true wait on average', () => {
  const result = simulate({ agents: 5, handle: 240, spread: 0.15, wrapUp: 30, load: 1.0, backlog: 25, callers: 600, seed: 7 });
  report('steady queue', result);
  assert.ok(result.meanTrueWait > 300, `the queue is long enough to matter (${result.meanTrueWait.toFixed(0)} s)`);
  assert.ok(result.relative <= 0.2, `mean absolute error ${(result.relative * 100).toFixed(1)} % > 20 %`);
});

test('on a single-agent queue with 2 min calls ±30 % and a line of callers the estimate is within 20 %', () => {
  const result = simulate({ agents: 1, handle: 120, spread: 0.3, wrapUp: 10, load: 0.97, backlog: 15, callers: 400, seed: 11 });
  report('single agent', result);
  assert.ok(result.relative <= 0.2, `mean absolute error ${(result.relative * 100).toFixed(1)} % > 20 %`);
});

test('on a busy queue (8 agents, load 0.95, calls ±50 %) the calibrated estimate is within 20 % and better than the bare model', () => {
  const scenario = { agents: 8, handle: 180, spread: 0.5, wrapUp: 20, load: 0.95, backlog: 30, callers: 800, seed: 3 };
  const result = simulate(scenario);
  const bare = simulate(scenario, false);
  report('8 agents, load 0.95, calls ±50 %', result);
  report('8 agents, load 0.95, calls ±50 %, model without calibration', bare);
  assert.ok(result.relative < bare.relative, `calibrated ${result.relative} vs bare ${bare.relative}`);
  assert.ok(result.relative <= 0.2, `mean absolute error ${(result.relative * 100).toFixed(1)} % > 20 %`);
});
