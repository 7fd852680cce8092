// @parallel: in-process Crossline on the simulator only, mostly waiting (test/run-suite.sh)
/**
 * Calls to a person's IM client over real servers: the inbound IVR runs in a whole Crossline
 * (simulator outbound-socket calls), the offer goes through the real XMPP channel and a private
 * Prosody to Ada's own client, her replies come back the same way; voicemail links are fetched
 * over HTTP from the running API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { prosodyUnavailable } from '../support/prosody.js';
import { answerDisco, startImWorld, type ImWorld } from '../support/im-user.js';
import { connectTestUser, xml, type TestXmppUser } from '../support/xmpp-client.js';

const skip = prosodyUnavailable();
const DID = '+12025550300';

describe('IM calls end to end: XMPP offer, reply, bridge or voicemail link', { skip }, () => {
  let world: ImWorld;

  before(async () => {
    world = await startImWorld();
    const put = await world.crossline.api().put(`/v1/users/${world.adaId}/inbound-profile`).send({
      alias: 'Ada Lovelace', dids: [DID], imAddress: world.ada.jid, email: 'ada@example.com',
      destinations: { sip: 'sip:ada@127.0.0.1' }, default: { target: 'im', alternate: 'voicemail' }, ringSeconds: 5,
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    // Her softphone is registered on the switch: accepted calls go to it.
    world.crossline.sim.registerSipUser('ada@127.0.0.1');
  });

  after(async () => {
    await world?.close();
  });

  const bridgedLeg = async (uuid: string): Promise<string> => {
    for (let i = 0; i < 500; i++) {
      const leg = world.crossline.sim.channels().find((c) => c.uuid === uuid)?.bridgedTo;
      if (leg !== undefined) return leg;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('the caller was never bridged');
  };

  it('the offer reaches Ada\'s client; she replies 1 and the caller is bridged to her softphone', async () => {
    const { crossline, ada } = world;
    const uuid = await crossline.sim.inboundCall({ from: '+12025550101', to: DID, socket: world.socket, caller: { keys: ['1'] } });
    const offer = await world.chat((b) => b.startsWith('Incoming call'));
    assert.equal(offer, 'Incoming call from +12025550101 on +12025550300 — reply 1 to accept, 9 to send to voicemail.');
    await world.say('1');
    await world.chat((b) => b.startsWith('Connecting the call from +12025550101'));
    const leg = await bridgedLeg(uuid);
    assert.equal(crossline.sim.channels().find((c) => c.uuid === leg)?.destination, 'sofia/external/ada@127.0.0.1');
    crossline.sim.remoteHangup(uuid);
    assert.ok(ada.stanzas.length > 0);
  });

  it('no reply: the caller leaves a voicemail and Ada gets it as an IM link that serves the WAV', async () => {
    const { crossline } = world;
    const before = world.ada.stanzas.length;
    await crossline.sim.inboundCall({ from: '+12025550102', to: DID, socket: world.socket, caller: { keys: ['1'], talkMs: 3000 } });
    await world.chat((b) => b.startsWith('Incoming call from +12025550102'));
    await world.chat((b) => b.startsWith('Missed call from +12025550102 (no reply)'), 20_000);
    const vm = await world.chat((b) => b.startsWith('Voicemail from +12025550102'), 20_000);
    assert.ok(world.ada.stanzas.length > before);
    const link = /(https?:\/\/\S+)$/.exec(vm)?.[1];
    assert.ok(link, vm);
    assert.ok(link.startsWith(crossline.runtime.apiUrl ?? '-'), `the link points at the running API (${link})`);
    const media = await fetch(link);
    assert.equal(media.status, 200);
    assert.equal(media.headers.get('content-type'), 'audio/wav');
    const bytes = Buffer.from(await media.arrayBuffer());
    assert.equal(bytes.subarray(0, 4).toString(), 'RIFF');
    assert.equal(bytes.subarray(8, 12).toString(), 'WAVE');
    const forged = await fetch(link.replace(/sig=[^&]+/, `sig=${'A'.repeat(43)}`));
    assert.equal(forged.status, 404);
  });

  it('a client that takes XEP-0004 forms (disco#info) gets Accept / Send-to-voicemail buttons; a button and a plain "9 2" answer two calls at once', async () => {
    const { crossline, prosody } = world;
    // Ada's desk client: forms supported, preferred over the laptop (priority 10).
    const desk: TestXmppUser = await connectTestUser(prosody.service, prosody.domain, 'ada', 'ada-secret', 'desk', { available: false });
    try {
      answerDisco(desk, ['http://jabber.org/protocol/disco#info', 'jabber:x:data', 'urn:xmpp:receipts']);
      await desk.send(xml('presence', {}, xml('priority', {}, '10')));
      // A chat round trip from the desk proves the bot has read its presence.
      await desk.send(xml('message', { to: world.bot, type: 'chat', id: 'desk-1' }, xml('body', {}, 'help')));
      await desk.waitFor((s) => s.is('message') && (s.getChildText('body') ?? '').includes('status'));
      // The bot says what it understands (XEP-0030): forms and receipts.
      const info = await desk.client.iqCaller.request(xml('iq', { type: 'get', to: `${world.bot}/crossline` }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
      const features = info.getChild('query', 'http://jabber.org/protocol/disco#info')?.getChildren('feature').map((f) => f.attrs.var) ?? [];
      assert.ok(features.includes('jabber:x:data') && features.includes('urn:xmpp:receipts'), JSON.stringify(features));

      const first = await crossline.sim.inboundCall({ from: '+12025550103', to: DID, socket: world.socket, caller: { keys: ['1'] } });
      const offer1 = await desk.waitFor((s) => s.is('message') && (s.getChildText('body') ?? '').startsWith('Incoming call from +12025550103'));
      await crossline.sim.inboundCall({ from: '+12025550104', to: DID, socket: world.socket, caller: { keys: ['1'], talkMs: 2000 } });
      const offer2 = await desk.waitFor((s) => s.is('message') && (s.getChildText('body') ?? '').startsWith('Incoming call from +12025550104'));
      assert.equal(offer1.attrs.to, `${world.ada.jid}/desk`, 'the offer goes to the resource that takes forms');
      assert.match(offer2.getChildText('body') ?? '', /reply "1 2" to accept, "9 2" to send to voicemail\.$/);
      const form = offer1.getChild('x', 'jabber:x:data');
      assert.ok(form, 'the offer carries a data form');
      assert.equal(form.attrs.type, 'form');
      const fields = new Map(form.getChildren('field').map((f) => [f.attrs.var, f]));
      assert.equal(fields.get('FORM_TYPE')?.getChildText('value'), 'urn:crossline:call-offer');
      assert.deepEqual(fields.get('answer')?.getChildren('option').map((o) => o.getChildText('value')), ['accept', 'voicemail']);
      const ref = fields.get('ref')?.getChildText('value') ?? '';

      // "9 2" in plain words still works next to the buttons.
      await desk.send(xml('message', { to: world.bot, type: 'chat', id: 'desk-2' }, xml('body', {}, '9 2')));
      await desk.waitFor((s) => (s.getChildText('body') ?? '') === 'The call from +12025550104 goes to voicemail.');

      const submit = (answer: string): ReturnType<typeof xml> => xml('message', { to: world.bot, type: 'normal', id: `form-${answer}` }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
        xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'urn:crossline:call-offer')),
        xml('field', { var: 'ref', type: 'hidden' }, xml('value', {}, ref)),
        xml('field', { var: 'answer' }, xml('value', {}, answer))));
      // Someone else pressing "Accept" with this offer's ref: not Ada, so nothing happens and no reply.
      prosody.addAccount('eve', 'eve-secret');
      const eve = await connectTestUser(prosody.service, prosody.domain, 'eve', 'eve-secret');
      try {
        await eve.send(submit('accept'));
        await eve.send(xml('message', { to: world.bot, type: 'chat', id: 'eve-1' }, xml('body', {}, 'help')));
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(eve.stanzas.filter((st) => st.is('message')).length, 0, 'no reply to a stranger');
      } finally {
        await eve.stop();
      }
      assert.equal(crossline.sim.channels().find((c) => c.uuid === first)?.bridgedTo, undefined, 'the call is not bridged by a stranger');
      await desk.send(submit('accept'));
      await desk.waitFor((s) => (s.getChildText('body') ?? '') === 'Connecting the call from +12025550103 to you.');
      const leg = await bridgedLeg(first);
      assert.equal(crossline.sim.channels().find((c) => c.uuid === leg)?.destination, 'sofia/external/ada@127.0.0.1');
      // The same button pressed again changes nothing.
      await desk.send(submit('voicemail'));
      await desk.waitFor((s) => (s.getChildText('body') ?? '') === 'The call from +12025550103 was already answered.');
      // Messages to the bare JID go to the preferred resource: the desk.
      await desk.waitFor((s) => (s.getChildText('body') ?? '').startsWith('Voicemail from +12025550104'), 20_000);
      crossline.sim.remoteHangup(first);
    } finally {
      await desk.stop();
    }
  });
});
