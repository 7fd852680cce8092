import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createApp } from '../../src/api/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createEslSimulator } from '../../src/simulator/index.js';
import { LegFactsStore } from '../../src/store/leg-facts.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { connectModesl } from '../simulator/modesl.js';
import { API_KEY, FakeCallbackService } from './helpers.js';

const CREDENTIALS = 'crossline:cdr-secret-0123456789';

describe('the simulator posting to Crossline, as the switch would', () => {
  test('a bridged callback\'s two legs end up as leg facts, answered and bridged, and a busy leg as not answered', async (t) => {
    const redis = new Redis(await testRedisUrl(), { maxRetriesPerRequest: 1 });
    await redis.ping();
    const config = loadConfig({}, { apiKeys: [API_KEY], keyPrefix: uniquePrefix(), cdrCredentials: CREDENTIALS });
    const legFacts = new LegFactsStore(redis, config.keyPrefix);
    const app = createApp({
      config,
      callbacks: new FakeCallbackService(),
      redis,
      readiness: { switchStatus: () => ({ connected: true, since: '2030-01-15T20:00:00.000Z' }) },
      logger: pino({ level: 'silent' }),
      legFacts,
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const sim = await createEslSimulator({
      timeScale: 0.05,
      cdrUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/switch/cdr`,
      cdrCredentials: CREDENTIALS,
    });
    const conn = await connectModesl(sim.host, sim.port, sim.password);
    t.after(async () => {
      conn.disconnect();
      await sim.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const keys = await redis.keys(`${config.keyPrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });
    const api = (command: string, args: string): Promise<string> => new Promise((resolve) => conn.api(command, args, (e) => resolve(e.getBody())));
    const callbackId = randomUUID();
    const [callee, caller, busy] = [randomUUID(), randomUUID(), randomUUID()];
    const tags = (uuid: string, role: string): string => `{origination_uuid=${uuid},crossline_callback_id=${callbackId},crossline_role=${role},crossline_attempt=1}`;

    await api('originate', `${tags(callee, 'callee')}sofia/gateway/default/+12025550102 &park()`);
    await api('originate', `${tags(caller, 'caller')}sofia/gateway/default/+12025550191 &park()`);
    await api('uuid_bridge', `${callee} ${caller}`);
    await api('originate', `${tags(busy, 'caller')}sofia/gateway/default/+12025550160 &park()`);
    const deadline = Date.now() + 5000;
    while (sim.cdrDeliveries().filter((d) => d.state === 'delivered').length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));

    assert.deepEqual(sim.cdrDeliveries().map((d) => [d.state, d.lastStatus]), [['delivered', 200], ['delivered', 200], ['delivered', 200]]);
    for (const uuid of [callee, caller]) {
      const facts = await legFacts.get(uuid);
      assert.equal(facts?.callbackId, callbackId);
      assert.equal(facts?.answered, true);
      assert.equal(facts?.bridged, true);
      assert.equal(facts?.hangupCause, 'NORMAL_CLEARING');
    }
    assert.equal((await legFacts.get(callee))?.bridgedTo, caller);
    const busyFacts = await legFacts.get(busy);
    assert.equal(busyFacts?.answered, false);
    assert.equal(busyFacts?.bridged, false);
    assert.equal(busyFacts?.hangupCause, 'USER_BUSY');
  });
});
