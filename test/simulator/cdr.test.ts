import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { readCdrCapture } from './cdr-captures.js';
import { startClient, type TestClient } from './client.js';

interface Received {
  method: string;
  url: string;
  /** Header names in the order they arrived, lower-cased. */
  headerNames: string[];
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** An HTTP server standing in for Crossline: records each request and answers `statuses` in turn (then 200). */
async function cdrReceiver(t: TestContext, statuses: number[] = []) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headerNames: req.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase()),
        headers: req.headers,
        body,
      });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cdr/json`, received };
}

async function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * What Crossline does for a bridged callback, in the order it does it: the callee (answers), the
 * caller (+1 202 555 0190–0199: answers, hangs up after 2 s), uuid_bridge — as in capture s1.
 */
async function bridgedCallback(client: TestClient): Promise<{ callee: string; caller: string; callbackId: string }> {
  const callbackId = randomUUID();
  const callee = randomUUID();
  const caller = randomUUID();
  const vars = (uuid: string, role: string, timeout: number): string =>
    `{origination_uuid=${uuid},originate_timeout=${timeout},ignore_early_media=true,origination_caller_id_name=Crossline,crossline_callback_id=${callbackId},crossline_role=${role},crossline_attempt=1}`;
  assert.match(await client.api('originate', `${vars(callee, 'callee', 30)}sofia/gateway/default/+12025550102 &park()`), /^\+OK/);
  assert.match(await client.api('originate', `${vars(caller, 'caller', 30)}sofia/gateway/default/+12025550191 &park()`), /^\+OK/);
  assert.match(await client.api('uuid_bridge', `${callee} ${caller}`), /^\+OK/);
  return { callee, caller, callbackId };
}

describe('the simulator posts CDRs as mod_json_cdr does', () => {
  test('when a bridged callback ends, each leg\'s CDR is posted once to <url>?uuid=<leg> with the switch\'s headers and credentials', async (t) => {
    const receiver = await cdrReceiver(t);
    const client = await startClient({ cdrUrl: receiver.url, cdrCredentials: 'crossline:cdr-secret' });
    t.after(() => client.close());

    const { callee, caller, callbackId } = await bridgedCallback(client);
    await until(() => receiver.received.length === 2);

    const capture = readCdrCapture('s1-callee-leg-bridged');
    const byLeg = new Map(receiver.received.map((r) => [new URL(r.url, 'http://x').searchParams.get('uuid'), r]));
    for (const [uuid, role] of [[callee, 'callee'], [caller, 'caller']] as const) {
      const req = byLeg.get(uuid);
      assert.ok(req, `no CDR for the ${role}`);
      assert.equal(req.method, 'POST');
      assert.equal(req.url, `/cdr/json?uuid=${uuid}`);
      assert.deepEqual(req.headerNames, Object.keys(capture.headers));
      assert.equal(req.headers.authorization, capture.headers.authorization, 'Basic crossline:cdr-secret, as in the capture');
      assert.equal(req.headers['user-agent'], 'freeswitch-json/1.0');
      assert.equal(req.headers.accept, '*/*');
      assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
      const cdr = JSON.parse(req.body) as { variables: Record<string, string> };
      assert.equal(cdr.variables.uuid, uuid);
      assert.equal(cdr.variables.crossline_callback_id, callbackId);
      assert.equal(cdr.variables.crossline_role, role);
      assert.equal(cdr.variables.crossline_attempt, '1');
      assert.equal(cdr.variables.hangup_cause, 'NORMAL_CLEARING');
      assert.notEqual(cdr.variables.answer_epoch, '0');
      assert.notEqual(cdr.variables.bridge_epoch, '0');
    }
    assert.deepEqual(client.sim.cdrDeliveries().map((d) => [d.state, d.attempts]), [['delivered', 1], ['delivered', 1]]);
  });

  test('a caller who never answers gets a CDR with answer_epoch 0 and NO_ANSWER', async (t) => {
    const receiver = await cdrReceiver(t);
    const client = await startClient({ cdrUrl: receiver.url });
    t.after(() => client.close());
    const uuid = randomUUID();

    const reply = await client.api('originate', `{origination_uuid=${uuid},originate_timeout=5,crossline_callback_id=${randomUUID()},crossline_role=caller,crossline_attempt=2}sofia/gateway/default/+12025550152 &park()`);
    await until(() => receiver.received.length === 1);

    assert.match(reply, /^-ERR NO_ANSWER/);
    const cdr = JSON.parse(receiver.received[0]?.body ?? '{}') as { variables: Record<string, string>; callStats: unknown; app_log?: unknown };
    assert.equal(cdr.variables.uuid, uuid);
    assert.equal(cdr.variables.hangup_cause, 'NO_ANSWER');
    assert.equal(cdr.variables.answer_epoch, '0');
    assert.equal(cdr.variables.bridge_epoch, '0');
    assert.equal(cdr.variables.billsec, '0');
    assert.equal(cdr.variables.crossline_attempt, '2');
    assert.deepEqual(cdr.callStats, {}, 'no media, as in capture s2');
    assert.equal(cdr.app_log, undefined, 'no application ran, as in capture s2');
    assert.equal(receiver.received[0]?.headers.authorization, undefined, 'no cred, no Authorization');
  });

  test('a post that fails is tried again `retries` times, `delay` apart, then given up; a 2xx ends the retries', async (t) => {
    const failing = await cdrReceiver(t, [500, 503, 401, 500]);
    const client = await startClient({ cdrUrl: failing.url, cdrRetries: 2, cdrDelayMs: 1000 });
    t.after(() => client.close());
    const uuid = randomUUID();

    await client.api('originate', `{origination_uuid=${uuid}}sofia/gateway/default/+12025550160 &park()`);
    await until(() => client.sim.cdrDeliveries()[0]?.state === 'failed');

    assert.equal(failing.received.length, 3, 'the first attempt and two retries');
    assert.ok(failing.received.every((r) => r.url === `/cdr/json?uuid=${uuid}` && r.body === failing.received[0]?.body), 'the same CDR each time');
    assert.deepEqual(client.sim.cdrDeliveries().map((d) => [d.state, d.attempts, d.lastStatus]), [['failed', 3, 401]]);

    const flaky = await cdrReceiver(t, [502]);
    const second = await startClient({ cdrUrl: flaky.url, cdrRetries: 2, cdrDelayMs: 1000 });
    t.after(() => second.close());
    await second.api('originate', `{origination_uuid=${randomUUID()}}sofia/gateway/default/+12025550160 &park()`);
    await until(() => second.sim.cdrDeliveries()[0]?.state === 'delivered');
    assert.equal(flaky.received.length, 2);
  });

  test('a switch that cannot reach the URL at all retries, then gives up', async (t) => {
    const receiver = await cdrReceiver(t);
    const url = receiver.url.replace(/:\d+\//, ':1/');
    const client = await startClient({ cdrUrl: url, cdrRetries: 1, cdrDelayMs: 200 });
    t.after(() => client.close());

    await client.api('originate', `{origination_uuid=${randomUUID()}}sofia/gateway/default/+12025550160 &park()`);
    await until(() => client.sim.cdrDeliveries()[0]?.state === 'failed');

    assert.deepEqual(client.sim.cdrDeliveries().map((d) => [d.attempts, d.lastStatus]), [[2, 0]]);
  });

  test('without cdrUrl nothing is posted', async (t) => {
    const client = await startClient();
    t.after(() => client.close());

    await client.api('originate', `{origination_uuid=${randomUUID()}}sofia/gateway/default/+12025550160 &park()`);

    assert.deepEqual(client.sim.cdrDeliveries(), []);
  });
});
