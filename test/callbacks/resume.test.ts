import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LegFacts } from '../../src/callbacks/ports.js';
import { decideResume, type LegEvidence } from '../../src/callbacks/resume.js';
import type { Attempt, Leg, LegRole, TimelineEntry, TimelineEvent } from '../../src/callbacks/types.js';
import type { HangupCause } from '../../src/telephony/types.js';

/*
 * The resume rules as a table (README, "Crash safety: resume rules"): what the store says, what the
 * switch says now and what its CDRs say → what a worker taking over does.
 */

const CALLEE = '00000000-0000-4000-8000-00000000000a';
const CALLER = '00000000-0000-4000-8000-00000000000b';
const T0 = Date.parse('2030-01-15T20:00:00.000Z');
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();

const leg = (role: LegRole, state: Leg['state'], cause?: HangupCause): Leg => ({
  role,
  endpoint: role === 'callee' ? '+12025550101' : '+12025550100',
  uuid: role === 'callee' ? CALLEE : CALLER,
  state,
  startedAt: at(0),
  ...(state !== 'dialing' ? { answeredAt: at(1) } : {}),
  ...(cause ? { endedAt: at(5), hangupCause: cause } : {}),
});

const entry = (event: TimelineEvent, role?: LegRole, hangupCause?: HangupCause): TimelineEntry => ({
  at: at(1),
  event,
  attempt: 1,
  ...(role ? { role } : {}),
  ...(hangupCause ? { hangupCause } : {}),
});

const facts = (uuid: string, f: Partial<LegFacts>): LegFacts => ({
  uuid,
  answered: false,
  bridged: false,
  hangupCause: 'NORMAL_CLEARING',
  endedAt: at(9),
  durationSec: 9,
  billSec: 0,
  receivedAt: at(9),
  ...f,
});

const gone = (f?: Partial<LegFacts>, uuid = CALLEE): LegEvidence => ({ state: 'absent', ...(f ? { facts: facts(uuid, f) } : {}) });
const up = (bridgedTo?: string): LegEvidence => ({ state: 'answered', ...(bridgedTo ? { bridgedTo } : {}) });

const attempt = (...legs: Leg[]): Attempt => ({ number: 1, startedAt: at(0), legs });
const evidence = (callee?: LegEvidence, caller?: LegEvidence): Map<string, LegEvidence> =>
  new Map([...(callee ? [[CALLEE, callee] as const] : []), ...(caller ? [[CALLER, caller] as const] : [])]);

