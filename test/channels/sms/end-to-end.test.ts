import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import supertest from 'supertest';
import { startHarness, type Harness } from '../../support/harness.js';
import { TestSmsc, type SubmittedPart } from '../../support/smsc.js';

/**
 * Text messages end to end over real parts: the test SMSC (node-smpp's server side, a real
 * socket) as the carrier, the whole Crossline (directory, conversation, BullMQ, the ESL
 * simulator) with SMPP_URL pointing at it. A phone number is verified by a code sent by SMS and
 * texted back; "call +1 202 555 0101" texted from it places the callback and the replies come
 * back by SMS; an unverified or unknown number gets no call and no reply.
 */
const CROSSLINE_NUMBER = '+12025550199';
const OPS_TOKEN = 'ops-token-0123456789abcdef';
const BOB = '+12025550123';
const EVE = '+12025550124';

describe('text messages end to end: SMS in, callbacks, SMS replies and receipts', () => {
  let smsc: TestSmsc;
  let crossline: Harness;
  let bobId: string;

  const textsTo = (number: string): SubmittedPart[] => smsc.submitted.filter((p) => `+${p.destinationAddr}` === number);
  const waitForText = async (number: string, pattern: RegExp, timeoutMs = 10_000): Promise<SubmittedPart> => {
    await smsc.waitFor(() => textsTo(number).some((p) => pattern.test(p.text)), timeoutMs, `an SMS to ${number} matching ${pattern}`);
    return textsTo(number).find((p) => pattern.test(p.text))!;
  };
  const ops = (): supertest.Agent => supertest.agent(crossline.runtime.apiUrl ?? '').set('Authorization', `Bearer ${OPS_TOKEN}`);

  before(async () => {
    smsc = await TestSmsc.start({ systemId: 'crossline', password: 'pw-12345' });
    crossline = await startHarness({
      env: {
        SMPP_URL: smsc.url,
        SMPP_SOURCE_ADDR: CROSSLINE_NUMBER,
        OPS_TOKEN,
        DESTINATION_MAX_ACTIVE: '20',
      },
    });
    await smsc.waitForBinds(1);
    const api = crossline.api;
    const bob = await api().post('/v1/users').send({ displayName: 'Bob Smith', phones: [{ number: '+1 202 555 0123', label: 'mobile' }], timeZone: 'America/New_York' });
    assert.equal(bob.status, 201, JSON.stringify(bob.body));
    bobId = bob.body.id as string;
    const eve = await api().post('/v1/users').send({ displayName: 'Eve Jones', phones: [{ number: EVE, label: 'mobile' }] });
    assert.equal(eve.status, 201, JSON.stringify(eve.body));
    const grace = await api().post('/v1/contacts').send({ displayName: 'Grace Hopper', phones: [{ number: '+1 202 555 0101', label: 'mobile' }] });
    assert.equal(grace.status, 201, JSON.stringify(grace.body));
  });

  after(async () => {
    await crossline?.close();
    await smsc?.close();
  });

  it('a phone number is verified by a code sent to it by SMS and texted back; then call-attempt alerts may go to it', async () => {
    const api = crossline.api;
    const early = await api().post('/v1/alerts/interests').send({ userId: bobId, kind: 'callee', line: BOB, recipients: [{ channel: 'sms', address: BOB }] });
    assert.equal(early.status, 400, 'an unverified number is no alert recipient');
    const asked = await api().post(`/v1/users/${bobId}/verifications`).send({ channel: 'sms', address: '+1 202 555 0123' });
    assert.equal(asked.status, 202, JSON.stringify(asked.body));
    assert.equal(asked.body.address, BOB);
    const codeText = await waitForText(BOB, /verification code is \d{6}/);
    assert.equal(codeText.sourceAddr, '12025550199');
    const code = /verification code is (\d{6})/.exec(codeText.text)?.[1];
    assert.equal(await smsc.deliverMo(BOB, CROSSLINE_NUMBER, `verify ${code}`), 0);
    await waitForText(BOB, /this address is verified/);
    const user = await api().get(`/v1/users/${bobId}`);
    assert.equal(user.body.phones[0].verified, true);
    const interest = await api().post('/v1/alerts/interests').send({ userId: bobId, kind: 'callee', line: BOB, recipients: [{ channel: 'sms', address: '+1 202 555 0123' }] });
    assert.equal(interest.status, 201, JSON.stringify(interest.body));
    assert.deepEqual(interest.body.recipients, [{ channel: 'sms', address: BOB }]);
    const approved = await ops().post(`/v1/admin/alerts/interests/${interest.body.id}/approve`);
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
  });

  it('"call +1 202 555 0101" texted from the verified number places the callback; the replies and the alert for Bob\'s line go back by SMS', async () => {
    assert.equal(await smsc.deliverMo(BOB, CROSSLINE_NUMBER, 'call +1 202 555 0101'), 0);
    const reply = await waitForText(BOB, /^Calling .*0101.* now; your phone \(\+1 202 555 0123\) rings/);
    assert.equal(reply.dataCoding, 0);
    const list = await crossline.api().get('/v1/callbacks');
    const items = list.body.items as Array<{ id: string; caller: { endpoint: { number?: string } }; callee: { endpoint: { number?: string } } }>;
    assert.equal(items.length, 1);
    const callback = await crossline.get(items[0]!.id);
    assert.equal(JSON.stringify(callback).includes('+12025550101'), true);
    assert.equal(JSON.stringify(callback).includes(BOB), true);
    await waitForText(BOB, /You are connected with/, 20_000);
    // Bob registered interest in calls to his line: the callback's leg to it is one, told by SMS.
    await waitForText(BOB, /^Call from .* to \+12025550123 at /);
    // The SMSC reports the reply delivered: the operator sees it.
    assert.equal(await smsc.deliverReceipt(reply, 'DELIVRD'), 0);
    const sent = await ops().get('/v1/admin/sms').query({ to: BOB });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    const record = (sent.body.items as Array<{ id: string; status: string; purpose: string; parts: Array<{ smscMessageId?: string }> }>).find((m) => m.parts[0]?.smscMessageId === reply.messageId);
    assert.ok(record, JSON.stringify(sent.body));
    assert.equal(record.status, 'delivered');
    assert.equal(record.purpose, 'reply');
    const one = await ops().get(`/v1/admin/sms/${record.id}`);
    assert.equal(one.body.status, 'delivered');
    const missing = await ops().get('/v1/admin/sms/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'SMS_NOT_FOUND');
  });

  it('a line is proven the user\'s by a code texted to it (POST …/code {"via":"sms"}), at most one text a minute', async () => {
    const api = crossline.api;
    const line = '+12025550125';
    const interest = await api().post('/v1/alerts/interests').send({ userId: bobId, kind: 'callee', line, recipients: [{ channel: 'sms', address: BOB }] });
    assert.equal(interest.status, 201, JSON.stringify(interest.body));
    const sent = await api().post(`/v1/alerts/interests/${interest.body.id}/code`).send({ via: 'sms' });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    assert.deepEqual(sent.body, { calledLine: line, via: 'sms' });
    const text = await waitForText(line, /code for call alerts on this line is \d{6}/);
    const again = await api().post(`/v1/alerts/interests/${interest.body.id}/code`).send({ via: 'sms' });
    assert.equal(again.status, 429, JSON.stringify(again.body));
    const code = /is (\d{6})/.exec(text.text)?.[1];
    const verified = await api().post(`/v1/alerts/interests/${interest.body.id}/verify`).send({ code });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assert.equal(verified.body.verified, true);
    assert.equal(verified.body.verifiedBy, 'code');
  });

  it('"alert me when … calls" texted from the verified number registers alerts to that number, answered by SMS', async () => {
    assert.equal(await smsc.deliverMo(BOB, CROSSLINE_NUMBER, 'alert me when +1 202 555 0126 calls'), 0);
    await waitForText(BOB, /^Registered: .*\+1 202 555 0126/);
    const list = await crossline.api().get('/v1/alerts/interests');
    const interest = (list.body.items as Array<{ line: string; recipients: unknown[] }>).find((i) => i.line === '+12025550126');
    assert.deepEqual(interest?.recipients, [{ channel: 'sms', address: BOB }]);
  });

  it('the same text from an unverified number, or from a number nobody has, gets no call and no reply', async () => {
    const before = (await crossline.api().get('/v1/callbacks')).body.items.length as number;
    assert.equal(await smsc.deliverMo(EVE, CROSSLINE_NUMBER, 'call +1 202 555 0101'), 0);
    assert.equal(await smsc.deliverMo('+12025550188', CROSSLINE_NUMBER, 'call +1 202 555 0101'), 0);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal((await crossline.api().get('/v1/callbacks')).body.items.length, before);
    assert.equal(textsTo(EVE).length, 0);
    assert.equal(textsTo('+12025550188').length, 0);
  });
});
