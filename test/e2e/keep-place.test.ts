// @parallel: in-process Crossline on the simulator only, mostly waiting (test/run-suite.sh)
/**
 * Keep-your-place through the whole Crossline (issue 8, item 4): the directory's keepPlace set-up,
 * the request's opt-in and its refusals, and a callback whose call-center leg waits in the
 * simulator's mod_callcenter queue while its BullMQ job sleeps; the agent picking up wakes the job
 * at once (promote), the caller is rung and bridged; a cancel while it waits ends it at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Harness } from '../support/harness.js';

describe('keep-your-place end to end', () => {
  let h: Harness;
  before(async () => {
    // A long recheck: only the pickup's wake-up (or a cancel's) can move a waiting place in time.
    h = await startHarness({ env: { KEEP_PLACE_RECHECK_MS: '600000', DEFAULT_RING_TIMEOUT: '20' } });
    await h.api().post('/v1/call-centers').send({
      name: 'acme', displayName: 'Acme Support', numbers: ['+12025550101'],
      queue: { type: 'freeswitch', queue: 'support@default' }, keepPlace: { extension: '7000', byDefault: true },
    }).expect(201);
    await h.api().post('/v1/call-centers').send({ name: 'plain', numbers: ['+12025550102'], queue: { type: 'freeswitch', queue: 'support@default' } }).expect(201);
  });
  after(async () => {
    await h.close();
  });

  it("refuses keep-your-place without a freeswitch queue, for a center without it set up, for a number, and with caller-first order; keeps the center's onQueueError policy", async () => {
    const bad = await h.api().post('/v1/call-centers').send({ name: 'httpq', numbers: ['+12025550103'], queue: { type: 'http', url: 'https://acd.example/q' }, keepPlace: { extension: '7000' } });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.equal(bad.body.error.details[0].path, '/keepPlace');
    const ext = await h.api().post('/v1/call-centers').send({ name: 'badext', numbers: ['+12025550103'], queue: { type: 'freeswitch', queue: 'support@default' }, keepPlace: { extension: '7000 &bridge(x)' } });
    assert.equal(ext.status, 400, JSON.stringify(ext.body));
    for (const body of [
      { caller: { number: '+12025550100' }, callee: { callCenter: 'plain' }, keepPlace: true },
      { caller: { number: '+12025550100' }, callee: { number: '+12025550101' }, keepPlace: true },
      { caller: { number: '+12025550100' }, callee: { callCenter: 'acme' }, order: 'caller-first' },
    ]) {
      const res = await h.create(body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'VALIDATION_FAILED');
      assert.ok(res.body.error.details.some((d: { path?: string }) => d.path === '/keepPlace'), JSON.stringify(res.body.error.details));
    }
    // The provider-error policy is part of the center, and snapshotted on its callbacks.
    const lenient = await h.api().post('/v1/call-centers').send({ name: 'lenient', numbers: ['+12025550106'], queue: { type: 'http', url: 'https://acd.example/q' }, onQueueError: 'call-anyway' });
    assert.equal(lenient.status, 201, JSON.stringify(lenient.body));
    assert.equal(lenient.body.onQueueError, 'call-anyway');
    const policy = await h.api().post('/v1/call-centers').send({ name: 'sometimes', numbers: ['+12025550106'], onQueueError: 'sometimes' });
    assert.equal(policy.status, 400);
    const snap = await h.create({ caller: { number: '+12025550100' }, callee: { callCenter: 'lenient' }, at: new Date(Date.now() + 3_600_000).toISOString() });
    assert.equal(snap.body.request.callee.callCenter.callOnQueueError, true, JSON.stringify(snap.body));
    // Opting out of the center's default is allowed: the number is dialled as usual.
    const out = await h.create({ caller: { number: '+12025550100' }, callee: { callCenter: 'acme' }, keepPlace: false, at: new Date(Date.now() + 3_600_000).toISOString() });
    assert.equal(out.status, 202, JSON.stringify(out.body));
    assert.equal(out.body.request.callee.callCenter.keepPlace, undefined);
  });

  it('waits in the queue with its job asleep, is woken when the agent picks up, rings the caller and bridges', async () => {
    h.sim.addAgent({ name: '1000@default', queues: ['support@default'], status: 'On Break', answerAfterMs: 1000, wrapUpSec: 0 });
    const res = await h.create({ caller: { number: '+12025550104', name: 'Ada' }, callee: { callCenter: 'acme' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body.request.callee.callCenter.keepPlace, { queue: 'support@default', extension: '7000', context: 'default' });
    const waiting = await h.waitFor(res.body.id, (cb) => cb.timeline.some((e) => e.event === 'queue-joined'), 10_000);
    assert.equal(waiting.status, 'waiting-for-agent');
    assert.equal(waiting.attempts[0]?.legs[0]?.endpoint, 'queue:support@default');
    h.sim.addAgent({ name: '1000@default', queues: ['support@default'], status: 'Available', answerAfterMs: 1000, wrapUpSec: 0 });
    const bridged = await h.waitForStatus(res.body.id, 'bridged', 10_000);
    const events = bridged.timeline.map((e) => e.event);
    assert.ok(events.indexOf('agent-answered') < events.indexOf('bridged'), events.join(', '));
    const caller = bridged.attempts[0]?.legs.find((l) => l.role === 'caller');
    h.sim.remoteHangup(caller?.uuid ?? '');
    await h.waitForStatus(res.body.id, 'completed', 10_000);
  });

  it('a callback waiting in the queue is canceled at once, and its queue leg hung up', async () => {
    h.sim.addAgent({ name: '1000@default', queues: ['support@default'], status: 'On Break', wrapUpSec: 0 });
    const res = await h.create({ caller: { number: '+12025550105', name: 'Bob' }, callee: { callCenter: 'acme' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const waiting = await h.waitFor(res.body.id, (cb) => cb.timeline.some((e) => e.event === 'queue-joined'), 10_000);
    const leg = waiting.attempts[0]?.legs[0]?.uuid ?? '';
    const canceled = await h.api().delete(`/v1/callbacks/${res.body.id}`).expect(200);
    assert.equal(canceled.body.status, 'canceled', JSON.stringify(canceled.body.timeline.map((e: { event: string }) => e.event)));
    assert.equal(h.sim.channels().find((c) => c.uuid === leg)?.state, 'hungup');
  });
});
