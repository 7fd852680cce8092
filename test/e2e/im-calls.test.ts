/**
 * Calls to a person's IM client over real servers: the inbound IVR runs in a whole Crossline
 * (simulator outbound-socket calls), the offer goes through the real XMPP channel and a private
 * Prosody to Ada's own client, her replies come back the same way; voicemail links are fetched
 * over HTTP from the running API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { prosodyUnavailable } from '../support/prosody.js';
import { startImWorld, type ImWorld } from '../support/im-user.js';

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
});
