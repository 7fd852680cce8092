import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChannelAddress, InboundMessage } from '../../src/channels/types.js';
import { isDisplayName, isSpeakableText } from '../../src/telephony/grammar.js';
import { directoryRig } from '../directory/fixture.js';
import { callbackServiceOnRedis } from '../fixtures/callback-service.js';

const OWNER = 'owner-real';
const BOB: ChannelAddress = { channel: 'xmpp', address: 'bob@im.example.com', resource: 'laptop' };

/** The messaging intake over the real callback domain (repository in Redis, toll-fraud policy, limits counted by a fake). */
async function realDomain(t: import('node:test').TestContext) {
  const rig = await directoryRig(t);
  const { service, repository, queued } = callbackServiceOnRedis(rig.redis, rig.prefix, { deniedPrefixes: ['+1900'] });
  rig.services.callbacks = service;
  const bob = await rig.directory.create('user', { displayName: 'Bob Smith', jids: ['bob@im.example.com'], phones: [{ number: '+12025550123' }], timeZone: 'Europe/Dublin' }, OWNER);
  await rig.directory.startVerification(bob.id, BOB, OWNER);
  await rig.directory.confirmVerification(bob.id, BOB, rig.sender.lastCode(BOB.address), OWNER);
  let m = 0;
  const say = async (text: string): Promise<string> => {
    const message: InboundMessage = { id: `stanza-${++m}`, from: BOB, to: { channel: 'xmpp', address: 'crossline@im.example.com' }, text, receivedAt: new Date(), thread: { messageId: 'thread-7' } };
    const replies = await rig.messaging.handle(message);
    return replies.map((r) => r.text).join('\n');
  };
  return { ...rig, repository, queued, bobId: bob.id, say };
}

describe('the messaging intake over the real callback domain', () => {
  test('ambiguity → choice → "2" → one callback stored and queued, with the requester and the thread', async (t) => {
    const c = await realDomain(t);
    await c.directory.create('contact', { displayName: 'Ada Lovelace', phones: [{ number: '+12025550101', label: 'mobile' }] }, OWNER);
    await c.directory.create('contact', { displayName: 'Ada Byron', phones: [{ number: '+12025550105', label: 'work' }] }, OWNER);
    assert.match(await c.say('call Ada'), /1 {2}Ada Lovelace .*\n2 {2}Ada Byron/);
    assert.equal(c.queued.length, 0);
    assert.match(await c.say('2'), /^Calling Ada Byron/);
    assert.equal(c.queued.length, 1);
    const stored = await c.repository.get(c.queued[0] ?? '');
    assert.ok(stored);
    assert.equal(stored.owner, OWNER);
    assert.deepEqual(stored.request.callee.endpoint, { kind: 'number', e164: '+12025550105', country: 'US' });
    assert.deepEqual(stored.request.caller.endpoint, { kind: 'number', e164: '+12025550123', country: 'US' });
    assert.deepEqual(stored.requester, { userId: c.bobId, address: BOB, thread: { messageId: 'thread-7' }, timeZone: 'Europe/Dublin' });
    assert.match(await c.say('status'), /Your call to Ada Byron is about to start/);
    assert.match(await c.say('cancel'), /Canceled your call to Ada Byron/);
    assert.equal((await c.repository.get(c.queued[0] ?? ''))?.status, 'canceled');
  });

  test('the toll-fraud policy applies unchanged: a denied or foreign number is refused with a reply, nothing stored', async (t) => {
    const c = await realDomain(t);
    assert.match(await c.say('call +1 900 555 0100'), /outside what this account is allowed to call\. Nothing was dialled\./);
    assert.match(await c.say('call +44 20 7946 0000'), /outside what this account is allowed to call/);
    assert.match(await c.say('call sip:eve@evil.example.net'), /outside what this account is allowed to call/);
    assert.equal(c.queued.length, 0);
  });

  test("announcements and names built from a contact's name pass the ESL grammars, whatever the name holds", async (t) => {
    const c = await realDomain(t);
    await c.directory.create('contact', { displayName: "Seán O'Brien", phones: [{ number: '+12025550106' }] }, OWNER);
    assert.match(await c.say("call Seán O'Brien"), /^Calling Seán O'Brien/);
    const stored = await c.repository.get(c.queued[0] ?? '');
    assert.ok(stored);
    assert.equal(stored.request.callee.name, 'Seán OBrien');
    assert.ok(isDisplayName(stored.request.callee.name ?? ''));
    assert.equal(stored.request.announce.caller, 'Connecting you to Seán OBrien.');
    assert.ok(isSpeakableText(stored.request.announce.caller ?? ''));
    assert.ok(isSpeakableText(stored.request.announce.callee ?? ''));
  });

  test('a time in the sender\'s zone becomes a scheduled callback at that instant', async (t) => {
    const c = await realDomain(t);
    await c.directory.create('contact', { displayName: 'Ada Lovelace', phones: [{ number: '+12025550101' }] }, OWNER);
    assert.match(await c.say('call Ada Lovelace tomorrow at 10:15'), /10:15 \(Europe\/Dublin\)/);
    const stored = await c.repository.get(c.queued[0] ?? '');
    assert.equal(stored?.status, 'scheduled');
    const local = new Date(stored?.request.at ?? '').toLocaleTimeString('en-GB', { timeZone: 'Europe/Dublin', hour: '2-digit', minute: '2-digit' });
    assert.equal(local, '10:15');
  });
});
