/**
 * Tracker issue 6, item 3: a pool of switches. Two simulated switches behind one ESL_URL: new
 * callbacks go to the switch with the most free room, both legs of a callback are on one switch, a
 * drained switch gets no new legs while its live calls finish, and a switch lost mid-call has its
 * callbacks retried on the other, each leg originated once. /readyz and /metrics list both.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import supertest from 'supertest';
import type { CallbackView } from '../../src/callbacks/index.js';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import { killProcess, spawnWorkerProcess, startCrossline, TIME_SCALE, type Crossline } from '../support/harness.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const OPS_TOKEN = 'ops-token-0123456789abcdef';
const FINAL = ['completed', 'failed', 'canceled'];

const originatedOn = (sim: EslSimulator): string[] =>
  sim.originates().map((c) => /origination_uuid=([0-9a-f-]{36})/.exec(c.text)?.[1] ?? '');
const legsOf = (cb: CallbackView): string[] => cb.attempts.flatMap((a) => a.legs.map((l) => l.uuid));

/** The simulator each of the callback's attempts dialled on (both its legs must be on it). */
function switchesOf(cb: CallbackView, sims: Record<string, EslSimulator>): string[] {
  return cb.attempts.map((a) => {
    const on = Object.entries(sims).filter(([, sim]) => a.legs.every((l) => originatedOn(sim).includes(l.uuid)));
    assert.equal(on.length, 1, `attempt ${a.number} of ${cb.id}: both legs on one switch (${JSON.stringify(a.legs.map((l) => l.uuid))})`);
    return on[0]?.[0] ?? '';
  });
}

async function startPool(sims: Record<string, EslSimulator>, env: Record<string, string> = {}, urls: Record<string, string> = {}): Promise<Crossline> {
  const url = Object.entries(sims).map(([name, sim]) => `${urls[name] ?? sim.url}#${name}`).join(',');
  return startCrossline(url, { env: { OPS_TOKEN, SWITCH_MAX_SESSIONS: '40', DESTINATION_LIMIT_EXEMPT: '+1202555', ...env } });
}

