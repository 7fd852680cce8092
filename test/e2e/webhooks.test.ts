// @parallel: in-process Crossline on the simulator only, mostly waiting (test/run-suite.sh)
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { verifySignature } from '../../src/notify/index.js';
import { startHarness, type Harness } from '../support/harness.js';

interface Delivery {
  signatureValid: boolean;
  eventId: string | undefined;
  body: { type: string; data: { status: string; callback: { id: string } } };
}

describe('webhooks end to end', () => {
  let h: Harness;
  let receiver: http.Server;
  let url = '';
  const deliveries: Delivery[] = [];

  before(async () => {
    h = await startHarness();
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const signature = req.headers['crossline-signature'];
        deliveries.push({
          signatureValid: verifySignature(h.runtime.webhookSecret, typeof signature === 'string' ? signature : undefined, raw),
          eventId: typeof req.headers['crossline-event-id'] === 'string' ? req.headers['crossline-event-id'] : undefined,
          body: JSON.parse(raw) as Delivery['body'],
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/crossline`;
  });
  after(async () => {
    await h.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('every status change reaches a real HTTP receiver once, signed with the webhook secret', async () => {
    const res = await h.create({ caller: { number: '+12025550140' }, callee: { number: '+12025550141' }, webhook: url });
    assert.equal(res.status, 202);
    const bridged = await h.waitForStatus(res.body.id, 'bridged');
    h.sim.remoteHangup(bridged.attempts[0]?.legs[0]?.uuid ?? '');
    await h.waitForStatus(res.body.id, 'completed');

    const expected = ['queued', 'calling-callee', 'callee-answered', 'calling-caller', 'bridged', 'completed'];
    const deadline = Date.now() + 10_000;
    const mine = (): Delivery[] => deliveries.filter((d) => d.body.data.callback.id === res.body.id);
    while (mine().length < expected.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const got = mine();
    assert.deepEqual(got.map((d) => d.body.data.status).sort(), [...expected].sort());
    assert.ok(got.every((d) => d.signatureValid), 'every delivery verifies');
    assert.ok(got.every((d) => d.body.type === 'callback.status_changed'));
    assert.equal(new Set(got.map((d) => d.eventId)).size, got.length, 'each event delivered once');
  });

  it('a webhook URL that resolves to a private address is refused with 422 when private targets are not allowed', async () => {
    const strict = await startHarness({ env: { WEBHOOK_ALLOW_PRIVATE: 'false' } });
    try {
      const res = await strict.create({ caller: { number: '+12025550142' }, callee: { number: '+12025550143' }, webhook: 'http://127.0.0.1:9/x' });
      assert.equal(res.status, 422);
      assert.equal(res.body.error.code, 'WEBHOOK_URL_NOT_ALLOWED');
      const meta = await strict.create({ caller: { number: '+12025550142' }, callee: { number: '+12025550143' }, webhook: 'http://169.254.169.254/latest/meta-data' });
      assert.equal(meta.status, 422);
    } finally {
      await strict.close();
    }
  });
});
