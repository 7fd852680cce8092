// @serial: its last part asks the one real FreeSWITCH of the run (test/run-suite.sh)
/**
 * The SIP registration check behind the softphone route (seed 002's "current network address"):
 * the strict user@domain grammar that alone reaches `sofia_contact`, and the switch's answers —
 * the simulator's against a real FreeSWITCH 1.10.12 when TEST_FREESWITCH_ESL_URL names the test
 * switch of ../shared/freeswitch (it has no user directory, so only "not registered" is real there;
 * the registered form is FreeSWITCH's `sofia/<profile>/<contact>`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEslSimulator } from '../../src/simulator/index.js';
import { SIP_AOR, sipAorOf } from '../../src/telephony/grammar.js';
import { closeModesl, connectModesl, type ModeslConnection } from '../simulator/modesl.js';
import { parseEslUrl } from '../support/switch-under-test.js';

const FREESWITCH_URL = process.env.TEST_FREESWITCH_ESL_URL;

const api = (conn: ModeslConnection, command: string, args: string): Promise<string> =>
  new Promise((resolve) => conn.api(command, args, (event) => resolve(event.getBody() ?? '')));

describe('SIP registration checks', () => {
  it('only a plain user@domain of a SIP URI reaches the switch', () => {
    assert.equal(sipAorOf('sip:ada@127.0.0.1'), 'ada@127.0.0.1');
    assert.equal(sipAorOf('sip:Ada.L+1@PBX.Example.com:5060;transport=tcp'), 'Ada.L+1@pbx.example.com');
    assert.equal(sipAorOf('sips:1001@voip.example.net'), '1001@voip.example.net');
    for (const bad of ['sip:ada@127.0.0.1 reg', 'sip:a%20b@x.example', 'sip:ada;x=1@x.example', 'sip:@x.example', 'sip:ada@', 'tel:+12025550101', 'sip:ada@x.example\nexit', 'sip:ada@-bad-.example', 'sip:ada@x..example', `sip:${'a'.repeat(65)}@x.example`, 'sip:ada@x_y.example']) {
      assert.equal(sipAorOf(bad), undefined, bad);
    }
    assert.ok(!SIP_AOR.test('*/ada@x.example'));
    assert.ok(!SIP_AOR.test('ada@x.example status'));
  });

  it('the simulator answers sofia_contact as FreeSWITCH does: not registered, then the contact once registered', async (t) => {
    const sim = await createEslSimulator({ timeScale: 0.05 });
    const conn = await connectModesl(sim.host, sim.port, sim.password);
    t.after(async () => {
      closeModesl(conn);
      await sim.close();
    });
    assert.equal(await api(conn, 'sofia_contact', '*/ada@127.0.0.1'), 'error/user_not_registered');
    sim.registerSipUser('ada@127.0.0.1', 'sip:ada@127.0.0.1:5062;transport=udp');
    assert.equal(await api(conn, 'sofia_contact', '*/ada@127.0.0.1'), 'sofia/internal/sip:ada@127.0.0.1:5062;transport=udp');
    assert.equal(await api(conn, 'sofia_contact', 'internal/ada@127.0.0.1'), 'sofia/internal/sip:ada@127.0.0.1:5062;transport=udp');
    sim.unregisterSipUser('ada@127.0.0.1');
    assert.equal(await api(conn, 'sofia_contact', '*/ada@127.0.0.1'), 'error/user_not_registered');
    assert.equal(await api(conn, 'sofia_contact', 'bad'), 'error/user_not_registered');
  });

  it('the real switch gives the simulator\'s answer for a user that is not registered', { skip: FREESWITCH_URL === undefined ? 'TEST_FREESWITCH_ESL_URL is not set' : false }, async (t) => {
    const address = parseEslUrl(FREESWITCH_URL ?? '');
    const conn = await connectModesl(address.host, address.port, address.password);
    const sim = await createEslSimulator({ timeScale: 0.05 });
    const simConn = await connectModesl(sim.host, sim.port, sim.password);
    t.after(async () => {
      closeModesl(conn);
      closeModesl(simConn);
      await sim.close();
    });
    for (const args of ['*/ada@127.0.0.1', 'internal/ada@127.0.0.1', 'bad']) {
      assert.equal(await api(conn, 'sofia_contact', args), await api(simConn, 'sofia_contact', args), args);
    }
  });
});
