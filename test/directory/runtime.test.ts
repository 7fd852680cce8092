import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from '../support/harness.js';

/**
 * The directory as `npm start` runs it: the capability module mounted in the real runtime, the
 * code sent through the channels' message queue to the local outbox (no relay configured).
 */
describe('the directory in the running Crossline', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  test('a user is created, a code reaches the outbox, and answering it verifies the address', async () => {
    const created = await h
      .api()
      .post('/v1/users')
      .send({ displayName: 'Bob Smith', emails: ['bob@example.com'], phones: [{ number: '+1 202 555 0123' }], timeZone: 'America/New_York' })
      .expect(201);
    const id: string = created.body.id;
    await h.api().post('/v1/contacts').send({ displayName: 'Ada Lovelace', phones: [{ number: '+1 202 555 0101' }] }).expect(201);
    await h.api().post(`/v1/users/${id}/verifications`).send({ channel: 'email', address: 'bob@example.com' }).expect(202);

    let code: string | undefined;
    const deadline = Date.now() + 15_000;
    while (code === undefined && Date.now() < deadline) {
      const outbox = await h.api().get('/v1/outbox').expect(200);
      const mail = (outbox.body.items as Array<{ to: string; text: string }>).find((m) => m.to === 'bob@example.com');
      code = /\b(\d{6})\b/.exec(mail?.text ?? '')?.[1];
      if (code === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(code, 'the code was sent to the outbox');
    const verified = await h.api().post(`/v1/users/${id}/verifications/confirm`).send({ channel: 'email', address: 'bob@example.com', code }).expect(200);
    assert.deepEqual(verified.body.emails, [{ address: 'bob@example.com', verified: true, verifiedAt: verified.body.emails[0].verifiedAt }]);
  });
});