describe('resume rules', () => {
  it('1a. bridge requested, both legs gone, a CDR says bridged → conversation (completed, never retried), talk time from the CDRs', () => {
    const d = decideResume(
      attempt(leg('callee', 'answered'), leg('caller', 'answered')),
      [entry('bridge-requested')],
      evidence(
        gone({ answered: true, bridged: true, bridgedAt: at(3), endedAt: at(10), hangupCause: 'NORMAL_CLEARING' }),
        gone({ answered: true, bridged: true, bridgedAt: at(3), endedAt: at(5) }, CALLER),
      ),
    );
    assert.equal(d.kind, 'conversation');
    assert.equal(d.kind === 'conversation' && d.talkedSec, 2);
    assert.deepEqual(d.findings.map((f) => f.kind === 'ended' && [f.uuid, f.cause, f.source]), [[CALLEE, 'NORMAL_CLEARING', 'cdr'], [CALLER, 'NORMAL_CLEARING', 'cdr']]);
  });

  it('1b. bridge requested, both legs gone and no CDR to tell → conversation all the same: a call that may have been talked is never retried', () => {
    const d = decideResume(attempt(leg('callee', 'answered'), leg('caller', 'answered')), [entry('bridge-requested')], evidence(gone(), gone(undefined, CALLER)));
    assert.equal(d.kind, 'conversation');
    assert.deepEqual(d.findings.map((f) => f.kind === 'ended' && f.cause), ['UNKNOWN', 'UNKNOWN']);
  });

  it('1c. bridge requested, both legs up and bridged to each other (uuid_getvar bridge_uuid) → conversation, still talking', () => {
    const d = decideResume(attempt(leg('callee', 'answered'), leg('caller', 'answered')), [entry('bridge-requested')], evidence(up(CALLER), up(CALLEE)));
    assert.equal(d.kind, 'conversation');
    assert.deepEqual(d.findings, []);
  });

  it('1d. bridge requested, both legs up and not bridged → carry on (the bridge is requested again)', () => {
    const d = decideResume(attempt(leg('callee', 'answered'), leg('caller', 'answered')), [entry('bridge-requested')], evidence(up(), up()));
    assert.equal(d.kind, 'carry-on');
  });

  it('1e. bridge requested, both gone, both CDRs say never bridged → nobody talked: the first to leave decides, and the attempt may be retried', () => {
    const d = decideResume(
      attempt(leg('callee', 'answered'), leg('caller', 'answered')),
      [entry('bridge-requested')],
      evidence(gone({ answered: true, endedAt: at(8), hangupCause: 'NORMAL_CLEARING' }), gone({ answered: true, endedAt: at(6), hangupCause: 'USER_BUSY' }, CALLER)),
    );
    assert.deepEqual(d.kind === 'failed' && [d.role, d.cause, d.tellWaiting], ['caller', 'USER_BUSY', true]);
  });

  it('2a. the caller answered and hung up while no worker watched → the timeline says it answered (from the CDR), and the callee is told', () => {
    const d = decideResume(
      attempt(leg('callee', 'answered'), leg('caller', 'dialing')),
      [],
      evidence(up(), gone({ answered: true, answeredAt: at(2), hangupCause: 'NORMAL_CLEARING' }, CALLER)),
    );
    assert.deepEqual(d.kind === 'failed' && [d.role, d.cause, d.tellWaiting], ['caller', 'NORMAL_CLEARING', true]);
    assert.deepEqual(d.findings.map((f) => f.kind === 'ended' && [f.answered, f.cause]), [[true, 'NORMAL_CLEARING']]);
  });

  it('2b. the caller never answered (CDR: NO_ANSWER) → failed NO_ANSWER, a leg-failed, not an UNKNOWN', () => {
    const d = decideResume(attempt(leg('callee', 'answered'), leg('caller', 'dialing')), [], evidence(up(), gone({ hangupCause: 'NO_ANSWER' }, CALLER)));
    assert.deepEqual(d.kind === 'failed' && [d.role, d.cause], ['caller', 'NO_ANSWER']);
    assert.deepEqual(d.findings.map((f) => f.kind === 'ended' && f.answered), [false]);
  });

  it('2c. a leg we were hanging up is gone → its end was ours: the leg that failed first still decides (not UNKNOWN for the one we let go)', () => {
    const d = decideResume(
      attempt(leg('callee', 'answered'), leg('caller', 'ended', 'NO_ANSWER')),
      [entry('leg-failed', 'caller', 'NO_ANSWER'), entry('caller-no-answer-message-played', 'callee'), entry('hangup-requested', 'callee', 'NORMAL_CLEARING')],
      evidence(gone()),
    );
    assert.deepEqual(d.kind === 'failed' && [d.role, d.cause], ['caller', 'NO_ANSWER']);
    assert.deepEqual(d.findings.map((f) => f.kind === 'ended' && [f.cause, f.source]), [['NORMAL_CLEARING', 'our-hangup']]);
  });

  it('2d. the callee hung up while the caller rang → failed with the callee cause; the caller is let go without a message', () => {
    const d = decideResume(attempt(leg('callee', 'answered'), leg('caller', 'dialing')), [], evidence(gone({ answered: true, hangupCause: 'NORMAL_CLEARING' }), { state: 'ringing' }));
    assert.deepEqual(d.kind === 'failed' && [d.role, d.cause, d.tellWaiting], ['callee', 'NORMAL_CLEARING', false]);
  });

  it('3a. a leg dialled, gone, with no CDR yet → not a finding: its originate may still be on its way; the drive follows it by its UUID', () => {
    const d = decideResume(attempt(leg('callee', 'dialing')), [], evidence(gone()));
    assert.deepEqual(d, { kind: 'carry-on', findings: [] });
  });

  it('3b. a ringing leg answered while no worker watched → recorded answered, carry on', () => {
    const d = decideResume(attempt(leg('callee', 'answered'), leg('caller', 'dialing')), [], evidence(up(), up()));
    assert.deepEqual(d, { kind: 'carry-on', findings: [{ uuid: CALLER, kind: 'answered' }] });
  });
});
