import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { eventOf, sleep, startClient, viaGateway, type TestClient } from './client.js';

/*
 * mod_event_socket queues events per connection and writes them between commands, so the reply
 * to an api command can overtake events fired before it arrived. The dual run showed it on a real
 * FreeSWITCH 1.10.12: `uuid_exists` said "false" for a bridged leg whose CHANNEL_HANGUP had not
 * reached the client yet. eventLagMs reproduces that; 0 (the default) writes events as they fire.
 */
describe('event lag: replies overtake queued events', () => {
  let c: TestClient;
  before(async () => {
    c = await startClient({ eventLagMs: 100 });
  });
  after(async () => c.close());

  it('uuid_exists answers false for a leg whose CHANNEL_HANGUP has not been written yet, which follows', async () => {
    const uuid = randomUUID();
    assert.match(await c.api('originate', viaGateway(uuid, '+12025550101')), /^\+OK/);
    await c.waitForEvent(eventOf('CHANNEL_ANSWER', uuid));
    c.sim.remoteHangup(uuid, 'NORMAL_CLEARING');
    await sleep(20);
    assert.equal(c.sim.channels().find((ch) => ch.uuid === uuid)?.state, 'hungup');
    assert.equal((await c.api('uuid_exists', uuid)).trim(), 'false');
    assert.equal(c.events.some(eventOf('CHANNEL_HANGUP', uuid)), false, 'the hangup event is still queued');
    const hangup = await c.waitForEvent(eventOf('CHANNEL_HANGUP', uuid), 2000);
    assert.equal(hangup.getHeader('Hangup-Cause'), 'NORMAL_CLEARING');
  });

  it('keeps the order of the events it held back', async () => {
    const uuid = randomUUID();
    const firstSeen = c.events.length;
    await c.api('originate', viaGateway(uuid, '+12025550102'));
    c.sim.remoteHangup(uuid);
    await c.waitForEvent(eventOf('CHANNEL_HANGUP_COMPLETE', uuid), 2000);
    const names = c.events.slice(firstSeen).filter((e) => e.getHeader('Unique-ID') === uuid).map((e) => e.getHeader('Event-Name'));
    assert.ok(names.indexOf('CHANNEL_CREATE') < names.indexOf('CHANNEL_ANSWER'));
    assert.ok(names.indexOf('CHANNEL_ANSWER') < names.indexOf('CHANNEL_HANGUP'));
    assert.ok(names.indexOf('CHANNEL_HANGUP') < names.indexOf('CHANNEL_HANGUP_COMPLETE'));
  });
});
