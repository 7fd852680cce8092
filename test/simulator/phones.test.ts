/**
 * The simulated telephones, driven through a real drachtio-modesl connection: each range of the
 * default plan gives its outcome, on the originate result and on the channel events.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DTMF_FIRST_DIGIT_DELAY_MS } from '../../src/telephony/dtmf.js';
import { eventOf, SCALE, sleep, startClient, viaGateway, type TestClient } from './client.js';

describe('phones of the default plan', () => {
  /**
   * The switch answers a DTMF command as soon as the digits are queued, and the first digit leaves
   * DTMF_FIRST_DIGIT_DELAY_MS later. Under the time scale that is a few real ms, so a slow reply may
   * legitimately arrive after it: a digit already heard is only wrong if the reply was fast.
   */
  const assertRepliedBeforeFirstDigit = (uuid: string, sentAt: number): void => {
    const replyMs = performance.now() - sentAt;
    if (replyMs >= DTMF_FIRST_DIGIT_DELAY_MS * SCALE) return;
    assert.equal(c.sim.dtmfReceived(uuid).length, 0, `a digit was heard before the ${replyMs.toFixed(1)} ms reply`);
  };

  let c: TestClient;
  beforeEach(async () => {
    c = await startClient();
  });
  afterEach(() => c.close());

  it('when the callee is in 0100–0149, it rings, answers after about a second and stays up until hung up', async () => {
    const uuid = randomUUID();
    const started = performance.now();
    const result = await c.bgapi('originate', viaGateway(uuid, '+12025550100'));
    const elapsed = performance.now() - started;
    assert.equal(result, `+OK ${uuid}\n`);
    assert.ok(elapsed >= 1000 * SCALE * 0.9, `answered after ${elapsed} ms`);
    await c.waitForEvent(eventOf('CHANNEL_PARK', uuid));
    const names = c.events.filter((e) => e.getHeader('Unique-ID') === uuid).map((e) => e.getHeader('Event-Name'));
    assert.ok(names.indexOf('CHANNEL_PROGRESS') < names.indexOf('CHANNEL_ANSWER'), 'rang before answering');
    await sleep(3000 * SCALE);
    assert.equal(c.sim.channels().find((ch) => ch.uuid === uuid)?.state, 'answered');
    assert.equal(await c.api('uuid_kill', uuid), '+OK\n');
    const done = await c.waitForEvent(eventOf('CHANNEL_HANGUP_COMPLETE', uuid));
    assert.equal(done.getHeader('Hangup-Cause'), 'NORMAL_CLEARING');
    assert.equal(c.sim.channels().find((ch) => ch.uuid === uuid)?.state, 'hungup');
  });

  it('when the callee is in 0150–0159, it rings until originate_timeout and the originate fails with NO_ANSWER', async () => {
    const uuid = randomUUID();
    const started = performance.now();
    const result = await c.bgapi('originate', viaGateway(uuid, '+12025550150', 'originate_timeout=4'));
    const elapsed = performance.now() - started;
    assert.equal(result, '-ERR NO_ANSWER\n');
    assert.ok(elapsed >= 4000 * SCALE * 0.9 && elapsed < 60_000 * SCALE, `gave up after ${elapsed} ms`);
    const hangup = await c.waitForEvent(eventOf('CHANNEL_HANGUP_COMPLETE', uuid));
    assert.equal(hangup.getHeader('Hangup-Cause'), 'NO_ANSWER');
    assert.equal(hangup.getHeader('variable_sip_hangup_disposition'), 'send_cancel');
  });

  it('when the callee is in 0160–0169, the originate fails with USER_BUSY and the leg ends USER_BUSY', async () => {
    const uuid = randomUUID();
    assert.equal(await c.bgapi('originate', viaGateway(uuid, '12025550160')), '-ERR USER_BUSY\n');
    const hangup = await c.waitForEvent(eventOf('CHANNEL_HANGUP', uuid));
    assert.equal(hangup.getHeader('Hangup-Cause'), 'USER_BUSY');
    assert.equal(hangup.getHeader('variable_sip_term_status'), '486');
  });

  it('when the callee is in 0170–0179, it answers and records each DTMF digit with its timing, w and W as pauses', async () => {
    const uuid = randomUUID();
    assert.equal(await c.bgapi('originate', viaGateway(uuid, '+12025550170')), `+OK ${uuid}\n`);
    assert.equal(await c.api('uuid_send_dtmf', `${uuid} 12w3W#`), `+OK ${uuid} sent DTMF 12w3W#.\n`);
    await sleep(4000 * SCALE);
    const dtmf = c.sim.dtmfReceived(uuid);
    assert.deepEqual(dtmf.map((d) => d.digit), ['1', '2', '3', '#']);
    const gaps = dtmf.slice(1).map((d, i) => d.atMs - (dtmf[i]?.atMs ?? 0));
    const tolerance = 20 / SCALE;
    // The real switch's pace (m-/n- captures): 0.42 s a digit, plus 0.5 s for w and 1 s for W.
    [420, 920, 1420].forEach((expected, i) => {
      const gap = gaps[i] ?? 0;
      assert.ok(Math.abs(gap - expected) <= tolerance, `gap ${i}: ${gap} ms, expected about ${expected}`);
    });
  });

  it('digits still queued when the leg hangs up never reach the phone, and nothing reports them (m-dtmf-cut-by-hangup)', async () => {
    const uuid = randomUUID();
    assert.equal(await c.bgapi('originate', viaGateway(uuid, '+12025550173')), `+OK ${uuid}\n`);
    // Queued at once, like FreeSWITCH: the job says "sent" before any digit is out.
    const sentAt = performance.now();
    assert.equal(await c.bgapi('uuid_send_dtmf', `${uuid} 1w2W3W4#`), `+OK ${uuid} sent DTMF 1w2W3W4#.\n`);
    assertRepliedBeforeFirstDigit(uuid, sentAt);
    await sleep(1200 * SCALE);
    assert.equal(await c.api('uuid_kill', uuid), '+OK\n');
    await sleep(4000 * SCALE);
    assert.deepEqual(c.sim.dtmfReceived(uuid).map((d) => d.digit), ['1', '2']);
  });

  it('the send_dtmf app completes at once and the digits follow at the switch pace (n-send-dtmf-app)', async () => {
    const uuid = randomUUID();
    assert.equal(await c.bgapi('originate', viaGateway(uuid, '+12025550174')), `+OK ${uuid}\n`);
    const sentAt = performance.now();
    await new Promise((resolve) => c.conn.execute('send_dtmf', '1w2W3#', uuid, resolve));
    assertRepliedBeforeFirstDigit(uuid, sentAt);
    await sleep(3500 * SCALE);
    const dtmf = c.sim.dtmfReceived(uuid);
    assert.deepEqual(dtmf.map((d) => d.digit), ['1', '2', '3', '#']);
    const span = (dtmf[3]?.atMs ?? 0) - (dtmf[0]?.atMs ?? 0);
    assert.ok(Math.abs(span - 2760) <= 20 / SCALE, `first to last digit ${span} ms, the capture shows 2.75 s`);
  });

  it('when the callee is in 0180–0189, the originate fails with NETWORK_OUT_OF_ORDER', async () => {
    const uuid = randomUUID();
    assert.equal(await c.bgapi('originate', viaGateway(uuid, '+12025550185')), '-ERR NETWORK_OUT_OF_ORDER\n');
    assert.equal((await c.waitForEvent(eventOf('CHANNEL_HANGUP_COMPLETE', uuid))).getHeader('Hangup-Cause'), 'NETWORK_OUT_OF_ORDER');
  });

  it('when the callee is in 0190–0199, it answers and hangs up by itself after two seconds with NORMAL_CLEARING', async () => {
    const uuid = randomUUID();
    assert.equal(await c.bgapi('originate', viaGateway(uuid, '+12025550199')), `+OK ${uuid}\n`);
    const answeredAt = performance.now();
    const hangup = await c.waitForEvent(eventOf('CHANNEL_HANGUP', uuid));
    const elapsed = performance.now() - answeredAt;
    assert.equal(hangup.getHeader('Hangup-Cause'), 'NORMAL_CLEARING');
    assert.equal(hangup.getHeader('variable_sip_term_status'), '200', 'the far end sent BYE');
    assert.ok(elapsed >= 2000 * SCALE * 0.8, `hung up after ${elapsed} ms`);
  });

  it('when the number is not in the plan, the originate fails with UNALLOCATED_NUMBER', async () => {
    assert.equal(await c.bgapi('originate', viaGateway(randomUUID(), '+12025559999')), '-ERR UNALLOCATED_NUMBER\n');
    assert.equal(await c.bgapi('originate', `{origination_uuid=${randomUUID()}}loopback/555/default &park()`), '-ERR NO_ROUTE_DESTINATION\n');
  });

  it('when a SIP URI is dialled, its user answers unless it is a plan number', async () => {
    const alice = randomUUID();
    assert.equal(await c.bgapi('originate', `{origination_uuid=${alice}}sofia/external/sip:alice@example.com &park()`), `+OK ${alice}\n`);
    const busy = randomUUID();
    assert.equal(await c.bgapi('originate', `{origination_uuid=${busy}}sofia/external/+12025550161@carrier.example:5060 &park()`), '-ERR USER_BUSY\n');
  });

  it('setPhone changes a number at run time, answer() picks up a ringing leg, remoteHangup() ends a call from the far end', async () => {
    c.sim.setPhone('+12025550100', { kind: 'no-answer' });
    const uuid = randomUUID();
    const result = c.bgapi('originate', viaGateway(uuid, '+12025550100'));
    await c.waitForEvent((e) => eventOf('CHANNEL_CALLSTATE', uuid)(e) && e.getHeader('Channel-Call-State') === 'RINGING');
    assert.equal(c.sim.channels().find((ch) => ch.uuid === uuid)?.state, 'ringing');
    c.sim.answer(uuid);
    assert.equal(await result, `+OK ${uuid}\n`);
    c.sim.remoteHangup(uuid, 'CALL_REJECTED');
    const hangup = await c.waitForEvent(eventOf('CHANNEL_HANGUP_COMPLETE', uuid));
    assert.equal(hangup.getHeader('Hangup-Cause'), 'CALL_REJECTED');
    assert.equal(c.sim.channels().find((ch) => ch.uuid === uuid)?.hangupCause, 'CALL_REJECTED');

    c.sim.setPhone('12025550101', { kind: 'fail', cause: 'NORMAL_TEMPORARY_FAILURE' });
    assert.equal(await c.bgapi('originate', viaGateway(randomUUID(), '+12025550101')), '-ERR NORMAL_TEMPORARY_FAILURE\n');
  });

  it('setOriginateDelay makes the switch create the channel of an originate only after the delay', async () => {
    c.sim.setOriginateDelay(1000);
    const uuid = randomUUID();
    const result = c.bgapi('originate', viaGateway(uuid, '+12025550100'));
    await sleep(500 * SCALE);
    assert.equal(c.sim.channels().find((ch) => ch.uuid === uuid), undefined, 'no channel yet');
    assert.equal(await c.api('uuid_exists', uuid), 'false');
    assert.equal(await result, `+OK ${uuid}\n`);
    c.sim.setOriginateDelay(0);
    assert.throws(() => c.sim.setOriginateDelay(-1), RangeError);
  });

  it('a leg killed while it rings fails its originate with the kill cause', async () => {
    const uuid = randomUUID();
    const result = c.bgapi('originate', viaGateway(uuid, '+12025550155'));
    await c.waitForEvent(eventOf('CHANNEL_PROGRESS', uuid));
    assert.equal(await c.api('uuid_kill', `${uuid} ORIGINATOR_CANCEL`), '+OK\n');
    assert.equal(await result, '-ERR ORIGINATOR_CANCEL\n');
  });
});
