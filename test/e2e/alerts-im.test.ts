// @parallel: in-process Crossline on the simulator only, mostly waiting (test/run-suite.sh)
/**
 * Call-attempt alerts over real servers: a registered, approved interest; a call the network fails
 * on the switch (simulator) is seen by the alert detector and reaches Ada's XMPP client through a
 * private Prosody and her mailbox through a real SMTP relay (the sink).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closeModesl, connectModesl } from '../simulator/modesl.js';
import { prosodyUnavailable } from '../support/prosody.js';
import { ADA_EMAIL, startImWorld, type ImWorld } from '../support/im-user.js';

const skip = prosodyUnavailable();

describe('call-attempt alerts end to end: XMPP and e-mail', { skip }, () => {
  let world: ImWorld;

  before(async () => {
    world = await startImWorld();
  });

  after(async () => {
    await world?.close();
  });

  /** A leg to `to` from `from` placed on the switch; the simulator's network fails 01xx8x numbers. */
  const failingCall = async (from: string, to: string): Promise<void> => {
    const { sim } = world.crossline;
    const esl = await connectModesl(sim.host, sim.port, sim.password);
    try {
      await new Promise((resolve) => esl.api('originate', `{origination_caller_id_number=${from},crossline=true}sofia/gateway/default/${to} &park()`, resolve));
    } finally {
      closeModesl(esl);
    }
  };

  it('an approved interest: a failed call to the line reaches Ada\'s XMPP client and her mailbox', async () => {
    const { crossline } = world;
    const created = await crossline.api().post('/v1/alerts/interests').send({
      userId: world.adaId, kind: 'callee', line: '+1 202 555 0181',
      recipients: [{ channel: 'xmpp', address: world.ada.jid }, { channel: 'email', address: ADA_EMAIL }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const approved = await crossline.api().post(`/v1/admin/alerts/interests/${created.body.id}/approve`).set(world.ops);
    assert.equal(approved.status, 200, JSON.stringify(approved.body));

    await failingCall('+12025550199', '+12025550181');
    const im = await world.chat((b) => b.includes('tried to call +12025550181'));
    assert.match(im, /^\+12025550199 tried to call \+12025550181 at .* UTC; the network could not complete the call \(NETWORK_OUT_OF_ORDER\)\.$/);
    const mail = await world.sink.waitFor((m) => (m.text ?? '').includes('tried to call +12025550181'));
    assert.equal(mail.subject, 'Failed call from +12025550199');
    const to = Array.isArray(mail.to) ? mail.to[0]?.text : mail.to?.text;
    assert.equal(to, ADA_EMAIL);
  });

  it('registered by IM command ("alert me when … calls", "prove …", the code back): a call to the line reaches Ada\'s client', async () => {
    const { crossline } = world;
    await world.say('alert me when +1 202 555 0171 calls');
    await world.chat((b) => b.startsWith('Registered: I will tell you here of every call to +1 202 555 0171'));
    await world.say('prove +1 202 555 0171');
    await world.chat((b) => b.startsWith('I called +1 202 555 0171'), 20_000);
    const spoken = crossline.sim.commands.map((c) => c.text).filter((x) => x.includes('Your Crossline code is')).pop() ?? '';
    const code = (/code is ((?:\d ){5}\d)/.exec(spoken)?.[1] ?? '').replace(/ /g, '');
    assert.match(code, /^\d{6}$/);
    await world.say(`verify ${code}`);
    await world.chat((b) => b.startsWith('Thank you: +1 202 555 0171 is proven yours'));
    await world.say('alerts');
    assert.match(await world.chat((b) => b.startsWith('Your call alerts:')), /calls to \+1 202 555 0171 → ada@localhost$/m);

    const placed = Date.now();
    await crossline.sim.inboundCall({ from: '+12025550101', to: '+12025550171', socket: world.socket });
    const alert = await world.chat((b) => b.startsWith('Call from +12025550101 to +12025550171'));
    assert.match(alert, /^Call from \+12025550101 to \+12025550171 at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.$/);
    assert.ok(Date.now() - placed < 5000);

    await world.say('alerts off');
    assert.match(await world.chat((b) => b.startsWith('Call alerts off:')), /\+1 202 555 0171/);
  });
});
