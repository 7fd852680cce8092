import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import request from 'supertest';
import type { CallCenterDirectory } from '../../src/callbacks/ports.js';
import { CallCenterQueueView } from '../../src/dashboard/call-centers.js';
import { adminCallCenterRoutes } from '../../src/dashboard/routes.js';
import { CrosslineError } from '../../src/errors.js';
import { createGuardedLookup } from '../../src/notify/url-guard.js';
import { HttpQueueProvider } from '../../src/queues/providers/http.js';
import { QueueService } from '../../src/queues/service.js';
import type { QueueSource } from '../../src/queues/types.js';
import type { QueueObservations } from '../../src/queues/observations.js';
import { ops, startApp } from '../api/helpers.js';
import { testRedisUrl } from '../support/redis.js';

/** A third-party ACD on a real socket: `/busy` has a line, `/broken` answers garbage. */
async function acd(): Promise<{ url: string; close(): void }> {
  const server = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    if (req.url === '/busy') res.end(JSON.stringify({ waiting: 4, agentsAvailable: 1, expectedWaitSeconds: 95 }));
    else res.end('{"waiting": "lots"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

test('GET /v1/admin/call-centers lists every key\'s call centers with their queue; one unreadable queue is an error row, not a failed page', async (t) => {
  const server = await acd();
  t.after(() => server.close());
  const centers: Record<string, Record<string, QueueSource>> = {
    owner1: { sales: { type: 'http', url: `${server.url}/busy` }, walkin: { type: 'none' } },
    owner2: { broken: { type: 'http', url: `${server.url}/broken` } },
  };
  const directory: CallCenterDirectory = {
    find: () => Promise.resolve(undefined),
    names: (owner) => Promise.resolve(Object.keys(centers[owner] ?? {}).sort()),
  };
  const notUsed = { snapshot: () => Promise.reject(new Error('no switch in this test')) };
  const queues = new QueueService({
    freeswitch: notUsed,
    http: new HttpQueueProvider({ lookup: createGuardedLookup({ allowPrivate: true }), allowPrivate: true, timeoutMs: 2000 }),
    observations: {} as QueueObservations,
    defaultHandleSeconds: 300,
    clock: () => new Date('2030-01-15T20:00:00.000Z'),
  });
  const view = new CallCenterQueueView({
    owners: () => ['owner1', 'owner2'],
    callCenters: () => directory,
    sources: () => ({
      queueSourceOf: (owner, name) => {
        const source = centers[owner]?.[name];
        return source ? Promise.resolve(source) : Promise.reject(new CrosslineError('CALL_CENTER_NOT_FOUND'));
      },
    }),
    queues: () => queues,
    logger: pino({ level: 'silent' }),
  });
  const { app } = await startApp(t, testRedisUrl(), { mounts: [{ door: 'ops', path: '/v1/admin/call-centers', router: adminCallCenterRoutes(view) }] });

  assert.equal((await request(app).get('/v1/admin/call-centers')).status, 401, 'the operator only');
  const res = await request(app).get('/v1/admin/call-centers').set(ops);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body.items, [
    { owner: 'owner1', callCenter: 'sales', queue: { source: 'http', at: '2030-01-15T20:00:00.000Z', waiting: 4, agentsAvailable: 1, expectedWaitSeconds: 95, method: 'provider', providerExpectedWaitSeconds: 95 } },
    { owner: 'owner1', callCenter: 'walkin', queue: { source: 'none', at: '2030-01-15T20:00:00.000Z' } },
    { owner: 'owner2', callCenter: 'broken', error: { code: 'QUEUE_PROVIDER_FAILED', message: res.body.items[2]?.error?.message } },
  ]);
  assert.match(res.body.items[2].error.message, /waiting/);
});

test('without the call-center capability the list is empty', async (t) => {
  const view = new CallCenterQueueView({ owners: () => ['owner1'], callCenters: () => undefined, sources: () => undefined, queues: () => undefined, logger: pino({ level: 'silent' }) });
  const { app } = await startApp(t, testRedisUrl(), { mounts: [{ door: 'ops', path: '/v1/admin/call-centers', router: adminCallCenterRoutes(view) }] });
  const res = await request(app).get('/v1/admin/call-centers').set(ops);
  assert.deepEqual(res.body, { items: [] });
});
