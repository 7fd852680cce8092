// @parallel: in-process Crossline on the simulator only, mostly waiting (test/run-suite.sh)
/**
 * Queue time and "ring me when an agent is near" through the whole Crossline (issue 8, items 3-4):
 * a call center whose queue is the switch's mod_callcenter queue (the simulator's emulation), read
 * over the API; a maxWaitSeconds callback that waits while the line is long and is placed once it
 * has drained; bad input refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Harness } from '../support/harness.js';

describe('call-center queue time and maxWaitSeconds end to end', () => {
  let h: Harness;
  before(async () => {
    // Real time: the queue's calls last 2 s, so expected waits in seconds mean something.
    h = await startHarness({ timeScale: 1, env: { AGENT_WAIT_RECHECK_MIN_MS: '200', AGENT_WAIT_RECHECK_MAX_MS: '500', DEFAULT_RING_TIMEOUT: '10' } });
    await h.api().post('/v1/call-centers').send({ name: 'acme', numbers: ['+12025550101'], queue: { type: 'freeswitch', queue: 'support@default' } }).expect(201);
    await h.api().post('/v1/call-centers').send({ name: 'noqueue', numbers: ['+12025550102'] }).expect(201);
  });
  after(async () => {
    await h.close();
  });

  it('refuses maxWaitSeconds of 0, of a year, and for a callee without a queue', async () => {
    for (const [body, code] of [
      [{ caller: { number: '+12025550100' }, callee: { callCenter: 'acme' }, maxWaitSeconds: 0 }, 'VALIDATION_FAILED'],
      [{ caller: { number: '+12025550100' }, callee: { callCenter: 'acme' }, maxWaitSeconds: 365 * 86_400 }, 'VALIDATION_FAILED'],
      [{ caller: { number: '+12025550100' }, callee: { number: '+12025550101' }, maxWaitSeconds: 60 }, 'INVALID_MAX_WAIT'],
      [{ caller: { number: '+12025550100' }, callee: { callCenter: 'noqueue' }, maxWaitSeconds: 60 }, 'INVALID_MAX_WAIT'],
    ] as const) {
      const res = await h.create(body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, code);
      assert.ok(res.body.error.details.some((d: { path?: string }) => d.path === '/maxWaitSeconds'), JSON.stringify(res.body.error.details));
    }
    const none = await h.api().get('/v1/call-centers/noqueue/queue').expect(200);
    assert.equal(none.body.source, 'none');
    const unknown = await h.api().get('/v1/call-centers/nope/queue').expect(404);
    assert.equal(unknown.body.error.code, 'CALL_CENTER_NOT_FOUND');
  });

  it('a maxWaitSeconds callback waits while the queue is long (waiting-for-agent, nothing dialled) and rings once it has drained', async () => {
    // One agent, 2 s per call, no wrap-up; seven customers already in line.
    h.sim.addAgent({ name: '1000@default', queues: ['support@default'], answerAfterMs: 100, talkMs: 2000, wrapUpSec: 0 });
    for (let i = 0; i < 7; i++) h.sim.joinQueue('support@default', { cidNumber: `+1202555013${i}`, cidName: `Customer ${i}` });
    const originatesBefore = h.sim.originates().length;
    const created = await h.create({ caller: { number: '+12025550100', name: 'Ada' }, callee: { callCenter: 'acme' }, maxWaitSeconds: 10 });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const held = await h.waitForStatus(created.body.id, 'waiting-for-agent');
    assert.equal(held.request.maxWaitSeconds, 10);
    assert.equal(held.attempts.length, 0);
    const queue = await h.api().get('/v1/call-centers/acme/queue').expect(200);
    assert.equal(queue.body.source, 'freeswitch');
    assert.ok(queue.body.waiting >= 4, JSON.stringify(queue.body));
    assert.ok(queue.body.expectedWaitSeconds > 10, JSON.stringify(queue.body));
    assert.equal(h.sim.originates().length, originatesBefore, 'nothing dialled while held');

    const bridged = await h.waitForStatus(created.body.id, 'bridged', 40_000);
    const events = bridged.timeline.map((e) => e.event);
    assert.ok(events.indexOf('waiting-for-agent') < events.indexOf('agent-near'), events.join(', '));
    assert.ok(events.indexOf('agent-near') < events.indexOf('leg-dialing'), events.join(', '));
    const near = bridged.timeline.find((e) => e.event === 'agent-near');
    assert.ok(Number(/expected wait (\d+) s/.exec(near?.detail ?? '')?.[1]) <= 10, near?.detail);
    await h.api().delete(`/v1/callbacks/${created.body.id}`);
  });

  it('a held callback is canceled at once', async () => {
    for (let i = 0; i < 20; i++) h.sim.joinQueue('support@default', { cidNumber: `+1202555014${i % 10}`, cidName: `Later ${i}` });
    const created = await h.create({ caller: { number: '+12025550100' }, callee: { callCenter: 'acme' }, maxWaitSeconds: 10 });
    await h.waitForStatus(created.body.id, 'waiting-for-agent');
    const res = await h.api().delete(`/v1/callbacks/${created.body.id}`).expect(200);
    assert.equal(res.body.status, 'canceled');
  });
});
