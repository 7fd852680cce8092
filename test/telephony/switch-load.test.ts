/**
 * The switch's load as the ESL client exposes it: seeded from `status` on connect, replaced by each
 * HEARTBEAT, kept current with the channels created and ended in between, plus this process's own
 * ESL reply latency.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Event as EslEvent } from 'drachtio-modesl';
import { createEslSimulator, type EslSimulator, type EslSimulatorOptions } from '../../src/simulator/index.js';
import { ReplyLatency, SwitchLoadTracker } from '../../src/telephony/esl/switch-load.js';
import { connectTelephony, parseEslUrl, type EslTelephony, type SwitchLoad } from '../../src/telephony/index.js';

const TIME_SCALE = 0.05;

/** The `api status` of the q-heartbeat capture (FreeSWITCH 1.10.12, idle, limits changed at run time). */
const CAPTURED_STATUS = [
  'UP 0 years, 0 days, 0 hours, 28 minutes, 8 seconds, 334 milliseconds, 920 microseconds',
  'FreeSWITCH (Version 1.10.12-release  64bit) is ready',
  '3711 session(s) since startup',
  '0 session(s) - peak 202, last 5min 4 ',
  '0 session(s) per Sec out of max 2000, peak 1970, last 5min 4 ',
  '10000 session(s) max',
  'min idle cpu 0.00/93.63',
  'Current Stack Size/Max 240K/240K',
].join('\n');

/** Just enough of a modesl event for the tracker. */
const heartbeat = (headers: Record<string, string>): EslEvent => ({ getHeader: (name: string) => headers[name] ?? null }) as unknown as EslEvent;

describe('switch load from HEARTBEAT and status', () => {
  it('reads the limits, the count and the idle CPU from the captured status, and the budget left from a HEARTBEAT', () => {
    let now = 1000;
    const tracker = new SwitchLoadTracker(() => now);
    assert.equal(tracker.current(undefined), undefined);
    assert.deepEqual(tracker.status(CAPTURED_STATUS, true), { sessions: 0, maxSessions: 10000, maxSessionsPerSecond: 2000, idleCpu: 93.63, at: 1000 });
    now = 2000;
    tracker.heartbeat(heartbeat({ 'Session-Count': '4', 'Max-Sessions': '10000', 'Session-Per-Sec': '1990', 'Idle-CPU': '93.500000' }));
    tracker.channel(1);
    assert.deepEqual(tracker.current(12), { sessions: 5, maxSessions: 10000, maxSessionsPerSecond: 2000, spsBudgetLeft: 1990, idleCpu: 93.5, at: 2000, replyMs: 12 });
    // A later status changes the limits but not the count kept in step with the events.
    tracker.status(CAPTURED_STATUS.replace('max 2000', 'max 30'), false);
    assert.equal(tracker.current(undefined)?.maxSessionsPerSecond, 30);
    assert.equal(tracker.current(undefined)?.sessions, 5);
    assert.equal(tracker.heartbeat(heartbeat({ 'Event-Info': 'System Ready' })), undefined);
  });

  it('the reply latency is a percentile of the latest round trips of the last minute', () => {
    let now = 0;
    const latency = new ReplyLatency(() => now);
    assert.equal(latency.percentile(90), undefined);
    for (let ms = 1; ms <= 100; ms++) latency.record(ms);
    // The latest 64 samples: 37…100.
    assert.equal(latency.percentile(90), 94);
    assert.equal(latency.percentile(50), 68);
    now = 61_000;
    assert.equal(latency.percentile(90), undefined);
  });
});

describe('EslTelephony.load() against the simulator', () => {
  let sim: EslSimulator | undefined;
  let telephony: EslTelephony | undefined;
  afterEach(async () => {
    await telephony?.close();
    await sim?.close();
  });

  async function start(options: EslSimulatorOptions): Promise<EslTelephony> {
    sim = await createEslSimulator({ timeScale: TIME_SCALE, ...options });
    telephony = await connectTelephony({
      ...parseEslUrl(sim.url), apiTimeoutMs: 2000, dialGateway: 'default', dialNumberFormat: 'e164', sipProfile: 'external',
      ttsEngine: 'flite', ttsVoice: 'kal',
    }, { timeoutMs: 2000 });
    return telephony;
  }

  const loadOf = async (t: EslTelephony, check: (load: SwitchLoad) => boolean): Promise<SwitchLoad> => {
    const deadline = Date.now() + 3000;
    for (;;) {
      const load = t.load();
      if (load && check(load)) return load;
      if (Date.now() > deadline) throw new Error(`load never matched: ${JSON.stringify(load)}`);
      await sleep(10);
    }
  };

  it('is seeded from status on connect, follows the channels, and takes each HEARTBEAT with its budget left', async () => {
    const t = await start({ maxSessions: 300, sessionsPerSecond: 50, heartbeatMs: 600_000, cpuPerSessionPct: 1 });
    const seeded = await loadOf(t, () => true);
    assert.deepEqual({ ...seeded, at: 0, replyMs: 0 }, { sessions: 0, maxSessions: 300, maxSessionsPerSecond: 50, idleCpu: 99, at: 0, replyMs: 0 });
    assert.ok((seeded.replyMs ?? -1) >= 0);
    const legs = [randomUUID(), randomUUID(), randomUUID()];
    await Promise.all(legs.map((uuid) => t.dial({ uuid, endpoint: { kind: 'number', e164: '+12025550100', country: 'US' }, ringTimeoutSec: 20, tags: { role: 'callee' } })));
    assert.equal((await loadOf(t, (l) => l.sessions === 3)).spsBudgetLeft, undefined);
    await t.hangup(legs[0] ?? '');
    await loadOf(t, (l) => l.sessions === 2);
  });

  it('emits each HEARTBEAT as a load event', async () => {
    const t = await start({ heartbeatMs: 2000, cpuPerSessionPct: 1 });
    const [load] = await new Promise<[SwitchLoad]>((resolve) => t.onLoad((l) => {
      if (l.spsBudgetLeft !== undefined) resolve([l]);
    }));
    assert.equal(load.spsBudgetLeft, 2000);
    assert.equal(load.maxSessions, 10000);
    assert.equal(load.idleCpu, 99);
  });

  it('measures its own reply latency, which grows with a loaded switch', async () => {
    // 2000 simulated ms per reply at a time scale of 0.05: 100 ms.
    const t = await start({ latency: { baseMs: 2000 } });
    const load = await loadOf(t, (l) => l.replyMs !== undefined && l.replyMs >= 90);
    assert.ok((load.replyMs ?? 0) < 2000, `replyMs ${load.replyMs}`);
  });
});
