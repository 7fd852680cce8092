/**
 * The test of the switch capacity guard, through the whole of Crossline: a simulated switch
 * with a small capacity and a reply latency that grows with load, a burst of callbacks ten times
 * over that capacity, and every one completes as its phones dictate, with no failure caused by the
 * switch and no leg originated twice; the waits show in the timelines.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CallbackView } from '../../src/callbacks/index.js';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import { startCrossline, type Crossline } from '../support/harness.js';

/** 11 sessions and 11 per second on the switch: 10 legs up at once (5 calls), 10 new ones a second. */
const MAX_SESSIONS = 11;
const SESSIONS_PER_SECOND = 11;
const CALLS_AT_ONCE = (MAX_SESSIONS - 1) / 2;
const BURST = 10 * CALLS_AT_ONCE;
const SWITCH_FAILURES = new Set(['DESTINATION_OUT_OF_ORDER', 'NORMAL_TEMPORARY_FAILURE', 'SWITCH_TIMEOUT']);

describe('a burst of callbacks ten times over the switch capacity', () => {
  let sim: EslSimulator;
  let x: Crossline;
  before(async () => {
    // Phones four times faster than life (the callers stay 0.5 s after answering, time enough for a
    // bridge on this slowed switch); replies take 5 ms + 5 ms per session up (real time).
    sim = await createEslSimulator({
      timeScale: 0.25, maxSessions: MAX_SESSIONS, sessionsPerSecond: SESSIONS_PER_SECOND, latency: { baseMs: 20, perSessionMs: 20 },
    });
    x = await startCrossline(sim.url, {
      env: {
        // The configured limits are generous: what the switch reports decides.
        SWITCH_MAX_SPS: '1000', SWITCH_MAX_SESSIONS: '1000', SWITCH_SLOW_REPLY_MS: '1000',
        DESTINATION_LIMIT_EXEMPT: '+1202555', WORKER_CONCURRENCY: '100',
      },
    });
  });
  after(async () => {
    await x?.close();
    await sim?.close();
  });

  it('every callback completes, none fails because of the switch, each leg is originated once, and the waits are shown', async () => {
    // Callees answer after 1 s and stay up; callers answer after 1 s and hang up 2 s later (simulated).
    const ids = await Promise.all(Array.from({ length: BURST }, async (_, i) => {
      const res = await x.create({ caller: { number: `+1202555019${i % 10}` }, callee: { number: `+12025550${100 + (i % 50)}` } });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      return res.body.id as string;
    }));

    const done: CallbackView[] = [];
    for (const id of ids) done.push(await x.waitFor(id, (cb) => ['completed', 'failed', 'canceled'].includes(cb.status), 50_000));

    assert.deepEqual(done.filter((cb) => cb.status !== 'completed').map((cb) => ({ status: cb.status, timeline: cb.timeline })), []);
    const switchFailures = done.flatMap((cb) => cb.timeline.filter((e) => SWITCH_FAILURES.has(e.hangupCause ?? '') || SWITCH_FAILURES.has(e.detail ?? '')));
    assert.deepEqual(switchFailures, []);
    assert.deepEqual(sim.criticalLog(), [], 'the switch refused no session');
    const retried = done.filter((cb) => cb.attempts.length !== 1);
    assert.deepEqual(retried.map((cb) => cb.timeline.filter((e) => e.attempt === 1)), [], 'no attempt was used up');

    const legs = done.flatMap((cb) => cb.attempts.flatMap((a) => a.legs.map((l) => l.uuid)));
    assert.equal(legs.length, 2 * BURST);
    const originated = sim.originates().map((c) => /origination_uuid=([0-9a-f-]{36})/.exec(c.text)?.[1]);
    for (const uuid of legs) assert.equal(originated.filter((u) => u === uuid).length, 1, `leg ${uuid} originated once`);
    assert.equal(originated.length, legs.length, 'no other originate was sent');

    const waited = done.filter((cb) => cb.timeline.some((e) => e.event === 'waiting-for-switch'));
    assert.ok(waited.length > 0, 'some callbacks waited for the switch');
    const reasons = new Set(done.flatMap((cb) => cb.timeline.filter((e) => e.event === 'waiting-for-switch').map((e) => e.detail)));
    assert.ok([...reasons].every((r) => r?.startsWith('SWITCH_')), [...reasons].join(' '));
  });
});
