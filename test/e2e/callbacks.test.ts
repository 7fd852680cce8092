// @parallel: in-process Crossline on the simulator only, mostly waiting (test/run-suite.sh)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CallbackView } from '../../src/callbacks/index.js';
import { commandsLike, startHarness, type Harness } from '../support/harness.js';

/*
 * End to end over real parts: HTTP API → Redis → BullMQ → worker → ESL client → the simulator's
 * socket. Phones by number (simulator default plan): 0100–0149 answer, 0150–0159 never answer,
 * 0160–0169 busy, 0170–0179 collect DTMF, 0180–0189 network failure, 0190–0199 hang up after 2 s.
 */

const legOf = (cb: CallbackView, attempt: number, role: 'callee' | 'caller') =>
  cb.attempts.find((a) => a.number === attempt)?.legs.find((l) => l.role === role);

const originatesTo = (h: Harness, number: string): string[] => h.sim.originates().map((c) => c.text).filter((t) => t.includes(number));

describe('callbacks end to end', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.close());

  it('when both parties answer, the callee is answered before the caller is dialled, they are bridged once, and the callback completes', async () => {
    const res = await h.create({ caller: { number: '+12025550100' }, callee: { number: '+12025550101', name: 'Acme Support' } });
    assert.equal(res.status, 202);
    const id = res.body.id as string;
    assert.ok(['queued', 'calling-callee'].includes(res.body.status));

    const bridged = await h.waitForStatus(id, 'bridged');
    const callee = legOf(bridged, 1, 'callee');
    const caller = legOf(bridged, 1, 'caller');
    assert.ok(callee?.answeredAt && caller?.startedAt && caller.answeredAt);
    assert.ok(Date.parse(callee.answeredAt) <= Date.parse(caller.startedAt), 'callee answered before the caller was dialled');
    assert.equal(commandsLike(h.sim, new RegExp(`uuid_bridge ${callee.uuid} ${caller.uuid}`)).length, 1);

    h.sim.remoteHangup(caller.uuid, 'NORMAL_CLEARING');
    const done = await h.waitForStatus(id, 'completed');
    assert.equal(legOf(done, 1, 'caller')?.hangupCause, 'NORMAL_CLEARING');
    assert.ok(legOf(done, 1, 'callee')?.endedAt);
    assert.equal(commandsLike(h.sim, /uuid_bridge/).filter((t) => t.includes(callee.uuid)).length, 1);
    assert.deepEqual(
      done.timeline.filter((e) => e.status !== undefined).map((e) => e.status),
      ['queued', 'calling-callee', 'callee-answered', 'calling-caller', 'bridged', 'completed'],
    );
    assert.equal(originatesTo(h, '2025550101').length, 1);
    assert.equal(originatesTo(h, '2025550100').length, 1);
  });

  it('when the callee never answers, the callback retries per policy and ends failed with NO_ANSWER in the timeline', async () => {
    const res = await h.create({ caller: { number: '+12025550102' }, callee: { number: '+12025550150' }, ringTimeout: 5, retry: { maxAttempts: 2, delaySeconds: 0 } });
    assert.equal(res.status, 202);
    const done = await h.waitForStatus(res.body.id, 'failed', 20_000);
    assert.equal(done.attempts.length, 2);
    assert.equal(done.failureCause, 'NO_ANSWER');
    assert.deepEqual(done.timeline.filter((e) => e.event === 'attempt-failed').map((e) => e.hangupCause), ['NO_ANSWER', 'NO_ANSWER']);
    assert.ok(done.attempts.every((a) => a.legs.length === 1), 'the caller is never dialled');
    assert.equal(originatesTo(h, '2025550102').length, 0);
  });

  it('when the callee is busy, the callback retries and ends failed with USER_BUSY', async () => {
    const res = await h.create({ caller: { number: '+12025550103' }, callee: { number: '+12025550160' }, retry: { maxAttempts: 3, delaySeconds: 0 } });
    const done = await h.waitForStatus(res.body.id, 'failed');
    assert.equal(done.attempts.length, 3);
    assert.equal(done.failureCause, 'USER_BUSY');
    assert.ok(done.attempts.every((a) => a.legs[0]?.hangupCause === 'USER_BUSY'));
    assert.ok(done.timeline.some((e) => e.event === 'retry-scheduled'));
  });

  it('when the network fails, the cause NETWORK_OUT_OF_ORDER is reported', async () => {
    const res = await h.create({ caller: { number: '+12025550104' }, callee: { number: '+12025550180' }, retry: { maxAttempts: 1, delaySeconds: 0 } });
    const done = await h.waitForStatus(res.body.id, 'failed');
    assert.equal(done.failureCause, 'NETWORK_OUT_OF_ORDER');
  });

  it('when the caller never answers, the callee hears the message, is hung up, and the callback is retried', async () => {
    const res = await h.create({ caller: { number: '+12025550151' }, callee: { number: '+12025550105' }, ringTimeout: 5, retry: { maxAttempts: 2, delaySeconds: 0 } });
    const done = await h.waitForStatus(res.body.id, 'failed', 20_000);
    assert.equal(done.attempts.length, 2);
    assert.equal(done.failureCause, 'NO_ANSWER');
    for (const attempt of done.attempts) {
      const callee = attempt.legs.find((l) => l.role === 'callee');
      assert.ok(callee);
      assert.ok(done.timeline.some((e) => e.event === 'caller-no-answer-message-played' && e.uuid === callee.uuid));
      const spoken = commandsLike(h.sim, new RegExp(`sendmsg ${callee.uuid}`)).join('\n');
      assert.match(spoken, /execute-app-name: speak/);
      assert.match(spoken, /did not answer/);
      assert.equal(callee.hangupCause, 'NORMAL_CLEARING');
    }
  });

  it('announces to both parties and sends the IVR digits to the callee after it answers', async () => {
    const res = await h.create({
      caller: { number: '+12025550106' },
      callee: { number: '+12025550170', dtmf: '12w3#' },
      announce: { callee: 'Connecting you to a customer.', caller: 'Your call is being connected.' },
    });
    const bridged = await h.waitForStatus(res.body.id, 'bridged');
    const callee = legOf(bridged, 1, 'callee');
    const caller = legOf(bridged, 1, 'caller');
    assert.ok(callee && caller);
    assert.deepEqual(h.sim.dtmfReceived(callee.uuid).map((d) => d.digit).join(''), '123#');
    const events = bridged.timeline.map((e) => e.event);
    assert.ok(events.indexOf('dtmf-sent') < events.indexOf('leg-dialing', events.indexOf('dtmf-sent')), 'digits sent before the caller is dialled');
    assert.match(commandsLike(h.sim, new RegExp(`sendmsg ${callee.uuid}`)).join('\n'), /Connecting you to a customer\./);
    assert.match(commandsLike(h.sim, new RegExp(`sendmsg ${caller.uuid}`)).join('\n'), /Your call is being connected\./);
    h.sim.remoteHangup(callee.uuid);
    await h.waitForStatus(res.body.id, 'completed');
  });

  it('caller-first order rings the caller, then the callee, then bridges', async () => {
    const res = await h.create({ caller: { number: '+12025550107' }, callee: { number: '+12025550108' }, order: 'caller-first' });
    const bridged = await h.waitForStatus(res.body.id, 'bridged');
    const caller = legOf(bridged, 1, 'caller');
    const callee = legOf(bridged, 1, 'callee');
    assert.ok(caller?.answeredAt && callee?.startedAt);
    assert.ok(Date.parse(caller.answeredAt) <= Date.parse(callee.startedAt));
    h.sim.remoteHangup(caller.uuid);
    await h.waitForStatus(res.body.id, 'completed');
  });

  it('a scheduled callback waits until its time, then calls', async () => {
    const at = new Date(Date.now() + 2_000).toISOString().replace('Z', '+00:00');
    const res = await h.create({ caller: { number: '+12025550109' }, callee: { number: '+12025550110' }, at });
    assert.equal(res.status, 202);
    assert.equal(res.body.status, 'scheduled');
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await h.get(res.body.id)).status, 'scheduled');
    assert.equal(originatesTo(h, '2025550110').length, 0, 'nothing dialled before the time');
    const bridged = await h.waitForStatus(res.body.id, 'bridged', 10_000);
    const started = Date.parse(legOf(bridged, 1, 'callee')?.startedAt ?? '');
    assert.ok(started >= Date.parse(at) - 50, `dialled at ${new Date(started).toISOString()}, due ${at}`);
    h.sim.remoteHangup(legOf(bridged, 1, 'callee')?.uuid ?? '');
    await h.waitForStatus(res.body.id, 'completed');
  });

  it('canceling a scheduled callback takes it off the queue and nothing is dialled', async () => {
    const at = new Date(Date.now() + 60_000).toISOString();
    const res = await h.create({ caller: { number: '+12025550111' }, callee: { number: '+12025550112' }, at });
    const del = await h.api().delete(`/v1/callbacks/${res.body.id}`);
    assert.equal(del.status, 200);
    assert.equal(del.body.status, 'canceled');
    assert.equal(originatesTo(h, '2025550112').length, 0);
    const again = await h.api().delete(`/v1/callbacks/${res.body.id}`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'CALLBACK_FINISHED');
  });

  it('canceling while the callee rings hangs the leg up and ends canceled', async () => {
    const res = await h.create({ caller: { number: '+12025550113' }, callee: { number: '+12025550152' }, ringTimeout: 60 });
    const ringing = await h.waitFor(res.body.id, (cb) => cb.status === 'calling-callee' && h.sim.channels().some((c) => c.uuid === legOf(cb, 1, 'callee')?.uuid && c.state === 'ringing'));
    const uuid = legOf(ringing, 1, 'callee')?.uuid ?? '';
    const del = await h.api().delete(`/v1/callbacks/${res.body.id}`);
    assert.equal(del.status, 200);
    const done = await h.waitForStatus(res.body.id, 'canceled');
    assert.equal(legOf(done, 1, 'callee')?.hangupCause, 'ORIGINATOR_CANCEL');
    assert.ok(commandsLike(h.sim, new RegExp(`uuid_kill ${uuid}`)).length >= 1);
    assert.notEqual(h.sim.channels().find((c) => c.uuid === uuid)?.state, 'ringing');
    assert.equal(originatesTo(h, '2025550113').length, 0, 'the caller is never dialled');
  });

  it('the same Idempotency-Key and body create one callback and dial each leg once', async () => {
    const body = { caller: { number: '+12025550114' }, callee: { number: '+12025550115' } };
    const first = await h.create(body, { 'Idempotency-Key': 'order-4711' });
    const second = await h.create(body, { 'Idempotency-Key': 'order-4711' });
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    assert.equal(second.body.id, first.body.id);
    const conflict = await h.create({ ...body, callee: { number: '+12025550116' } }, { 'Idempotency-Key': 'order-4711' });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
    const bridged = await h.waitForStatus(first.body.id, 'bridged');
    assert.equal(originatesTo(h, '2025550115').length, 1);
    h.sim.remoteHangup(legOf(bridged, 1, 'callee')?.uuid ?? '');
    await h.waitForStatus(first.body.id, 'completed');
  });

  it('injection attempts in any field are refused with 400 and the switch sees no command', async () => {
    const before = h.sim.commands.length;
    const attacks = [
      { caller: { number: '+12025550100;uuid_kill all' }, callee: { number: '+12025550101' } },
      { caller: { number: '+12025550100' }, callee: { number: '+12025550101 &bridge(sofia/gateway/x/1900)' } },
      { caller: { number: '+12025550100' }, callee: { sipUri: 'sip:a@b.c;transport=tcp' } },
      { caller: { number: '+12025550100' }, callee: { sipUri: 'sip:a b@c.d' } },
      { caller: { number: '+12025550100' }, callee: { number: '+12025550101', dtmf: '1\nuuid_kill all' } },
      { caller: { number: '+12025550100' }, callee: { number: '+12025550101', dtmf: '12}{' } },
      { caller: { number: '+12025550100', name: 'x,execute_on_answer=system rm' }, callee: { number: '+12025550101' } },
      { caller: { number: '+12025550100', name: "^^:a'b" }, callee: { number: '+12025550101' } },
      { caller: { number: '+12025550100' }, callee: { number: '+12025550101' }, announce: { callee: 'hi\ncall-command: hangup' } },
      { caller: { number: '+12025550100' }, callee: { number: '+12025550101' }, announce: { caller: 'flite|kal|x' } },
      { caller: { number: '+12025550100' }, callee: { number: '+12025550101' }, callerId: '"+1202"&' },
      { caller: { number: '+12025550100' }, callee: { number: '+12025550101' }, order: 'callee-first;' },
    ];
    for (const body of attacks) {
      const res = await h.create(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.error.code, /^(VALIDATION_FAILED|INVALID_[A-Z_]+)$/);
      assert.equal(typeof res.body.error.message, 'string');
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(h.sim.commands.slice(before).filter((c) => /originate|sendmsg|uuid_/.test(c.text)).length, 0);
  });

  it('premium-rate and foreign numbers are refused with 422 before anything is queued', async () => {
    const premium = await h.create({ caller: { number: '+12025550100' }, callee: { number: '+19005551234' } });
    assert.equal(premium.status, 422);
    assert.equal(premium.body.error.code, 'PREMIUM_RATE_DENIED');
    const foreign = await h.create({ caller: { number: '+33612345678' }, callee: { number: '+12025550101' } });
    assert.equal(foreign.status, 422);
    assert.equal(foreign.body.error.code, 'DESTINATION_NOT_ALLOWED');
    assert.equal(originatesTo(h, '9005551234').length + originatesTo(h, '33612345678').length, 0);
  });

  it('an ESL connection lost mid-call is re-established and the call still completes', async () => {
    const res = await h.create({ caller: { number: '+12025550117' }, callee: { number: '+12025550118' } });
    const bridged = await h.waitForStatus(res.body.id, 'bridged');
    h.sim.dropConnections();
    await new Promise((r) => setTimeout(r, 300));
    h.sim.remoteHangup(legOf(bridged, 1, 'caller')?.uuid ?? '');
    const done = await h.waitForStatus(res.body.id, 'completed');
    assert.equal(originatesTo(h, '2025550117').length, 1);
    assert.ok(legOf(done, 1, 'caller')?.endedAt);
  });

  it('lists callbacks by status, newest first, with a cursor', async () => {
    const page = await h.api().get('/v1/callbacks?status=failed&limit=2');
    assert.equal(page.status, 200);
    assert.equal(page.body.items.length, 2);
    assert.ok(page.body.items.every((cb: CallbackView) => cb.status === 'failed'));
    assert.ok(page.body.items[0].id > page.body.items[1].id);
    const next = await h.api().get(`/v1/callbacks?status=failed&limit=2&cursor=${page.body.nextCursor}`);
    assert.equal(next.status, 200);
    assert.ok(next.body.items.every((cb: CallbackView) => cb.id < page.body.items[1].id));
  });
});
