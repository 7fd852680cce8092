/**
 * Inbound profiles over REST: what is refused and why (shared numbers need distinct PINs, a number
 * of another account, unverified addresses, a schedule that cannot route), and the schedule's pick.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { routeAt } from '../../src/inbound/index.js';
import { OTHER_KEY } from '../api/helpers.js';
import { auth, startInbound } from './harness.js';

const base = { alias: 'Ada', dids: ['+1 202 555 0300'] };

describe('inbound profiles', () => {
  it('stores a profile with the number normalised, never shows the PIN, and removes it', async (t) => {
    const rig = await startInbound(t);
    rig.users.set('ada', { exists: true, timeZone: 'Europe/London', verifiedJids: ['ada@im.example.com'], verifiedEmails: [] });
    const put = await request(rig.app).put('/v1/users/ada/inbound-profile').set(auth).send({ ...base, pin: '2468', imAddress: 'Ada@IM.example.com' });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(put.body.dids, ['+12025550300']);
    assert.equal(put.body.hasPin, true);
    assert.equal(put.body.imAddress, 'ada@im.example.com');
    assert.equal(put.body.timeZone, 'Europe/London', 'the directory user\'s zone by default');
    assert.deepEqual(put.body.default, { target: 'im', alternate: 'voicemail' });
    assert.ok(!JSON.stringify(put.body).includes('scrypt') && !JSON.stringify(put.body).includes('2468'));
    const kept = await request(rig.app).put('/v1/users/ada/inbound-profile').set(auth).send({ ...base });
    assert.equal(kept.body.hasPin, true, 'an absent pin keeps the current one');
    assert.equal(kept.body.revision, 2);
    assert.equal((await request(rig.app).put('/v1/users/ada/inbound-profile').set(auth).send({ ...base, pin: null })).body.hasPin, false);
    assert.equal((await request(rig.app).delete('/v1/users/ada/inbound-profile').set(auth)).status, 204);
    assert.equal((await request(rig.app).get('/v1/users/ada/inbound-profile').set(auth)).body.error.code, 'PROFILE_NOT_FOUND');
  });

  it('refuses bad profiles with a clear code', async (t) => {
    const rig = await startInbound(t);
    for (const id of ['ada', 'bob', 'cy']) rig.users.set(id, { exists: true, verifiedJids: [`${id}@im.example.com`], verifiedEmails: [] });
    const put = (id: string, body: Record<string, unknown>, key = auth): request.Test => request(rig.app).put(`/v1/users/${id}/inbound-profile`).set(key).send(body);
    const code = async (r: request.Test): Promise<string> => (await r).body.error?.code ?? 'OK';
    assert.equal(await code(put('nobody', base)), 'PROFILE_NOT_FOUND');
    assert.equal(await code(put('ada', { ...base, dids: ['12345'] })), 'INVALID_NUMBER');
    assert.equal(await code(put('ada', { ...base, pin: '12' })), 'VALIDATION_FAILED');
    assert.equal(await code(put('ada', { ...base, imAddress: 'eve@im.example.com' })), 'INVALID_PROFILE', 'an unverified JID');
    assert.equal(await code(put('ada', { ...base, default: { target: 'mobile' } })), 'INVALID_PROFILE', 'a route to a phone the profile lacks');
    assert.equal(await code(put('ada', { ...base, schedule: [{ days: ['mon'], from: '17:00', to: '09:00', target: 'voicemail' }] })), 'INVALID_PROFILE');
    assert.equal(await code(put('ada', { ...base, timeZone: 'Mars/Olympus' })), 'INVALID_PROFILE');
    assert.equal(await code(put('ada', { ...base, destinations: { sip: 'sip:ada@x;transport=tcp}' } })), 'INVALID_SIP_URI');
    assert.equal(await code(put('ada', { ...base, alias: 'Ada ${system}' })), 'INVALID_PROFILE');
    assert.equal(await code(put('ada', { ...base })), 'OK');
    assert.equal(await code(put('bob', { ...base })), 'PIN_REQUIRED', 'a second user on the number needs a PIN');
    assert.equal(await code(put('bob', { ...base, pin: '1111' })), 'PIN_REQUIRED', 'and so does the first');
    assert.equal(await code(put('ada', { ...base, pin: '1111' })), 'OK');
    assert.equal(await code(put('bob', { ...base, pin: '1111' })), 'PIN_CONFLICT');
    assert.equal(await code(put('bob', { ...base, pin: '2222' })), 'OK');
    rig.users.set('cy', { exists: true, verifiedJids: [], verifiedEmails: [] });
    assert.equal(await code(put('cy', { ...base, pin: '3333' }, { Authorization: `Bearer ${OTHER_KEY}` })), 'UNAUTHENTICATED', 'the harness knows one key');
  });

  it('picks the rule of the user\'s local day and time, across a DST change, else the default', () => {
    const profile = {
      timeZone: 'America/New_York',
      schedule: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'] as Array<'mon' | 'tue' | 'wed' | 'thu' | 'fri'>, from: '09:00', to: '17:00', target: 'im' as const, alternate: 'mobile' as const }],
      default: { target: 'voicemail' as const },
    };
    assert.equal(routeAt(profile, new Date('2026-03-06T14:30:00Z')).target, 'im', 'Friday 09:30 EST');
    assert.equal(routeAt(profile, new Date('2026-03-09T13:30:00Z')).target, 'im', 'Monday 09:30 EDT (after the change)');
    assert.equal(routeAt(profile, new Date('2026-03-09T12:30:00Z')).target, 'voicemail', 'Monday 08:30 EDT');
    assert.equal(routeAt(profile, new Date('2026-03-07T15:00:00Z')).target, 'voicemail', 'Saturday');
    assert.equal(routeAt(profile, new Date('2026-03-06T14:30:00Z')).alternate, 'mobile');
  });
});
