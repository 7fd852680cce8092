import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CallbackView } from '../../src/callbacks/index.js';
import { freePort, startRedisServer } from '../../src/store/index.js';
import { startHarness, type Harness } from '../support/harness.js';

/*
 * "An accepted request survives a Redis restart with persistence": a redis-server of this test's
 * own (append-only, fsync always) is stopped and started again on the same port and data while one
 * callback is bridged and another is scheduled. Both must still complete, each leg dialled once.
 */

const startRedis = (port: number, dir: string): Promise<ChildProcess> => startRedisServer(port, dir, ['--appendfsync', 'always']);

function stopRedis(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const legOf = (cb: CallbackView, role: 'callee' | 'caller') => cb.attempts[0]?.legs.find((l) => l.role === role);

describe('a Redis restart with persistence', () => {
  let h: Harness;
  let redis: ChildProcess;
  let port = 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crossline-restart-'));

  before(async () => {
    port = await freePort();
    redis = await startRedis(port, dir);
    h = await startHarness({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
  });
  after(async () => {
    await h.close();
    await stopRedis(redis);
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses no accepted callback: a bridged call and a scheduled one both complete, each leg dialled once', async () => {
    const live = await h.create({ caller: { number: '+12025550121' }, callee: { number: '+12025550120' } });
    const bridged = await h.waitForStatus(live.body.id, 'bridged');
    const at = new Date(Date.now() + 3_000).toISOString();
    const scheduled = await h.create({ caller: { number: '+12025550123' }, callee: { number: '+12025550122' }, at });
    assert.equal(scheduled.status, 202);

    await stopRedis(redis);
    await new Promise((r) => setTimeout(r, 500));
    redis = await startRedis(port, dir);

    h.sim.remoteHangup(legOf(bridged, 'caller')?.uuid ?? '');
    const liveDone = await h.waitForStatus(live.body.id, 'completed', 30_000);
    assert.equal(legOf(liveDone, 'caller')?.uuid, legOf(bridged, 'caller')?.uuid);

    const laterBridged = await h.waitForStatus(scheduled.body.id, 'bridged', 30_000);
    h.sim.remoteHangup(legOf(laterBridged, 'callee')?.uuid ?? '');
    await h.waitForStatus(scheduled.body.id, 'completed', 15_000);

    const originates = h.sim.originates().map((c) => c.text);
    for (const number of ['2025550120', '2025550121', '2025550122', '2025550123']) {
      assert.equal(originates.filter((t) => t.includes(number)).length, 1, `${number} dialled once`);
    }
  });
});
