/**
 * Call-attempt alerts end to end against the ESL simulator: registrations over REST (ownership by
 * the operator's flag or by a code the switch speaks to the line), an inbound call to a registered
 * line alerted within a second from the switch's own events, a callback-style leg the network fails
 * reported to the callee and to the caller's chosen list, one alert per attempt, bursts summarised.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import request from 'supertest';
import { AlertNotifier, InterestRegistry, type Attempt } from '../../src/alerts/index.js';
import { MAX_INTERESTS_PER_USER } from '../../src/alerts/service.js';
import { createApp, loadOpenApi } from '../../src/api/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createAlertsModule } from '../../src/alerts/module.js';
import type { Services } from '../../src/runtime/modules/index.js';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import { keyPrefixes } from '../../src/store/index.js';
import { connectTelephony, OutboundSocketServer, type OutboundCall } from '../../src/telephony/index.js';
import { API_KEY, FakeCallbackService, OPS_TOKEN } from '../api/helpers.js';
import { TestChannels } from '../inbound/harness.js';
import { closeModesl, connectModesl } from '../simulator/modesl.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const auth = { Authorization: `Bearer ${API_KEY}` };
const ops = { Authorization: `Bearer ${OPS_TOKEN}` };
const silent = pino({ level: 'silent' });

async function startAlerts(t: TestContext, options: { telephony?: boolean; secondSwitch?: boolean } = {}): Promise<{ sim: EslSimulator; sim2?: EslSimulator; app: ReturnType<typeof createApp>; channels: TestChannels; alerted: Array<{ attempt: Attempt; at: number }> }> {
  const redis = new Redis(await testRedisUrl(), { maxRetriesPerRequest: 1 });
  await redis.ping();
  const prefix = uniquePrefix();
  const sim = await createEslSimulator({ timeScale: 0.05 });
  const sim2 = options.secondSwitch ? await createEslSimulator({ timeScale: 0.05 }) : undefined;
  const config = loadConfig({}, { apiKeys: [API_KEY], keyPrefix: prefix, rateLimitPerMinute: 10_000, opsToken: OPS_TOKEN });
  const channels = new TestChannels();
  const alerted: Array<{ attempt: Attempt; at: number }> = [];
  const services: Services = {};
  if (options.telephony) {
    services.telephony = await connectTelephony({
      host: sim.host, port: sim.port, password: sim.password, apiTimeoutMs: 5000, dialGateway: 'default', dialNumberFormat: 'e164', sipProfile: 'internal', ttsEngine: 'flite', ttsVoice: 'kal',
    });
  }
  const verified = [{ channel: 'xmpp' as const, address: 'ada@im.example.com' }, { channel: 'email' as const, address: 'bob@example.com' }];
  const module = createAlertsModule({
    user: async (_owner, userId) => ({ exists: userId === 'ada' || userId === 'bob', verified }),
    sender: () => channels,
    eslUrl: sim2 === undefined ? sim.url : `${sim.url},${sim2.url}`,
    onAlert: (attempt) => alerted.push({ attempt, at: Date.now() }),
  });
  const started = await module.start({ config, roles: { api: true, workers: true }, redis, prefixes: keyPrefixes(prefix, false), api: loadOpenApi(), logger: silent, services, metrics: new Registry() });
  const app = createApp({ config, callbacks: new FakeCallbackService(), redis, logger: silent, mounts: started.http ?? [], readiness: { switchStatus: () => ({ connected: true, since: new Date().toISOString() }) } });
  t.after(async () => {
    await started.close?.();
    await services.telephony?.close();
    await sim.close();
    await sim2?.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
  return { sim, ...(sim2 !== undefined ? { sim2 } : {}), app, channels, alerted };
}

async function register(app: ReturnType<typeof createApp>, body: Record<string, unknown>): Promise<string> {
  const created = await request(app).post('/v1/alerts/interests').set(auth).send(body);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.verified, false);
  const approved = await request(app).post(`/v1/admin/alerts/interests/${created.body.id}/approve`).set(ops);
  assert.equal(approved.status, 200);
  assert.equal(approved.body.verifiedBy, 'operator');
  return created.body.id as string;
}

/** An inbound call to `to`: the socket app connects to a server that hangs it up at once. */
async function inboundCall(sim: EslSimulator, from: string, to: string): Promise<number> {
  const server = await OutboundSocketServer.listen();
  server.on('call', (call: OutboundCall) => void call.hangup('NORMAL_CLEARING').catch(() => undefined));
  const started = Date.now();
  await sim.inboundCall({ from, to, socket: `${server.address} async full` });
  setTimeout(() => void server.close(), 2000);
  return started;
}