describe('a pool of two switches', () => {
  let fs1: EslSimulator;
  let fs2: EslSimulator;
  let x: Crossline;
  const ops = (): supertest.Agent => supertest.agent(x.runtime.apiUrl ?? '').set('Authorization', `Bearer ${OPS_TOKEN}`);
  before(async () => {
    fs1 = await createEslSimulator({ timeScale: TIME_SCALE });
    fs2 = await createEslSimulator({ timeScale: TIME_SCALE });
    for (const sim of [fs1, fs2]) {
      // Callees answer and stay; callers answer and stay until the test hangs them up.
      for (let i = 0; i < 10; i++) sim.setPhone(`+1202555011${i}`, { kind: 'answer', afterMs: 200 });
      for (let i = 0; i < 10; i++) sim.setPhone(`+1202555019${i}`, { kind: 'answer', afterMs: 200 });
    }
    x = await startPool({ fs1, fs2 }, { DRAINED_SWITCHES: 'fs2' });
  });
  after(async () => {
    await x?.close();
    await fs1?.close();
    await fs2?.close();
  });

  const bridge = async (i: number): Promise<CallbackView> => {
    const res = await x.create({ caller: { number: `+1202555019${i}` }, callee: { number: `+1202555011${i}` } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return x.waitForStatus(res.body.id as string, 'bridged');
  };
  const hangUpCaller = (cb: CallbackView, sim: EslSimulator): void => {
    const caller = cb.attempts[0]?.legs.find((l) => l.role === 'caller');
    assert.ok(caller);
    sim.remoteHangup(caller.uuid);
  };

  it('lists both switches, the one DRAINED_SWITCHES names drained, in the admin call, /readyz and /metrics', async () => {
    const list = await ops().get('/v1/admin/switches');
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.deepEqual(list.body.items.map((s: { id: string; connected: boolean; drained: boolean }) => [s.id, s.connected, s.drained]), [['fs1', true, false], ['fs2', true, true]]);
    const ready = await ops().get('/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body.checks.switches.map((s: { id: string }) => s.id), ['fs1', 'fs2']);
    const metrics = await ops().get('/metrics');
    assert.match(metrics.text, /crossline_switch_connected\{switch="fs1"\} 1/);
    assert.match(metrics.text, /crossline_switch_drained\{switch="fs2"\} 1/);
    assert.equal((await supertest(x.runtime.apiUrl ?? '').get('/v1/admin/switches')).status, 401, 'an operator call');
    assert.equal((await ops().post('/v1/admin/switches/nope/drain')).status, 404);
  });

  it('spreads callbacks by free room, keeps both legs of each on one switch, and a drained switch gets no new legs while its calls finish', async () => {
    // fs2 drained: the first three go to fs1.
    const early = [await bridge(0), await bridge(1), await bridge(2)];
    assert.deepEqual(early.map((cb) => switchesOf(cb, { fs1, fs2 })[0]), ['fs1', 'fs1', 'fs1']);
    // Undrained, fs2 has the most room (fs1 holds three calls): the next three go there.
    assert.equal((await ops().post('/v1/admin/switches/fs2/undrain')).body.drained, false);
    const later = [await bridge(3), await bridge(4), await bridge(5)];
    assert.deepEqual(later.map((cb) => switchesOf(cb, { fs1, fs2 })[0]), ['fs2', 'fs2', 'fs2']);
    // fs2 drained while its calls are up: new callbacks go to fs1, fs2's calls finish as their phones say.
    const drained = await ops().post('/v1/admin/switches/fs2/drain');
    assert.equal(drained.status, 200);
    assert.equal(drained.body.drained, true);
    const before2 = fs2.originates().length;
    const more = [await bridge(6), await bridge(7)];
    assert.deepEqual(more.map((cb) => switchesOf(cb, { fs1, fs2 })[0]), ['fs1', 'fs1']);
    assert.equal(fs2.originates().length, before2, 'no new leg on the drained switch');
    for (const cb of later) hangUpCaller(cb, fs2);
    for (const cb of [...early, ...more]) hangUpCaller(cb, fs1);
    for (const cb of [...early, ...later, ...more]) assert.equal((await x.waitFor(cb.id, (c) => FINAL.includes(c.status))).status, 'completed');
    const all = [...originatedOn(fs1), ...originatedOn(fs2)];
    for (const cb of [...early, ...later, ...more]) for (const uuid of legsOf(await x.get(cb.id))) assert.equal(all.filter((u) => u === uuid).length, 1);
    await ops().post('/v1/admin/switches/fs2/undrain');
  });
});

describe('a switch lost mid-call', () => {
  let fs1: EslSimulator;
  let fs2: EslSimulator;
  let x: Crossline;
  before(async () => {
    fs1 = await createEslSimulator({ timeScale: TIME_SCALE });
    fs2 = await createEslSimulator({ timeScale: TIME_SCALE });
    // Callees ring 20 s (1 s real) on both, so the switch dies while they ring; callers answer and hang up after 2 s.
    for (const sim of [fs1, fs2]) {
      for (let i = 0; i < 4; i++) sim.setPhone(`+1202555012${i}`, { kind: 'answer', afterMs: 20_000 });
      for (let i = 0; i < 4; i++) sim.setPhone(`+1202555019${i}`, { kind: 'answer', afterMs: 200, hangupAfterMs: 2000 });
    }
    x = await startPool({ fs1, fs2 }, { SWITCH_LOST_AFTER_MS: '1000', DEFAULT_RING_TIMEOUT: '30', DEFAULT_MAX_ATTEMPTS: '3' });
  });
  after(async () => {
    await x?.close();
    await fs1?.close();
    await fs2?.close();
  });

  it('retries its in-flight callbacks on the other switch, each leg originated once, and they end as their phones dictate', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await x.create({ caller: { number: `+1202555019${i}` }, callee: { number: `+1202555012${i}` } });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      ids.push(res.body.id as string);
    }
    for (const id of ids) await x.waitForStatus(id, 'calling-callee');
    const on1 = new Set(originatedOn(fs1));
    // fs1 dies while its callees ring: the client cannot reconnect.
    const firstOnFs1 = (await Promise.all(ids.map((id) => x.get(id)))).filter((cb) => legsOf(cb).some((u) => on1.has(u)));
    assert.ok(firstOnFs1.length > 0, 'some callbacks were on fs1');
    await fs1.close();

    const done: CallbackView[] = [];
    for (const id of ids) done.push(await x.waitFor(id, (cb) => FINAL.includes(cb.status), 60_000));
    assert.deepEqual(done.map((cb) => cb.status), ids.map(() => 'completed'), JSON.stringify(done.map((cb) => cb.timeline), null, 1));
    for (const cb of done) {
      const last = cb.attempts.at(-1);
      assert.ok(last?.legs.every((l) => originatedOn(fs2).includes(l.uuid)), 'the completed attempt is on fs2');
      if (firstOnFs1.some((f) => f.id === cb.id)) assert.ok(cb.attempts.length >= 2, 'retried after the switch was lost');
    }
    const all = [...originatedOn(fs1), ...originatedOn(fs2)];
    for (const cb of done) for (const uuid of legsOf(cb)) assert.equal(all.filter((u) => u === uuid).length, 1, `leg ${uuid} originated once`);
    assert.equal(all.length, done.reduce((n, cb) => n + legsOf(cb).length, 0), 'no other originate');
  });
});

describe('a switch unreachable mid-call (its connection cut, reconnects refused)', () => {
  let fs1: EslSimulator;
  let fs2: EslSimulator;
  let proxy: TcpProxy;
  let x: Crossline;
  before(async () => {
    fs1 = await createEslSimulator({ timeScale: TIME_SCALE });
    fs2 = await createEslSimulator({ timeScale: TIME_SCALE });
    proxy = await startTcpProxy(fs1.host, fs1.port);
    for (const sim of [fs1, fs2]) {
      for (let i = 0; i < 4; i++) sim.setPhone(`+1202555013${i}`, { kind: 'answer', afterMs: 20_000 });
      for (let i = 0; i < 4; i++) sim.setPhone(`+1202555019${i}`, { kind: 'answer', afterMs: 200, hangupAfterMs: 2000 });
    }
    x = await startPool({ fs1, fs2 }, { SWITCH_LOST_AFTER_MS: '1000', DEFAULT_RING_TIMEOUT: '30', DEFAULT_MAX_ATTEMPTS: '3' }, {
      fs1: `esl://:${fs1.password}@127.0.0.1:${proxy.port}`,
    });
  });
  after(async () => {
    await x?.close();
    await proxy?.close();
    await fs1?.close();
    await fs2?.close();
  });

  it('fails its ringing attempts once it is lost and retries them on the other switch, each leg originated once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await x.create({ caller: { number: `+1202555019${i}` }, callee: { number: `+1202555013${i}` } });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      ids.push(res.body.id as string);
    }
    for (const id of ids) await x.waitForStatus(id, 'calling-callee');
    const on1 = new Set(originatedOn(fs1));
    const firstOnFs1 = (await Promise.all(ids.map((id) => x.get(id)))).filter((cb) => legsOf(cb).some((u) => on1.has(u)));
    assert.ok(firstOnFs1.length > 0, 'some callbacks were on fs1');
    // The switch stays up, its legs ringing, but Crossline cannot reach it any more.
    await proxy.close();

    const done: CallbackView[] = [];
    for (const id of ids) done.push(await x.waitFor(id, (cb) => FINAL.includes(cb.status), 60_000));
    assert.deepEqual(done.map((cb) => cb.status), ids.map(() => 'completed'), JSON.stringify(done.map((cb) => cb.timeline), null, 1));
    for (const cb of done) {
      assert.ok(cb.attempts.at(-1)?.legs.every((l) => originatedOn(fs2).includes(l.uuid)), 'the completed attempt is on fs2');
      if (firstOnFs1.some((f) => f.id === cb.id)) assert.ok(cb.attempts.length >= 2, 'retried after the switch was lost');
    }
    const all = [...originatedOn(fs1), ...originatedOn(fs2)];
    for (const cb of done) for (const uuid of legsOf(cb)) assert.equal(all.filter((u) => u === uuid).length, 1, `leg ${uuid} originated once`);
  });
});

