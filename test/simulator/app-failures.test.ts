/**
 * How the simulator signals application failures, as FreeSWITCH does in o-app-failures: a speak
 * without its TTS module completes at once like a success, a playback of a missing file says
 * FILE NOT FOUND, and module_exists answers from the loaded modules.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import type { ModeslEvent } from './modesl.js';
import { eventOf, SCALE, startClient, viaGateway, type TestClient } from './client.js';

describe('application failures', () => {
  let c: TestClient | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  async function answeredLeg(client: TestClient): Promise<string> {
    const uuid = randomUUID();
    assert.equal(await client.bgapi('originate', viaGateway(uuid, '+12025550102')), `+OK ${uuid}\n`);
    return uuid;
  }

  /** Runs `app` and resolves with its CHANNEL_EXECUTE_COMPLETE and how long it took, in simulated ms under `scale`. */
  const run = (client: TestClient, app: string, arg: string, uuid: string, scale = SCALE): Promise<{ event: ModeslEvent; ms: number }> => {
    const started = performance.now();
    return new Promise((resolve) => client.conn.execute(app, arg, uuid, (event) => resolve({ event, ms: (performance.now() - started) / scale })));
  };

  it('module_exists answers true or false without a newline, from the loaded modules', async () => {
    c = await startClient();
    assert.equal(await c.api('module_exists', 'mod_flite'), 'true');
    assert.equal(await c.api('module_exists', 'mod_nosuch'), 'false');
    c.sim.setModule('mod_flite', false);
    assert.equal(await c.api('module_exists', 'mod_flite'), 'false');
  });

  it('a speak whose TTS module is not loaded completes at once with _none_, exactly like a success', async () => {
    // A slower clock than the other tests': the 400 simulated ms compared below must stay far more
    // than the real time a loaded machine takes to answer a command.
    const scale = 0.5;
    c = await startClient({ modules: ['mod_sofia', 'mod_dptools', 'mod_commands'], timeScale: scale });
    const uuid = await answeredLeg(c);
    const failed = await run(c, 'speak', 'flite|kal|hello there', uuid, scale);
    assert.equal(failed.event.getHeader('Application-Response'), '_none_');
    assert.equal(failed.event.getHeader('variable_current_application_response'), null);
    c.sim.setModule('mod_flite', true);
    const spoken = await run(c, 'speak', 'flite|kal|hello there', uuid, scale);
    assert.equal(spoken.event.getHeader('Application-Response'), '_none_');
    assert.ok(spoken.ms > failed.ms + 400, `spoken in ${spoken.ms} ms, failed in ${failed.ms} ms (simulated)`);
    assert.ok(!c.events.some(eventOf('PLAYBACK_START', uuid)), 'speak fires no PLAYBACK_START');
  });

  it('a playback of a missing file completes at once with FILE NOT FOUND and no PLAYBACK_START/STOP', async () => {
    c = await startClient({ soundFiles: ['/sounds/hello.wav'] });
    const uuid = await answeredLeg(c);
    const missing = await run(c, 'playback', '/nonexistent/none.wav', uuid);
    assert.equal(missing.event.getHeader('Application-Response'), 'FILE NOT FOUND');
    assert.equal(missing.event.getHeader('variable_current_application_response'), 'FILE NOT FOUND');
    assert.ok(!c.events.some(eventOf('PLAYBACK_START', uuid)));
    const found = await run(c, 'playback', '/sounds/hello.wav', uuid);
    assert.equal(found.event.getHeader('Application-Response'), 'FILE PLAYED');
    c.sim.setSoundFiles(undefined);
    assert.equal((await run(c, 'playback', '/any/other.wav', uuid)).event.getHeader('Application-Response'), 'FILE PLAYED');
  });
});
