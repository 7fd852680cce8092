// @serial: its second half drives the one real FreeSWITCH of the run (test/run-suite.sh)
/**
 * The IVR verbs of an outbound-socket call against the simulator's scripted callers: keys pressed
 * at play_and_get_digits, a recording that silence ends (and one the caller cuts short), ringback
 * broken by uuid_break, a bridge that is answered and one that fails while the caller stays, rxfax.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CrosslineError } from '../../src/errors.js';
import { createEslSimulator, type CallerScript, type EslSimulator } from '../../src/simulator/index.js';
import { buildDialString, buildVariableBlock, OutboundSocketServer, type OutboundCall } from '../../src/telephony/index.js';

let sim: EslSimulator;
let server: OutboundSocketServer;
const dir = mkdtempSync(join(tmpdir(), 'crossline-ivr-'));

before(async () => {
  sim = await createEslSimulator({ timeScale: 0.02 });
  server = await OutboundSocketServer.listen({ commandTimeoutMs: 2000 });
});

after(async () => {
  await server.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

async function arrive(caller: CallerScript, to = '+12025550300'): Promise<{ call: OutboundCall; uuid: string }> {
  const received = once(server, 'call') as Promise<[OutboundCall]>;
  const uuid = await sim.inboundCall({ from: '+12025550101', to, socket: `${server.address} async full`, caller });
  const [call] = await received;
  return { call, uuid };
}

const digitsPrompt = { prompt: 'silence_stream://250', min: 1, max: 4, tries: 3, timeoutMs: 3000 } as const;

describe('IVR verbs on an outbound-socket call with a scripted caller', () => {
  it('collects the keys the caller presses, one entry per try: a timeout, then an invalid entry, then the valid one', async () => {
    const { call } = await arrive({ keys: ['', '*', '42#'] });
    await call.answer();
    assert.deepEqual(await call.playAndGetDigits(digitsPrompt), { outcome: 'collected', digits: '42' });
    assert.deepEqual(await call.playAndGetDigits({ ...digitsPrompt, tries: 1 }), { outcome: 'collected', digits: '' }, 'the script has run out: nothing pressed');
    await call.hangup();
  });

  it('records until the caller falls silent, writes a WAV of that length, and reports its duration', async () => {
    const { call } = await arrive({ talkMs: 2000 });
    await call.answer();
    const path = join(dir, `${randomUUID()}.wav`);
    const result = await call.record({ path, maxSeconds: 60, silenceSeconds: 2 });
    assert.equal(result.outcome, 'recorded');
    assert.ok(result.outcome === 'recorded' && result.ms >= 3900 && result.ms <= 4100, `about 4 s recorded (${JSON.stringify(result)})`);
    const wav = readFileSync(path);
    assert.equal(wav.subarray(0, 4).toString(), 'RIFF');
    assert.equal(wav.length, 44 + (result.outcome === 'recorded' ? result.ms : 0) * 16);
    await call.hangup();
  });

  it('a caller who never stops talking is cut at the time limit; one who hangs up mid-recording still leaves the file', async () => {
    const { call } = await arrive({ talkMs: Number.POSITIVE_INFINITY });
    await call.answer();
    const path = join(dir, `${randomUUID()}.wav`);
    const result = await call.record({ path, maxSeconds: 3, silenceSeconds: 2 });
    assert.ok(result.outcome === 'recorded' && result.ms === 3000, JSON.stringify(result));
    await call.hangup();

    const { call: second } = await arrive({ talkMs: Number.POSITIVE_INFINITY, hangupAfterMs: 60_000 });
    await second.answer();
    const cut = join(dir, `${randomUUID()}.wav`);
    const hungUp = await second.record({ path: cut, maxSeconds: 60 });
    assert.equal(hungUp.outcome, 'hung-up');
    await second.ended; // the switch closes the file as the record app unwinds, after CHANNEL_HANGUP
    assert.ok(statSync(cut).size > 44, 'the switch closed the file with what it had');
  });

  it('plays ringback until broken, then the next command runs', async () => {
    const { call } = await arrive({});
    await call.answer();
    const ringing = call.ringback();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await call.breakMedia();
    assert.equal((await ringing).outcome, 'completed');
    assert.equal((await call.play({ kind: 'speak', text: 'Connecting' })).outcome, 'completed');
    await call.hangup();
  });

  it('bridges to an answering softphone; a bridge to a number that fails returns the cause and the caller stays up', async () => {
    const options = { gateway: 'default', numberFormat: 'e164', sipProfile: 'internal' } as const;
    const block = (uuid: string): string => buildVariableBlock({ origination_uuid: uuid, originate_timeout: 20, ignore_early_media: true, tags: { inbound: 'test' }, hangup_after_bridge: true, crossline: true });
    const { call, uuid } = await arrive({});
    await call.answer();
    const failed = await call.bridge(block(randomUUID()), buildDialString({ kind: 'number', e164: '+12025550181', country: 'US' }, options));
    assert.deepEqual(failed, { outcome: 'failed', cause: 'NETWORK_OUT_OF_ORDER' });
    assert.equal(sim.channels().find((c) => c.uuid === uuid)?.state, 'answered', 'the caller is still there');

    const b = randomUUID();
    const bridging = call.bridge(block(b), buildDialString({ kind: 'sip', uri: 'sip:ada@127.0.0.1' }, options));
    for (let i = 0; i < 200 && sim.channels().find((c) => c.uuid === uuid)?.bridgedTo !== b; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(sim.channels().find((c) => c.uuid === uuid)?.bridgedTo, b, 'bridged to the softphone');
    sim.remoteHangup(b);
    const result = await bridging;
    assert.ok(result.outcome === 'bridged' || result.outcome === 'hung-up', JSON.stringify(result));
    await call.ended;
  });

  it('receives a fax as a TIFF, and reports a fax that fails midway', async () => {
    const { call } = await arrive({ fax: { pages: 2 } });
    await call.answer();
    const path = join(dir, `${randomUUID()}.tif`);
    assert.deepEqual(await call.receiveFax(path), { outcome: 'received', pages: 2 });
    assert.equal(readFileSync(path).subarray(0, 2).toString(), 'II');
    await call.hangup();

    const { call: broken } = await arrive({ fax: { pages: 1, fails: true } });
    await broken.answer();
    const failed = await broken.receiveFax(join(dir, `${randomUUID()}.tif`));
    assert.equal(failed.outcome, 'failed');
    await broken.hangup();
  });

  it('refuses a recording path outside the grammar, a bad transfer target and a hand-made bridge string, sending nothing', async () => {
    const { call } = await arrive({});
    const sent = sim.commands.length;
    const internal = (error: unknown): boolean => error instanceof CrosslineError && error.code === 'INTERNAL';
    await assert.rejects(call.record({ path: '/tmp/../etc/passwd.wav', maxSeconds: 10 }), internal);
    await assert.rejects(call.record({ path: 'relative.wav', maxSeconds: 10 }), internal);
    await assert.rejects(call.record({ path: '/tmp/x.wav', maxSeconds: 0 }), internal);
    await assert.rejects(call.transfer('8001 XML default\nexecute-app-name: system', 'default'), internal);
    await assert.rejects(call.bridge('{x=1}', 'sofia/gateway/default/+1202;system'), internal);
    await assert.rejects(call.receiveFax('/tmp/fax.wav'), internal);
    assert.equal(sim.commands.length, sent);
    await call.hangup();
  });
});

/**
 * The same verbs against the test switch of ../shared/freeswitch (TEST_FREESWITCH_ESL_URL): a
 * SIP call to 8002 through the switch's own internal profile plays the caller; its digits come from
 * uuid_send_dtmf on that leg; it says nothing, so the silence detector ends the recording; the phones gateway's numbers
 * answer (+1 202 555 0101) or fail (0181, 502 → NETWORK_OUT_OF_ORDER).
 */
