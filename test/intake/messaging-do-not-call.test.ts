/**
 * The owner's do-not-call list stops a call asked for by message too (the check is the callback
 * domain's): the sender is told why, nothing is stored or queued.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChannelAddress, InboundMessage } from '../../src/channels/types.js';
import { RedisDoNotCallList } from '../../src/store/index.js';
import { directoryRig } from '../directory/fixture.js';
import { callbackServiceOnRedis } from '../fixtures/callback-service.js';

const OWNER = 'owner-real';
const BOB: ChannelAddress = { channel: 'xmpp', address: 'bob@im.example.com', resource: 'laptop' };

test('"call +1 202 555 0101" by message, that number on the owner\'s do-not-call list: refused in words, nothing queued; off the list it is called', async (t) => {
  const rig = await directoryRig(t);
  const list = new RedisDoNotCallList(rig.redis, rig.prefix);
  const { service, queued } = callbackServiceOnRedis(rig.redis, rig.prefix, {}, { doNotCall: list });
  rig.services.callbacks = service;
  const bob = await rig.directory.create('user', { displayName: 'Bob Smith', jids: ['bob@im.example.com'], phones: [{ number: '+12025550123' }] }, OWNER);
  await rig.directory.startVerification(bob.id, BOB, OWNER);
  await rig.directory.confirmVerification(bob.id, BOB, rig.sender.lastCode(BOB.address), OWNER);
  let m = 0;
  const say = async (text: string): Promise<string> => {
    const message: InboundMessage = { id: `stanza-${++m}`, from: BOB, to: { channel: 'xmpp', address: 'crossline@im.example.com' }, text, receivedAt: new Date() };
    return (await rig.messaging.handle(message)).map((r) => r.text).join('\n');
  };

  await list.add(OWNER, '+12025550101');
  assert.match(await say('call +1 202 555 0101'), /I may not call that number: it is on this account's do-not-call list\./);
  assert.equal(queued.length, 0);
  await list.add('another-owner', '+12025550102');
  assert.match(await say('call +1 202 555 0102'), /^Calling/, 'another owner\'s list is not this one');
  assert.equal(queued.length, 1);
  await list.remove(OWNER, '+12025550101');
  assert.match(await say('call +1 202 555 0101'), /^Calling/);
  assert.equal(queued.length, 2);
});