describe('a switch lost while no worker drives its attempt (the worker killed, then the switch gone)', () => {
  let fs1: EslSimulator;
  let fs2: EslSimulator;
  let x: Crossline;
  const children: ChildProcess[] = [];
  before(async () => {
    // Real time: the callee on fs1 must still be ringing when the worker is killed.
    fs1 = await createEslSimulator({ timeScale: 1 });
    fs2 = await createEslSimulator({ timeScale: 1 });
    fs1.setPhone('+12025550140', { kind: 'no-answer' });
    fs2.setPhone('+12025550140', { kind: 'answer', afterMs: 200 });
    for (const sim of [fs1, fs2]) sim.setPhone('+12025550141', { kind: 'answer', afterMs: 200, hangupAfterMs: 1000 });
    // The API here; the workers are processes of their own, so one can be killed -9.
    x = await startCrossline(`${fs1.url}#fs1,${fs2.url}#fs2`, {
      roles: { api: true, workers: false },
      env: { OPS_TOKEN, SWITCH_MAX_SESSIONS: '40', DESTINATION_LIMIT_EXEMPT: '+1202555', SWITCH_LOST_AFTER_MS: '1000', DEFAULT_MAX_ATTEMPTS: '2' },
    });
  });
  after(async () => {
    await Promise.all(children.splice(0).map(killProcess));
    await x?.close();
    await fs1?.close();
    await fs2?.close();
  });

  it('the worker that takes the job over closes the attempt (its legs ended NORMAL_TEMPORARY_FAILURE, "switch fs1 lost") and the retry completes on fs2, each leg originated once', async () => {
    const first = spawnWorkerProcess(x.env);
    children.push(first);
    await first.up;
    const res = await x.create({ caller: { number: '+12025550141' }, callee: { number: '+12025550140' }, ringTimeout: 120 });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = res.body.id as string;
    // Both switches have the same room: the first in ESL_URL is picked.
    const ringing = await x.waitFor(id, (cb) => cb.status === 'calling-callee' && fs1.channels().some((c) => legsOf(cb).includes(c.uuid) && c.state === 'ringing'), 30_000);
    const lostLeg = legsOf(ringing)[0] ?? '';
    assert.deepEqual(originatedOn(fs1), [lostLeg], 'the callee leg is ringing on fs1');

    await killProcess(first);
    await fs1.close();
    // A new worker (fs1 unreachable for it from the start) takes the job over once its lock lapses.
    const second = spawnWorkerProcess(x.env);
    children.push(second);
    await second.up;

    // The takeover waits for the stalled-job check, and a first try that finds fs1 not yet lost is retried with backoff.
    const done = await x.waitFor(id, (cb) => FINAL.includes(cb.status), 150_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.timeline, null, 1));
    assert.equal(done.attempts.length, 2);
    const [lost, retried] = done.attempts;
    assert.deepEqual(lost?.legs.map((l) => [l.uuid, l.endedAt !== undefined, l.hangupCause]), [[lostLeg, true, 'NORMAL_TEMPORARY_FAILURE']]);
    const closing = done.timeline.filter((e) => e.attempt === 1 && e.detail === 'switch fs1 lost');
    assert.deepEqual(closing.map((e) => [e.event, e.uuid, e.hangupCause]), [['leg-failed', lostLeg, 'NORMAL_TEMPORARY_FAILURE']], 'the close step recorded the lost leg');
    assert.ok(done.timeline.some((e) => e.attempt === 1 && e.event === 'attempt-failed'), 'attempt 1 failed (retryable), not the callback');
    assert.ok(retried?.legs.every((l) => originatedOn(fs2).includes(l.uuid)), 'the retry is on fs2, both legs');
    assert.equal(retried?.legs.length, 2);
    const all = [...originatedOn(fs1), ...originatedOn(fs2)];
    assert.equal(all.length, 3, 'one originate on fs1, two on fs2: nothing doubled');
    for (const uuid of legsOf(done)) assert.equal(all.filter((u) => u === uuid).length, 1, `leg ${uuid} originated once`);
  });
});