describe('call-attempt alerts', () => {
  it('a call to a registered line is alerted to its recipients within a second; an unverified registration sends nothing', async (t) => {
    const { sim, app, channels, alerted } = await startAlerts(t);
    const pending = await request(app).post('/v1/alerts/interests').set(auth).send({ userId: 'ada', kind: 'callee', line: '+1 202 555 0300', recipients: [{ channel: 'xmpp', address: 'ada@im.example.com' }] });
    assert.equal(pending.status, 201);
    await inboundCall(sim, '+12025550101', '+12025550300');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(channels.sent.length, 0, 'nothing before the line is proven');

    await request(app).post(`/v1/admin/alerts/interests/${pending.body.id}/approve`).set(ops);
    const started = await inboundCall(sim, '+12025550101', '+12025550300');
    const message = await channels.next((m) => m.to.address === 'ada@im.example.com');
    const latency = (alerted[0]?.at ?? Number.POSITIVE_INFINITY) - started;
    assert.ok(latency < 1000, `alerted ${latency} ms after the call arrived`);
    assert.match(message.text, /^Call from \+12025550101 to \+12025550300 at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.$/);
    assert.equal(message.to.channel, 'xmpp');
  });

  it('a leg the network fails is reported to the callee\'s recipients and to the list the caller chose, once each', async (t) => {
    const { sim, app, channels } = await startAlerts(t);
    await register(app, { userId: 'ada', kind: 'callee', line: '+12025550181', recipients: [{ channel: 'xmpp', address: 'ada@im.example.com' }] });
    await register(app, { userId: 'bob', kind: 'caller', line: '+12025550199', targets: ['+12025550181'], recipients: [{ channel: 'email', address: 'bob@example.com' }, { channel: 'sms', address: '+12025550181' }] });
    const esl = await connectModesl(sim.host, sim.port, sim.password);
    try {
      await new Promise((resolve) => esl.api('originate', '{origination_caller_id_number=+12025550199,crossline=true}sofia/gateway/default/+12025550181 &park()', resolve));
    } finally {
      closeModesl(esl);
    }
    const failure = (address: string): Promise<unknown> => channels.next((m) => m.to.address === address && m.dedupKey.includes(':failure:'));
    await Promise.all([failure('ada@im.example.com'), failure('bob@example.com'), failure('+12025550181')]);
    const toAda = channels.sent.filter((m) => m.to.address === 'ada@im.example.com' && m.dedupKey.includes(':failure:'));
    assert.equal(toAda.length, 1);
    assert.match(toAda[0]?.text ?? '', /^\+12025550199 tried to call \+12025550181 at .* UTC; the network could not complete the call \(NETWORK_OUT_OF_ORDER\)\.$/);
    assert.ok(channels.sent.some((m) => m.to.address === 'ada@im.example.com' && m.dedupKey.includes(':attempt:')), 'the callee heard of the attempt too');
    assert.ok(!channels.sent.some((m) => m.to.address === 'bob@example.com' && m.dedupKey.includes(':attempt:')), 'the caller\'s list hears only of failures');
  });

  it('every switch of the pool is watched: a failed call on the second switch is alerted like one on the first', async (t) => {
    const { sim, sim2, app, channels } = await startAlerts(t, { secondSwitch: true });
    assert.ok(sim2);
    await register(app, { userId: 'ada', kind: 'callee', line: '+12025550181', recipients: [{ channel: 'xmpp', address: 'ada@im.example.com' }] });
    const failOn = async (s: EslSimulator, from: string): Promise<void> => {
      const esl = await connectModesl(s.host, s.port, s.password);
      try {
        await new Promise((resolve) => esl.api('originate', `{origination_caller_id_number=${from},crossline=true}sofia/gateway/default/+12025550181 &park()`, resolve));
      } finally {
        closeModesl(esl);
      }
    };
    await failOn(sim2, '+12025550198');
    await channels.next((m) => m.dedupKey.includes(':failure:') && m.text.startsWith('+12025550198 tried to call +12025550181'));
    await failOn(sim, '+12025550197');
    await channels.next((m) => m.dedupKey.includes(':failure:') && m.text.startsWith('+12025550197 tried to call +12025550181'));
    assert.equal(channels.sent.filter((m) => m.dedupKey.includes(':failure:')).length, 2, 'one failure alert per attempt, whichever switch');
  });

  it('one alert per attempt whoever reports it; a burst becomes a summary', async (t) => {
    const redis = new Redis(await testRedisUrl(), { maxRetriesPerRequest: 1 });
    const base = `${uniquePrefix()}:alerts`;
    const registry = new InterestRegistry(redis, base);
    const channels = new TestChannels();
    t.after(async () => {
      const keys = await redis.keys(`${base}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });
    const interest = await registry.create({ userId: 'ada', kind: 'callee', line: '+12025550300', targets: [], recipients: [{ channel: 'xmpp', address: 'ada@im.example.com' }] }, 'owner');
    await registry.markVerified(interest, 'operator');
    const notifier = new AlertNotifier({ redis, base, registry, sender: () => channels, logger: silent });
    const attempt = (n: number): Attempt => ({ uuid: `00000000-0000-4000-8000-00000000000${n}`, callerNumber: '+12025550101', line: '+12025550300', at: new Date() });
    await Promise.all([notifier.handle(attempt(1)), notifier.handle(attempt(1))]);
    assert.equal(channels.sent.length, 1, 'the switch event and the IVR report of one call make one alert');
    for (let n = 2; n <= 6; n++) await notifier.handle(attempt(n));
    const texts = channels.sent.map((m) => m.text);
    assert.equal(texts.filter((x) => x.startsWith('Call from')).length, 3, 'three calls alerted one by one');
    assert.deepEqual(texts.filter((x) => /calls from/.test(x)).map((x) => x.replace(/ \(latest .*$/, '')), ['4 calls from +12025550101 to +12025550300 in the last 5 minutes'], 'then one summary a minute');
  });

  it('ownership by a code the switch speaks to the line; a wrong code and a registration for someone else are refused', async (t) => {
    const { sim, app } = await startAlerts(t, { telephony: true });
    const refused = await request(app).post('/v1/alerts/interests').set(auth).send({ userId: 'ada', kind: 'callee', line: '+12025550171', recipients: [{ channel: 'email', address: 'eve@example.com' }] });
    assert.equal(refused.body.error.code, 'INVALID_INTEREST', 'a recipient that is not a verified address of the user');
    assert.equal((await request(app).post('/v1/alerts/interests').set(auth).send({ userId: 'mallory', kind: 'callee', line: '+12025550171', recipients: [{ channel: 'xmpp', address: 'ada@im.example.com' }] })).body.error.code, 'INVALID_INTEREST');
    const created = await request(app).post('/v1/alerts/interests').set(auth).send({ userId: 'ada', kind: 'callee', line: '+12025550171', recipients: [{ channel: 'xmpp', address: 'ada@im.example.com' }] });
    const id = created.body.id as string;
    const sent = await request(app).post(`/v1/alerts/interests/${id}/code`).set(auth);
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const spoken = sim.commands.map((c) => c.text).find((x) => x.includes('Your Crossline code is')) ?? '';
    const code = (/code is ((?:\d ){5}\d)/.exec(spoken)?.[1] ?? '').replace(/ /g, '');
    assert.match(code, /^\d{6}$/);
    const wrong = code === '000000' ? '111111' : '000000';
    assert.equal((await request(app).post(`/v1/alerts/interests/${id}/verify`).set(auth).send({ code: wrong })).body.error.code, 'LINE_CODE_INVALID');
    const ok = await request(app).post(`/v1/alerts/interests/${id}/verify`).set(auth).send({ code });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.verifiedBy, 'code');
    const list = await request(app).get('/v1/alerts/interests').set(auth);
    assert.equal(list.body.items.length, 1);
    assert.equal((await request(app).delete(`/v1/alerts/interests/${id}`).set(auth)).status, 204);
  });

  it('one user keeps at most MAX_INTERESTS_PER_USER registrations; the next is refused with TOO_MANY_INTERESTS', async (t) => {
    const { app } = await startAlerts(t);
    const body = (n: number): Record<string, unknown> => ({ userId: 'ada', kind: 'callee', line: `+1202555${3000 + n}`, recipients: [{ channel: 'xmpp', address: 'ada@im.example.com' }] });
    for (let n = 0; n < MAX_INTERESTS_PER_USER; n++) assert.equal((await request(app).post('/v1/alerts/interests').set(auth).send(body(n))).status, 201);
    const refused = await request(app).post('/v1/alerts/interests').set(auth).send(body(MAX_INTERESTS_PER_USER));
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'TOO_MANY_INTERESTS');
    assert.equal((await request(app).post('/v1/alerts/interests').set(auth).send({ ...body(99), userId: 'bob' })).status, 201, 'another user is not held by Ada\'s');
  });
});
