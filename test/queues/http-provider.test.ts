import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { isCrosslineError } from '../../src/errors.js';
import { createGuardedLookup } from '../../src/notify/url-guard.js';
import { HttpQueueProvider } from '../../src/queues/providers/http.js';

let server: http.Server;
let base = '';
const routes = new Map<string, (res: http.ServerResponse) => void>();

before(async () => {
  server = http.createServer((req, res) => {
    const route = routes.get(req.url ?? '');
    if (route) route(res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  routes.set('/ok', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ waiting: 4, agentsAvailable: 1, expectedWaitSeconds: 95.4, agentsBusy: 3 })));
  routes.set('/garbage', (res) => res.writeHead(200).end('<html>queue</html>'));
  routes.set('/negative', (res) => res.writeHead(200).end(JSON.stringify({ waiting: -1, agentsAvailable: 1 })));
  routes.set('/slow', (res) => setTimeout(() => res.writeHead(200).end('{"waiting":0,"agentsAvailable":1}'), 2000));
  routes.set('/redirect', (res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end());
  routes.set('/huge', (res) => res.writeHead(200).end(`{"waiting":1,"agentsAvailable":1,"pad":"${'x'.repeat(40_000)}"}`));
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

// The test server is on loopback: private addresses are allowed here, except where the guard is the point.
const open = new HttpQueueProvider({ lookup: createGuardedLookup({ allowPrivate: true }), allowPrivate: true, timeoutMs: 500 });
const guarded = new HttpQueueProvider({ lookup: createGuardedLookup({ allowPrivate: false }), timeoutMs: 500 });

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(isCrosslineError(err), String(err));
    assert.equal(err.code, 'QUEUE_PROVIDER_FAILED');
    return err.message;
  }
  assert.fail('expected QUEUE_PROVIDER_FAILED');
}

test('a third-party ACD that answers {waiting, agentsAvailable, expectedWaitSeconds} is read as a queue snapshot', async () => {
  const snap = await open.snapshot({ type: 'http', url: `${base}/ok` });
  assert.deepEqual(snap, { waiting: 4, agentsAvailable: 1, agentsBusy: 3, providerExpectedWaitSeconds: 95 });
});

test('garbage, a negative count, a slow answer, a redirect and an oversized answer each give QUEUE_PROVIDER_FAILED with the reason', async () => {
  assert.match(await failure(open.snapshot({ type: 'http', url: `${base}/garbage` })), /not JSON/);
  assert.match(await failure(open.snapshot({ type: 'http', url: `${base}/negative` })), /waiting/);
  assert.match(await failure(open.snapshot({ type: 'http', url: `${base}/slow` })), /within 500 ms/);
  assert.match(await failure(open.snapshot({ type: 'http', url: `${base}/redirect` })), /redirects are not followed/);
  assert.match(await failure(open.snapshot({ type: 'http', url: `${base}/huge` })), /more than 16384 bytes/);
  assert.match(await failure(open.snapshot({ type: 'http', url: `${base}/missing` })), /HTTP 404/);
});

test('a provider URL that resolves to a loopback or private address is refused before anything is sent (SSRF guard)', async () => {
  let hits = 0;
  routes.set('/count', (res) => {
    hits++;
    res.writeHead(200).end('{"waiting":0,"agentsAvailable":1}');
  });
  assert.match(await failure(guarded.snapshot({ type: 'http', url: `${base}/count` })), /not allowed/);
  assert.match(await failure(guarded.snapshot({ type: 'http', url: 'http://localhost:9/x' })), /not allowed/);
  assert.equal(hits, 0);
});
