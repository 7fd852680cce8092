/**
 * The simulator's capacity against the real switch: the q-heartbeat capture (HEARTBEAT load fields,
 * `status`, `show calls count`) and what a FreeSWITCH 1.10.12 did under `fsctl sps` and
 * `fsctl max_sessions` (measured 2026-11-30, see src/simulator/capacity.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { createEslSimulator, type EslSimulator, type EslSimulatorOptions } from '../../src/simulator/index.js';
import { eventOf, sleep, startClient, viaGateway, type TestClient } from './client.js';
import { normalizeBody } from './capture-compare.js';
import { contentType, decodeEvent, loadCapture, splitFrames, type DecodedEvent, type Pair } from './esl-frames.js';

/** Real ms until the simulator (timeScale 1) is early in one of its one-second budget windows. */
async function earlyInSecond(startedAt: number): Promise<void> {
  const into = (performance.now() - startedAt) % 1000;
  if (into > 300) await sleep(1000 - into + 30);
}

/** Sends the commands on a raw socket and returns every frame the simulator sent until `until` holds. */
async function rawSession(sim: EslSimulator, commands: string[], until: (frames: ReturnType<typeof splitFrames>) => boolean): Promise<ReturnType<typeof splitFrames>> {
  const socket = net.connect(sim.port, sim.host);
  let bytes = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; got ${bytes.toString('utf8').slice(-2000)}`)), 5000);
    socket.on('data', (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      const frames = splitFrames(bytes, true);
      if (frames.length === 1) socket.write(`auth ${sim.password}\n\n${commands.map((c) => `${c}\n\n`).join('')}`);
      if (until(frames)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(frames);
      }
    });
  });
}

const names = (pairs: readonly Pair[]): string[] => pairs.map(([n]) => n);
const value = (e: DecodedEvent, name: string): string | undefined => e.headers.find(([n]) => n === name)?.[1];

/** `status` with every number replaced, and the build line left out (a–l and m–r builds differ). */
const statusShape = (text: string): string[] => normalizeBody(text).split('\n').filter((l) => !l.startsWith('FreeSWITCH (Version'));

describe('the simulated switch capacity, as the q-heartbeat capture and a real FreeSWITCH show it', () => {
  let c: TestClient | undefined;
  let sim: EslSimulator | undefined;
  afterEach(async () => {
    await c?.close();
    await sim?.close();
    c = undefined;
    sim = undefined;
  });

  for (const format of ['plain', 'json'] as const) {
    it(`an idle switch sends the HEARTBEAT, status and show calls count of the capture (${format})`, async () => {
      const capture = splitFrames(loadCapture(`q-heartbeat.${format}`).bytes);
      const captured = capture.map(decodeEvent).find((e) => e?.name === 'HEARTBEAT');
      const capturedApi = capture.filter((f) => contentType(f) === 'api/response').map((f) => f.body?.toString('utf8') ?? '');
      assert.ok(captured);
      sim = await createEslSimulator({ heartbeatMs: 200 });
      const frames = await rawSession(sim, [`event ${format} HEARTBEAT RE_SCHEDULE`, 'api status', 'api show calls count'], (fs) => fs.some((f) => decodeEvent(f)?.name === 'RE_SCHEDULE'));
      const heartbeat = frames.map(decodeEvent).find((e) => e?.name === 'HEARTBEAT');
      assert.ok(heartbeat);
      assert.deepEqual(names(heartbeat.headers), names(captured.headers));
      const api = frames.filter((f) => contentType(f) === 'api/response').map((f) => f.body?.toString('utf8') ?? '');
      assert.deepEqual(statusShape(api[0] ?? ''), statusShape(capturedApi[0] ?? ''));
      assert.equal(api[1], capturedApi[1]);
      // The capture's limits are the defaults; an idle switch has its whole second's budget left.
      for (const field of ['Session-Count', 'Max-Sessions', 'Session-Per-Sec', 'Session-Per-Sec-Last']) {
        assert.equal(value(heartbeat, field), value(captured, field), field);
      }
      assert.match(value(heartbeat, 'Idle-CPU') ?? '', /^\d+\.\d{6}$/);
      assert.match(api[0] ?? '', /\n0 session\(s\) per Sec out of max 2000, peak 0, last 5min 0 \n10000 session\(s\) max\nmin idle cpu 0\.00\/99\.00\n/);
    });
  }

  it('over the sessions-per-second budget an originate fails at once with DESTINATION_OUT_OF_ORDER and creates no channel; sps N lets N - 1 through', async () => {
    const startedAt = performance.now();
    c = await startClient({ timeScale: 1, sessionsPerSecond: 5 }, 'CHANNEL_CREATE BACKGROUND_JOB');
    c.sim.setPhone('+12025550141', { kind: 'answer', afterMs: 0 });
    await earlyInSecond(startedAt);
    const uuids = Array.from({ length: 8 }, () => randomUUID());
    const results = await Promise.all(uuids.map((u) => c?.bgapi('originate', viaGateway(u, '+12025550141'))));
    assert.equal(results.filter((r) => r?.startsWith('+OK')).length, 4);
    assert.equal(results.filter((r) => r === '-ERR DESTINATION_OUT_OF_ORDER\n').length, 4);
    const created = new Set(c.events.filter(eventOf('CHANNEL_CREATE')).map((e) => e.getHeader('Unique-ID')));
    uuids.forEach((u, i) => assert.equal(created.has(u), results[i]?.startsWith('+OK'), `channel of originate ${i}`));
    assert.deepEqual(c.sim.criticalLog(), [
      '[CRIT] switch_core_session.c:2422 Throttle Error! 4', '[CRIT] switch_core_session.c:2422 Throttle Error! 4',
      '[CRIT] switch_core_session.c:2422 Throttle Error! 4', '[CRIT] switch_core_session.c:2422 Throttle Error! 4',
    ]);
    // The budget is reset every second.
    await sleep(1100);
    assert.match(await c.bgapi('originate', viaGateway(randomUUID(), '+12025550141')), /^\+OK /);
  });

  it('with the phones on the switch each call takes two sessions, and a refused phone leg fails the originate NORMAL_TEMPORARY_FAILURE (as fsctl sps 4 and 5 on the real switch)', async () => {
    const startedAt = performance.now();
    c = await startClient({ timeScale: 1, sessionsPerSecond: 5, phoneSessions: true }, 'CHANNEL_CREATE BACKGROUND_JOB');
    c.sim.setPhone('+12025550141', { kind: 'answer', afterMs: 0 });
    await earlyInSecond(startedAt);
    const five = await Promise.all(Array.from({ length: 8 }, () => c?.bgapi('originate', viaGateway(randomUUID(), '+12025550141'))));
    assert.deepEqual(five.map((r) => (r?.startsWith('+OK') ? '+OK' : r?.trim())).sort(), ['+OK', '+OK', ...Array<string>(6).fill('-ERR DESTINATION_OUT_OF_ORDER')]);
    assert.equal(await c.api('fsctl', 'sps 4'), '+OK sessions per second: 4\n');
    await sleep(1000);
    await earlyInSecond(startedAt);
    const four = await Promise.all(Array.from({ length: 3 }, () => c?.bgapi('originate', viaGateway(randomUUID(), '+12025550141'))));
    assert.deepEqual(four.map((r) => (r?.startsWith('+OK') ? '+OK' : r?.trim())), ['+OK', '-ERR NORMAL_TEMPORARY_FAILURE', '-ERR DESTINATION_OUT_OF_ORDER']);
  });

  it('max_sessions N lets N - 1 sessions up; over it an originate fails with DESTINATION_OUT_OF_ORDER; fsctl max_sessions changes the limit and answers as the real switch', async () => {
    c = await startClient({ maxSessions: 3 }, 'CHANNEL_CREATE BACKGROUND_JOB');
    const first = await Promise.all([1, 2, 3].map(() => c?.bgapi('originate', viaGateway(randomUUID(), '+12025550100'))));
    assert.deepEqual(first.map((r) => (r?.startsWith('+OK') ? '+OK' : r?.trim())), ['+OK', '+OK', '-ERR DESTINATION_OUT_OF_ORDER']);
    assert.deepEqual(c.sim.criticalLog(), ['[CRIT] Over Session Limit! 3']);
    assert.equal(await c.api('fsctl', 'max_sessions'), '+OK max sessions: 3\n');
    assert.equal(await c.api('fsctl', 'max_sessions 4'), '+OK max sessions: 4\n');
    assert.equal(await c.api('fsctl', 'sps'), '+OK sessions per second: 2000\n');
    assert.match(await c.bgapi('originate', viaGateway(randomUUID(), '+12025550100')), /^\+OK /);
    assert.match(await c.api('status'), /\n3 session\(s\) - peak 3, last 5min 3 \n/);
    assert.equal(await c.api('show', 'calls count'), '\n3 total.\n');
    assert.match(await c.api('fsctl', 'nosuch'), /^-ERR Invalid command\nUSAGE: fsctl \[/);
  });

  it('HEARTBEAT reports the live sessions, the budget left of this second, the last second and the peaks; Idle-CPU falls with load', async () => {
    const startedAt = performance.now();
    c = await startClient({ timeScale: 1, heartbeatMs: 400, sessionsPerSecond: 100, maxSessions: 500, cpuPerSessionPct: 2 }, 'HEARTBEAT BACKGROUND_JOB');
    c.sim.setPhone('+12025550141', { kind: 'answer', afterMs: 0 });
    await earlyInSecond(startedAt);
    await Promise.all(Array.from({ length: 10 }, () => c?.bgapi('originate', viaGateway(randomUUID(), '+12025550141'))));
    const beat = await c.waitForEvent((e) => eventOf('HEARTBEAT')(e) && e.getHeader('Session-Count') === '10', 3000);
    assert.equal(beat.getHeader('Max-Sessions'), '500');
    assert.equal(beat.getHeader('Idle-CPU'), '79.000000');
    assert.equal(beat.getHeader('Session-Peak-Max'), '10');
    const left = Number(beat.getHeader('Session-Per-Sec'));
    const last = Number(beat.getHeader('Session-Per-Sec-Last'));
    // Either the heartbeat came in the same second (90 left) or a later one (10 in the last second or none).
    assert.ok((left === 90 && last === 0) || (left === 100 && (last === 10 || last === 0)), `left ${left}, last ${last}`);
    assert.match(await c.api('status'), /\nmin idle cpu 0\.00\/79\.00\n/);
  });

  it('API replies, bgapi acknowledgements and BACKGROUND_JOBs slow down as sessions grow (latency baseMs + perSessionMs × sessions)', async () => {
    c = await startClient({ latency: { baseMs: 0, perSessionMs: 400 } }, 'BACKGROUND_JOB');
    let t = performance.now();
    await c.api('status');
    const idleMs = performance.now() - t;
    await Promise.all([1, 2, 3, 4, 5].map(() => c?.bgapi('originate', viaGateway(randomUUID(), '+12025550100'))));
    // 5 sessions × 400 simulated ms × timeScale 0.05 = 100 real ms per reply.
    t = performance.now();
    await c.api('status');
    const loadedMs = performance.now() - t;
    assert.ok(loadedMs >= 95 && loadedMs > idleMs, `idle ${idleMs} ms, loaded ${loadedMs} ms`);
    t = performance.now();
    assert.equal(await c.bgapi('uuid_exists', randomUUID()), 'false');
    // The acknowledgement and then the job each wait 100 ms.
    assert.ok(performance.now() - t >= 190, `bgapi took ${performance.now() - t} ms`);
  });

  it('refuses capacity options that are not positive integers', async () => {
    for (const options of [{ maxSessions: 0 }, { sessionsPerSecond: 1.5 }, { latency: { baseMs: -1 } }] satisfies EslSimulatorOptions[]) {
      await assert.rejects(createEslSimulator(options), RangeError);
    }
  });
});
