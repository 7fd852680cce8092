import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { readCdrCapture } from './cdr-captures.js';
import { startClient } from './client.js';

type Json = Record<string, unknown>;

/** A value's form: each run of letters and digits becomes x; URL escapes and separators stay. */
const shape = (value: unknown): string => String(value).replace(/%[0-9A-F]{2}/g, (e) => `%${e.slice(1).toLowerCase()}`).replace(/[0-9A-Za-z]+/g, 'x');
/** The callflow times whose being 0 or not says what happened (progress depends on the phone's 180). */
const TIMES_THAT_TELL = ['created_time', 'profile_created_time', 'answered_time', 'bridged_time', 'hangup_time', 'transfer_time'];

/** The variables Crossline reads from a CDR, and the block switch_channel_set_timestamps writes, all compared by form. */
const COMPARED = [
  'uuid', 'crossline_callback_id', 'crossline_role', 'crossline_attempt', 'origination_uuid', 'last_bridge_to',
  'hangup_cause', 'hangup_cause_q850', 'sip_hangup_disposition', 'digits_dialed', 'start_stamp', 'profile_start_stamp',
  'answer_stamp', 'bridge_stamp', 'end_stamp', 'start_epoch', 'start_uepoch', 'profile_start_epoch', 'profile_start_uepoch',
  'answer_epoch', 'answer_uepoch', 'bridge_epoch', 'bridge_uepoch', 'last_hold_epoch', 'last_hold_uepoch',
  'hold_accum_seconds', 'hold_accum_usec', 'hold_accum_ms', 'resurrect_epoch', 'resurrect_uepoch', 'progress_epoch',
  'progress_uepoch', 'progress_media_epoch', 'progress_media_uepoch', 'end_epoch', 'end_uepoch', 'last_app', 'caller_id',
  'duration', 'billsec', 'progresssec', 'answersec', 'waitsec', 'progress_mediasec', 'flow_billsec', 'mduration',
  'billmsec', 'progressmsec', 'answermsec', 'waitmsec', 'progress_mediamsec', 'flow_billmsec', 'uduration', 'billusec',
  'progressusec', 'answerusec', 'waitusec', 'progress_mediausec', 'flow_billusec',
] as const;

