/**
 * Inbound calls and call-attempt alerts, in one process against the simulator (time scale 0.01)
 * and a real Redis: BENCH_INBOUND_CALLS (200) scripted callers, BENCH_INBOUND_CONCURRENCY (20) at a
 * time, each through the IVR ("press 1", the schedule's voicemail, 2 s of message, delivery):
 * calls per second end to end. Then BENCH_ALERT_CALLS (200) calls to a registered line, 10 at a
 * time: the time from the call arriving at the switch to its alert queued, p50 / p99 / max.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { InterestRegistry } from '../../../src/alerts/index.js';
import { loadOpenApi } from '../../../src/api/index.js';
import type { MessageSender } from '../../../src/channels/types.js';
import { loadConfig } from '../../../src/config/index.js';
import { ProfileService, ProfileStore, type SessionOutcome } from '../../../src/inbound/index.js';
import { createAlertsModule } from '../../../src/alerts/module.js';
import { createInboundModule } from '../../../src/inbound/module.js';
import type { StartedModule } from '../../../src/runtime/modules/index.js';
import { createEslSimulator } from '../../../src/simulator/index.js';
import { keyPrefixes } from '../../../src/store/index.js';
import { resolveRedis } from '../../../src/store/embedded-redis.js';
import { OutboundSocketServer, type OutboundCall } from '../../../src/telephony/index.js';
import { knob, type BenchScenario } from '../scenario.js';

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

export const scenario: BenchScenario = {
  name: 'inbound',
  title: 'Inbound calls/s through the IVR to voicemail; call-attempt alert latency p50/p99',
  order: 70,
  async run(ctx) {
    const calls = knob('BENCH_INBOUND_CALLS', 200);
    const concurrency = knob('BENCH_INBOUND_CONCURRENCY', 20);
    const alertCalls = knob('BENCH_ALERT_CALLS', 200);
    const redisInfo = await resolveRedis(process.env.REDIS_URL);
    const redis = new Redis(redisInfo.url, { maxRetriesPerRequest: 1 });
    const prefix = `bench${Date.now().toString(36)}`;
    const mediaDir = mkdtempSync(join(tmpdir(), 'crossline-bench-media-'));
    const sim = await createEslSimulator({ timeScale: 0.01, maxSessions: 100_000, sessionsPerSecond: 100_000 });
    const logger = pino({ level: 'silent' });
    const config = loadConfig({ MEDIA_DIR: mediaDir, MEDIA_URL_SECRET: 'bench-media-secret-0123456789abcdef01234', INBOUND_CALLS_PER_NUMBER_PER_MINUTE: '100000' }, { keyPrefix: prefix, apiKeys: ['bench-key-0123456789abcdef'] });
    let queued = 0;
    const alertAt = new Map<string, number>();
    const sender: MessageSender = { enqueue: async () => void (queued += 1) };
    const ends = new Map<string, (outcome: SessionOutcome) => void>();
    let server: OutboundSocketServer | undefined;
    const started: StartedModule[] = [];
    const base = { config, roles: { api: false, workers: true }, redis, prefixes: keyPrefixes(prefix, false), api: loadOpenApi(), logger, services: {}, metrics: new Registry() };
    try {
      started.push(await createInboundModule({
        facts: async () => ({ exists: true, verifiedJids: [], verifiedEmails: ['ada@example.com'] }),
        sender: () => sender, im: () => undefined, socketPort: 0,
        onListening: (s) => void (server = s),
        onSessionEnd: (uuid, outcome) => ends.get(uuid)?.(outcome),
      }).start(base));
      started.push(await createAlertsModule({
        user: async () => ({ exists: true, verified: [] }), sender: () => sender, eslUrl: sim.url,
        onAlert: (attempt) => void alertAt.set(attempt.uuid, Date.now()),
      }).start(base));
      await new ProfileService(new ProfileStore(redis, `${prefix}:inbound`), async () => ({ exists: true, timeZone: 'UTC', verifiedJids: [], verifiedEmails: ['ada@example.com'] }))
        .put('owner', 'ada', { alias: 'Ada', dids: ['+12025550300'], email: 'ada@example.com', default: { target: 'voicemail' } });

      // Inbound calls through the IVR to voicemail.
      const socket = `${server?.address ?? ''} async full`;
      const outcomes: SessionOutcome[] = [];
      const t0 = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < calls) {
          next += 1;
          const ended = new Promise<SessionOutcome>((resolve) => {
            sim.inboundCall({ from: '+12025550101', to: '+12025550300', socket, caller: { keys: ['1'], talkMs: 2000 } }).then((uuid) => ends.set(uuid, resolve), () => resolve('hung-up'));
          });
          outcomes.push(await ended);
        }
      }));
      const seconds = (performance.now() - t0) / 1000;
      const voicemails = outcomes.filter((o) => o === 'voicemail').length;
      const rate = calls / seconds;
      ctx.out(`inbound: ${calls} calls (${concurrency} at a time) through PIN-less IVR → "1" → voicemail: ${seconds.toFixed(1)} s, ${rate.toFixed(1)} calls/s; ${voicemails} voicemails kept and queued once each (${queued} messages)`);

      // Alert latency: calls to a registered line, from arrival at the switch to the alert queued.
      const registry = new InterestRegistry(redis, `${prefix}:alerts`);
      const interest = await registry.create({ userId: 'ada', kind: 'callee', line: '+12025550400', targets: [], recipients: [{ channel: 'email', address: 'ada@example.com' }] }, 'owner');
      await registry.markVerified(interest, 'operator');
      const hangupServer = await OutboundSocketServer.listen();
      hangupServer.on('call', (call: OutboundCall) => void call.hangup().catch(() => undefined));
      const latencies: number[] = [];
      let sent = 0;
      await Promise.all(Array.from({ length: 10 }, async () => {
        while (sent < alertCalls) {
          sent += 1;
          const at = Date.now();
          // One number per call: no burst summary folds them.
          const uuid = await sim.inboundCall({ from: `+1202555${String(1000 + (sent % 9000)).padStart(4, '0')}`, to: '+12025550400', socket: `${hangupServer.address} async full` });
          for (let i = 0; i < 2500 && !alertAt.has(uuid); i++) await new Promise((r) => setTimeout(r, 2));
          const got = alertAt.get(uuid);
          if (got !== undefined) latencies.push(got - at);
        }
      }));
      await hangupServer.close();
      await new Promise((r) => setTimeout(r, 500)); // the last hang-up events' alerts finish before Redis closes
      latencies.sort((a, b) => a - b);
      const p50 = percentile(latencies, 50);
      const p99 = percentile(latencies, 99);
      ctx.out(`alerts: ${latencies.length}/${alertCalls} calls alerted; arrival → alert queued p50 ${p50} ms, p99 ${p99} ms, max ${latencies.at(-1) ?? Number.NaN} ms`);
      return {
        ok: voicemails === calls && latencies.length === alertCalls,
        summary: [`inbound IVR → voicemail: ${rate.toFixed(1)} calls/s`, `call-attempt alert latency p50 ${p50} ms, p99 ${p99} ms`],
      };
    } finally {
      for (const s of started.reverse()) await s.close?.();
      await sim.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      await redisInfo.stop();
      rmSync(mediaDir, { recursive: true, force: true });
    }
  },
};
