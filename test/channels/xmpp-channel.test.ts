import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { XmppChannel, type ChatMessage, type PresenceChange } from '../../src/channels/index.js';
import type { ChannelAddress, SenderStanding } from '../../src/channels/types.js';
import { prosodyUnavailable, startProsody, type LocalProsody } from '../support/prosody.js';
import { connectTestUser, xml, type TestXmppUser } from '../support/xmpp-client.js';

const skip = prosodyUnavailable();

describe('XMPP channel on a real Prosody', { skip }, () => {
  let prosody: LocalProsody;
  let bot: XmppChannel;
  let ada: TestXmppUser;
  let eve: TestXmppUser;
  const chats: ChatMessage[] = [];
  const changes: PresenceChange[] = [];

  before(async () => {
    prosody = await startProsody();
    prosody.addAccount('crossline', 'bot-secret');
    prosody.addAccount('ada', 'ada-secret');
    prosody.addAccount('eve', 'eve-secret');
    const standings: Record<string, SenderStanding> = { [`ada@${prosody.domain}`]: 'verified' };
    bot = new XmppChannel({
      service: prosody.service,
      jid: `crossline@${prosody.domain}`,
      password: 'bot-secret',
      senders: { standing: async (a: ChannelAddress) => standings[a.address] ?? 'unknown' },
      logger: pino({ level: 'silent' }),
    });
    bot.onChat((m) => chats.push(m));
    bot.onPresence((c) => changes.push(c));
    await bot.start();
    assert.equal(bot.status().connected, true);
    ada = await connectTestUser(prosody.service, prosody.domain, 'ada', 'ada-secret');
    eve = await connectTestUser(prosody.service, prosody.domain, 'eve', 'eve-secret');
  });

  after(async () => {
    await ada?.stop();
    await eve?.stop();
    await bot?.close();
    await prosody?.stop();
  });

  it('accepts the subscription of a verified user, subscribes back and tracks her presence per resource', async () => {
    await ada.send(xml('presence', {}, xml('show', {}, 'chat'), xml('priority', {}, '5')));
    await ada.send(xml('presence', { to: `crossline@${prosody.domain}`, type: 'subscribe' }));
    await ada.waitFor((s) => s.is('presence') && s.attrs.type === 'subscribed');
    // The bot asks back; accepting lets the server send Ada's presence to the bot.
    await ada.waitFor((s) => s.is('presence') && s.attrs.type === 'subscribe');
    await ada.send(xml('presence', { to: `crossline@${prosody.domain}`, type: 'subscribed' }));
    await ada.send(xml('presence', {}, xml('show', {}, 'chat'), xml('priority', {}, '5')));
    await waitUntil(() => bot.isAvailable(`ada@${prosody.domain}`));
    const [phone] = bot.presence(`Ada@${prosody.domain}`);
    assert.equal(phone?.resource, 'phone');
    assert.equal(phone?.show, 'chat');
    assert.equal(phone?.priority, 5);
    await ada.send(xml('presence', {}, xml('show', {}, 'dnd')));
    await waitUntil(() => bot.presence(`ada@${prosody.domain}`)[0]?.show === 'dnd');
    assert.equal(bot.isAvailable(`ada@${prosody.domain}`, { reachable: true }), false);
    await ada.send(xml('presence', { type: 'unavailable' }));
    await waitUntil(() => !bot.isAvailable(`ada@${prosody.domain}`));
    assert.ok(changes.some((c) => c.jid === `ada@${prosody.domain}` && c.presence === undefined));
    await ada.send(xml('presence'));
  });

  it('refuses the subscription of an address no verified user has', async () => {
    await eve.send(xml('presence', { to: `crossline@${prosody.domain}`, type: 'subscribe' }));
    await eve.waitFor((s) => s.is('presence') && s.attrs.type === 'unsubscribed');
  });

  it('hands chat messages to its listeners, acknowledges receipts where asked, and replies to the resource in the thread', async () => {
    await ada.send(
      xml('message', { to: `crossline@${prosody.domain}`, type: 'chat', id: 'msg-1' }, xml('body', {}, 'call Grace'), xml('thread', {}, 'th-1'), xml('request', { xmlns: 'urn:xmpp:receipts' })),
    );
    const receipt = await ada.waitFor((s) => s.is('message') && s.getChild('received', 'urn:xmpp:receipts') !== undefined);
    assert.equal(receipt.getChild('received', 'urn:xmpp:receipts')?.attrs.id, 'msg-1');
    await waitUntil(() => chats.some((c) => c.id === 'msg-1'));
    const chat = chats.find((c) => c.id === 'msg-1')!;
    assert.deepEqual(chat.from, { channel: 'xmpp', address: `ada@${prosody.domain}`, resource: 'phone' });
    assert.equal(chat.body, 'call Grace');
    assert.equal(chat.thread, 'th-1');
    await bot.send({ to: chat.from, text: 'Calling Grace now.', thread: { messageId: 'th-1' }, dedupKey: 'reply:msg-1:0' });
    const reply = await ada.waitFor((s) => s.is('message') && s.getChildText('body') === 'Calling Grace now.');
    assert.equal(reply.attrs.type, 'chat');
    assert.equal(reply.getChildText('thread'), 'th-1');
  });

  it('cuts a huge body before listeners see it and says how long it was', async () => {
    const big = 'x'.repeat(100_000);
    await ada.send(xml('message', { to: `crossline@${prosody.domain}`, type: 'chat', id: 'big-1' }, xml('body', {}, big)));
    await waitUntil(() => chats.some((c) => c.id === 'big-1'));
    const chat = chats.find((c) => c.id === 'big-1')!;
    assert.equal(chat.receivedLength, 100_000);
    assert.ok(chat.body.length <= 4096);
  });

  it('reconnects after the connection drops and is online again', async () => {
    // Closing the TCP socket under the client is what a server restart or a network cut does.
    const socket = (bot as unknown as { client: { socket: { destroy(): void } } }).client.socket;
    socket.destroy();
    await waitUntil(() => !bot.status().connected, 5000);
    await waitUntil(() => bot.status().connected, 15_000);
  });
});

async function waitUntil(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
