/**
 * Business hours and caller windows through the whole Crossline: a callback to a closed center
 * waits (no call) until it opens, an `at` in closed hours is refused with the next opening, a
 * callback that has not started can be rescheduled, and a center that closes meanwhile holds the
 * attempt back without using it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DateTime } from 'luxon';
import { startHarness, type Harness } from '../../support/harness.js';

/** A zone where it is now between 01:00 and 20:00, so that the test's times fall on one local day. */
const ZONE = ['Europe/Berlin', 'America/New_York', 'America/Los_Angeles', 'Pacific/Honolulu', 'Asia/Tokyo', 'Asia/Kolkata', 'Pacific/Kiritimati'].find((zone) => {
  const hour = DateTime.now().setZone(zone).hour;
  return hour >= 1 && hour < 20;
}) as string;
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** Hours open every day from `from` to `to` minutes from now (wall clock in ZONE), closed otherwise. */
function hoursFromNow(fromMin: number, toMin: number): { timeZone: string; weekly: Array<{ days: string[]; from: string; to: string }> } {
  const now = DateTime.now().setZone(ZONE);
  const open = now.plus({ minutes: fromMin }).startOf('minute');
  const close = now.plus({ minutes: toMin }).startOf('minute');
  assert.equal(open.toISODate(), close.toISODate(), `both times on one local day in ${ZONE}`);
  return { timeZone: ZONE, weekly: [{ days: DAYS, from: open.toFormat('HH:mm'), to: close.toFormat('HH:mm') }] };
}

describe('business hours at run time', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  it('a callback to a closed center is scheduled for the opening, no call is placed, and it can be rescheduled and canceled', async () => {
    const hours = hoursFromNow(120, 180);
    await h.api().post('/v1/call-centers').send({ name: 'closed', numbers: ['+12025550171'], hours }).expect(201);
    const res = await h.create({ caller: { number: '+12025550101' }, callee: { callCenter: 'closed' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.status, 'scheduled');
    const opening = DateTime.fromISO(res.body.nextAttemptAt as string).setZone(ZONE);
    assert.equal(opening.toFormat('HH:mm'), hours.weekly[0]?.from);
    assert.match(res.body.timeline[0].detail, /earliest the call center hours and caller window allow/);

    // an explicit at in closed hours: refused with the next opening
    const at = DateTime.now().plus({ minutes: 30 }).toUTC().toISO({ suppressMilliseconds: true }) as string;
    const refused = await h.create({ caller: { number: '+12025550101' }, callee: { callCenter: 'closed' }, at: at.replace('.000', '') });
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'CALL_CENTER_CLOSED');
    assert.equal(refused.body.error.details[0].nextOpenAt, res.body.nextAttemptAt);

    // PATCH to an open time of the center: accepted; to a closed one: refused with the opening
    const inHours = opening.plus({ minutes: 10 }).toUTC().toFormat("yyyy-MM-dd'T'HH:mm:ss'Z'");
    const moved = await h.api().patch(`/v1/callbacks/${res.body.id}`).send({ at: inHours });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal(moved.body.nextAttemptAt, new Date(inHours).toISOString());
    assert.equal(moved.body.timeline.at(-1).event, 'rescheduled');
    const closedPatch = await h.api().patch(`/v1/callbacks/${res.body.id}`).send({ at });
    assert.equal(closedPatch.status, 422);
    assert.equal(closedPatch.body.error.details[0].nextOpenAt, res.body.nextAttemptAt);
    const badWindow = await h.api().patch(`/v1/callbacks/${res.body.id}`).send({ window: { from: '16:00', to: '14:00', timeZone: ZONE } });
    assert.equal(badWindow.status, 400);
    assert.equal(badWindow.body.error.code, 'INVALID_SCHEDULE');

    await new Promise((r) => setTimeout(r, 300));
    assert.equal(h.sim.originates().length, 0, 'nothing was dialled');
    const canceled = await h.api().delete(`/v1/callbacks/${res.body.id}`);
    assert.equal(canceled.body.status, 'canceled');
  });

  it('a center that is closed when the attempt is due holds it back (waiting-for-hours) without using an attempt', async () => {
    await h.api().post('/v1/call-centers').send({ name: 'later', numbers: ['+12025550171'] }).expect(201);
    const res = await h.create({ caller: { number: '+12025550101' }, callee: { callCenter: 'later' }, at: new Date(Date.now() + 1500).toISOString().replace(/\.\d+Z$/, 'Z') });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    // the center changes its hours to closed before the attempt is due
    await h.api().put('/v1/call-centers/later').send({ name: 'later', numbers: ['+12025550171'], hours: hoursFromNow(120, 180) }).expect(200);
    const waiting = await h.waitFor(res.body.id, (cb) => cb.timeline.some((e) => e.event === 'waiting-for-hours'), 10_000);
    assert.equal(waiting.status, 'scheduled');
    assert.equal(waiting.attempts.length, 0);
    assert.match(waiting.timeline.find((e) => e.event === 'waiting-for-hours')?.detail ?? '', /next opening/);
    assert.equal(h.sim.originates().length, 0);
    await h.api().delete(`/v1/callbacks/${res.body.id}`);
  });

  it('a PATCH with a window now open starts the callback now; a callback that has started cannot be rescheduled', async () => {
    await h.api().post('/v1/call-centers').send({ name: 'open', numbers: ['+12025550171'], routes: { main: { dtmf: '1' } } }).expect(201);
    const res = await h.create({ caller: { number: '+12025550101' }, callee: { callCenter: 'open', route: 'main' }, window: { ...windowAround(120, 180) } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.status, 'scheduled');
    const now = await h.api().patch(`/v1/callbacks/${res.body.id}`).send({ window: windowAround(-5, 60) });
    assert.equal(now.status, 200, JSON.stringify(now.body));
    const started = await h.waitFor(res.body.id, (cb) => cb.attempts.length > 0, 10_000);
    assert.ok(started.attempts.length > 0);
    const late = await h.api().patch(`/v1/callbacks/${res.body.id}`).send({ window: null });
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'CALLBACK_STARTED');
    await h.api().delete(`/v1/callbacks/${res.body.id}`);
  });
});

function windowAround(fromMin: number, toMin: number): { from: string; to: string; timeZone: string } {
  const hours = hoursFromNow(fromMin, toMin);
  return { from: hours.weekly[0]?.from ?? '', to: hours.weekly[0]?.to ?? '', timeZone: ZONE };
}
