/**
 * API commands and call control against the simulator, through drachtio-modesl: originate's
 * syntax, the uuid_* family, bridging, show channels/calls, playback and speak, callcenter_config.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { eventOf, SCALE, startClient, viaGateway, type TestClient } from './client.js';
import type { ModeslEvent } from './modesl.js';

interface ChannelRow {
  uuid: string;
  direction: string;
  created: string;
  name: string;
  state: string;
  cid_num: string;
  dest: string;
  callstate: string;
}

describe('API commands and call control', () => {
  let c: TestClient;
  beforeEach(async () => {
    c = await startClient();
  });
  afterEach(() => c.close());

  const answered = async (number = '+12025550100', vars = ''): Promise<string> => {
    const uuid = randomUUID();
    assert.equal(await c.bgapi('originate', viaGateway(uuid, number, vars)), `+OK ${uuid}\n`);
    await c.waitForEvent(eventOf('CHANNEL_PARK', uuid));
    return uuid;
  };

  it('originate reads {global} and [local] variables, the ^^ separator, quotes and caller-id variables onto the leg', async () => {
    const uuid = randomUUID();
    const url = `{^^:origination_uuid=${uuid}:crossline_tags=a,b:origination_caller_id_number=+12025550999}[origination_caller_id_name='Crossline Test',crossline_role=callee]sofia/gateway/default/+12025550100 &park()`;
    assert.equal(await c.bgapi('originate', url), `+OK ${uuid}\n`);
    const variables = c.sim.channels().find((ch) => ch.uuid === uuid)?.variables ?? {};
    assert.equal(variables.crossline_tags, 'a,b');
    assert.equal(variables.crossline_role, 'callee');
    assert.equal(variables.origination_caller_id_name, 'Crossline Test');
    const outgoing = await c.waitForEvent(eventOf('CHANNEL_OUTGOING', uuid));
    assert.equal(outgoing.getHeader('Caller-Caller-ID-Number'), '+12025550999');
    assert.equal(outgoing.getHeader('Caller-Caller-ID-Name'), 'Crossline Test');
  });

  it('originate refuses what FreeSWITCH refuses: bad syntax, a ^^ block without separator, an unknown endpoint type', async () => {
    assert.match(await c.api('originate', 'sofia/gateway/default/+12025550100'), /^-USAGE: <call url> <exten>/);
    assert.match(await c.api('originate', '{^^}sofia/gateway/default/+12025550100 &park()'), /^-USAGE/);
    assert.equal(await c.api('originate', 'woomera/+12025550100 &park()'), '-ERR CHAN_NOT_IMPLEMENTED\n');
    assert.equal(await c.api('originate', 'error/user_busy &park()'), '-ERR USER_BUSY\n');
  });

  it('uuid_exists, uuid_getvar, uuid_setvar and uuid_kill answer like FreeSWITCH for a live and an unknown channel', async () => {
    const uuid = await answered();
    const unknown = randomUUID();
    assert.equal(await c.api('uuid_exists', uuid), 'true');
    assert.equal(await c.api('uuid_exists', unknown), 'false');
    assert.equal(await c.api('uuid_setvar', `${uuid} crossline_attempt 2`), '+OK\n');
    assert.equal(await c.api('uuid_getvar', `${uuid} crossline_attempt`), '2');
    assert.equal(await c.api('uuid_getvar', `${uuid} nothing_here`), '_undef_');
    assert.equal(await c.api('uuid_getvar', `${unknown} x`), '-ERR No Such Channel!\n');
    assert.equal(await c.api('uuid_kill', unknown), '-ERR No such channel!\n');
    assert.equal(await c.api('uuid_send_dtmf', `${unknown} 1`), '-ERR Cannot locate session!\n');
    assert.equal(await c.bgapi('uuid_kill', `${uuid} USER_BUSY`), '+OK\n');
    assert.equal((await c.waitForEvent(eventOf('CHANNEL_HANGUP_COMPLETE', uuid))).getHeader('Hangup-Cause'), 'USER_BUSY');
    assert.equal(await c.api('uuid_exists', uuid), 'false');
  });

  it('show channels lists ringing and answered legs with FreeSWITCH columns, as text and as json', async () => {
    assert.equal(await c.api('show', 'channels as json'), '{"row_count": 0}\n');
    assert.equal(await c.api('show', 'channels'), '\n0 total.\n');
    const up = await answered();
    const ringing = randomUUID();
    void c.bgapi('originate', viaGateway(ringing, '+12025550151'));
    await c.waitForEvent((e) => eventOf('CHANNEL_CALLSTATE', ringing)(e) && e.getHeader('Channel-Call-State') === 'RINGING');
    const json = JSON.parse(await c.api('show', 'channels as json')) as { row_count: number; rows: ChannelRow[] };
    assert.equal(json.row_count, 2);
    const byUuid = new Map(json.rows.map((r) => [r.uuid, r]));
    assert.deepEqual(
      [byUuid.get(up)?.callstate, byUuid.get(up)?.state, byUuid.get(up)?.dest, byUuid.get(up)?.direction],
      ['ACTIVE', 'CS_EXECUTE', '+12025550100', 'outbound'],
    );
    assert.equal(byUuid.get(ringing)?.callstate, 'RINGING');
    assert.match(byUuid.get(up)?.created ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const text = await c.api('show', 'channels');
    const lines = text.split('\n');
    assert.match(lines[0] ?? '', /^uuid,direction,created,created_epoch,name,state,cid_name,cid_num,ip_addr,dest,application,/);
    assert.ok(text.endsWith('\n\n2 total.\n'));
    assert.equal(await c.api('show', 'channels count'), '\n2 total.\n');
  });

  it('uuid_bridge joins two answered legs (show calls gives b_uuid) and a kill on one ends both', async () => {
    const a = await answered('+12025550110');
    const b = await answered('+12025550111');
    assert.equal(await c.bgapi('uuid_bridge', `${a} ${b}`), `+OK ${b}\n`);
    const bridge = await c.waitForEvent(eventOf('CHANNEL_BRIDGE', a));
    assert.equal(bridge.getHeader('Bridge-B-Unique-ID'), b);
    assert.equal(c.sim.channels().find((ch) => ch.uuid === a)?.bridgedTo, b);
    const calls = JSON.parse(await c.api('show', 'calls as json')) as { rows: Array<{ uuid: string; b_uuid: string }> };
    assert.deepEqual(calls.rows.map((r) => [r.uuid, r.b_uuid]), [[a, b]]);
    assert.equal(await c.api('uuid_bridge', `${a} ${randomUUID()}`), '-ERR Invalid uuid\n');
    await c.api('uuid_kill', a);
    await c.waitForEvent(eventOf('CHANNEL_HANGUP_COMPLETE', b));
    await c.waitForEvent(eventOf('CHANNEL_UNBRIDGE', a));
    assert.deepEqual(c.sim.channels().map((ch) => ch.state), ['hungup', 'hungup']);
  });

  it('a far-end hangup of a bridged leg ends the bridge and the other leg', async () => {
    const a = await answered('+12025550112');
    const b = await answered('+12025550113');
    await c.bgapi('uuid_bridge', `${a} ${b}`);
    await c.waitForEvent(eventOf('CHANNEL_BRIDGE', a));
    c.sim.remoteHangup(b);
    const aDone = await c.waitForEvent(eventOf('CHANNEL_HANGUP_COMPLETE', a));
    assert.equal(aDone.getHeader('Hangup-Cause'), 'NORMAL_CLEARING');
    assert.ok(c.events.some(eventOf('CHANNEL_UNBRIDGE', a)));
  });

  for (const order of ['owner first', 'peer first'] as const) {
    it(`both bridged parties hanging up at the same moment (${order}) end each leg once: one HANGUP_COMPLETE and one DESTROY each`, async () => {
      const a = await answered(order === 'owner first' ? '+12025550114' : '+12025550116');
      const b = await answered(order === 'owner first' ? '+12025550115' : '+12025550117');
      await c.bgapi('uuid_bridge', `${a} ${b}`);
      await c.waitForEvent(eventOf('CHANNEL_BRIDGE', a));
      for (const uuid of order === 'owner first' ? [a, b] : [b, a]) c.sim.remoteHangup(uuid);
      await c.waitForEvent(eventOf('CHANNEL_DESTROY', a));
      await c.waitForEvent(eventOf('CHANNEL_DESTROY', b));
      await new Promise((r) => setTimeout(r, 50));
      for (const uuid of [a, b]) {
        assert.equal(c.events.filter(eventOf('CHANNEL_HANGUP_COMPLETE', uuid)).length, 1, `one HANGUP_COMPLETE for ${uuid}`);
        assert.equal(c.events.filter(eventOf('CHANNEL_DESTROY', uuid)).length, 1, `one DESTROY for ${uuid}`);
      }
    });
  }

  it('originate with &bridge() answers A, dials B with A as originator, and bridges when B answers', async () => {
    const a = randomUUID();
    const result = await c.bgapi('originate', `{origination_uuid=${a}}sofia/gateway/default/+12025550120 &bridge(sofia/gateway/default/+12025550121)`);
    assert.equal(result, `+OK ${a}\n`);
    const bridge = await c.waitForEvent(eventOf('CHANNEL_BRIDGE', a));
    const b = bridge.getHeader('Bridge-B-Unique-ID') ?? '';
    assert.equal(c.sim.channels().find((ch) => ch.uuid === b)?.destination, 'sofia/gateway/default/+12025550121');
    const outgoing = await c.waitForEvent(eventOf('CHANNEL_OUTGOING', b));
    assert.equal(outgoing.getHeader('Other-Type'), 'originator');
    c.sim.remoteHangup(b);
    const aDone = await c.waitForEvent(eventOf('CHANNEL_HANGUP_COMPLETE', a));
    assert.equal(aDone.getHeader('variable_last_app'), 'bridge');
  });

  it('a bridge to a busy B leg ends the A leg with USER_BUSY', async () => {
    const a = randomUUID();
    await c.bgapi('originate', `{origination_uuid=${a}}sofia/gateway/default/+12025550122 &bridge(sofia/gateway/default/+12025550162)`);
    const done = await c.waitForEvent(eventOf('CHANNEL_HANGUP_COMPLETE', a));
    assert.equal(done.getHeader('Hangup-Cause'), 'USER_BUSY');
    assert.equal(done.getHeader('variable_DIALSTATUS'), 'USER_BUSY');
  });

  it('killing the A leg while its bridge still rings B cancels B with ORIGINATOR_CANCEL', async () => {
    const a = randomUUID();
    await c.bgapi('originate', `{origination_uuid=${a}}sofia/gateway/default/+12025550123 &bridge(sofia/gateway/default/+12025550152)`);
    const outgoing = await c.waitForEvent((e) => eventOf('CHANNEL_OUTGOING')(e) && e.getHeader('Other-Leg-Unique-ID') === a);
    const b = outgoing.getHeader('Unique-ID') ?? '';
    await c.waitForEvent(eventOf('CHANNEL_PROGRESS', b));
    await c.api('uuid_kill', a);
    assert.equal((await c.waitForEvent(eventOf('CHANNEL_HANGUP_COMPLETE', b))).getHeader('Hangup-Cause'), 'ORIGINATOR_CANCEL');
    assert.ok(c.events.some((e) => eventOf('CHANNEL_EXECUTE_COMPLETE', a)(e) && e.getHeader('Application') === 'bridge'));
  });

  it('sendmsg playback reports PLAYBACK_START/STOP and "FILE PLAYED"; speak lasts longer for longer text', async () => {
    const uuid = await answered();
    const played = await new Promise<string | null>((resolve) =>
      c.conn.execute('playback', 'tone_stream://%(400,100,440)', uuid, (e) => resolve(e.getHeader('Application-Response'))));
    assert.equal(played, 'FILE PLAYED');
    assert.ok(c.events.some(eventOf('PLAYBACK_START', uuid)) && c.events.some(eventOf('PLAYBACK_STOP', uuid)));
    const speak = async (text: string): Promise<number> => {
      const started = performance.now();
      await new Promise((resolve) => c.conn.execute('speak', `flite|kal|${text}`, uuid, resolve));
      return (performance.now() - started) / SCALE;
    };
    const short = await speak('Hello.');
    const long = await speak('Connecting you to the support desk of Example Incorporated, please hold the line.');
    assert.ok(long > short + 2000, `short ${short} ms, long ${long} ms (simulated)`);
  });

  it('uuid_break all stops an endless playback: PLAYBACK_STOP says break, the app completes', async () => {
    const uuid = await answered();
    const completed = new Promise<ModeslEvent>((resolve) => c.conn.execute('playback', 'tone_stream://%(1000,0,440);loops=-1', uuid, resolve));
    await c.waitForEvent(eventOf('PLAYBACK_START', uuid));
    assert.equal(await c.api('uuid_break', `${uuid} all`), '+OK\n');
    assert.equal((await completed).getHeader('Application-Response'), 'FILE PLAYED');
    assert.equal((await c.waitForEvent(eventOf('PLAYBACK_STOP', uuid))).getHeader('Playback-Status'), 'break');
    assert.equal(c.sim.channels().find((ch) => ch.uuid === uuid)?.state, 'answered');
  });

  it('uuid_broadcast plays a file to a leg, and sendmsg hangup ends it with the given cause', async () => {
    const uuid = await answered();
    assert.equal(await c.api('uuid_broadcast', `${uuid} silence_stream://500 aleg`), '+OK Message sent successfully\n');
    await c.waitForEvent((e) => eventOf('CHANNEL_EXECUTE_COMPLETE', uuid)(e) && e.getHeader('Application') === 'playback');
    await new Promise((resolve) => c.conn.sendRecv(`sendmsg ${uuid}\ncall-command: hangup\nhangup-cause: CALL_REJECTED`, resolve));
    const done = await c.waitForEvent(eventOf('CHANNEL_HANGUP_COMPLETE', uuid));
    assert.equal(done.getHeader('Hangup-Cause'), 'CALL_REJECTED');
    const reply = await new Promise((resolve) => c.conn.sendRecv(`sendmsg ${uuid}\ncall-command: hangup`, (e) => resolve(e.getHeader('Reply-Text'))));
    assert.equal(reply, `-ERR invalid session id [${uuid}]`);
  });

  it('callcenter_config reports a queue as mod_callcenter does, and setQueue changes it', async () => {
    assert.equal(await c.api('callcenter_config', 'queue count members support@default'), '0\n');
    const agents = await c.api('callcenter_config', 'queue list agents support@default');
    assert.match(agents, /^name\|instance_id\|uuid\|type\|contact\|status\|state\|/);
    assert.match(agents, /\n1000@default\|single_box\|\|callback\|.*\|Available\|Waiting\|/);
    assert.ok(agents.endsWith('\n+OK\n'));
    c.sim.setQueue('sales@default', { waiting: 3, agents: [] });
    assert.equal(await c.api('callcenter_config', 'queue count members sales@default'), '3\n');
    assert.equal(await c.api('callcenter_config', 'queue count agents sales@default'), '0\n');
    assert.match(await c.api('status'), /^UP 0 years, 0 days, 0 hours, 0 minutes, \d+ seconds?, \d+ milliseconds?, \d+ microseconds?\nFreeSWITCH \(Version 1\.10\.12-release/);
  });
});