const FREESWITCH_URL = process.env.TEST_FREESWITCH_ESL_URL;
describe('IVR verbs on a real FreeSWITCH', { skip: FREESWITCH_URL === undefined ? 'TEST_FREESWITCH_ESL_URL is not set' : false }, () => {
  it('collects digits, records until silence (silence_hits_exhausted), breaks ringback, fails a bridge with the caller still up, then bridges', async () => {
    const { parseEslUrl } = await import('../../src/telephony/index.js');
    const { closeModesl, connectModesl } = await import('../simulator/modesl.js');
    const { host, port, password } = parseEslUrl(FREESWITCH_URL ?? '');
    const esl = await connectModesl(host, port, password);
    const api = (cmd: string, arg: string): Promise<string> => new Promise((resolve) => esl.api(cmd, arg, (e) => resolve(e.getBody().trim())));
    const socketPort = Number(await api('global_getvar', 'outbound_socket_port'));
    const real = await OutboundSocketServer.listen({ port: socketPort, commandTimeoutMs: 5000 });
    try {
      const caller = randomUUID();
      const received = once(real, 'call') as Promise<[OutboundCall]>;
      // A SIP caller (not loopback, whose media the phones cannot take): the switch calls its own internal profile.
      const sipPort = Number(await api('global_getvar', 'internal_sip_port'));
      esl.bgapi('originate', `{origination_uuid=${caller},absolute_codec_string=PCMU}sofia/internal/8002@127.0.0.1:${sipPort} &park()`, () => undefined);
      const [call] = await received;
      assert.equal((await call.answer()).outcome, 'completed');

      const collecting = call.playAndGetDigits({ prompt: 'silence_stream://250', min: 1, max: 4, tries: 1, timeoutMs: 5000 });
      await new Promise((r) => setTimeout(r, 800));
      await api('uuid_send_dtmf', `${caller} 7#`);
      assert.deepEqual(await collecting, { outcome: 'collected', digits: '7' });

      const path = join(dir, `${randomUUID()}.wav`);
      const recorded = await call.record({ path, maxSeconds: 20, silenceThreshold: 200, silenceSeconds: 2 });
      assert.equal(recorded.outcome, 'recorded');
      assert.ok(recorded.outcome === 'recorded' && recorded.endedBySilence, `the silence detector ended it: ${JSON.stringify(recorded)}`);
      assert.equal(readFileSync(path).subarray(0, 4).toString(), 'RIFF');

      const ringing = call.ringback();
      await new Promise((r) => setTimeout(r, 500));
      await call.breakMedia();
      assert.equal((await ringing).outcome, 'completed');

      const options = { gateway: 'phones', numberFormat: 'e164', sipProfile: 'internal' } as const;
      const block = (uuid: string): string => buildVariableBlock({ origination_uuid: uuid, originate_timeout: 20, ignore_early_media: true, tags: { inbound: 'test' }, hangup_after_bridge: true, crossline: true });
      const failed = await call.bridge(block(randomUUID()), buildDialString({ kind: 'number', e164: '+12025550181', country: 'US' }, options));
      assert.deepEqual(failed, { outcome: 'failed', cause: 'NETWORK_OUT_OF_ORDER' });
      assert.equal(call.hangupCause, undefined, 'the caller is still up after a failed bridge');

      const b = randomUUID();
      const bridging = call.bridge(block(b), buildDialString({ kind: 'number', e164: '+12025550101', country: 'US' }, options));
      for (let i = 0; i < 100 && (await api('uuid_exists', b)) !== 'true'; i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 2500));
      await api('uuid_kill', b);
      assert.deepEqual(await bridging, { outcome: 'bridged' });
      assert.equal(call.hangupCause, undefined, 'after the bridge the caller is back in the socket (continue_on_fail)');
      assert.equal(await call.hangup(), 'NORMAL_CLEARING');
    } finally {
      closeModesl(esl);
      await real.close();
    }
  });
});
