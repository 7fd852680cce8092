import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import type { CallbackInput, CreateOptions } from '../../src/callbacks/ports.js';
import type { ChannelAddress, InboundMessage } from '../../src/channels/types.js';
import type { Config } from '../../src/config/index.js';
import { FakeCallbackService } from '../api/helpers.js';
import { directoryRig, type DirectoryRig } from '../directory/fixture.js';

const OWNER = 'owner-a';
const BOB: ChannelAddress = { channel: 'email', address: 'bob@example.com' };
const BOT: ChannelAddress = { channel: 'email', address: 'call@crossline.example.com' };

interface Chat extends DirectoryRig {
  callbacks: FakeCallbackService;
  bobId: string;
  /** Sends `text` as Bob (or `from`) and returns the reply texts. */
  say(text: string, options?: { from?: ChannelAddress; subject?: string; id?: string }): Promise<string[]>;
  creates(): Array<{ input: CallbackInput; owner: string; options: CreateOptions }>;
}

async function chat(t: TestContext, config: Partial<Config> = {}): Promise<Chat> {
  const rig = await directoryRig(t, config);
  const callbacks = new FakeCallbackService();
  rig.services.callbacks = callbacks;
  const { directory, sender } = rig;
  const bob = await directory.create('user', {
    displayName: 'Bob Smith',
    emails: ['bob@example.com'],
    phones: [{ number: '+12025550123', label: 'mobile' }, { number: '+12025550124', label: 'work' }],
    timeZone: 'America/New_York',
  }, OWNER);
  await directory.startVerification(bob.id, BOB, OWNER);
  assert.equal((await directory.confirmVerification(bob.id, BOB, sender.lastCode(BOB.address), OWNER)).ok, true);
  await directory.create('contact', { displayName: 'Ada Lovelace', loginName: 'lovelace', emails: ['ada@example.com'], phones: [{ number: '+12025550101', label: 'mobile' }, { number: '+12025550102', label: 'work' }] }, OWNER);
  await directory.create('contact', { displayName: 'Ada Byron', phones: [{ number: '+12025550105', label: 'work' }] }, OWNER);
  await directory.create('contact', { displayName: 'Charles Babbage', aliases: ['Charlie'], sipUris: ['sip:charles@pbx.example.com'] }, OWNER);
  const say: Chat['say'] = async (text, options = {}) => {
    const message: InboundMessage = {
      id: options.id ?? `<${randomUUID()}@example.com>`,
      from: options.from ?? BOB,
      to: BOT,
      ...(options.subject !== undefined ? { subject: options.subject } : {}),
      text,
      receivedAt: new Date(),
      thread: { messageId: '<thread-1@example.com>', references: ['<thread-1@example.com>'] },
    };
    const replies = await rig.messaging.handle(message);
    for (const r of replies) {
      assert.deepEqual(r.to, message.from, 'a reply goes back to the sender');
      assert.ok(r.dedupKey.startsWith(`reply:${message.id}`), r.dedupKey);
      assert.deepEqual(r.thread, message.thread, 'the reply continues the thread');
      if (message.from.channel === 'email') assert.match(r.subject ?? '', /^Re: /);
      else assert.equal(r.subject, undefined, 'a chat reply has no subject');
    }
    return replies.map((r) => r.text);
  };
  const creates = (): ReturnType<Chat['creates']> =>
    callbacks.callsTo('create').map(([input, owner, options]) => ({ input: input as CallbackInput, owner: owner as string, options: options as CreateOptions }));
  return { ...rig, callbacks, bobId: bob.id, say, creates };
}

