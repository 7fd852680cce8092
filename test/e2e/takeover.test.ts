import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, afterEach, before, describe, it } from 'node:test';
import type { CallbackView } from '../../src/callbacks/index.js';
import { killProcess, spawnWorkerProcess, startHarness, type Harness, type WorkerProcess } from '../support/harness.js';

/*
 * "Nothing lost, nothing doubled": the API runs here, the worker in a child process that the test
 * kills with SIGKILL mid-call. A second worker process takes the job over once its lock lapses and
 * must finish the callback from what the store and the switch say, without dialling a leg again.
 */

const legOf = (cb: CallbackView, role: 'callee' | 'caller') => cb.attempts[0]?.legs.find((l) => l.role === role);

describe('a worker killed mid-call', () => {
  let h: Harness;
  const children: ChildProcess[] = [];
  const worker = (): WorkerProcess => {
    const child = spawnWorkerProcess(h.env);
    children.push(child);
    return child;
  };

  before(async () => {
    // Real-time-ish phones here: a ringing leg must outlast a takeover.
    h = await startHarness({ roles: { api: true, workers: false }, timeScale: 1 });
  });
  // Every worker of a test goes with it: a survivor would pick up the next test's callback.
  afterEach(async () => {
    await Promise.all(children.splice(0).map(killProcess));
  });
  after(async () => h.close());

  it('while the caller rings: the successor waits for that same leg, bridges, and each leg was originated exactly once', async () => {
    h.sim.setPhone('+12025550131', { kind: 'no-answer' });
    const first = worker();
    const res = await h.create({ caller: { number: '+12025550131' }, callee: { number: '+12025550130' }, ringTimeout: 120 });
    assert.equal(res.status, 202);
    // The status is saved before the originate is sent; wait until the switch really has the leg ringing.
    const ringing = await h.waitFor(
      res.body.id,
      (cb) => cb.status === 'calling-caller' && h.sim.channels().some((c) => c.uuid === legOf(cb, 'caller')?.uuid && c.state === 'ringing'),
      30_000,
    );
    const callerUuid = legOf(ringing, 'caller')?.uuid ?? '';
    await killProcess(first);

    worker();
    await h.waitFor(res.body.id, (cb) => cb.timeline.some((e) => e.event === 'resumed'), 30_000);
    const simChannel = h.sim.channels().find((c) => c.uuid === callerUuid);
    assert.equal(simChannel?.state, 'ringing', 'the original caller leg is still ringing');
    h.sim.answer(callerUuid);
    const bridged = await h.waitForStatus(res.body.id, 'bridged', 30_000);
    assert.equal(legOf(bridged, 'caller')?.uuid, callerUuid, 'the same caller leg was bridged');

    h.sim.remoteHangup(callerUuid);
    const done = await h.waitForStatus(res.body.id, 'completed', 15_000);
    assert.equal(done.attempts.length, 1);
    const originates = h.sim.originates().map((c) => c.text);
    assert.equal(originates.filter((t) => t.includes('2025550130')).length, 1, 'callee originated once');
    assert.equal(originates.filter((t) => t.includes('2025550131')).length, 1, 'caller originated once');
  });

  it('while bridged: the conversation holds no job, so the kill does not touch it, and a new worker records its end', async () => {
    const first = worker();
    const res = await h.create({ caller: { number: '+12025550133' }, callee: { number: '+12025550132' } });
    const bridged = await h.waitForStatus(res.body.id, 'bridged', 30_000);
    const uuids = [legOf(bridged, 'caller')?.uuid, legOf(bridged, 'callee')?.uuid];
    await killProcess(first);
    await worker().up;
    // Longer than the job lock and several reconciliations (CALL_END_RECONCILE_MS 1 s in the harness).
    await new Promise((r) => setTimeout(r, 3_000));
    const still = await h.get(res.body.id);
    assert.equal(still.status, 'bridged');
    assert.ok(!still.timeline.some((e) => e.event === 'resumed'), 'no job was holding the call, so none was taken over');
    assert.equal(h.sim.channels().filter((c) => c.state === 'answered' && uuids.includes(c.uuid)).length, 2, 'both parties still on');

    h.sim.remoteHangup(legOf(bridged, 'callee')?.uuid ?? '');
    const done = await h.waitForStatus(res.body.id, 'completed', 15_000);
    assert.equal(legOf(done, 'callee')?.hangupCause, 'NORMAL_CLEARING', 'the new worker heard the hangup');
    const originates = h.sim.originates().map((c) => c.text);
    assert.equal(originates.filter((t) => t.includes('2025550132')).length, 1);
    assert.equal(originates.filter((t) => t.includes('2025550133')).length, 1);
    assert.equal(h.sim.commands.filter((c) => c.text.includes(`uuid_bridge ${legOf(done, 'callee')?.uuid}`)).length, 1, 'bridged once');
  });
});
