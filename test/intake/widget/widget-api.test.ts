import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import request from 'supertest';
import { CrosslineError } from '../../../src/errors.js';
import { ORIGIN, createSite, keyAuth, solved, startWidgetApp } from './helpers.js';

const visitor = (pow: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ number: '+1 202 555 0101', name: 'Ada Lovelace', consent: true, pow, ...extra });

describe('sites (/v1/sites)', () => {
  test('an owner creates a site with exact origins and a fixed target, and gets a public key; another key does not see it', async (t) => {
    const { app } = await startWidgetApp(t);
    const site = await createSite(app, { allowedOrigins: ['https://shop.example', 'http://localhost:3000'], target: { number: '2025550100' } });
    assert.match(site.publicKey, /^pk_[A-Za-z0-9_-]{24}$/);
    assert.deepEqual(site.target, { number: '+12025550100' });
    assert.equal(site.enabled, true);
    const list = await request(app).get('/v1/sites').set(keyAuth);
    assert.deepEqual(list.body.items.map((s: { id: string }) => s.id), [site.id]);
    const other = await request(app).get(`/v1/sites/${site.id}`).set({ Authorization: 'Bearer other-key-fedcba9876543210' });
    assert.equal(other.status, 404);
    assert.equal(other.body.error.code, 'SITE_NOT_FOUND');
  });

  test('origins must be exact origins, the target must pass the toll-fraud policy, hours must be a valid table', async (t) => {
    const { app } = await startWidgetApp(t);
    const bad = await request(app).post('/v1/sites').set(keyAuth).send({ name: 'X', allowedOrigins: ['https://shop.example/'], target: { number: '+12025550100' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details[0].path, '/allowedOrigins/0');
    const premium = await request(app).post('/v1/sites').set(keyAuth).send({ name: 'X', allowedOrigins: [ORIGIN], target: { number: '+442079460000' } });
    assert.equal(premium.status, 422);
    assert.equal(premium.body.error.code, 'DESTINATION_NOT_ALLOWED');
    const zone = await request(app)
      .post('/v1/sites')
      .set(keyAuth)
      .send({ name: 'X', allowedOrigins: [ORIGIN], target: { number: '+12025550100' }, hours: { timeZone: 'Mars/Olympus', weekly: [{ days: ['mon'], from: '09:00', to: '17:00' }] } });
    assert.equal(zone.status, 400);
    assert.equal(zone.body.error.code, 'INVALID_TIME_ZONE');
    const inverted = await request(app)
      .post('/v1/sites')
      .set(keyAuth)
      .send({ name: 'X', allowedOrigins: [ORIGIN], target: { number: '+12025550100' }, hours: { timeZone: 'UTC', weekly: [{ days: ['mon'], from: '17:00', to: '09:00' }] } });
    assert.equal(inverted.body.error.code, 'INVALID_HOURS');
    const both = await request(app).post('/v1/sites').set(keyAuth).send({ name: 'X', allowedOrigins: [ORIGIN], target: { number: '+12025550100', callCenter: 'support' } });
    assert.equal(both.body.error.code, 'VALIDATION_FAILED');
    const unknownCenter = await request(app).post('/v1/sites').set(keyAuth).send({ name: 'X', allowedOrigins: [ORIGIN], target: { callCenter: 'support' } });
    assert.equal(unknownCenter.body.error.code, 'CALL_CENTER_NOT_FOUND');
  });

  test('PATCH changes fields, rotate-key retires the old key at once, DELETE removes it', async (t) => {
    const { app } = await startWidgetApp(t);
    const site = await createSite(app);
    const patched = await request(app).patch(`/v1/sites/${site.id}`).set(keyAuth).send({ enabled: false, dailyCap: 5 });
    assert.equal(patched.body.enabled, false);
    assert.equal(patched.body.dailyCap, 5);
    const rotated = await request(app).post(`/v1/sites/${site.id}/rotate-key`).set(keyAuth);
    assert.notEqual(rotated.body.publicKey, site.publicKey);
    assert.equal((await request(app).get(`/v1/widget/sites/${site.publicKey}`).set('Origin', ORIGIN)).status, 404);
    assert.equal((await request(app).get(`/v1/widget/sites/${rotated.body.publicKey}`).set('Origin', ORIGIN)).status, 200);
    assert.equal((await request(app).delete(`/v1/sites/${site.id}`).set(keyAuth)).status, 204);
    assert.equal((await request(app).get(`/v1/widget/sites/${rotated.body.publicKey}`).set('Origin', ORIGIN)).status, 404);
  });
});

describe('public widget intake (/v1/widget)', () => {
  test('an allowed origin gets the site settings with its exact origin in CORS; another origin is refused with a readable reason', async (t) => {
    const { app } = await startWidgetApp(t);
    const site = await createSite(app);
    const ok = await request(app).get(`/v1/widget/sites/${site.publicKey}`).set('Origin', ORIGIN);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(ok.body.name, 'Shop Example');
    assert.deepEqual(ok.body.countries, ['US']);
    assert.ok(ok.body.phoneMetadata.countries.US, 'the phone rules of the site countries');
    assert.equal(Object.keys(ok.body.phoneMetadata.countries).length, 1);
    const evil = await request(app).get(`/v1/widget/sites/${site.publicKey}`).set('Origin', 'https://evil.example');
    assert.equal(evil.status, 403);
    assert.equal(evil.body.error.code, 'ORIGIN_NOT_ALLOWED');
    const preflight = await request(app).options(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', 'https://evil.example').set('Access-Control-Request-Method', 'POST');
    assert.equal(preflight.status, 403);
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    const allowed = await request(app).options(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', ORIGIN).set('Access-Control-Request-Method', 'POST');
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers['access-control-allow-origin'], ORIGIN);
  });

  test('a solved challenge asks the callback service for target first, then the visitor, on the site owner; the visitor never names the target', async (t) => {
    const { app, callbacks } = await startWidgetApp(t);
    const site = await createSite(app, { webhook: 'https://93.184.216.34/hook' });
    const res = await request(app).post(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', ORIGIN).send(visitor(await solved(app, site.publicKey)));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.headers['access-control-allow-origin'], ORIGIN);
    assert.deepEqual(res.body.status, { state: 'calling-site', final: false });
    const [[input, owner]] = callbacks.callsTo('create') as [[Record<string, unknown>, string]];
    assert.deepEqual((input as { callee: unknown }).callee, { number: '+12025550100', name: 'Shop Example' });
    assert.deepEqual((input as { caller: unknown }).caller, { number: '+12025550101', name: 'Ada Lovelace' });
    assert.equal((input as { order: string }).order, 'callee-first');
    assert.equal((input as { webhook: string }).webhook, 'https://93.184.216.34/hook');
    assert.match(owner, /^[0-9a-f]{16}$/);
    const extra = await request(app).post(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', ORIGIN).send({ ...visitor(await solved(app, site.publicKey)), callee: { number: '+19005550100' } });
    assert.equal(extra.status, 400, 'no field names what to call');
  });

  test('a wrong, replayed or other-site proof of work, a missing consent and a wrong origin are refused with their codes, and nothing is called', async (t) => {
    const { app, callbacks } = await startWidgetApp(t);
    const site = await createSite(app);
    const other = await createSite(app);
    const post = (body: Record<string, unknown>, origin = ORIGIN) => request(app).post(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', origin).send(body);
    const pow = await solved(app, site.publicKey);
    assert.equal((await post(visitor({ ...pow, number: (pow.number as number) + 1 }))).body.error.code, 'CHALLENGE_FAILED');
    assert.equal((await post(visitor(await solved(app, other.publicKey)))).body.error.code, 'CHALLENGE_FAILED');
    assert.equal((await post(visitor(pow, { consent: false }))).body.error.code, 'VALIDATION_FAILED');
    assert.equal((await post(visitor(pow), 'https://evil.example')).body.error.code, 'ORIGIN_NOT_ALLOWED');
    assert.equal((await post(visitor(pow))).status, 202);
    const replay = await post(visitor(pow));
    assert.equal(replay.status, 409);
    assert.equal(replay.body.error.code, 'CHALLENGE_REPLAYED');
    assert.equal(callbacks.callsTo('create').length, 1);
  });

  test('a disabled site refuses at once with SITE_DISABLED; the callback domain\'s NUMBER_DO_NOT_CALL reaches the visitor', async (t) => {
    const { app, callbacks } = await startWidgetApp(t);
    const site = await createSite(app);
    const pow = await solved(app, site.publicKey);
    // the list is the domain's (test/api/do-not-call.test.ts); the button passes its refusal on
    assert.equal((await request(app).put('/v1/do-not-call/%2B12025550101').set(keyAuth)).status, 200);
    callbacks.failCreate = new CrosslineError('NUMBER_DO_NOT_CALL', undefined, [{ path: '/caller/number', message: 'on the list' }]);
    const dnc = await request(app).post(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', ORIGIN).send(visitor(pow));
    assert.equal(dnc.status, 422);
    assert.equal(dnc.body.error.code, 'NUMBER_DO_NOT_CALL');
    callbacks.failCreate = undefined;
    const created = callbacks.callsTo('create').length;
    await request(app).patch(`/v1/sites/${site.id}`).set(keyAuth).send({ enabled: false });
    const disabled = await request(app).post(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', ORIGIN).send(visitor(pow, { number: '+12025550102' }));
    assert.equal(disabled.status, 403);
    assert.equal(disabled.body.error.code, 'SITE_DISABLED');
    assert.equal((await request(app).get(`/v1/widget/sites/${site.publicKey}/challenge`).set('Origin', ORIGIN)).body.error.code, 'SITE_DISABLED');
    assert.equal(callbacks.callsTo('create').length, created, 'a disabled site asks for nothing');
  });

  test('outside business hours "now" is refused and only slots inside the hours are offered', async (t) => {
    const { app, callbacks } = await startWidgetApp(t);
    // open one hour a day, starting three hours from now: closed now, slots later
    const from = (new Date().getUTCHours() + 3) % 24;
    const range = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: `${String(from).padStart(2, '0')}:00`, to: from === 23 ? '24:00' : `${String(from + 1).padStart(2, '0')}:00` };
    const site = await createSite(app, { hours: { timeZone: 'UTC', weekly: [range] } });
    const config = await request(app).get(`/v1/widget/sites/${site.publicKey}`).set('Origin', ORIGIN);
    assert.equal(config.body.openNow, false);
    const res = await request(app).post(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', ORIGIN).send(visitor(await solved(app, site.publicKey)));
    assert.equal(res.body.error.code, 'OUTSIDE_BUSINESS_HOURS');
    const slots = config.body.slots as string[];
    assert.ok(slots.length >= 7, 'one or two slots a day for a week');
    for (const slot of slots) {
      assert.equal(new Date(slot).getUTCHours(), from);
      assert.ok([0, 30].includes(new Date(slot).getUTCMinutes()));
    }
    const outside = await request(app).post(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', ORIGIN).send(visitor(await solved(app, site.publicKey), { at: new Date(Date.parse(slots[0] ?? '') - 3_600_000).toISOString() }));
    assert.equal(outside.body.error.code, 'OUTSIDE_BUSINESS_HOURS');
    const inside = await request(app).post(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', ORIGIN).send(visitor(await solved(app, site.publicKey), { at: slots[0] }));
    assert.equal(inside.status, 202, JSON.stringify(inside.body));
    assert.equal(callbacks.callsTo('create').length, 1);
  });

  test('the status token streams that callback only; a wrong or tampered token is STATUS_TOKEN_INVALID', async (t) => {
    const { app, callbacks } = await startWidgetApp(t);
    const site = await createSite(app);
    const first = await request(app).post(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', ORIGIN).send(visitor(await solved(app, site.publicKey)));
    const second = await request(app).post(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', ORIGIN).send(visitor(await solved(app, site.publicKey), { number: '+12025550102' }));
    const wrong = await request(app).get(`/v1/widget/sites/${site.publicKey}/callbacks/${second.body.id}/events?token=${encodeURIComponent(first.body.statusToken)}`);
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'STATUS_TOKEN_INVALID');
    const tampered = String(first.body.statusToken).replace(/^(\d+)/, (d) => String(Number(d) + 1000));
    assert.equal((await request(app).get(`/v1/widget/sites/${site.publicKey}/callbacks/${first.body.id}/events?token=${encodeURIComponent(tampered)}`)).status, 401);

    // the stream: the current state, then each change, until the callback ends
    const server = http.createServer(app).listen(0);
    t.after(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const events: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      http.get(`http://127.0.0.1:${port}${first.body.events}`, { headers: { Origin: ORIGIN } }, (res) => {
        assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
        assert.equal(res.headers['access-control-allow-origin'], ORIGIN);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          for (const m of chunk.matchAll(/data: (.*)\n/g)) events.push(JSON.parse(m[1] ?? '{}').state);
        });
        res.on('end', resolve);
      }).on('error', reject);
    });
    const stored = callbacks.store.get(first.body.id);
    assert.ok(stored);
    await new Promise((r) => setTimeout(r, 700));
    stored.status = 'calling-caller';
    await new Promise((r) => setTimeout(r, 700));
    stored.status = 'bridged';
    await new Promise((r) => setTimeout(r, 700));
    stored.status = 'completed';
    await done;
    assert.deepEqual(events, ['calling-site', 'calling-you', 'connected', 'completed']);
  });
});

describe('abuse guard', () => {
  test('1,000 submissions from one client address: only the per-address budget is accepted, no call beyond it', async (t) => {
    const { app, callbacks } = await startWidgetApp(t, { widgetPerIpPerHour: 10, widgetPerNumberPerDay: 10_000 });
    const site = await createSite(app, { dailyCap: 100_000 });
    const statuses = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const number = `+1202555${String(1000 + (i % 9000)).padStart(4, '0')}`;
      const res = await request(app).post(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', ORIGIN).send(visitor(await solved(app, site.publicKey), { number }));
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 429) assert.equal(res.body.error.code, 'VISITOR_RATE_LIMITED');
    }
    assert.deepEqual(Object.fromEntries(statuses), { 202: 10, 429: 990 });
    assert.equal(callbacks.callsTo('create').length, 10);
  });

  test('one number from many client addresses: only the per-number budget is accepted', async (t) => {
    const { app, callbacks } = await startWidgetApp(t, { trustProxy: true, widgetPerIpPerHour: 1000, widgetPerNumberPerDay: 3 });
    const site = await createSite(app);
    const codes: number[] = [];
    for (let i = 0; i < 50; i++) {
      const res = await request(app)
        .post(`/v1/widget/sites/${site.publicKey}/callbacks`)
        .set('Origin', ORIGIN)
        .set('X-Forwarded-For', `198.51.100.${i + 1}`)
        .send(visitor(await solved(app, site.publicKey)));
      codes.push(res.status);
    }
    assert.equal(codes.filter((c) => c === 202).length, 3);
    assert.equal(codes.filter((c) => c === 429).length, 47);
    assert.equal(callbacks.callsTo('create').length, 3);
  });

  test('a site at its daily cap refuses with SITE_DAILY_CAP_REACHED; a disabled site places no call at all', async (t) => {
    const { app, callbacks } = await startWidgetApp(t, { widgetPerIpPerHour: 1000, widgetPerNumberPerDay: 1000 });
    const site = await createSite(app, { dailyCap: 4 });
    const codes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await request(app).post(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', ORIGIN).send(visitor(await solved(app, site.publicKey), { number: `+120255501${10 + i}` }));
      codes.push(res.status === 202 ? 'ok' : res.body.error.code);
    }
    assert.deepEqual(codes, ['ok', 'ok', 'ok', 'ok', ...Array(6).fill('SITE_DAILY_CAP_REACHED')]);
    const off = await createSite(app, { enabled: false });
    const pow = await solved(app, site.publicKey);
    for (let i = 0; i < 20; i++) {
      const res = await request(app).post(`/v1/widget/sites/${off.publicKey}/callbacks`).set('Origin', ORIGIN).send(visitor(pow));
      assert.equal(res.body.error.code, 'SITE_DISABLED');
    }
    assert.equal(callbacks.callsTo('create').length, 4);
  });

  test('a refused callback (toll-fraud, destination limits) gives back the number and site budgets', async (t) => {
    const { app, callbacks } = await startWidgetApp(t, { widgetPerNumberPerDay: 1 });
    const site = await createSite(app, { dailyCap: 1 });
    const { CrosslineError } = await import('../../../src/errors.js');
    callbacks.failCreate = new CrosslineError('DESTINATION_RATE_LIMITED');
    const refused = await request(app).post(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', ORIGIN).send(visitor(await solved(app, site.publicKey)));
    assert.equal(refused.body.error.code, 'DESTINATION_RATE_LIMITED');
    callbacks.failCreate = undefined;
    const accepted = await request(app).post(`/v1/widget/sites/${site.publicKey}/callbacks`).set('Origin', ORIGIN).send(visitor(await solved(app, site.publicKey)));
    assert.equal(accepted.status, 202);
  });
});
