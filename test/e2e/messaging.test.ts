// @parallel: in-process Crossline on the simulator only, mostly waiting (test/run-suite.sh)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ParsedMail } from 'mailparser';
import { createChannelsModule } from '../../src/channels/module.js';
import { CAPABILITY_MODULES } from '../../src/runtime/modules/index.js';
import { freePort } from '../../src/store/embedded-redis.js';
import { startHarness, type Harness } from '../support/harness.js';
import { sendMail, startSmtpSink, testDomain, testResolver, type SmtpSink, type TestDomain } from '../support/mail.js';
import { prosodyUnavailable, startProsody, type LocalProsody } from '../support/prosody.js';
import { connectTestUser, xml, type TestXmppUser } from '../support/xmpp-client.js';

/**
 * "Call X" by e-mail and by instant message over real parts: Crossline's own SMTP server, a DKIM
 * check against the test's published key, the directory and conversation, BullMQ, the ESL
 * simulator, a real SMTP relay (the sink) for the replies, and a private Prosody for IM.
 */
const skip = prosodyUnavailable();
const MAILBOX = 'crossline@crossline.test';

describe('messaging end to end: e-mail and XMPP requests place calls and get threaded replies', { skip }, () => {
  let crossline: Harness;
  let sink: SmtpSink;
  let prosody: LocalProsody;
  let example: TestDomain;
  let smtpPort: number;
  let bob: TestXmppUser;
  let userId: string;

  const textOf = (mail: ParsedMail): string => mail.text ?? '';
  const toOf = (mail: ParsedMail): string => (Array.isArray(mail.to) ? mail.to[0]?.text : mail.to?.text) ?? '';

  before(async () => {
    example = testDomain('example.com');
    sink = await startSmtpSink();
    prosody = await startProsody();
    prosody.addAccount('crossline', 'bot-secret');
    prosody.addAccount('bob', 'bob-secret');
    smtpPort = await freePort();
    const modules = CAPABILITY_MODULES.map((m) => (m.name === 'channels' ? createChannelsModule({ resolver: testResolver(example) }) : m));
    crossline = await startHarness({
      modules,
      env: {
        SMTP_ENABLED: 'true',
        SMTP_PORT: String(smtpPort),
        SMTP_RELAY_URL: sink.url,
        EMAIL_ADDRESS: MAILBOX,
        XMPP_URL: prosody.service,
        XMPP_JID: `crossline@${prosody.domain}`,
        XMPP_PASSWORD: 'bot-secret',
        // Bob's phone is in every call of this file, and the simulated calls stay up.
        DESTINATION_MAX_ACTIVE: '20',
      },
    });
    const api = crossline.api;
    const user = await api()
      .post('/v1/users')
      .send({
        displayName: 'Bob Smith',
        emails: ['bob@example.com'],
        jids: [`bob@${prosody.domain}`],
        phones: [{ number: '+1 202 555 0100', label: 'mobile' }],
        timeZone: 'America/New_York',
      });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    userId = user.body.id as string;
    for (const body of [
      { displayName: 'Grace Hopper', phones: [{ number: '+1 202 555 0101', label: 'mobile' }] },
      { displayName: 'Ada Lovelace', phones: [{ number: '+1 202 555 0102', label: 'mobile' }] },
      { displayName: 'Ada Byron', phones: [{ number: '+1 202 555 0103', label: 'work' }] },
    ]) {
      const res = await api().post('/v1/contacts').send(body);
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    // Verify Bob's e-mail: the code goes out through the message queue and the relay.
    const asked = await api().post(`/v1/users/${userId}/verifications`).send({ channel: 'email', address: 'bob@example.com' });
    assert.ok(asked.status < 300, JSON.stringify(asked.body));
    const codeMail = await sink.waitFor((m) => /verification code is \d{6}/.test(textOf(m)));
    const code = /verification code is (\d{6})/.exec(textOf(codeMail))?.[1];
    const confirmed = await api().post(`/v1/users/${userId}/verifications/confirm`).send({ channel: 'email', address: 'bob@example.com', code });
    assert.ok(confirmed.status < 300, JSON.stringify(confirmed.body));
  });

  after(async () => {
    await bob?.stop();
    await crossline?.close();
    await sink?.close();
    await prosody?.stop();
  });

  it('a DKIM-signed "call Grace" sent to the SMTP port places the call, and "connected" arrives as a reply in the same thread', async () => {
    await sendMail(smtpPort, { from: 'Bob Smith <bob@example.com>', to: MAILBOX, subject: 'call Grace', text: 'call Grace\n\n-- \nBob', signWith: example, messageId: '<bob-1@example.com>' });
    const first = await sink.waitFor((m) => m.inReplyTo === '<bob-1@example.com>');
    assert.equal(toOf(first), 'bob@example.com');
    assert.equal(first.subject, 'Re: call Grace');
    assert.deepEqual(first.references, '<bob-1@example.com>');
    const connected = await sink.waitFor((m) => m.inReplyTo === '<bob-1@example.com>' && /connected with Grace/i.test(textOf(m)), 20_000);
    assert.match(String(connected.html), /connected with Grace/i);
    const list = await crossline.api().get('/v1/callbacks');
    const callback = (list.body.items as Array<{ id: string; callee: { endpoint: unknown } }>)[0];
    assert.ok(callback);
    const view = await crossline.get(callback.id);
    assert.ok(['bridged', 'completed'].includes(view.status), view.status);
  });

  it('an unsigned e-mail claiming to be from Bob gets no call and no reply', async () => {
    const before = (await crossline.api().get('/v1/callbacks')).body.items.length as number;
    const mailsBefore = sink.received.length;
    await sendMail(smtpPort, { from: 'bob@example.com', to: MAILBOX, subject: 'call Ada Lovelace', text: 'call Ada Lovelace', messageId: '<forged-1@example.com>' });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await crossline.api().get('/v1/callbacks')).body.items.length, before);
    assert.equal(sink.received.filter((m) => m.inReplyTo === '<forged-1@example.com>').length, 0);
    assert.equal(sink.received.length, mailsBefore);
  });

  it('an ambiguous name gets a numbered choice; replying "2" in the thread calls the second', async () => {
    await sendMail(smtpPort, { from: 'bob@example.com', to: MAILBOX, subject: 'call Ada', text: 'call Ada', signWith: example, messageId: '<bob-2@example.com>' });
    const choice = await sink.waitFor((m) => m.inReplyTo === '<bob-2@example.com>');
    assert.match(textOf(choice), /1 .*Ada/);
    assert.match(textOf(choice), /2 .*Ada/);
    const second = /2\s+(Ada \w+)/.exec(textOf(choice))?.[1];
    assert.ok(second, textOf(choice));
    await sendMail(smtpPort, {
      from: 'bob@example.com',
      to: MAILBOX,
      subject: 'Re: call Ada',
      text: `2\n\nOn Mon, Crossline <${MAILBOX}> wrote:\n> ${textOf(choice).split('\n').join('\n> ')}`,
      signWith: example,
      messageId: '<bob-3@example.com>',
      inReplyTo: choice.messageId!,
      references: ['<bob-2@example.com>', choice.messageId!],
    });
    const calling = await sink.waitFor((m) => m.inReplyTo === '<bob-3@example.com>' && new RegExp(second, 'i').test(textOf(m)), 20_000);
    assert.match(textOf(calling), new RegExp(second));
  });

  it('the same request from Bob on XMPP gets its replies on XMPP, in the chat thread', async () => {
    // Online first: the test's Prosody keeps no offline messages.
    bob = await connectTestUser(prosody.service, prosody.domain, 'bob', 'bob-secret');
    const verify = await crossline.api().post(`/v1/users/${userId}/verifications`).send({ channel: 'xmpp', address: `bob@${prosody.domain}` });
    assert.ok(verify.status < 300, JSON.stringify(verify.body));
    const codeChat = await bob.waitFor((s) => s.is('message') && /verification code is \d{6}/.test(s.getChildText('body') ?? ''), 15_000);
    const code = /verification code is (\d{6})/.exec(codeChat.getChildText('body') ?? '')?.[1];
    await bob.send(xml('message', { to: `crossline@${prosody.domain}`, type: 'chat', id: 'v-1' }, xml('body', {}, `verify ${code}`)));
    await bob.waitFor((s) => s.is('message') && /verified/i.test(s.getChildText('body') ?? ''), 15_000);
    await bob.send(
      xml('message', { to: `crossline@${prosody.domain}`, type: 'chat', id: 'c-1' }, xml('body', {}, 'call Grace'), xml('thread', {}, 'chat-th-1'), xml('request', { xmlns: 'urn:xmpp:receipts' })),
    );
    await bob.waitFor((s) => s.getChild('received', 'urn:xmpp:receipts')?.attrs.id === 'c-1');
    const connected = await bob.waitFor((s) => s.is('message') && /connected with Grace/i.test(s.getChildText('body') ?? ''), 20_000);
    assert.equal(connected.getChildText('thread'), 'chat-th-1');
    assert.equal(connected.attrs.type, 'chat');
  });
});