describe('the messaging intake', () => {
  test('"call Ada Lovelace" rings Ada first and Bob on his default number, as a callback that remembers who asked', async (t) => {
    const c = await chat(t);
    const [reply] = await c.say('call Ada Lovelace');
    assert.match(reply ?? '', /^Calling Ada Lovelace \(mobile, \+1 202 555 0101\) now; your phone \(\+1 202 555 0123\) rings/);
    const [created] = c.creates();
    assert.ok(created);
    assert.equal(created.owner, OWNER);
    assert.deepEqual(created.input.caller, { number: '+12025550123', name: 'Bob Smith' });
    assert.deepEqual(created.input.callee, { number: '+12025550101', name: 'Ada Lovelace' });
    assert.deepEqual(created.input.announce, { caller: 'Connecting you to Ada Lovelace.', callee: 'Please hold for Bob Smith.' });
    assert.deepEqual(created.options.requester, {
      userId: c.bobId,
      address: BOB,
      thread: { messageId: '<thread-1@example.com>', references: ['<thread-1@example.com>'] },
      timeZone: 'America/New_York',
    });
  });

  test('ambiguity is a numbered choice; "2" then places the call to the second, and nothing is dialled before', async (t) => {
    const c = await chat(t);
    const [choice] = await c.say('Please call Ada');
    assert.match(choice ?? '', /Which one do you mean\?\n1 {2}Ada Lovelace \(mobile, \+1 202 555 0101\)\n2 {2}Ada Byron \(work, \+1 202 555 0105\)\nReply with the number/);
    assert.equal(c.creates().length, 0, 'nothing is dialled on a guess');
    const [out] = await c.say('7');
    assert.match(out ?? '', /^Reply with a number from 1 to 2/);
    assert.equal(c.creates().length, 0);
    const [placed] = await c.say('2');
    assert.match(placed ?? '', /^Calling Ada Byron/);
    assert.equal(c.creates()[0]?.input.callee.number, '+12025550105');
    const [again] = await c.say('2');
    assert.match(again ?? '', /no list to pick number 2 from/, 'a choice is used once');
    assert.equal(c.creates().length, 1);
    const text = await c.metrics.metrics();
    assert.match(text, /crossline_messaging_calls_total\{outcome="choice-offered"\} 1/);
    assert.match(text, /crossline_messaging_calls_total\{outcome="accepted"\} 1/);
    assert.match(text, /crossline_messaging_commands_total\{command="choose"\} 3/);
  });

  test('a misspelt name is never dialled directly: it is offered as a choice first', async (t) => {
    const c = await chat(t);
    const [choice] = await c.say('call Ada Lovelce');
    assert.match(choice ?? '', /1 {2}Ada Lovelace/);
    assert.equal(c.creates().length, 0);
    await c.say('1');
    assert.equal(c.creates()[0]?.input.callee.number, '+12025550101');
  });

  test('the caller leg: "from my work phone" and "on <one of my numbers>" choose it; a number not his is refused', async (t) => {
    const c = await chat(t);
    await c.say('call Ada Lovelace from my work phone');
    assert.equal(c.creates()[0]?.input.caller.number, '+12025550124');
    await c.say('call Ada Lovelace on (202) 555-0124');
    assert.equal(c.creates()[1]?.input.caller.number, '+12025550124');
    const [refused] = await c.say('call Ada Lovelace on +1 202 555 0199');
    assert.match(refused ?? '', /I can only ring your own numbers .* Nothing was dialled/);
    const [noHome] = await c.say('call Ada Lovelace from my home phone');
    assert.match(noHome ?? '', /You have no home number saved/);
    assert.equal(c.creates().length, 2);
  });

  test('the named forms resolve: number, national number, e-mail, login, label, SIP URI, alias', async (t) => {
    const c = await chat(t);
    const expectations: Array<[string, { number?: string; sipUri?: string }]> = [
      ['call +1 202 555 0101', { number: '+12025550101' }],
      ['call (202) 555-0101', { number: '+12025550101' }],
      ['call ada@example.com', { number: '+12025550101' }],
      ['call lovelace', { number: '+12025550101' }],
      ["call Ada Lovelace's work phone", { number: '+12025550102' }],
      ['call sip:charles@pbx.example.com', { sipUri: 'sip:charles@pbx.example.com' }],
      ['ring Charlie', { sipUri: 'sip:charles@pbx.example.com' }],
    ];
    for (const [text, callee] of expectations) {
      const before = c.creates().length;
      const replies = await c.say(text);
      assert.equal(c.creates().length, before + 1, `${text} → ${replies.join(' | ')}`);
      const input = c.creates().at(-1)?.input;
      assert.equal(input?.callee.number, callee.number, text);
      assert.equal(input?.callee.sipUri, callee.sipUri, text);
    }
  });

  test('"call ada" names the login "ada" exactly, which wins over the first name Ada of someone else', async (t) => {
    const c = await chat(t);
    const lovelace = (await c.directory.everyone(OWNER)).find((p) => p.displayName === 'Ada Lovelace');
    assert.ok(lovelace);
    await c.directory.replace('contact', lovelace.id, { displayName: 'Ada Lovelace', loginName: 'ada', phones: [{ number: '+12025550101' }] }, OWNER);
    await c.say('call ada');
    assert.equal(c.creates().length, 1);
    assert.equal(c.creates()[0]?.input.callee.name, 'Ada Lovelace');
  });

  test('times are read in the sender\'s zone and stored as instants; past, unreadable and too-far times are refused', async (t) => {
    const c = await chat(t, { maxScheduleDays: 30 });
    const [later] = await c.say('call Ada Lovelace tomorrow at 9am');
    assert.match(later ?? '', /^OK: I will call Ada Lovelace .* on \w{3} \d+ \w{3}, 09:00 \(America\/New_York\)/);
    const at = c.creates()[0]?.input.at;
    assert.ok(at);
    const local = new Date(at).toLocaleString('en-US', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit', hour12: false });
    assert.equal(local, '09:00');
    const [bad] = await c.say('call Ada Lovelace at 25:99');
    assert.match(bad ?? '', /I could not read the time "at 25:99"/);
    const [far] = await c.say('call Ada Lovelace in 40 days at 10am');
    assert.match(far ?? '', /more than 30 days ahead/);
    const [noHour] = await c.say('call Ada Lovelace tomorrow');
    assert.match(noHour ?? '', /At what time tomorrow\?/);
    assert.equal(c.creates().length, 1);
  });

  test('"status" and "cancel" act on the last call of the conversation', async (t) => {
    const c = await chat(t);
    await c.say('call Ada Lovelace');
    const [status] = await c.say('status');
    assert.match(status ?? '', /Your call to Ada Lovelace is about to start/);
    const [canceled] = await c.say('cancel');
    assert.match(canceled ?? '', /Canceled your call to Ada Lovelace/);
    assert.equal(c.callbacks.callsTo('cancel').length, 1);
    const [again] = await c.say('cancel');
    assert.match(again ?? '', /already finished/);
  });

  test('an expired or never-started conversation gets a clear reply to "2", "status" and "cancel"', async (t) => {
    const c = await chat(t);
    for (const text of ['2', 'status', 'cancel']) {
      const [reply] = await c.say(text);
      assert.match(reply ?? '', /conversations are kept for 60 minutes, and this one has expired or never started/, text);
    }
    assert.equal(c.callbacks.calls.length, 0);
  });

  test('a name matching nothing, and text that is not a command, get a reply and no call', async (t) => {
    const c = await chat(t);
    const [nobody] = await c.say('call Zebedee');
    assert.match(nobody ?? '', /I have nobody called Zebedee/);
    const [foreign] = await c.say('Bitte rufen Sie Ada an');
    assert.match(foreign ?? '', /^Sorry, I did not understand that/);
    assert.match(foreign ?? '', /call Ada from my work phone/);
    assert.equal(c.creates().length, 0);
  });

  test('an address no user has verified gets no reply and no call (no backscatter)', async (t) => {
    const c = await chat(t);
    const replies = await c.say('call +1 202 555 0101', { from: { channel: 'email', address: 'mallory@example.net' } });
    assert.deepEqual(replies, []);
    await c.directory.create('user', { displayName: 'Eve', emails: ['eve@example.com'], phones: [{ number: '+12025550130' }] }, OWNER);
    assert.deepEqual(await c.say('call Ada Lovelace', { from: { channel: 'email', address: 'eve@example.com' } }), [], 'unverified is not trusted');
    assert.equal(c.creates().length, 0);
  });

  test('a code answered on the channel verifies the address, and then the user may ask for calls', async (t) => {
    const c = await chat(t);
    const jid: ChannelAddress = { channel: 'xmpp', address: 'carol@im.example.com', resource: 'phone' };
    const carol = await c.directory.create('user', { displayName: 'Carol', jids: ['carol@im.example.com'], phones: [{ number: '+12025550140' }] }, OWNER);
    assert.equal(await c.directory.standing(jid), 'unverified');
    await c.directory.startVerification(carol.id, jid, OWNER);
    const code = c.sender.lastCode('carol@im.example.com');
    const [wrong] = await c.say(`verify ${code === '111111' ? '222222' : '111111'}`, { from: jid });
    assert.match(wrong ?? '', /That code is not right/);
    const [ok] = await c.say(`verify ${code}`, { from: jid });
    assert.match(ok ?? '', /this address is verified/);
    assert.equal(await c.directory.standing(jid), 'verified');
    assert.equal((await c.directory.findUserByAddress(jid))?.user.id, carol.id);
    await c.say('call Ada Lovelace', { from: jid });
    assert.equal(c.creates()[0]?.input.caller.number, '+12025550140');
    assert.deepEqual(c.creates()[0]?.options.requester?.address, jid);
  });

  test('a message delivered twice is answered twice the same way and places one call', async (t) => {
    const c = await chat(t);
    const first = await c.say('call Ada Lovelace', { id: '<dup@example.com>' });
    const second = await c.say('call Ada Lovelace', { id: '<dup@example.com>' });
    assert.deepEqual(second, first);
    assert.equal(c.creates().length, 1);
  });

  test('a sender over its message limit gets one "slow down" reply, then silence, and no call', async (t) => {
    const c = await chat(t, { messagesPerSenderPerMinute: 3 });
    for (let i = 0; i < 3; i++) await c.say('help');
    const [slow] = await c.say('call Ada Lovelace');
    assert.match(slow ?? '', /faster than I can take them/);
    assert.deepEqual(await c.say('call Ada Lovelace'), []);
    assert.equal(c.creates().length, 0);
  });

  test('the subject is read when the body holds no command (e-mail "Re:"/"Fwd:" prefixes off)', async (t) => {
    const c = await chat(t);
    await c.say('', { subject: 'Fwd: call Ada Lovelace' });
    assert.equal(c.creates().length, 1);
    await c.say('Hi,\n\nstatus please\n\nThanks,\nBob', { subject: 'Re: call Ada Lovelace' });
    assert.equal(c.creates().length, 1, 'the body\'s "status" wins over the subject');
  });

  test('a refusal of the domain (toll-fraud policy) becomes a reply, not an error', async (t) => {
    const c = await chat(t);
    const { CrosslineError } = await import('../../src/errors.js');
    c.callbacks.failCreate = new CrosslineError('DESTINATION_NOT_ALLOWED');
    const [reply] = await c.say('call +44 20 7946 0000');
    assert.match(reply ?? '', /outside what this account is allowed to call\. Nothing was dialled\./);
  });
});
