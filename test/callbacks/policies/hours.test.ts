import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOpenAt, nextAllowedAt, nextOpenAt, openIntervals, parseBusinessHours, parseCallWindow, windowHours, type BusinessHours } from '../../../src/callbacks/policies/hours.js';
import { firstAttemptAt } from '../../../src/callbacks/policies/schedule.js';
import { CrosslineError } from '../../../src/errors.js';

const ms = (iso: string): number => Date.parse(iso);
const iso = (t: number | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString());

const weekdays = (timeZone: string, from = '09:00', to = '17:00'): BusinessHours =>
  parseBusinessHours({ timeZone, weekly: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from, to }] }, '/hours');

function refused(fn: () => unknown, code: string): CrosslineError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CrosslineError, String(err));
    assert.equal(err.code, code);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('business hours', () => {
  it('opens and closes on the wall clock of the center, and is closed at weekends', () => {
    const ny = weekdays('America/New_York');
    // Wednesday 2030-01-16: 09:00 EST = 14:00Z.
    assert.equal(isOpenAt(ny, ms('2030-01-16T13:59:59Z')), false);
    assert.equal(isOpenAt(ny, ms('2030-01-16T14:00:00Z')), true);
    assert.equal(isOpenAt(ny, ms('2030-01-16T21:59:59Z')), true);
    assert.equal(isOpenAt(ny, ms('2030-01-16T22:00:00Z')), false);
    // Friday after closing → Monday 09:00 EST.
    assert.equal(iso(nextOpenAt(ny, ms('2030-01-18T22:30:00Z'))), '2030-01-21T14:00:00.000Z');
  });

  it('keeps 09:00 local across the March change in New York (EST → EDT)', () => {
    const ny = weekdays('America/New_York');
    // Friday 2026-03-06 is EST (UTC-5); Monday 2026-03-09 is EDT (UTC-4): 09:00 is 13:00Z.
    assert.equal(iso(nextOpenAt(ny, ms('2026-03-06T22:00:00Z'))), '2026-03-09T13:00:00.000Z');
    assert.equal(isOpenAt(ny, ms('2026-03-09T12:30:00Z')), false, '08:30 EDT is before opening');
  });

  it('keeps 09:00 local across the November change in New York (EDT → EST)', () => {
    const ny = weekdays('America/New_York');
    // Friday 2026-10-30 EDT; Monday 2026-11-02 EST: 09:00 is 14:00Z.
    assert.equal(iso(nextOpenAt(ny, ms('2026-10-30T21:00:00Z'))), '2026-11-02T14:00:00.000Z');
    assert.equal(isOpenAt(ny, ms('2026-11-02T13:30:00Z')), false, '08:30 EST');
  });

  it('keeps 09:00 local across the March and October changes in Berlin', () => {
    const berlin = weekdays('Europe/Berlin');
    // Friday 2026-03-27 CET (UTC+1); Monday 2026-03-30 CEST (UTC+2): 09:00 is 07:00Z.
    assert.equal(iso(nextOpenAt(berlin, ms('2026-03-27T17:00:00Z'))), '2026-03-30T07:00:00.000Z');
    // Friday 2026-10-23 CEST; Monday 2026-10-26 CET: 09:00 is 08:00Z.
    assert.equal(iso(nextOpenAt(berlin, ms('2026-10-23T16:00:00Z'))), '2026-10-26T08:00:00.000Z');
  });

  it('a whole-day range on the 23-hour day lasts 23 hours, on the 25-hour day 25', () => {
    const allDay = parseBusinessHours({ timeZone: 'Europe/Berlin', weekly: [{ days: ['sun'], from: '00:00', to: '24:00' }] }, '/hours');
    const [spring] = openIntervals(allDay, ms('2026-03-28T12:00:00Z'));
    assert.ok(spring);
    assert.equal((spring[1] - spring[0]) / 3_600_000, 23);
    assert.equal(iso(spring[0]), '2026-03-28T23:00:00.000Z');
    const [autumn] = openIntervals(allDay, ms('2026-10-24T12:00:00Z'));
    assert.ok(autumn);
    assert.equal((autumn[1] - autumn[0]) / 3_600_000, 25);
    // 23:30 wall clock on the 25-hour day is still open (22:30Z), 00:00 Monday is not.
    assert.equal(isOpenAt(allDay, ms('2026-10-25T22:30:00Z')), true);
    assert.equal(isOpenAt(allDay, ms('2026-10-25T23:00:00Z')), false);
  });

  it('a range that starts in the spring-forward gap opens when the clocks say so', () => {
    const ny = parseBusinessHours({ timeZone: 'America/New_York', weekly: [{ days: ['sun'], from: '02:30', to: '04:00' }] }, '/hours');
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist and becomes 03:30 EDT (07:30Z).
    assert.equal(iso(nextOpenAt(ny, ms('2026-03-08T05:00:00Z'))), '2026-03-08T07:30:00.000Z');
    assert.equal(isOpenAt(ny, ms('2026-03-08T08:00:00Z')), false, '04:00 EDT closes it');
  });

  it('the fall-back night: 01:00-02:00 opens at the first 01:00 and is open for two real hours', () => {
    const ny = parseBusinessHours({ timeZone: 'America/New_York', weekly: [{ days: ['sun'], from: '01:00', to: '02:00' }] }, '/hours');
    const [night] = openIntervals(ny, ms('2026-11-01T00:00:00Z'));
    assert.ok(night);
    assert.equal(iso(night[0]), '2026-11-01T05:00:00.000Z', '01:00 EDT');
    assert.equal(iso(night[1]), '2026-11-01T07:00:00.000Z', '02:00 EST');
  });

  it('is closed on holidays, and adjacent ranges join', () => {
    const hours = parseBusinessHours(
      { timeZone: 'Europe/Berlin', weekly: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '12:00' }, { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '12:00', to: '18:00' }], holidays: ['2030-12-25', '2030-12-26'] },
      '/hours',
    );
    assert.equal(iso(nextOpenAt(hours, ms('2030-12-24T17:30:00Z'))), '2030-12-27T07:00:00.000Z');
    const [day] = openIntervals(hours, ms('2030-12-27T07:00:00Z'));
    assert.deepEqual(day?.map((t) => iso(t)), ['2030-12-27T07:00:00.000Z', '2030-12-27T17:00:00.000Z']);
  });

  it('refuses inverted and overlapping ranges, bad days and dates, naming each', () => {
    const err = refused(
      () =>
        parseBusinessHours(
          {
            timeZone: 'America/New_York',
            weekly: [
              { days: ['mon'], from: '17:00', to: '09:00' },
              { days: ['tue'], from: '09:00', to: '12:00' },
              { days: ['tue', 'wed'], from: '11:00', to: '13:00' },
              { days: ['thu'], from: '25:00', to: '26:00' },
            ],
            holidays: ['2030-02-30'],
          },
          '/hours',
        ),
      'INVALID_HOURS',
    );
    const paths = err.details.map((d) => d.path);
    assert.deepEqual(paths, ['/hours/weekly/0', '/hours/weekly/2', '/hours/weekly/3/from', '/hours/holidays/0']);
    assert.match(err.details[0]?.message ?? '', /inverted/);
    assert.match(err.details[1]?.message ?? '', /overlaps \/hours\/weekly\/1 on tue/);
  });

  it('refuses a time zone that does not exist, and fixed offsets', () => {
    for (const zone of ['Mars/Olympus_Mons', 'America/New_Yrok', 'UTC+2', '', '../../etc/passwd']) {
      const err = refused(() => parseBusinessHours({ timeZone: zone, weekly: [{ days: ['mon'], from: '09:00', to: '17:00' }] }, '/hours'), 'INVALID_TIME_ZONE');
      assert.equal(err.details[0]?.path, '/hours/timeZone');
    }
  });
});

