import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Cluster } from 'ioredis';
import type { CallbackView } from '../../src/callbacks/index.js';
import { createRedisClient } from '../../src/store/index.js';
import { commandsLike, killProcess, spawnWorkerProcess, startHarness, type Harness } from '../support/harness.js';
import { redisClusterUnavailable, startRedisCluster, uniquePrefix, type LocalRedisCluster } from '../support/redis.js';

/*
 * A whole Crossline (API, callback and webhook workers, cancel pub/sub, limits, idempotency) on a
 * Redis Cluster of three masters formed by the test, against the ESL simulator. Any multi-key
 * script or transaction whose keys straddle slots fails there with CROSSSLOT, so each scenario
 * completing as on one node is the check; the last one looks at where the keys landed.
 */

const unavailable = redisClusterUnavailable();
if (unavailable) console.log(`# Redis Cluster test skipped: ${unavailable}`);

const legOf = (cb: CallbackView, attempt: number, role: 'callee' | 'caller') =>
  cb.attempts.find((a) => a.number === attempt)?.legs.find((l) => l.role === role);

/** The master that serves `key`'s slot, as host:port (slot ranges from CLUSTER SLOTS). */
async function masterOf(cluster: Cluster, key: string): Promise<string> {
  const slot = Number(await cluster.call('CLUSTER', 'KEYSLOT', key));
  const ranges = (await cluster.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
  const range = ranges.find(([from, to]) => slot >= from && slot <= to);
  assert.ok(range, `slot ${slot} is served`);
  return `${range[2][0]}:${range[2][1]}`;
}

describe('on a Redis Cluster of three masters', { skip: unavailable }, () => {
  let cluster: LocalRedisCluster;
  let probe: Cluster;
  let prefix: string;
  let h: Harness;
  let hooks: Server;
  const delivered: Array<{ id: string; status: string }> = [];

  before(async () => {
    cluster = await startRedisCluster(3);
    probe = createRedisClient(cluster.url) as Cluster;
    // a prefix whose callback records and attempt queue are served by different masters, so the
    // test sees the data spread (which slot a tag lands in depends on the random prefix)
    do prefix = uniquePrefix();
    while ((await masterOf(probe, `{${prefix}}`)) === (await masterOf(probe, `{${prefix}:callback-attempts}`)));
    hooks = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const event = JSON.parse(body) as { data: { status: string; callback: { id: string } } };
        delivered.push({ id: event.data.callback.id, status: event.data.status });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
    h = await startHarness({ redisUrl: cluster.url, env: { KEY_PREFIX: prefix } });
  });

  after(async () => {
    await h?.close();
    await new Promise((resolve) => hooks?.close(resolve));
    await probe?.quit().catch(() => undefined);
    await cluster?.stop();
  });

  it('/readyz reports ready: the cluster connection is up and answers PING', async () => {
    const res = await h.api().get('/readyz');
    assert.deepEqual([res.status, res.body], [200, { status: 'ready' }]);
  });

  it('a callback whose parties both answer is bridged once and completes, and its webhooks are delivered', async () => {
    const webhook = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hooks`;
    const res = await h.create({ caller: { number: '+12025550100' }, callee: { number: '+12025550101' }, webhook });
    assert.equal(res.status, 202);
    const id = res.body.id as string;
    const bridged = await h.waitForStatus(id, 'bridged');
    const callee = legOf(bridged, 1, 'callee');
    const caller = legOf(bridged, 1, 'caller');
    assert.ok(callee && caller);
    assert.equal(commandsLike(h.sim, new RegExp(`uuid_bridge ${callee.uuid} ${caller.uuid}`)).length, 1);
    h.sim.remoteHangup(caller.uuid, 'NORMAL_CLEARING');
    const done = await h.waitForStatus(id, 'completed');
    assert.deepEqual(
      done.timeline.filter((e) => e.status !== undefined).map((e) => e.status),
      ['queued', 'calling-callee', 'callee-answered', 'calling-caller', 'bridged', 'completed'],
    );
    const deadline = Date.now() + 10_000;
    while (!delivered.some((d) => d.id === id && d.status === 'completed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(delivered.some((d) => d.id === id && d.status === 'completed'), 'the completed webhook arrived');
  });

  it('when the callee is busy, the callback retries and ends failed with USER_BUSY', async () => {
    const res = await h.create({ caller: { number: '+12025550103' }, callee: { number: '+12025550160' }, retry: { maxAttempts: 3, delaySeconds: 0 } });
    const done = await h.waitForStatus(res.body.id, 'failed');
    assert.equal(done.attempts.length, 3);
    assert.equal(done.failureCause, 'USER_BUSY');
    assert.ok(done.timeline.some((e) => e.event === 'retry-scheduled'));
  });

  it('a scheduled callback waits until its time, then calls', async () => {
    const at = new Date(Date.now() + 2_000).toISOString().replace('Z', '+00:00');
    const res = await h.create({ caller: { number: '+12025550109' }, callee: { number: '+12025550110' }, at });
    assert.equal(res.body.status, 'scheduled');
    const bridged = await h.waitForStatus(res.body.id, 'bridged', 10_000);
    assert.ok(Date.parse(legOf(bridged, 1, 'callee')?.startedAt ?? '') >= Date.parse(at) - 50);
    h.sim.remoteHangup(legOf(bridged, 1, 'callee')?.uuid ?? '');
    await h.waitForStatus(res.body.id, 'completed');
  });

  it('canceling a scheduled callback takes it off the queue, and canceling a ringing one hangs the leg up', async () => {
    const later = await h.create({ caller: { number: '+12025550111' }, callee: { number: '+12025550112' }, at: new Date(Date.now() + 60_000).toISOString() });
    const del = await h.api().delete(`/v1/callbacks/${later.body.id}`);
    assert.equal(del.status, 200);
    assert.equal(del.body.status, 'canceled');

    const res = await h.create({ caller: { number: '+12025550113' }, callee: { number: '+12025550152' }, ringTimeout: 60 });
    const ringing = await h.waitFor(res.body.id, (cb) => cb.status === 'calling-callee' && h.sim.channels().some((c) => c.uuid === legOf(cb, 1, 'callee')?.uuid && c.state === 'ringing'));
    assert.equal((await h.api().delete(`/v1/callbacks/${res.body.id}`)).status, 200);
    const done = await h.waitForStatus(res.body.id, 'canceled');
    assert.equal(legOf(done, 1, 'callee')?.hangupCause, 'ORIGINATOR_CANCEL');
    assert.ok(commandsLike(h.sim, new RegExp(`uuid_kill ${legOf(ringing, 1, 'callee')?.uuid ?? ''}`)).length >= 1);
  });

  it('the same Idempotency-Key and body replay the first response; another body is refused', async () => {
    const body = { caller: { number: '+12025550114' }, callee: { number: '+12025550115' } };
    const first = await h.create(body, { 'Idempotency-Key': 'cluster-4711' });
    const second = await h.create(body, { 'Idempotency-Key': 'cluster-4711' });
    assert.equal(first.status, 202);
    assert.equal(second.body.id, first.body.id);
    const conflict = await h.create({ ...body, callee: { number: '+12025550116' } }, { 'Idempotency-Key': 'cluster-4711' });
    assert.equal(conflict.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
    const bridged = await h.waitForStatus(first.body.id, 'bridged');
    h.sim.remoteHangup(legOf(bridged, 1, 'callee')?.uuid ?? '');
    await h.waitForStatus(first.body.id, 'completed');
  });

  it('the destination limits count across the cluster: a third callback in progress to one number is refused', async () => {
    const ring = { caller: { number: '+12025550119' }, callee: { number: '+12025550153' }, ringTimeout: 60 };
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await h.create(ring)).body.id as string);
    const third = await h.create(ring);
    assert.equal(third.status, 429);
    assert.equal(third.body.error.code, 'DESTINATION_RATE_LIMITED');
    for (const id of ids) assert.equal((await h.api().delete(`/v1/callbacks/${id}`)).status, 200);
    for (const id of ids) await h.waitForStatus(id, 'canceled');
    // the final save freed both slots in the same script
    assert.equal((await h.create({ ...ring, at: new Date(Date.now() + 60_000).toISOString() })).status, 202);
  });

  it('lists callbacks by status, newest first, with a cursor', async () => {
    const page = await h.api().get('/v1/callbacks?status=completed&limit=2');
    assert.equal(page.status, 200);
    assert.equal(page.body.items.length, 2);
    assert.ok(page.body.items.every((cb: CallbackView) => cb.status === 'completed'));
    assert.ok(page.body.items[0].id > page.body.items[1].id);
    const next = await h.api().get(`/v1/callbacks?status=completed&limit=2&cursor=${page.body.nextCursor}`);
    assert.equal(next.status, 200);
    assert.ok(next.body.items.length >= 1);
    assert.ok(next.body.items.every((cb: CallbackView) => cb.id < page.body.items[1].id));
  });

  it('a worker process killed while the caller rings is taken over by another, which bridges that same leg without redialling', async () => {
    // API here, workers as processes of their own (booted from the environment, as `npm run worker`)
    const api = await startHarness({ redisUrl: cluster.url, roles: { api: true, workers: false }, timeScale: 1 });
    const workers = [spawnWorkerProcess(api.env)];
    try {
      api.sim.setPhone('+12025550131', { kind: 'no-answer' });
      const res = await api.create({ caller: { number: '+12025550131' }, callee: { number: '+12025550130' }, ringTimeout: 120 });
      const ringing = await api.waitFor(
        res.body.id,
        (cb) => cb.status === 'calling-caller' && api.sim.channels().some((c) => c.uuid === legOf(cb, 1, 'caller')?.uuid && c.state === 'ringing'),
        30_000,
      );
      const callerUuid = legOf(ringing, 1, 'caller')?.uuid ?? '';
      await killProcess(workers[0]!);
      workers.push(spawnWorkerProcess(api.env));
      await api.waitFor(res.body.id, (cb) => cb.timeline.some((e) => e.event === 'resumed'), 30_000);
      api.sim.answer(callerUuid);
      const bridged = await api.waitForStatus(res.body.id, 'bridged', 30_000);
      assert.equal(legOf(bridged, 1, 'caller')?.uuid, callerUuid);
      api.sim.remoteHangup(callerUuid);
      await api.waitForStatus(res.body.id, 'completed', 15_000);
      assert.equal(api.sim.originates().filter((c) => c.text.includes('2025550131')).length, 1, 'caller originated once');
    } finally {
      await Promise.all(workers.map(killProcess));
      await api.close();
    }
  });

  it('keys are spread: only records, indexes, slots and each queue share a hash tag, and more than one master holds data', async () => {
    const holders = new Map<string, string[]>();
    for (const node of probe.nodes('master')) {
      const keys = await node.keys(`*${prefix}*`);
      if (keys.length > 0) holders.set(`${node.options.host ?? ''}:${node.options.port ?? ''}`, keys);
    }
    const keys = [...holders.values()].flat();
    const tags = new Set(keys.map((k) => /\{([^}]*)\}/.exec(k)?.[1]).filter((t) => t !== undefined));
    // the records' tag and one per queue (and the directory's, when it holds anything); nothing else
    const allowed = [prefix, `${prefix}:dir`, `${prefix}:callback-attempts`, `${prefix}:webhooks`, `${prefix}:messages`];
    for (const tag of tags) assert.ok(allowed.includes(tag), `unexpected hash tag {${tag}}`);
    for (const tag of [prefix, `${prefix}:callback-attempts`, `${prefix}:webhooks`]) assert.ok(tags.has(tag), `keys under {${tag}}`);
    assert.ok(keys.some((k) => k.startsWith(`{${prefix}}:callback:`)), 'callback records carry the callbacks tag');
    assert.ok(keys.some((k) => k.startsWith(`${prefix}:idem:`)), 'idempotency keys carry no tag');
    assert.ok(holders.size >= 2, `keys on ${holders.size} master(s)`);
  });
});
