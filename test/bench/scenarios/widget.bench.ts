/**
 * Widget submissions per second through the public intake's abuse guard: each POST carries a
 * freshly solved ALTCHA challenge (solved beforehand, not timed) and goes through the origin
 * check, the per-address and per-number budgets, the proof-of-work verification and its replay
 * mark in Redis, the site's daily cap, into a callback service that only counts (no call is
 * placed: this measures the guard, not the switch). BENCH_WIDGET_N (2,000) submissions,
 * BENCH_WIDGET_CONCURRENCY (20) at a time; also the mean time Node takes to solve one challenge at
 * the default cost (WIDGET_CHALLENGE_MAX_NUMBER, 50,000), a proxy for the visitor's browser.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createChallenge, solveChallenge } from 'altcha-lib/v1';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createApp, loadOpenApi } from '../../../src/api/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { widgetModule } from '../../../src/intake/widget/index.js';
import { keyPrefixes, resolveRedis } from '../../../src/store/index.js';
import { FakeCallbackService } from '../../api/helpers.js';
import { knob, type BenchScenario } from '../scenario.js';

const KEY = 'bench-key-0123456789abcdef';
const ORIGIN = 'https://shop.example';

export const scenario: BenchScenario = {
  name: 'widget',
  title: 'Widget submissions/s through the challenge check and abuse guard (no call placed)',
  order: 70,
  async run(ctx) {
    const n = knob('BENCH_WIDGET_N', 2_000);
    const concurrency = knob('BENCH_WIDGET_CONCURRENCY', 20);
    const resolved = await resolveRedis(process.env.REDIS_URL);
    const prefix = `bw${Date.now().toString(36)}`;
    const redis = new Redis(resolved.url);
    // the app's Redis commands do not queue while it connects: start once it is ready
    await redis.ping();
    const config = loadConfig({}, { apiKeys: [KEY], keyPrefix: prefix, rateLimitPerMinute: 1_000_000, widgetSecret: 'bench-widget-secret-0123', widgetChallengeMaxNumber: 1000, widgetPerIpPerHour: n + 10, widgetPerNumberPerDay: n + 10 });
    const callbacks = new FakeCallbackService();
    const logger = pino({ level: 'silent' });
    const started = await widgetModule.start({ config, roles: { api: true, workers: false }, redis, prefixes: keyPrefixes(prefix, false), api: loadOpenApi(), logger, metrics: new Registry(), services: { callbacks } });
    const app = createApp({ config, callbacks, redis, readiness: { switchStatus: () => ({ connected: true, since: new Date().toISOString() }) }, logger, mounts: started.http ?? [] });
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const created = await fetch(`${base}/v1/sites`, { method: 'POST', headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'Bench', allowedOrigins: [ORIGIN], target: { number: '+12025550100' }, dailyCap: n + 10 }) });
      if (created.status !== 201) throw new Error(`creating the bench site: ${created.status} ${await created.text()}`);
      const site = (await created.json()) as { publicKey: string };
      // solve beforehand (not timed)
      const bodies: string[] = [];
      for (let i = 0; i < n; i++) {
        const issued = await fetch(`${base}/v1/widget/sites/${site.publicKey}/challenge`, { headers: { Origin: ORIGIN } });
        if (issued.status !== 200) throw new Error(`getting a challenge: ${issued.status} ${await issued.text()}`);
        const c = (await issued.json()) as { algorithm: string; challenge: string; salt: string; signature: string; maxnumber: number };
        const s = await solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise;
        if (!s) throw new Error('a challenge had no solution below its maxnumber');
        bodies.push(JSON.stringify({ number: `+1202555${String(1000 + (i % 8999)).padStart(4, '0')}`, consent: true, pow: { algorithm: c.algorithm, challenge: c.challenge, number: s?.number, salt: c.salt, signature: c.signature } }));
      }
      let next = 0;
      let accepted = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < bodies.length) {
            const body = bodies[next++] as string;
            const res = await fetch(`${base}/v1/widget/sites/${site.publicKey}/callbacks`, { method: 'POST', headers: { Origin: ORIGIN, 'Content-Type': 'application/json' }, body });
            await res.arrayBuffer();
            if (res.status === 202) accepted++;
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const rate = n / seconds;
      // the visitor's cost at the default difficulty
      const solves = 10;
      let solveMs = 0;
      for (let i = 0; i < solves; i++) {
        const c = await createChallenge({ hmacKey: 'x', maxNumber: 50_000 });
        const t = performance.now();
        await solveChallenge(c.challenge, c.salt, c.algorithm, 50_000).promise;
        solveMs += performance.now() - t;
      }
      ctx.out(`widget: ${n} submissions, ${concurrency} at a time: ${rate.toFixed(0)} submissions/s through the guard (${accepted} accepted, ${callbacks.callsTo('create').length} callbacks asked for)`);
      ctx.out(`widget: solving one challenge at the default cost (50,000) takes ${(solveMs / solves).toFixed(0)} ms in Node (mean of ${solves})`);
      return { ok: accepted === n, summary: [`widget: ${rate.toFixed(0)} submissions/s through the challenge check; solve ${(solveMs / solves).toFixed(0)} ms`] };
    } finally {
      server.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      await resolved.stop();
    }
  },
};
