/**
 * The simulator, driven through the same client steps as each real FreeSWITCH capture, sends the
 * same frames: framing and outer header order, replies and API results, per-leg event sequences,
 * job results, and the same header names in the same order for every event.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import { classify, compareStreams, sentApiCommands } from './capture-compare.js';
import { capturedSends, driveSimulator } from './drive.js';
import { loadCapture, splitFrames } from './esl-frames.js';

/**
 * The capture setup's telephones (traces README), as simulator phones: 1xxx answer after ~1 s,
 * 2xxx never answer, 3xxx are busy, 4xxx is an IVR that answers at once, 5xxx answers and hangs
 * up after 3 s.
 */
function captureLabPhones(sim: EslSimulator): void {
  for (const n of ['1001', '1002', '1003', '1004', '1005']) sim.setPhone(n, { kind: 'answer', afterMs: 1000 });
  for (const n of ['2001', '2002']) sim.setPhone(n, { kind: 'no-answer' });
  sim.setPhone('3001', { kind: 'busy' });
  sim.setPhone('4001', { kind: 'collect-dtmf', afterMs: 0 });
  sim.setPhone('5001', { kind: 'answer', afterMs: 0, hangupAfterMs: 3000 });
  // The m–r rig dials E.164 numbers through a gateway; its IVR numbers answer at once.
  for (const n of ['+12025550173', '+12025550174']) sim.setPhone(n, { kind: 'collect-dtmf', afterMs: 0 });
  // r-wait-for-silence: 0191 answers at once, silent, and hangs up after 2 s; 0103 rings, answers
  // after ~1 s and plays its tone 1 s on, 4 s off (the default plan's answering phones).
  sim.setPhone('+12025550191', { kind: 'answer', afterMs: 0, hangupAfterMs: 2000 });
}

const SCENARIOS: Array<[string, string]> = [
  ['a-bridged-call', 'an originate with &bridge(), killed after the bridge'],
  ['b-no-answer', 'an originate that rings out on originate_timeout'],
  ['c-busy', 'an originate to a busy phone'],
  ['d-ivr-dtmf', 'an originate to an IVR, DTMF sent, then killed'],
  ['e-api-misc', 'callcenter_config, status, uuid_exists, uuid_kill, show channels and an unknown api command'],
  ['f-two-leg-b-no-answer', 'two legs where the second never answers'],
  ['g-two-leg-uuid-bridge', 'two answered legs joined with uuid_bridge'],
  ['h-remote-hangup', 'a call the far end hangs up'],
  ['i-sendmsg', 'sendmsg execute playback with event-lock, then sendmsg hangup'],
  ['l-protocol-misc', 'filters, a client-chosen Job-UUID, nixevent, noevents and unknown commands'],
  ['m-dtmf-cut-by-hangup', 'DTMF queued with uuid_send_dtmf, the leg killed while digits still play'],
  ['n-send-dtmf-app', 'the send_dtmf app, which completes before its digits are played'],
  ['o-app-failures', 'a speak without its TTS engine, a playback of a missing file, a speak that works, module_exists'],
  ['r-wait-for-silence', 'wait_for_silence cut by a hangup, ended by silence after a tone, and timed out in silence'],
];

async function compare(name: string): Promise<void> {
  const capture = loadCapture(name);
  // o-app-failures plays a file that does not exist; tones are always there.
  const sim = await createEslSimulator({ timeScale: 0.05, soundFiles: [] });
  captureLabPhones(sim);
  try {
    const bytes = await driveSimulator(sim, capture);
    const sent = sentApiCommands(capturedSends(capture).map((s) => s.command));
    const result = compareStreams(classify(splitFrames(capture.bytes), sent), classify(splitFrames(bytes), sent));
    assert.deepEqual(result.differences, [], result.differences.join('\n'));
  } finally {
    await sim.close();
  }
}

describe('the simulator against the real FreeSWITCH captures', () => {
  for (const [name, what] of SCENARIOS) {
    for (const format of ['plain', 'json'] as const) {
      it(`sends the same ${format} frames as FreeSWITCH for ${what} (${name})`, () => compare(`${name}.${format}`));
    }
  }

  it('refuses a wrong password with -ERR invalid and a disconnect notice, like FreeSWITCH (k-auth-fail)', () => compare('k-auth-fail'));
});