describe('caller window with center hours', () => {
  it('the earliest moment both allow: 2-4 pm in Berlin and 9-5 in New York overlap 09:00-10:00 EST', () => {
    const ny = weekdays('America/New_York');
    const window = windowHours(parseCallWindow({ from: '14:00', to: '16:00', timeZone: 'Europe/Berlin' }, '/window'));
    // Wednesday 2030-01-16 06:00Z: NY opens 14:00Z, Berlin window is 13:00Z-15:00Z → 14:00Z.
    assert.equal(iso(nextAllowedAt([ny, window], ms('2030-01-16T06:00:00Z'))), '2030-01-16T14:00:00.000Z');
    // After 15:00Z the window is gone for the day: next day 14:00Z.
    assert.equal(iso(nextAllowedAt([ny, window], ms('2030-01-16T15:00:00Z'))), '2030-01-17T14:00:00.000Z');
  });

  it('an explicit time outside them is refused with the next opening; none within the horizon is refused too', () => {
    const ny = weekdays('America/New_York');
    const err = refused(() => firstAttemptAt([ny], ms('2030-01-19T15:00:00Z'), { explicit: true, horizonMs: ms('2030-03-01T00:00:00Z'), path: '/at', center: { name: 'acme' } }), 'CALL_CENTER_CLOSED');
    assert.equal(err.details[0]?.nextOpenAt, '2030-01-21T14:00:00.000Z');
    assert.equal(err.details[0]?.path, '/at');
    assert.equal(firstAttemptAt([ny], ms('2030-01-19T15:00:00Z'), { explicit: false, horizonMs: ms('2030-03-01T00:00:00Z'), path: '/at' }), ms('2030-01-21T14:00:00Z'));
    refused(() => firstAttemptAt([ny], ms('2030-01-19T15:00:00Z'), { explicit: false, horizonMs: ms('2030-01-20T00:00:00Z'), path: '/at' }), 'CALL_CENTER_CLOSED');
  });

  it('refuses an inverted window and an unknown zone', () => {
    refused(() => parseCallWindow({ from: '16:00', to: '14:00', timeZone: 'Europe/Berlin' }, '/window'), 'INVALID_SCHEDULE');
    refused(() => parseCallWindow({ from: '14:00', to: '16:00', timeZone: 'Europe/Berln' }, '/window'), 'INVALID_TIME_ZONE');
  });
});
