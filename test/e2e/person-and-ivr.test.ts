// @parallel: in-process Crossline on the simulator only, mostly waiting (test/run-suite.sh)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CallbackView } from '../../src/callbacks/index.js';
import { commandsLike, startHarness, type Harness } from '../support/harness.js';

/*
 * IVR sequences that follow the prompt, and a person (not a machine) on each leg, end to end:
 * HTTP API → Redis → BullMQ → worker → ESL client → the simulator. Phones (simulator default plan):
 * 0170–0179 IVRs whose first prompt lasts 2 s (0170) to 6.5 s (0179) and takes one digit, then a
 * 2 s prompt that takes digits until '#'; 0200–0209 answering machines (greeting 2.5–7 s, beep,
 * then they record); 0210–0219 people who say hello and press 1 when asked; 0100–0149 answer
 * with a tone 1 s on, 4 s off (as the FreeSWITCH test bundle's phones do).
 */

const legOf = (cb: CallbackView, attempt: number, role: 'callee' | 'caller') =>
  cb.attempts.find((a) => a.number === attempt)?.legs.find((l) => l.role === role);

describe('IVR sequences that follow the prompt, in real time', () => {
  // The flow waits out DTMF play-out in real time (the switch reports no digit), so an IVR whose
  // prompts follow the digits is run at the switch's own pace here.
  let h: Harness;
  before(async () => {
    h = await startHarness({ timeScale: 1 });
  });
  after(async () => h.close());

  it('a structured sequence waits for each prompt to end, then sends its digits and the run-time value, in order', async (t) => {
    const res = await h.create({
      caller: { number: '+12025550110' },
      callee: {
        number: '+12025550172',
        ivr: [
          { waitForSilence: { timeoutMs: 10_000 } },
          { digits: '2' },
          { waitForSilence: { timeoutMs: 10_000 } },
          { value: 'accountNumber' },
          { digits: '#' },
        ],
      },
      values: { accountNumber: '12345678' },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const bridged = await h.waitForStatus(res.body.id, 'bridged', 30_000);
    const callee = legOf(bridged, 1, 'callee');
    assert.ok(callee);
    const ivr = h.sim.farEnd(callee.uuid);
    assert.ok(ivr);
    assert.equal(ivr.digits.map((d) => d.digit).join(''), '212345678#', 'every digit arrived, in order');
    assert.deepEqual(ivr.digits.filter((d) => d.duringPrompt), [], 'no digit arrived while a prompt played');
    for (const digit of ivr.digits) {
      const prompt = ivr.prompts.find((p) => p.menu === digit.menu);
      assert.ok(prompt && digit.atMs >= prompt.toMs, `digit ${digit.digit} at ${digit.atMs} ms, after its prompt ended at ${prompt?.toMs} ms`);
    }
    assert.deepEqual(ivr.digits.map((d) => d.menu), [0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    // Per-digit timing: the switch plays the value's digits one every 0.42 s.
    const gaps = ivr.digits.slice(2, 9).map((d, i) => d.atMs - (ivr.digits[i + 1]?.atMs ?? 0));
    assert.ok(gaps.every((g) => g >= 300 && g <= 900), `gaps between the account digits: ${gaps.join(', ')} ms`);
    t.diagnostic(`digits at ${ivr.digits.map((d) => `${d.digit}@${d.atMs}`).join(' ')} ms; prompts ${ivr.prompts.map((p) => `${p.fromMs}-${p.toMs}`).join(', ')} ms`);
    assert.equal(bridged.timeline.filter((e) => e.event === 'ivr-prompt-ended').length, 2);
    assert.ok(!JSON.stringify(bridged).includes('12345678'), 'the run-time value is not in the callback view or its timeline');
    assert.ok(bridged.timeline.some((e) => e.event === 'dtmf-sent' && e.detail === 'step 4: {accountNumber} (8 digits)'));
    h.sim.remoteHangup(callee.uuid);
    await h.waitForStatus(res.body.id, 'completed');
  });

  it('a callback to a call center with a route walks its prompt-timed IVR: digits after the prompts, in order; the customer must press 1', async () => {
    const center = {
      name: 'acme-ivr',
      displayName: 'Acme Support',
      numbers: ['+12025550173'],
      routes: {
        billing: { ivr: [{ waitForSilence: { timeoutMs: 10_000 } }, { digits: '3' }, { waitForSilence: { timeoutMs: 10_000 } }, { value: 'accountNumber' }, { digits: '#' }] },
      },
      confirmation: { enabled: true },
      answeringMachine: { detection: 'on' },
    };
    const created = await h.api().post('/v1/call-centers').send(center);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const res = await h.create({ caller: { number: '+12025550215', name: 'Ada' }, callee: { callCenter: 'acme-ivr', route: 'billing' }, values: { accountNumber: '9876' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const bridged = await h.waitForStatus(res.body.id, 'bridged', 40_000);
    const callee = legOf(bridged, 1, 'callee');
    const caller = legOf(bridged, 1, 'caller');
    assert.ok(callee && caller);
    const ivr = h.sim.farEnd(callee.uuid);
    assert.ok(ivr);
    assert.equal(ivr.digits.map((d) => d.digit).join(''), '39876#');
    assert.deepEqual(ivr.digits.filter((d) => d.duringPrompt), [], 'no digit while a prompt played');
    for (const digit of ivr.digits) {
      const prompt = ivr.prompts.find((p) => p.menu === digit.menu);
      assert.ok(prompt && digit.atMs >= prompt.toMs, `digit ${digit.digit} at ${digit.atMs} ms, its prompt ended at ${prompt?.toMs} ms`);
    }
    const events = bridged.timeline.map((e) => e.event);
    assert.ok(events.lastIndexOf('dtmf-sent') < events.indexOf('party-confirmed'), 'the customer is rung once the IVR is walked');
    assert.match(bridged.timeline.find((e) => e.event === 'machine-detection' && e.role === 'caller')?.detail ?? '', /^person/);
    assert.match(commandsLike(h.sim, new RegExp(`sendmsg ${caller.uuid}`)).join('\n'), /'say:Press 1 to be connected to Acme Support\.'/);
    h.sim.remoteHangup(caller.uuid);
    await h.waitForStatus(res.body.id, 'completed');
  });

  it('a call center route refuses a request without the value its IVR sends', async () => {
    await h.api().post('/v1/call-centers').send({ name: 'acme-values', numbers: ['+12025550174'], routes: { billing: { ivr: [{ value: 'accountNumber' }] } } }).expect(201);
    const res = await h.create({ caller: { number: '+12025550216' }, callee: { callCenter: 'acme-values', route: 'billing' } });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'INVALID_IVR');
    const bad = await h.api().post('/v1/call-centers').send({ name: 'acme-bad', numbers: ['+12025550174'], routes: { billing: { ivr: [{ pause: 70_000 }] } } });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
  });
});

describe('IVR sequences: prompts, limits and bad input', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.close());

  it('the compact form with a fixed pause sends its digit while a long prompt still plays (what waitForSilence fixes)', async () => {
    const res = await h.create({ caller: { number: '+12025550111' }, callee: { number: '+12025550179', dtmf: 'w2' } });
    const bridged = await h.waitForStatus(res.body.id, 'bridged', 30_000);
    const callee = legOf(bridged, 1, 'callee');
    assert.ok(callee);
    const ivr = h.sim.farEnd(callee.uuid);
    assert.deepEqual(ivr?.digits.map((d) => [d.digit, d.duringPrompt]), [['2', true]]);
    h.sim.remoteHangup(callee.uuid);
    await h.waitForStatus(res.body.id, 'completed');
  });

  it('a prompt that never comes ends the wait at its limit and the digits are sent anyway', async () => {
    h.sim.setPhone('+12025550178', { kind: 'collect-dtmf', afterMs: 1000 });
    const res = await h.create({
      caller: { number: '+12025550112' },
      callee: { number: '+12025550178', ivr: [{ waitForSilence: { timeoutMs: 1000 } }, { digits: '42' }] },
    });
    const bridged = await h.waitForStatus(res.body.id, 'bridged', 30_000);
    const callee = legOf(bridged, 1, 'callee');
    assert.ok(callee);
    assert.equal(h.sim.dtmfReceived(callee.uuid).map((d) => d.digit).join(''), '42');
    assert.match(bridged.timeline.find((e) => e.event === 'ivr-prompt-timeout')?.detail ?? '', /no prompt heard/);
    h.sim.remoteHangup(callee.uuid);
    await h.waitForStatus(res.body.id, 'completed');
  });

  it('refuses bad sequences with a clear 400: 2,000 steps, a negative pause, letters in a value, a value not given, both forms', async () => {
    const base = { caller: { number: '+12025550113' } };
    // 2,000 steps do not even fit in a request body (413 PAYLOAD_TOO_LARGE); 101 do, and are refused.
    const huge = await h.create({ ...base, callee: { number: '+12025550170', ivr: Array.from({ length: 2000 }, () => ({ digits: '1' })) } });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error.code, 'PAYLOAD_TOO_LARGE');
    const cases: Array<[unknown, string, RegExp]> = [
      [{ ...base, callee: { number: '+12025550170', ivr: Array.from({ length: 101 }, () => ({ pause: 0 })) } }, 'VALIDATION_FAILED', /ivr/],
      [{ ...base, callee: { number: '+12025550170', ivr: [{ pause: -500 }] } }, 'VALIDATION_FAILED', /pause/],
      [{ ...base, callee: { number: '+12025550170', ivr: [{ value: 'account' }] }, values: { account: '12ab' } }, 'VALIDATION_FAILED', /values/],
      [{ ...base, callee: { number: '+12025550170', ivr: [{ value: 'account' }] } }, 'INVALID_IVR', /account/],
      [{ ...base, callee: { number: '+12025550170', ivr: [{ digits: '1', pause: 10 }] } }, 'VALIDATION_FAILED', /ivr/],
      [{ ...base, callee: { number: '+12025550170', dtmf: '1', ivr: [{ digits: '1' }] } }, 'INVALID_IVR', /not both/],
      [{ ...base, callee: { number: '+12025550170', ivr: [{ digits: '1;uuid_kill' }] } }, 'VALIDATION_FAILED', /digits/],
    ];
    for (const [body, code, detail] of cases) {
      const res = await h.create(body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, code, JSON.stringify(res.body));
      assert.match(JSON.stringify(res.body.error.details), detail);
    }
  });
});

describe('a person, not a machine, on each leg', () => {
  // Greetings, hellos and beeps are heard as they happen: at the switch's own pace, so that a
  // loaded test machine's latency does not make a 4 s greeting look like silence.
  let h: Harness;
  before(async () => {
    h = await startHarness({ timeScale: 1 });
  });
  after(async () => h.close());

  it('an answering machine on the caller leg is detected, never bridged to the called party, and the attempt is retried', async () => {
    const res = await h.create({
      caller: { number: '+12025550203' },
      callee: { number: '+12025550120', name: 'Acme Support' },
      machineDetection: { caller: { onMachine: 'hangup-retry' } },
      retry: { maxAttempts: 2, delaySeconds: 0 },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const done = await h.waitForStatus(res.body.id, 'failed', 60_000);
    assert.equal(done.attempts.length, 2);
    assert.equal(done.failureCause, 'NO_ANSWER');
    assert.deepEqual(done.timeline.filter((e) => e.event === 'machine-detection').map((e) => e.detail?.split(':')[0]), ['machine', 'machine']);
    assert.equal(commandsLike(h.sim, /uuid_bridge/).filter((t) => done.attempts.some((a) => a.legs.some((l) => t.includes(l.uuid)))).length, 0, 'never bridged');
    for (const attempt of done.attempts) {
      const callee = attempt.legs.find((l) => l.role === 'callee');
      assert.ok(callee && done.timeline.some((e) => e.event === 'caller-no-answer-message-played' && e.uuid === callee.uuid), 'the called party was told');
    }
    assert.ok(!done.timeline.some((e) => e.status === 'bridged'));
  });

  it('an answering machine with leave-message hears the message after its beep, and the callback ends without a retry', async () => {
    const message = 'Hello, this is Acme Support returning your call. We will try again tomorrow.';
    const res = await h.create({
      caller: { number: '+12025550100' },
      callee: { number: '+12025550201' },
      machineDetection: { callee: { onMachine: 'leave-message', message } },
      retry: { maxAttempts: 3, delaySeconds: 0 },
    });
    const done = await h.waitForStatus(res.body.id, 'failed', 30_000);
    assert.equal(done.attempts.length, 1, 'not retried');
    const callee = legOf(done, 1, 'callee');
    assert.ok(callee);
    const machine = h.sim.farEnd(callee.uuid);
    assert.ok(machine?.recorded.some((r) => r.app === 'speak' && r.arg.endsWith(message)), 'the message was recorded after the beep');
    assert.ok(done.timeline.some((e) => e.event === 'machine-message-left'));
    assert.ok(!done.timeline.some((e) => e.status === 'callee-answered'), 'a machine never counts as the called party answering');
    assert.equal(legOf(done, 1, 'caller'), undefined, 'the caller was never rung');
  });

  it('a person who says hello passes answering-machine detection and is connected', async () => {
    const res = await h.create({
      caller: { number: '+12025550212' },
      callee: { number: '+12025550121' },
      machineDetection: { caller: {} },
    });
    const bridged = await h.waitForStatus(res.body.id, 'bridged', 30_000);
    assert.match(bridged.timeline.find((e) => e.event === 'machine-detection')?.detail ?? '', /^person: a greeting of 0\.\d s/);
    const caller = legOf(bridged, 1, 'caller');
    assert.ok(caller);
    h.sim.remoteHangup(caller.uuid);
    await h.waitForStatus(res.body.id, 'completed');
  });

  it('press-1: a person who presses 1 is connected', async () => {
    const res = await h.create({
      caller: { number: '+12025550213' },
      callee: { number: '+12025550122', name: 'Acme Support' },
      confirm: { caller: {} },
    });
    const bridged = await h.waitForStatus(res.body.id, 'bridged', 30_000);
    assert.ok(bridged.timeline.some((e) => e.event === 'party-confirmed' && e.role === 'caller'));
    const caller = legOf(bridged, 1, 'caller');
    assert.ok(caller);
    const asked = commandsLike(h.sim, new RegExp(`sendmsg ${caller.uuid}`)).join('\n');
    assert.match(asked, /execute-app-name: play_and_get_digits\nexecute-app-arg: 1 1 1 8000 # 'say:Press 1 to be connected to Acme Support\.'/);
    h.sim.remoteHangup(caller.uuid);
    await h.waitForStatus(res.body.id, 'completed');
  });

  it('press-1: no 1 in time counts as not answered, and the called party is never bridged to that leg', async () => {
    const res = await h.create({
      caller: { number: '+12025550123' },
      callee: { number: '+12025550124' },
      confirm: { caller: { timeoutSeconds: 2 } },
      retry: { maxAttempts: 1, delaySeconds: 0 },
    });
    const done = await h.waitForStatus(res.body.id, 'failed', 30_000);
    assert.equal(done.failureCause, 'NO_ANSWER');
    assert.match(done.timeline.find((e) => e.event === 'party-not-confirmed')?.detail ?? '', /no 1 within 2 s/);
    assert.ok(!done.timeline.some((e) => e.status === 'bridged'));
    assert.equal(legOf(done, 1, 'caller')?.hangupCause, 'NORMAL_CLEARING');
  });

  it('press-1 on the called party: it counts as answered only once it pressed 1', async () => {
    const res = await h.create({ caller: { number: '+12025550125' }, callee: { number: '+12025550214' }, confirm: { callee: {} } });
    const bridged = await h.waitForStatus(res.body.id, 'bridged', 30_000);
    const events = bridged.timeline.map((e) => `${e.event}${e.status ? `:${e.status}` : ''}`);
    assert.ok(events.indexOf('party-confirmed') < events.indexOf('leg-answered:callee-answered'), events.join(' '));
    const caller = legOf(bridged, 1, 'caller');
    assert.ok(caller);
    h.sim.remoteHangup(caller.uuid);
    await h.waitForStatus(res.body.id, 'completed');
  });
});
