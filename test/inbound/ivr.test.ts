/**
 * Calls to a person wherever they are, end to end over the simulator's outbound-socket calls: the
 * profile is set over REST, a scripted caller dials the user's number, the IVR asks for the PIN
 * and "press 1", the IM offer goes out, the user's reply bridges the call or sends it to
 * voicemail, and the voicemail is delivered once (IM link when online, e-mail attachment when not).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import request from 'supertest';
import { WEEKDAYS } from '../../src/inbound/types.js';
import { auth, startInbound, type InboundRig } from './harness.js';

const DID = '+12025550300';
const ADA = { jid: 'ada@im.example.com', email: 'ada@example.com' };

function knowAda(rig: InboundRig, id = 'ada', jid = ADA.jid, email = ADA.email): void {
  rig.users.set(id, { exists: true, timeZone: 'America/New_York', verifiedJids: [jid], verifiedEmails: [email] });
}

async function putProfile(rig: InboundRig, userId: string, body: Record<string, unknown>): Promise<request.Response> {
  return request(rig.app).put(`/v1/users/${userId}/inbound-profile`).set(auth).send(body);
}

const adaProfile = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  alias: 'Ada Lovelace', dids: [DID], imAddress: ADA.jid, email: ADA.email,
  destinations: { sip: 'sip:ada@127.0.0.1', mobile: '+12025550123' },
  default: { target: 'im', alternate: 'voicemail' }, ringSeconds: 10, ...extra,
});

const simChannel = (rig: InboundRig, uuid: string): ReturnType<InboundRig['sim']['channels']>[number] | undefined => rig.sim.channels().find((c) => c.uuid === uuid);

describe('inbound calls to an IM user', () => {
  it('call → PIN → 1 → IM offer → "1" → bridged to the user\'s registered softphone', async (t) => {
    const rig = await startInbound(t);
    knowAda(rig);
    rig.users.set('bob', { exists: true, verifiedJids: ['bob@im.example.com'], verifiedEmails: [] });
    assert.equal((await putProfile(rig, 'ada', adaProfile({ pin: '4321' }))).status, 200);
    const bob = await putProfile(rig, 'bob', { alias: 'Bob', dids: [DID], pin: '1234', imAddress: 'bob@im.example.com' });
    assert.equal(bob.status, 200, JSON.stringify(bob.body));
    rig.channels.setOnline(ADA.jid, true);
    rig.sim.registerSipUser('ada@127.0.0.1');

    const uuid = await rig.call('+12025550101', DID, { keys: ['4321#', '1'] });
    const offer = await rig.channels.next((m) => m.to.address === ADA.jid && m.text.startsWith('Incoming call'));
    assert.match(offer.text, /^Incoming call from \+12025550101 on \+12025550300 — reply 1 to accept, 9 to send to voicemail\.$/);
    assert.ok(!rig.channels.sent.some((m) => m.to.address === 'bob@im.example.com'), 'the other user on the shared number is not bothered');

    rig.channels.chat(ADA.jid, '1');
    await rig.channels.next((m) => m.to.address === ADA.jid && m.text.startsWith('Connecting the call'));
    let bridged: string | undefined;
    for (let i = 0; i < 300 && bridged === undefined; i++) {
      bridged = simChannel(rig, uuid)?.bridgedTo;
      if (bridged === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(bridged, 'the caller is bridged');
    const device = rig.sim.channels().find((c) => c.uuid === bridged);
    assert.equal(device?.destination, 'sofia/external/ada@127.0.0.1', 'to the softphone of the profile');
    assert.equal(device?.variables.crossline_inbound, uuid, 'the leg carries its inbound call');
    rig.sim.remoteHangup(uuid);
    assert.equal(await rig.ended(uuid), 'bridged');
  });

  it('the softphone counts only while registered: unregistered, an accepted offer rings the mobile and a softphone route falls to its alternate', async (t) => {
    const rig = await startInbound(t);
    knowAda(rig);
    assert.equal((await putProfile(rig, 'ada', adaProfile())).status, 200);
    rig.channels.setOnline(ADA.jid, true);
    const first = await rig.call('+12025550101', DID, { keys: ['1'] });
    await rig.channels.next((m) => m.text.startsWith('Incoming call'));
    rig.channels.chat(ADA.jid, '1');
    let bridged: string | undefined;
    for (let i = 0; i < 300 && bridged === undefined; i++) {
      bridged = simChannel(rig, first)?.bridgedTo;
      if (bridged === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(rig.sim.channels().find((c) => c.uuid === bridged)?.destination, 'sofia/gateway/default/+12025550123', 'the mobile, not the unregistered softphone');
    assert.ok(rig.sim.commands.some((c) => c.text === 'api sofia_contact */ada@127.0.0.1'), 'the switch was asked, with the strict user@domain');
    rig.sim.remoteHangup(first);
    assert.equal(await rig.ended(first), 'bridged');

    // A softphone-first schedule, not registered: the alternate (voicemail) at once, no ring.
    assert.equal((await putProfile(rig, 'ada', adaProfile({ default: { target: 'sip', alternate: 'voicemail' } }))).status, 200);
    const second = await rig.call('+12025550102', DID, { keys: ['1'], talkMs: 2000 });
    assert.equal(await rig.ended(second), 'voicemail');
    assert.ok(!rig.sim.channels().some((c) => c.destination === 'sofia/external/ada@127.0.0.1'), 'the softphone was never dialled');

    // Registered again: the same route bridges to it.
    rig.sim.registerSipUser('ada@127.0.0.1');
    const third = await rig.call('+12025550103', DID, { keys: ['1'] });
    let leg: string | undefined;
    for (let i = 0; i < 300 && leg === undefined; i++) {
      leg = simChannel(rig, third)?.bridgedTo;
      if (leg === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(rig.sim.channels().find((c) => c.uuid === leg)?.destination, 'sofia/external/ada@127.0.0.1');
    rig.sim.remoteHangup(third);
  });

  it('a client that takes forms gets Accept / voicemail buttons on its resource; pressing Accept bridges, only from the user\'s JID', async (t) => {
    const rig = await startInbound(t);
    knowAda(rig);
    assert.equal((await putProfile(rig, 'ada', adaProfile())).status, 200);
    rig.channels.setOnline(ADA.jid, true);
    rig.channels.formClients.set(ADA.jid, 'desk');
    const uuid = await rig.call('+12025550101', DID, { keys: ['1'] });
    const offer = await rig.channels.next((m) => m.text.startsWith('Incoming call'));
    assert.equal(offer.to.resource, 'desk');
    assert.equal(offer.form?.type, 'urn:crossline:call-offer');
    assert.deepEqual(offer.form?.options.map((o) => o.value), ['accept', 'voicemail']);
    const ref = offer.form?.ref ?? '';
    rig.channels.submitForm('mallory@im.example.com', 'urn:crossline:call-offer', { ref, answer: 'accept' });
    rig.channels.submitForm(ADA.jid, 'urn:crossline:call-offer', { ref, answer: 'accept' });
    await rig.channels.next((m) => m.text === 'Connecting the call from +12025550101 to you.');
    assert.ok(!rig.channels.sent.some((m) => m.to.address === 'mallory@im.example.com'), 'no reply to a JID that is no user\'s');
    let bridged: string | undefined;
    for (let i = 0; i < 300 && bridged === undefined; i++) {
      bridged = simChannel(rig, uuid)?.bridgedTo;
      if (bridged === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(bridged, 'the caller is bridged');
    rig.sim.remoteHangup(uuid);
    assert.equal(await rig.ended(uuid), 'bridged');
  });

  it('"9" sends the call to voicemail; the recording reaches the user online as an IM with a signed link that downloads it, once', async (t) => {
    const rig = await startInbound(t);
    knowAda(rig);
    assert.equal((await putProfile(rig, 'ada', adaProfile())).status, 200);
    rig.channels.setOnline(ADA.jid, true);

    const uuid = await rig.call('+12025550101', DID, { keys: ['1'], talkMs: 3000 });
    await rig.channels.next((m) => m.text.startsWith('Incoming call'));
    rig.channels.chat(ADA.jid, '9');
    assert.equal(await rig.ended(uuid), 'voicemail');
    const delivered = rig.channels.sent.filter((m) => m.dedupKey.startsWith('voicemail:'));
    assert.equal(delivered.length, 1, 'delivered once');
    const im = delivered[0];
    assert.equal(im?.to.channel, 'xmpp');
    assert.match(im?.text ?? '', /^Voicemail from \+12025550101, [0-9]+ s at .+: http:\/\/127\.0\.0\.1:8080\/media\/voicemails\/[0-9a-f-]{36}\?expires=[0-9]+&sig=[A-Za-z0-9_-]{43}$/);

    const link = new URL(/(http:\S+)$/.exec(im?.text ?? '')?.[1] ?? '');
    const media = await request(rig.app).get(`${link.pathname}${link.search}`).buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    assert.equal(media.status, 200);
    assert.equal(media.headers['content-type'], 'audio/wav');
    assert.equal((media.body as Buffer).subarray(0, 4).toString(), 'RIFF');
    const tampered = await request(rig.app).get(`${link.pathname}?expires=${link.searchParams.get('expires')}&sig=${'A'.repeat(43)}`);
    assert.equal(tampered.status, 404);
    assert.equal(tampered.body.error.code, 'MEDIA_LINK_INVALID');

    const list = await request(rig.app).get('/v1/users/ada/voicemails').set(auth);
    assert.equal(list.status, 200);
    assert.equal(list.body.items.length, 1);
    const [vm] = list.body.items as Array<{ id: string; durationMs: number; heard: boolean; delivery: { channel: string } }>;
    assert.ok(vm && vm.durationMs >= 3000, `the message is about as long as the caller talked (${vm?.durationMs})`);
    assert.equal(vm?.delivery.channel, 'xmpp');
    const heard = await request(rig.app).patch(`/v1/users/ada/voicemails/${vm?.id}`).set(auth).send({ heard: true });
    assert.equal(heard.body.heard, true);
    assert.equal((await request(rig.app).delete(`/v1/users/ada/voicemails/${vm?.id}`).set(auth)).status, 204);
    assert.equal((await request(rig.app).get('/v1/users/ada/voicemails').set(auth)).body.items.length, 0);
    assert.equal((await request(rig.app).get(`${link.pathname}${link.search}`)).status, 404, 'a deleted message is gone from its link too');
  });

  it('when the user is offline the call goes to voicemail at once and the recording is e-mailed as an attachment', async (t) => {
    const rig = await startInbound(t);
    knowAda(rig);
    const put = await putProfile(rig, 'ada', adaProfile());
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const uuid = await rig.call('+12025550101', DID, { keys: ['1'], talkMs: 2000 });
    assert.equal(await rig.ended(uuid), 'voicemail');
    assert.ok(!rig.channels.sent.some((m) => m.text.startsWith('Incoming call')), 'no offer to an offline user');
    const mail = await rig.channels.next((m) => m.dedupKey.startsWith('voicemail:'));
    assert.equal(mail.to.channel, 'email');
    assert.equal(mail.to.address, ADA.email);
    assert.equal(mail.attachments?.length, 1);
    const attachment = mail.attachments?.[0];
    assert.equal(attachment?.contentType, 'audio/wav');
    assert.ok(attachment && existsSync(attachment.path) && readFileSync(attachment.path).subarray(0, 4).toString() === 'RIFF');
  });

  it('out of the IM hours the schedule sends the call to the mobile', async (t) => {
    const rig = await startInbound(t);
    knowAda(rig);
    const today = WEEKDAYS[(new Date().getUTCDay() + 6) % 7] ?? 'mon';
    const otherDays = WEEKDAYS.filter((d) => d !== today);
    const body = adaProfile({ timeZone: 'UTC', schedule: [{ days: otherDays, from: '00:00', to: '24:00', target: 'im' }], default: { target: 'mobile', alternate: 'voicemail' } });
    const put = await putProfile(rig, 'ada', body);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    rig.channels.setOnline(ADA.jid, true);
    const uuid = await rig.call('+12025550101', DID, { keys: ['1'] });
    let bridged: string | undefined;
    for (let i = 0; i < 300 && bridged === undefined; i++) {
      bridged = simChannel(rig, uuid)?.bridgedTo;
      if (bridged === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(rig.sim.channels().find((c) => c.uuid === bridged)?.destination, 'sofia/gateway/default/+12025550123');
    assert.ok(!rig.channels.sent.some((m) => m.text.startsWith('Incoming call')), 'no IM offer out of hours');
    rig.sim.remoteHangup(uuid);
    assert.equal(await rig.ended(uuid), 'bridged');
  });

  it('two calls at once each get their own offer; "9 1" sends the first to voicemail and "1" takes the latest', async (t) => {
    const rig = await startInbound(t);
    knowAda(rig);
    assert.equal((await putProfile(rig, 'ada', adaProfile({ ringSeconds: 30 }))).status, 200);
    rig.channels.setOnline(ADA.jid, true);
    const first = await rig.call('+12025550101', DID, { keys: ['1'], talkMs: 1500 });
    await rig.channels.next((m) => m.text.startsWith('Incoming call from +12025550101'));
    const second = await rig.call('+12025550102', DID, { keys: ['1'] });
    const offer2 = await rig.channels.next((m) => m.text.startsWith('Incoming call from +12025550102'));
    assert.match(offer2.text, /reply "1 2" to accept, "9 2" to send to voicemail/);

    rig.channels.chat(ADA.jid, '9 1');
    assert.equal(await rig.ended(first), 'voicemail');
    rig.channels.chat(ADA.jid, '1');
    let bridged: string | undefined;
    for (let i = 0; i < 300 && bridged === undefined; i++) {
      bridged = simChannel(rig, second)?.bridgedTo;
      if (bridged === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(bridged, 'the second call is bridged');
    rig.sim.remoteHangup(second);
    assert.equal(await rig.ended(second), 'bridged');
  });

  it('a reply from a JID that is not the user settles nothing; no reply in time goes to the alternate', async (t) => {
    const rig = await startInbound(t);
    knowAda(rig);
    assert.equal((await putProfile(rig, 'ada', adaProfile({ ringSeconds: 5 }))).status, 200);
    rig.channels.setOnline(ADA.jid, true);
    const uuid = await rig.call('+12025550101', DID, { keys: ['1'], talkMs: 1000 });
    await rig.channels.next((m) => m.text.startsWith('Incoming call'));
    rig.channels.chat('mallory@im.example.com', '1');
    const started = Date.now();
    assert.equal(await rig.ended(uuid), 'voicemail');
    assert.ok(Date.now() - started >= 3000, 'the offer rang until its timeout');
    assert.ok(rig.channels.sent.some((m) => m.text === 'Missed call from +12025550101 (no reply).'));
    assert.ok(!rig.channels.sent.some((m) => m.to.address === 'mallory@im.example.com'), 'the stranger gets no answer at all');
  });

  it('three wrong PINs end the call and alert the users of the number; the caller is then locked out', async (t) => {
    const rig = await startInbound(t);
    knowAda(rig);
    rig.users.set('bob', { exists: true, verifiedJids: [], verifiedEmails: ['bob@example.com'] });
    await putProfile(rig, 'ada', adaProfile({ pin: '4321' }));
    await putProfile(rig, 'bob', { alias: 'Bob', dids: [DID], pin: '1234', email: 'bob@example.com' });
    const first = await rig.call('+12025550109', DID, { keys: ['1111#', '2222#', '3333#'] });
    assert.equal(await rig.ended(first), 'pin-failed');
    const alerts = rig.channels.sent.filter((m) => m.dedupKey.startsWith('pin-alert:'));
    assert.deepEqual(alerts.map((m) => m.to.address).sort(), [ADA.jid, 'bob@example.com']);

    const second = await rig.call('+12025550109', DID, { keys: ['5555#', '6666#', '7777#'] });
    assert.equal(await rig.ended(second), 'locked', 'six failures from one caller lock it out');
    const third = await rig.call('+12025550109', DID, { keys: ['4321#'] });
    assert.equal(await rig.ended(third), 'locked', 'even with the right PIN, for the window');
  });

  it('a caller who presses nothing reaches voicemail; one who hangs up mid-message still leaves it, delivered once', async (t) => {
    const rig = await startInbound(t);
    knowAda(rig);
    await putProfile(rig, 'ada', adaProfile());
    const silent = await rig.call('+12025550101', DID, { talkMs: 0 });
    assert.equal(await rig.ended(silent), 'no-message', 'nothing said: no message kept');
    const recording = new Promise<void>((resolve) => {
      const stop = rig.sim.onCommand((c) => {
        if (!c.text.includes('execute-app-name: record')) return;
        stop();
        resolve();
      });
    });
    const cut = await rig.call('+12025550104', DID, { keys: ['9'], talkMs: Number.POSITIVE_INFINITY });
    await recording;
    await new Promise((r) => setTimeout(r, 100)); // two simulated seconds of message
    rig.sim.remoteHangup(cut);
    assert.equal(await rig.ended(cut), 'voicemail');
    const mails = rig.channels.sent.filter((m) => m.dedupKey.startsWith('voicemail:'));
    assert.equal(mails.length, 1);
    assert.ok(mails[0]?.attachments?.[0] && existsSync(mails[0].attachments[0].path));
  });

  it('a number nobody has is refused unallocated; a socket that drops mid-IVR ends the session', async (t) => {
    const rig = await startInbound(t);
    knowAda(rig);
    await putProfile(rig, 'ada', adaProfile());
    const nobody = await rig.call('+12025550101', '+12025550399', {});
    assert.equal(await rig.ended(nobody), 'not-in-service');
    assert.equal(simChannel(rig, nobody)?.hangupCause, 'UNALLOCATED_NUMBER');

    const prompted = new Promise<void>((resolve) => {
      const stop = rig.sim.onCommand((c) => {
        if (!c.text.includes('execute-app-name: play_and_get_digits')) return;
        stop();
        resolve();
      });
    });
    const dropped = await rig.call('+12025550101', DID, { keys: [''] });
    await prompted;
    rig.sim.dropConnections();
    rig.sim.remoteHangup(dropped);
    assert.equal(await rig.ended(dropped), 'hung-up');
  });

  it('a fax after "9" then "2" is kept as a PDF and e-mailed', async (t) => {
    const rig = await startInbound(t);
    knowAda(rig);
    await putProfile(rig, 'ada', adaProfile());
    const uuid = await rig.call('+12025550101', DID, { keys: ['9', '2'], fax: { pages: 2 } });
    assert.equal(await rig.ended(uuid), 'fax');
    const mail = await rig.channels.next((m) => m.dedupKey.startsWith('voicemail:'));
    assert.equal(mail.to.address, ADA.email);
    assert.equal(mail.attachments?.[0]?.contentType, 'application/pdf');
    assert.equal(readFileSync(mail.attachments?.[0]?.path ?? '').subarray(0, 5).toString(), '%PDF-');
    assert.match(mail.text, /^Fax from \+12025550101, 2 page\(s\)/);
    assert.ok(existsSync(join(rig.mediaDir, mail.attachments?.[0]?.path.split('/').pop() ?? '')));
  });
});
