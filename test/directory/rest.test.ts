import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import request from 'supertest';
import { loadOpenApi } from '../../src/api/openapi.js';
import { apiKeyOwner } from '../../src/api/auth.js';
import { personRoutes } from '../../src/directory/routes.js';
import { API_KEY, OTHER_KEY, auth, startApp } from '../api/helpers.js';
import { testRedisUrl } from '../support/redis.js';
import { directoryRig } from './fixture.js';

const other = { Authorization: `Bearer ${OTHER_KEY}` };

async function directoryApp(t: import('node:test').TestContext) {
  const rig = await directoryRig(t);
  const api = loadOpenApi();
  const mounts = [
    { door: 'api-key' as const, path: '/v1/users', router: personRoutes('user', api, rig.directory) },
    { door: 'api-key' as const, path: '/v1/contacts', router: personRoutes('contact', api, rig.directory) },
  ];
  const { app } = await startApp(t, testRedisUrl(), { mounts, config: { keyPrefix: rig.prefix } });
  return { ...rig, app };
}

const ada = {
  displayName: 'Ada Lovelace',
  aliases: ['Countess'],
  loginName: 'Ada',
  emails: ['Ada@Example.com'],
  jids: ['ada@im.example.com'],
  phones: [
    { number: '(202) 555-0101', label: 'mobile' },
    { number: '+1 202 555 0102', label: 'work', default: true },
  ],
  sipUris: ['sip:ada@pbx.example.com'],
  timeZone: 'Europe/London',
};

