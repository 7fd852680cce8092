/**
 * Call-alert registration by message ("alert me when +1 202 555 0101 calls", "alerts", "alerts
 * off", "prove …" and the code typed back): the messaging intake over the real directory and the
 * alerts module (registry in Redis, the same rules as REST), the code call placed on the simulator.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { loadOpenApi } from '../../src/api/index.js';
import { createAlertsModule } from '../../src/alerts/module.js';
import { MAX_INTERESTS_PER_USER } from '../../src/alerts/service.js';
import type { ChannelAddress, InboundMessage } from '../../src/channels/types.js';
import { createEslSimulator } from '../../src/simulator/index.js';
import { keyPrefixes } from '../../src/store/keys.js';
import { connectTelephony } from '../../src/telephony/index.js';
import { directoryRig } from '../directory/fixture.js';

const OWNER = 'owner-alerts';
const BOB_IM: ChannelAddress = { channel: 'xmpp', address: 'bob@im.example.com', resource: 'phone' };
const BOB_MAIL: ChannelAddress = { channel: 'email', address: 'bob@example.com' };

async function rig(t: TestContext) {
  const r = await directoryRig(t);
  const sim = await createEslSimulator({ timeScale: 0.05 });
  const telephony = await connectTelephony({
    host: sim.host, port: sim.port, password: sim.password, apiTimeoutMs: 5000, dialGateway: 'default', dialNumberFormat: 'e164', sipProfile: 'internal', ttsEngine: 'flite', ttsVoice: 'kal',
  });
  r.services.directory = r.directory;
  r.services.telephony = telephony;
  const started = await createAlertsModule().start({
    config: r.config, roles: { api: true, workers: false }, redis: r.redis, prefixes: keyPrefixes(r.prefix, false), api: loadOpenApi(), logger: pino({ level: 'silent' }), services: r.services, metrics: new Registry(),
  });
  t.after(async () => {
    await started.close?.();
    await telephony.close();
    await sim.close();
  });
  const bob = await r.directory.create('user', { displayName: 'Bob Smith', jids: [BOB_IM.address], emails: [BOB_MAIL.address], phones: [{ number: '+12025550171', label: 'mobile' }], timeZone: 'Europe/Dublin' }, OWNER);
  for (const address of [BOB_IM, BOB_MAIL]) {
    await r.directory.startVerification(bob.id, address, OWNER);
    await r.directory.confirmVerification(bob.id, address, r.sender.lastCode(address.address), OWNER);
  }
  let n = 0;
  const say = async (text: string, from: ChannelAddress = BOB_IM): Promise<string> => {
    const message: InboundMessage = { id: `m-${++n}`, from, to: { channel: from.channel, address: 'crossline@example.com' }, text, receivedAt: new Date(), ...(from.channel === 'email' ? { subject: 'alerts' } : {}) };
    return (await r.messaging.handle(message)).map((m) => m.text).join('\n');
  };
  const spokenCode = (): string => {
    const spoken = sim.commands.map((c) => c.text).filter((x) => x.includes('Your Crossline code is')).pop() ?? '';
    return (/code is ((?:\d ){5}\d)/.exec(spoken)?.[1] ?? '').replace(/ /g, '');
  };
  return { ...r, sim, bobId: bob.id, say, spokenCode, interests: () => r.services.alertRegistrations?.of(OWNER, bob.id) ?? Promise.resolve([]) };
}

describe('call alerts managed by message', () => {
  test('register by IM, prove the line with the code the switch speaks, add the e-mail address by e-mail, list, switch off', async (t) => {
    const c = await rig(t);
    assert.match(await c.say('alerts'), /^You have no call alerts\./);
    assert.match(await c.say('alert me when +1 202 555 0171 calls'), /^Registered: I will tell you here of every call to \+1 202 555 0171 once the line is proven yours\. Send "prove \+1 202 555 0171"/);
    const [pending] = await c.interests();
    assert.deepEqual({ kind: pending?.kind, line: pending?.line, verified: pending?.verified, recipients: pending?.recipients }, { kind: 'callee', line: '+12025550171', verified: false, recipients: [{ channel: 'xmpp', address: 'bob@im.example.com' }] });
    assert.match(await c.say('alerts'), /calls to \+1 202 555 0171 → bob@im\.example\.com \(waiting for proof that the line is yours\)/);

    assert.match(await c.say('prove +1 202 555 0171'), /^I called \+1 202 555 0171 and said a six-digit code/);
    const code = c.spokenCode();
    assert.match(code, /^\d{6}$/);
    const wrong = code === '000000' ? '111111' : '000000';
    assert.match(await c.say(`verify ${wrong}`), /^That is not the code I said on your line/);
    assert.equal((await c.interests())[0]?.verified, false);
    assert.match(await c.say(`verify ${code}`), /^Thank you: \+1 202 555 0171 is proven yours\. Call alerts for it are on\.$/);
    assert.equal((await c.interests())[0]?.verifiedBy, 'code');

    // The same words by e-mail go through the same command path: the mailbox joins that registration.
    assert.match(await c.say('Alert me when +1 202 555 0171 calls', BOB_MAIL), /^Call alerts for \+1 202 555 0171 are on; they reach you here too\.$/);
    const [both] = await c.interests();
    assert.deepEqual(both?.recipients.map((r) => r.address), ['bob@im.example.com', 'bob@example.com']);
    assert.equal((await c.interests()).length, 1, 'no second registration for the same line');
    assert.match(await c.say('my alerts', BOB_MAIL), /calls to \+1 202 555 0171 → bob@im\.example\.com, bob@example\.com$/);

    assert.match(await c.say('alerts off for +1 202 555 0999'), /^You had no call alerts for \+1 202 555 0999/);
    assert.match(await c.say('alerts off'), /^Call alerts off: \+1 202 555 0171\.$/);
    assert.equal((await c.interests()).length, 0);
  });

  test('"my mobile" is the sender\'s own phone; a line that is not a number, a bad number and the per-user limit get clear replies', async (t) => {
    const c = await rig(t);
    assert.match(await c.say('let me know when my mobile rings'), /^Registered: .* \+1 202 555 0171 /);
    assert.match(await c.say('alert me when my work phone rings'), /^You have no work number saved\. Your numbers: mobile \+1 202 555 0171\./);
    assert.match(await c.say('tell me when Ada calls'), /^Which line\? Name it by its number.*\("Ada" is not a number\)/);
    assert.match(await c.say('alert me when +1 999 calls'), /is not a phone number I can read|Which line/);
    assert.match(await c.say('prove +1 202 555 0188'), /^You have no call alert waiting for proof on \+1 202 555 0188/);
    // No SMS channel here: the code by text is refused in words, and the message counts as read.
    assert.match(await c.say('prove +1 202 555 0171 by text'), /^I cannot send text messages here\. Send "prove" and the number/);
    // Filled through the service (a person's messages are rate-limited long before 25).
    const alerts = c.services.alertRegistrations;
    assert.ok(alerts);
    for (let i = (await c.interests()).length; i < MAX_INTERESTS_PER_USER; i++) await alerts.watch(OWNER, c.bobId, `+1202555${String(2000 + i)}`, BOB_IM);
    assert.match(await c.say('alert me when +1 202 555 2999 calls'), /^You have as many call alerts as one person may keep\./);
    assert.equal((await c.interests()).length, MAX_INTERESTS_PER_USER);
  });

  test('an address no user has verified gets no reply and registers nothing', async (t) => {
    const c = await rig(t);
    assert.equal(await c.say('alert me when +1 202 555 0171 calls', { channel: 'xmpp', address: 'eve@evil.example' }), '');
    assert.equal((await c.interests()).length, 0);
  });
});
