/**
 * The call-center directory through the whole Crossline (API, workers, simulator): CRUD per API
 * key, strict validation, and a callback that names a center and a route instead of a number.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { API_KEY, startHarness, type Harness } from '../../support/harness.js';

const OTHER_KEY = 'other-key-0123456789';

const acme = {
  name: 'acme',
  aliases: ['acme-support'],
  displayName: 'Acme Support',
  numbers: ['+12025550170', '+12025550171'],
  routes: { billing: { dtmf: '1w2#' }, sales: { dtmf: '3' } },
  queue: { type: 'freeswitch', queue: 'support@default' },
  pacing: { maxInProgress: 5, originatesPerMinute: 600 },
};

describe('the call-center directory', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { API_KEYS: `${API_KEY},${OTHER_KEY}` } });
  });
  after(async () => {
    await h.close();
  });

  it('creates, lists, reads, replaces and deletes a center; names and aliases stay unique', async () => {
    const created = await h.api().post('/v1/call-centers').send({ ...acme, name: 'crud', aliases: ['crud-alias'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.headers.location, '/v1/call-centers/crud');
    assert.deepEqual(created.body.numbers, ['+12025550170', '+12025550171']);
    assert.deepEqual(created.body.confirmation, { enabled: false, timeoutSeconds: 8 });
    assert.deepEqual(created.body.answeringMachine, { detection: 'off', action: 'hangup-and-retry' });

    const again = await h.api().post('/v1/call-centers').send({ ...acme, name: 'other', aliases: ['crud-alias'] });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'CALL_CENTER_EXISTS');
    assert.equal(again.body.error.details[0].path, '/aliases/0');

    const list = await h.api().get('/v1/call-centers');
    assert.ok(list.body.items.some((c: { name: string }) => c.name === 'crud'));
    const replaced = await h.api().put('/v1/call-centers/crud').send({ name: 'crud', numbers: ['2025550172'], aliases: ['crud-new'] });
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.deepEqual(replaced.body.numbers, ['+12025550172']);
    assert.equal(replaced.body.createdAt, created.body.createdAt);
    // the old alias is free again
    const reuse = await h.api().post('/v1/call-centers').send({ name: 'crud-alias', numbers: ['+12025550100'] });
    assert.equal(reuse.status, 201);
    const renamed = await h.api().put('/v1/call-centers/crud').send({ name: 'crud2', numbers: ['+12025550100'] });
    assert.equal(renamed.status, 400);

    assert.equal((await h.api().delete('/v1/call-centers/crud')).status, 204);
    const gone = await h.api().get('/v1/call-centers/crud');
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'CALL_CENTER_NOT_FOUND');
    assert.ok(gone.body.error.details[0].known.includes('crud-alias'));
    assert.equal((await h.api().delete('/v1/call-centers/crud-alias')).status, 204);
  });

  it('one API key never sees another key\'s centers, and may use the same names', async () => {
    await h.api().post('/v1/call-centers').send({ ...acme, name: 'mine', aliases: [] }).expect(201);
    const other = (): ReturnType<Harness['api']> => h.api().set('Authorization', `Bearer ${OTHER_KEY}`);
    assert.equal((await other().get('/v1/call-centers/mine')).status, 404);
    assert.deepEqual((await other().get('/v1/call-centers')).body.items, []);
    const call = await other().post('/v1/callbacks').send({ caller: { number: '+12025550101' }, callee: { callCenter: 'mine' } });
    assert.equal(call.status, 404);
    assert.deepEqual(call.body.error.details[0].known, []);
    await other().post('/v1/call-centers').send({ ...acme, name: 'mine', aliases: [] }).expect(201);
    await other().delete('/v1/call-centers/mine').expect(204);
    assert.equal((await h.api().get('/v1/call-centers/mine')).status, 200, 'the first key still has its own');
    await h.api().delete('/v1/call-centers/mine').expect(204);
  });

  it('refuses bad entries with clear errors', async () => {
    const cases: Array<[object, number, string, string?]> = [
      [{ ...acme, name: 'Bad Name' }, 400, 'VALIDATION_FAILED', '/name'],
      [{ ...acme, name: 'x', numbers: ['+19005550100'] }, 422, 'PREMIUM_RATE_DENIED', '/numbers/0'],
      [{ ...acme, name: 'x', numbers: ['123'] }, 400, 'INVALID_NUMBER', '/numbers/0'],
      [{ ...acme, name: 'x', routes: { billing: { dtmf: '1;hangup' } } }, 400, 'VALIDATION_FAILED'],
      [{ ...acme, name: 'x', hours: { timeZone: 'Nowhere/Land', weekly: [{ days: ['mon'], from: '09:00', to: '17:00' }] } }, 400, 'INVALID_TIME_ZONE', '/hours/timeZone'],
      [{ ...acme, name: 'x', hours: { timeZone: 'Europe/Berlin', weekly: [{ days: ['mon'], from: '17:00', to: '09:00' }] } }, 400, 'INVALID_HOURS', '/hours/weekly/0'],
      [{ ...acme, name: 'x', hours: { timeZone: 'Europe/Berlin', weekly: [{ days: ['mon'], from: '09:00', to: '13:00' }, { days: ['mon'], from: '12:00', to: '17:00' }] } }, 400, 'INVALID_HOURS', '/hours/weekly/1'],
      [{ ...acme, name: 'x', queue: { type: 'freeswitch', queue: 'support default' } }, 400, 'INVALID_QUEUE', '/queue/queue'],
      [{ ...acme, name: 'x', queue: { type: 'http', url: 'ftp://acd.example.com' } }, 400, 'VALIDATION_FAILED'],
      [{ ...acme, name: 'x', pacing: { maxInProgress: 0, originatesPerMinute: 10 } }, 400, 'VALIDATION_FAILED'],
      [{ ...acme, name: 'x', answeringMachine: { detection: 'on', action: 'leave-message' } }, 400, 'VALIDATION_FAILED', '/answeringMachine/message'],
      [{ ...acme, name: 'x', aliases: ['x'] }, 400, 'VALIDATION_FAILED', '/aliases'],
    ];
    for (const [body, status, code, path] of cases) {
      const res = await h.api().post('/v1/call-centers').send(body);
      assert.equal(res.status, status, `${JSON.stringify(body)} → ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code);
      if (path !== undefined) assert.ok(res.body.error.details.some((d: { path?: string }) => d.path === path), JSON.stringify(res.body.error.details));
    }
  });

  it('a callback to {callCenter, route} dials the center and sends the route digits; an alias works too', async () => {
    await h.api().post('/v1/call-centers').send(acme).expect(201);
    const res = await h.create({ caller: { number: '+12025550101' }, callee: { callCenter: 'acme-support', route: 'billing' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body.request.callee, {
      number: '+12025550170',
      name: 'Acme Support',
      dtmf: '1w2#',
      callCenter: { name: 'acme', route: 'billing', numbers: ['+12025550170', '+12025550171'] },
    });
    const done = await h.waitFor(res.body.id, (cb) => cb.timeline.some((e) => e.event === 'bridged'), 20_000);
    const callee = done.attempts[0]?.legs.find((l) => l.role === 'callee');
    assert.equal(callee?.endpoint, '+12025550170');
    assert.equal(h.sim.dtmfReceived(callee?.uuid ?? '').map((d) => d.digit).join(''), '12#');
    await h.api().delete(`/v1/callbacks/${res.body.id}`);
  });

  it('an unknown center is 404 with the known names; an unknown route is 422 with the routes', async () => {
    const unknown = await h.create({ caller: { number: '+12025550101' }, callee: { callCenter: 'nobody' } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'CALL_CENTER_NOT_FOUND');
    assert.equal(unknown.body.error.details[0].path, '/callee/callCenter');
    assert.ok(unknown.body.error.details[0].known.includes('acme'));
    const route = await h.create({ caller: { number: '+12025550101' }, callee: { callCenter: 'acme', route: 'refunds' } });
    assert.equal(route.status, 422);
    assert.equal(route.body.error.code, 'CALL_CENTER_ROUTE_NOT_FOUND');
    assert.deepEqual(route.body.error.details[0].known, ['billing', 'sales']);
    const both = await h.create({ caller: { number: '+12025550101' }, callee: { callCenter: 'acme', number: '+12025550100' } });
    assert.equal(both.status, 400);
    const digits = await h.create({ caller: { number: '+12025550101' }, callee: { callCenter: 'acme', dtmf: '1' } });
    assert.equal(digits.status, 400);
    const orphanRoute = await h.create({ caller: { number: '+12025550101' }, callee: { number: '+12025550100', route: 'billing' } });
    assert.equal(orphanRoute.status, 400);
  });

  it('the next attempt dials the next number of the center', async () => {
    await h.api().post('/v1/call-centers').send({ name: 'rotate', numbers: ['+12025550150', '+12025550171'] }).expect(201);
    const res = await h.create({ caller: { number: '+12025550101' }, callee: { callCenter: 'rotate' }, ringTimeout: 5, retry: { maxAttempts: 2, delaySeconds: 0 } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const done = await h.waitFor(res.body.id, (cb) => cb.attempts.length === 2 && cb.attempts[1]?.legs.some((l) => l.role === 'callee') === true, 30_000);
    assert.equal(done.attempts[0]?.legs.find((l) => l.role === 'callee')?.endpoint, '+12025550150');
    assert.equal(done.attempts[1]?.legs.find((l) => l.role === 'callee')?.endpoint, '+12025550171');
    await h.api().delete(`/v1/callbacks/${res.body.id}`);
  });
});