describe('/v1/users and /v1/contacts', () => {
  test('a user is created with numbers in E.164, addresses lower-cased and unverified, and read back', async (t) => {
    const { app } = await directoryApp(t);
    const created = await request(app).post('/v1/users').set(auth).send(ada).expect(201);
    assert.equal(created.headers.location, `/v1/users/${created.body.id}`);
    assert.equal(created.body.loginName, 'ada');
    assert.deepEqual(created.body.emails, [{ address: 'ada@example.com', verified: false }]);
    assert.deepEqual(created.body.phones, [
      { number: '+12025550101', label: 'mobile', default: false, verified: false },
      { number: '+12025550102', label: 'work', default: true, verified: false },
    ]);
    assert.equal(created.body.owner, undefined);
    assert.equal(created.body.revision, undefined);
    const got = await request(app).get(`/v1/users/${created.body.id}`).set(auth).expect(200);
    assert.deepEqual(got.body, created.body);
  });

  test("another API key neither sees nor changes a key's records", async (t) => {
    const { app } = await directoryApp(t);
    const created = await request(app).post('/v1/contacts').set(auth).send({ displayName: 'Bob Smith', phones: [{ number: '+12025550103' }] }).expect(201);
    await request(app).get(`/v1/contacts/${created.body.id}`).set(other).expect(404);
    await request(app).put(`/v1/contacts/${created.body.id}`).set(other).send({ displayName: 'Mallory' }).expect(404);
    await request(app).delete(`/v1/contacts/${created.body.id}`).set(other).expect(404);
    const list = await request(app).get('/v1/contacts').set(other).expect(200);
    assert.deepEqual(list.body, { items: [], nextCursor: null });
    assert.notEqual(apiKeyOwner(API_KEY), apiKeyOwner(OTHER_KEY));
  });

  test('bad values are refused with their code and a JSON pointer', async (t) => {
    const { app } = await directoryApp(t);
    const cases: Array<[object, number, string, string | undefined]> = [
      [{ displayName: 'Ada', timeZone: 'Mars/Olympus' }, 400, 'INVALID_TIME_ZONE', '/timeZone'],
      [{ displayName: 'Ada', phones: [{ number: '123' }] }, 400, 'INVALID_NUMBER', '/phones/0/number'],
      [{ displayName: 'Ada', emails: ['not-an-address'] }, 400, 'VALIDATION_FAILED', '/emails/0'],
      [{ displayName: 'Ada', jids: ['ada@im.example.com/phone'] }, 400, 'VALIDATION_FAILED', '/jids/0'],
      [{ displayName: 'Ada\u202Eevil' }, 400, 'VALIDATION_FAILED', '/displayName'],
      [{ displayName: 'Ada\u200B' }, 400, 'VALIDATION_FAILED', '/displayName'],
      [{ displayName: 'Ada', aliases: ['Countess', 'COUNTESS'] }, 400, 'VALIDATION_FAILED', '/aliases/1'],
      [{ displayName: 'Ada', sipUris: ['sip:ada@pbx.example.com;transport=tcp'] }, 400, 'VALIDATION_FAILED', '/sipUris/0'],
      [{ displayName: 'Ada', phones: [{ number: '+12025550101', default: true }, { number: '+12025550102', default: true }] }, 400, 'VALIDATION_FAILED', '/phones'],
      [{ displayName: 'Ada', phones: [{ number: '+12025550101' }, { number: '(202) 555-0101' }] }, 400, 'VALIDATION_FAILED', '/phones/1'],
      [{ displayName: 'Ada', owner: 'someone-else' }, 400, 'VALIDATION_FAILED', undefined],
    ];
    for (const [body, status, code, path] of cases) {
      const res = await request(app).post('/v1/users').set(auth).send(body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.body.error.code, code, JSON.stringify(body));
      if (path) assert.ok(res.body.error.details.some((d: { path?: string }) => d.path === path), `${JSON.stringify(body)} → ${JSON.stringify(res.body.error.details)}`);
    }
  });

  test('a login name is unique per key and kind, and freed when its holder is removed', async (t) => {
    const { app } = await directoryApp(t);
    const first = await request(app).post('/v1/users').set(auth).send({ displayName: 'Ada', loginName: 'ada' }).expect(201);
    const clash = await request(app).post('/v1/users').set(auth).send({ displayName: 'Ada Byron', loginName: 'ADA' }).expect(409);
    assert.equal(clash.body.error.code, 'LOGIN_NAME_TAKEN');
    await request(app).post('/v1/users').set(other).send({ displayName: 'Ada', loginName: 'ada' }).expect(201);
    await request(app).delete(`/v1/users/${first.body.id}`).set(auth).expect(204);
    await request(app).get(`/v1/users/${first.body.id}`).set(auth).expect(404);
    await request(app).post('/v1/users').set(auth).send({ displayName: 'Ada Byron', loginName: 'ada' }).expect(201);
  });

  test('a list pages through every record once, oldest first', async (t) => {
    const { app } = await directoryApp(t);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await request(app).post('/v1/contacts').set(auth).send({ displayName: `Person ${i}` }).expect(201)).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: request.Response = await request(app).get('/v1/contacts').query({ limit: 2, ...(cursor ? { cursor } : {}) }).set(auth).expect(200);
      seen.push(...page.body.items.map((p: { id: string }) => p.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, ids);
  });

  test('an id that cannot exist is 404, not 400', async (t) => {
    const { app } = await directoryApp(t);
    const res = await request(app).get('/v1/users/not-a-uuid').set(auth).expect(404);
    assert.equal(res.body.error.code, 'USER_NOT_FOUND');
    const contact = await request(app).get('/v1/contacts/%E0%A4%A').set(auth).expect(404);
    assert.equal(contact.body.error.code, 'CONTACT_NOT_FOUND');
  });

  test('verification over REST: a code goes to the address, a wrong one is refused, the right one verifies', async (t) => {
    const { app, sender } = await directoryApp(t);
    const user = await request(app).post('/v1/users').set(auth).send(ada).expect(201);
    const started = await request(app).post(`/v1/users/${user.body.id}/verifications`).set(auth).send({ channel: 'email', address: 'ADA@example.com' }).expect(202);
    assert.equal(started.body.address, 'ada@example.com');
    assert.equal(sender.sent.length, 1);
    assert.deepEqual(sender.sent[0]?.to, { channel: 'email', address: 'ada@example.com' });
    const code = sender.lastCode('ada@example.com');
    const wrong = code === '000000' ? '000001' : '000000';
    const refused = await request(app).post(`/v1/users/${user.body.id}/verifications/confirm`).set(auth).send({ channel: 'email', address: 'ada@example.com', code: wrong }).expect(422);
    assert.equal(refused.body.error.code, 'VERIFICATION_FAILED');
    const verified = await request(app).post(`/v1/users/${user.body.id}/verifications/confirm`).set(auth).send({ channel: 'email', address: 'ada@example.com', code }).expect(200);
    assert.equal(verified.body.emails[0].verified, true);
    const again = await request(app).post(`/v1/users/${user.body.id}/verifications`).set(auth).send({ channel: 'email', address: 'ada@example.com' }).expect(409);
    assert.equal(again.body.error.code, 'ADDRESS_ALREADY_VERIFIED');
    const notHers = await request(app).post(`/v1/users/${user.body.id}/verifications`).set(auth).send({ channel: 'email', address: 'eve@example.com' }).expect(422);
    assert.equal(notHers.body.error.code, 'ADDRESS_NOT_ON_USER');
  });

  test('a verified address belongs to one user only: another user, even of another key, cannot verify it', async (t) => {
    const { app, sender } = await directoryApp(t);
    const first = await request(app).post('/v1/users').set(auth).send({ displayName: 'Ada', emails: ['ada@example.com'] }).expect(201);
    const second = await request(app).post('/v1/users').set(other).send({ displayName: 'Not Ada', emails: ['ada@example.com'] }).expect(201);
    await request(app).post(`/v1/users/${first.body.id}/verifications`).set(auth).send({ channel: 'email', address: 'ada@example.com' }).expect(202);
    await request(app).post(`/v1/users/${first.body.id}/verifications/confirm`).set(auth).send({ channel: 'email', address: 'ada@example.com', code: sender.lastCode('ada@example.com') }).expect(200);
    const taken = await request(app).post(`/v1/users/${second.body.id}/verifications`).set(other).send({ channel: 'email', address: 'ada@example.com' }).expect(409);
    assert.equal(taken.body.error.code, 'ADDRESS_TAKEN');
    // removing the address from the first user frees it
    await request(app).put(`/v1/users/${first.body.id}`).set(auth).send({ displayName: 'Ada' }).expect(200);
    await request(app).post(`/v1/users/${second.body.id}/verifications`).set(other).send({ channel: 'email', address: 'ada@example.com' }).expect(202);
  });

  test('replacing a user keeps the verification of the addresses that stay', async (t) => {
    const { app, sender } = await directoryApp(t);
    const user = await request(app).post('/v1/users').set(auth).send({ displayName: 'Ada', emails: ['ada@example.com'] }).expect(201);
    await request(app).post(`/v1/users/${user.body.id}/verifications`).set(auth).send({ channel: 'email', address: 'ada@example.com' }).expect(202);
    await request(app).post(`/v1/users/${user.body.id}/verifications/confirm`).set(auth).send({ channel: 'email', address: 'ada@example.com', code: sender.lastCode('ada@example.com') }).expect(200);
    const replaced = await request(app).put(`/v1/users/${user.body.id}`).set(auth).send({ displayName: 'Ada L', emails: ['ada@example.com', 'ada@work.example.com'] }).expect(200);
    assert.deepEqual(replaced.body.emails.map((e: { verified: boolean }) => e.verified), [true, false]);
  });

  test('without a channel to send codes, a verification is 503 VERIFICATION_UNAVAILABLE', async (t) => {
    const rigApp = await directoryApp(t);
    delete rigApp.services.messageSender;
    const user = await request(rigApp.app).post('/v1/users').set(auth).send({ displayName: 'Ada', jids: ['ada@im.example.com'] }).expect(201);
    const res = await request(rigApp.app).post(`/v1/users/${user.body.id}/verifications`).set(auth).send({ channel: 'xmpp', address: 'ada@im.example.com' }).expect(503);
    assert.equal(res.body.error.code, 'VERIFICATION_UNAVAILABLE');
  });
});
