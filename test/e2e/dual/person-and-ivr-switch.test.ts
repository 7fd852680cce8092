import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connectTelephony, type EslTelephony } from '../../../src/telephony/esl/telephony.js';
import { freeswitchUnderTest, parseEslUrl, simulatorUnderTest, type SwitchUnderTest } from '../../support/switch-under-test.js';

/*
 * The switch verbs behind IVR walks and person checks, on the simulator and (when
 * TEST_FREESWITCH_ESL_URL names the test switch of ../shared/freeswitch) on a real FreeSWITCH
 * 1.10.12, with the same steps and assertions. What the bundle can show: its phones 0100–0149 send
 * a tone 1 s on, 4 s off (a short "hello" to the detector), its IVRs 0170–0179 play no prompt at
 * all, and it has no answering machines or people who press 1 (0200–0219 are simulator-only). So
 * the real column checks wait_for_silence's verdicts on sound and on no sound, that the press-1
 * prompt is spoken and times out without a key, and that digits follow a prompt wait; the
 * simulator-only phones are covered by test/e2e/person-and-ivr.test.ts.
 */

const FREESWITCH_URL = process.env.TEST_FREESWITCH_ESL_URL;

function columns(): Array<[string, () => Promise<SwitchUnderTest>]> {
  const out: Array<[string, () => Promise<SwitchUnderTest>]> = [
    ['simulator', async () => {
      const sw = await simulatorUnderTest(1);
      // As on the bundle: its IVR answers at once and plays no prompt.
      sw.sim.setPhone('+12025550171', { kind: 'collect-dtmf', afterMs: 0 });
      return sw;
    }],
  ];
  if (FREESWITCH_URL) out.push(['FreeSWITCH', () => freeswitchUnderTest(FREESWITCH_URL)]);
  else console.log('person-and-ivr-switch: TEST_FREESWITCH_ESL_URL is not set; the FreeSWITCH column is skipped');
  return out;
}

for (const [column, start] of columns()) {
  describe(`IVR and person-check verbs on the ${column}`, () => {
    let sw: SwitchUnderTest;
    let telephony: EslTelephony;
    const dial = async (number: string): Promise<string> => {
      const uuid = randomUUID();
      const result = await telephony.dial({ uuid, endpoint: { kind: 'number', e164: number, country: 'US' }, ringTimeoutSec: 20, tags: { callback_id: randomUUID(), role: 'callee', attempt: '1' } });
      assert.deepEqual(result, { outcome: 'answered' });
      return uuid;
    };
    before(async () => {
      sw = await start();
      const address = parseEslUrl(sw.eslUrl);
      telephony = await connectTelephony({
        host: address.host, port: address.port, password: address.password, apiTimeoutMs: 5000,
        dialGateway: 'phones', dialNumberFormat: 'e164', sipProfile: 'internal', ttsEngine: 'flite', ttsVoice: 'kal',
      });
    });
    after(async () => {
      await sw.hangupLeftovers().catch(() => undefined);
      await telephony.close();
      await sw.close();
    });

    it('a phone that sends 1 s of tone, then silence, is a short hello to the detector: silence after about 1 s of sound', async () => {
      const uuid = await dial('+12025550101');
      const result = await telephony.waitForSilence(uuid, { threshold: 200, silenceHits: 25, listenHits: 5, timeoutMs: 4000 });
      assert.equal(result.outcome, 'silence', JSON.stringify(result));
      assert.ok('heardMs' in result && result.heardMs >= 700 && result.heardMs <= 1100, `heard ${JSON.stringify(result)}`);
      await telephony.hangup(uuid);
    });

    it('the press-1 prompt is spoken and, with no key pressed, ends with nothing read after its timeout', async () => {
      const uuid = await dial('+12025550102');
      const started = Date.now();
      const result = await telephony.collectDigits(uuid, { prompt: 'Press 1 to be connected to Acme Support.', minDigits: 1, maxDigits: 1, timeoutMs: 2000, regexp: '^1$' });
      assert.deepEqual(result, { outcome: 'none' });
      assert.ok(Date.now() - started >= 2500, `took ${Date.now() - started} ms: the prompt was spoken before the 2 s wait`);
      // the observer's own connection may get the switch's CHANNEL_EXECUTE after our reply
      const seenBy = Date.now() + 3000;
      while (!sw.appsOn(uuid).some((a) => a.app === 'play_and_get_digits') && Date.now() < seenBy) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(sw.appsOn(uuid).some((a) => a.app === 'play_and_get_digits'), JSON.stringify(sw.appsOn(uuid)));
      await telephony.hangup(uuid);
    });

    it('an IVR that plays no prompt: the wait ends at its limit with nothing heard, and the digits sent after it arrive', async () => {
      const uuid = await dial('+12025550171');
      const result = await telephony.waitForSilence(uuid, { threshold: 200, silenceHits: 20, listenHits: 10, timeoutMs: 2000 });
      assert.equal(result.outcome, 'timeout', JSON.stringify(result));
      assert.ok('heardMs' in result && result.heardMs === 0);
      await telephony.sendDtmf(uuid, '42#');
      const deadline = Date.now() + 5000;
      while (sw.digitsReceived(uuid) !== '42#' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(sw.digitsReceived(uuid), '42#');
      await telephony.hangup(uuid);
    });
  });
}
