import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import request from 'supertest';
import { Redis } from 'ioredis';
import { loadOpenApi } from '../../src/api/openapi.js';
import { CrosslineError } from '../../src/errors.js';
import { createGuardedLookup } from '../../src/notify/url-guard.js';
import { startQueueMonitor } from '../../src/queues/monitor.js';
import { QueueObservations } from '../../src/queues/observations.js';
import { FreeswitchQueueProvider } from '../../src/queues/providers/freeswitch.js';
import { HttpQueueProvider } from '../../src/queues/providers/http.js';
import { queueRoutes, type CallCenterQueueSources } from '../../src/queues/routes.js';
import { QueueService } from '../../src/queues/service.js';
import type { QueueSource } from '../../src/queues/types.js';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import type { EslTelephony } from '../../src/telephony/index.js';
import { auth, startApp } from '../api/helpers.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { connectTestTelephony } from '../support/telephony.js';

let sim: EslSimulator;
let esl: EslTelephony;
let redis: Redis;
const prefix = `${uniquePrefix()}:`;

before(async () => {
  sim = await createEslSimulator({ timeScale: 0.05 });
  esl = await connectTestTelephony(sim.url, { dialGateway: 'carrier' });
  redis = new Redis(await testRedisUrl(), { maxRetriesPerRequest: 1 });
});

after(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await esl.close();
  await sim.close();
});

const centers: Record<string, QueueSource> = {
  acme: { type: 'freeswitch', queue: 'support@default' },
  nobody: { type: 'none' },
  broken: { type: 'http', url: 'http://127.0.0.1:9/queue' },
};
const sources: CallCenterQueueSources = {
  queueSourceOf: (_owner, name) => {
    const source = centers[name];
    if (!source) return Promise.reject(new CrosslineError('ROUTE_NOT_FOUND', `No call center "${name}".`));
    return Promise.resolve(source);
  },
};

test('GET /v1/call-centers/{id}/queue reads a mod_callcenter queue on the switch and gives Crossline\'s expected wait from the calls it watched', async (t) => {
  const observations = new QueueObservations(redis, prefix);
  const stop = startQueueMonitor({ queues: esl, observations, defaultHandleSeconds: 300, logger: pino({ level: 'silent' }) });
  t.after(stop);
  // One agent; each call lasts 2 simulated s (0.1 s real) with 1 s wrap-up.
  sim.addAgent({ name: '1000@default', queues: ['support@default'], answerAfterMs: 200, talkMs: 2000, wrapUpSec: 1 });
  for (let i = 0; i < 6; i++) sim.joinQueue('support@default', { cidNumber: `+1202555011${i}`, cidName: `Caller ${i}` });
  // Wait until Crossline has seen three calls end.
  for (let i = 0; i < 200 && (await observations.history('support@default')).handleSeconds.length < 3; i++) await new Promise((r) => setTimeout(r, 25));
  const history = await observations.history('support@default');
  assert.ok(history.handleSeconds.length >= 3, 'handle times observed');
  assert.ok(history.waits.length >= 3, 'answer waits observed');
  assert.ok(history.handleSeconds.every((s) => s > 0.05 && s < 0.5), `handle times near 0.1 s real: ${history.handleSeconds.join(', ')}`);

  const queues = new QueueService({
    freeswitch: new FreeswitchQueueProvider(() => esl),
    http: new HttpQueueProvider({ lookup: createGuardedLookup({ allowPrivate: false }), timeoutMs: 300 }),
    observations,
    defaultHandleSeconds: 300,
    clock: () => new Date(),
  });
  const h = await startApp(t, testRedisUrl(), { mounts: [{ door: 'api-key', path: '/v1/call-centers', router: queueRoutes({ api: loadOpenApi(), queues, sources: () => sources }) }] });
  const res = await request(h.app).get('/v1/call-centers/acme/queue').set(auth).expect(200);
  assert.equal(res.body.source, 'freeswitch');
  assert.equal(res.body.method, 'observed');
  assert.equal(typeof res.body.waiting, 'number');
  assert.equal(res.body.agentsAvailable + res.body.agentsBusy, 1);
  assert.ok(res.body.basis.handleSamples >= 3);
  // One agent, calls of ~0.1 s + 1 s simulated wrap-up (0.05 s real) each: no longer than a few seconds for the whole line.
  assert.ok(res.body.expectedWaitSeconds !== undefined && res.body.expectedWaitSeconds <= 5, JSON.stringify(res.body));

  const none = await request(h.app).get('/v1/call-centers/nobody/queue').set(auth).expect(200);
  assert.deepEqual(Object.keys(none.body).sort(), ['at', 'source']);
  const broken = await request(h.app).get('/v1/call-centers/broken/queue').set(auth).expect(502);
  assert.equal(broken.body.error.code, 'QUEUE_PROVIDER_FAILED');
  const unknown = await request(h.app).get('/v1/call-centers/zzz/queue').set(auth).expect(404);
  assert.match(unknown.body.error.message, /zzz/);
  await request(h.app).get('/v1/call-centers/acme/queue').expect(401);
});