/** The simulator's two CDRs of a bridged callback, driven as capture s1 was (callee, caller, uuid_bridge; the caller hangs up). */
async function simulatedS1(): Promise<Map<string, Json>> {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      bodies.push(body);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const client = await startClient({ cdrUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cdr/json`, cdrCredentials: 'crossline:cdr-secret' });
  try {
    const callbackId = randomUUID();
    const leg = (role: string, number: string, uuid: string): string =>
      `{origination_uuid=${uuid},originate_timeout=30,ignore_early_media=true,origination_caller_id_name=Crossline,crossline_callback_id=${callbackId},crossline_role=${role},crossline_attempt=1}sofia/gateway/default/${number} &park()`;
    const callee = randomUUID();
    const caller = randomUUID();
    await client.api('originate', leg('callee', '+12025550102', callee));
    await client.api('originate', leg('caller', '+12025550191', caller));
    await client.api('uuid_bridge', `${callee} ${caller}`);
    const deadline = Date.now() + 5000;
    while (bodies.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    await client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return new Map(bodies.map((b) => JSON.parse(b) as Json).map((cdr) => [(cdr.variables as Json).crossline_role as string, cdr]));
}

describe('the simulator\'s CDR of a bridged callback has the form of capture s1 (FreeSWITCH 1.10.12 mod_json_cdr)', async () => {
  const simulated = await simulatedS1();

  for (const role of ['callee', 'caller'] as const) {
    const captured = readCdrCapture(`s1-${role}-leg-bridged`).json as Json;
    const sim = simulated.get(role);

    test(`${role} leg: the same top-level members, channel_data and callStats, in the same order`, () => {
      assert.ok(sim, `no simulated CDR for the ${role}`);
      assert.deepEqual(Object.keys(sim), Object.keys(captured));
      assert.deepEqual(Object.keys(sim.channel_data as Json), Object.keys(captured.channel_data as Json));
      assert.equal((sim.channel_data as Json).state, 'CS_REPORTING');
      const audio = (cdr: Json): Json => (cdr.callStats as { audio: Json }).audio;
      for (const direction of ['inbound', 'outbound']) {
        const simStats = audio(sim)[direction] as Json;
        const capStats = audio(captured)[direction] as Json;
        assert.deepEqual(Object.keys(simStats), Object.keys(capStats), direction);
        for (const [k, v] of Object.entries(simStats)) assert.equal(typeof v, typeof capStats[k], `callStats.audio.${direction}.${k} is a ${typeof capStats[k]}`);
      }
      const apps = (cdr: Json): Json[] => (cdr.app_log as { applications: Json[] }).applications;
      assert.deepEqual(apps(sim).map((a) => Object.keys(a)), apps(captured).map((a) => Object.keys(a)));
      assert.deepEqual(apps(sim).map((a) => shape(a.app_stamp)), apps(captured).map((a) => shape(a.app_stamp)));
    });

    test(`${role} leg: every variable Crossline reads, and the timestamps block, with the same names, order and form (URL-encoded values)`, () => {
      assert.ok(sim);
      const simVars = sim.variables as Record<string, string>;
      const capVars = captured.variables as Record<string, string>;
      for (const name of COMPARED) {
        assert.ok(name in capVars, `the capture has ${name}`);
        assert.ok(name in simVars, `the simulator's CDR lacks ${name}`);
        assert.equal(shape(simVars[name]), shape(capVars[name]), `${name}: ${simVars[name]} vs ${capVars[name]}`);
      }
      const order = (vars: Record<string, string>): string[] => Object.keys(vars).filter((k) => (COMPARED as readonly string[]).includes(k));
      assert.deepEqual(order(simVars), order(capVars));
      for (const name of COMPARED.filter((n) => /_u?epoch$/.test(n))) {
        const digits = name.endsWith('_uepoch') ? 16 : 10;
        assert.match(simVars[name] ?? '', new RegExp(`^(0|[1-9][0-9]{${digits - 1}})$`), `${name}: seconds or µs since 1970`);
        if (!/^(progress|profile_start)/.test(name)) assert.equal(simVars[name] === '0', capVars[name] === '0', `${name} is ${capVars[name] === '0' ? '' : 'not '}0 in the capture`);
      }
      assert.match(simVars.hangup_cause ?? '', /^[A-Z_]+$/);
      assert.match(simVars.channel_name ?? '', /^sofia\/[a-z]+(\/[a-z]+)?\/%2B1202555019?\d+$/, 'the + of the number is URL-encoded, the slashes are not');
      assert.ok(Number(simVars.answer_epoch) > 0 && Number(simVars.bridge_epoch) > 0, 'answered and bridged');
    });

    test(`${role} leg: callflow has the same profiles (newest first), caller_profile members, originatee/originator side and times`, () => {
      assert.ok(sim);
      const flow = (cdr: Json): Json[] => cdr.callflow as Json[];
      assert.deepEqual(flow(sim).map((e) => [e.profile_index, Object.keys(e)]), flow(captured).map((e) => [e.profile_index, Object.keys(e)]));
      flow(sim).forEach((entry, i) => {
        const cap = flow(captured)[i] as Json;
        assert.deepEqual(Object.keys(entry.caller_profile as Json), Object.keys(cap.caller_profile as Json), `callflow[${i}].caller_profile`);
        assert.deepEqual(Object.keys(entry.extension as Json), Object.keys(cap.extension as Json));
        const times = entry.times as Json;
        const capTimes = cap.times as Json;
        assert.deepEqual(Object.keys(times), Object.keys(capTimes), `callflow[${i}].times`);
        for (const k of TIMES_THAT_TELL) assert.equal(String(times[k]) === '0', String(capTimes[k]) === '0', `callflow[${i}].times.${k} is ${capTimes[k] === '0' ? '' : 'not '}0 in the capture`);
        for (const v of Object.values(times)) assert.match(String(v), /^(0|[1-9][0-9]{15})$/, 'µs since 1970, as a string');
      });
    });
  }
});
