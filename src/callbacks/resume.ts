/**
 * Crash safety: what a worker that takes over an attempt does, decided from facts only. Every
 * command that changes a call is written ahead (its intent) and after (its outcome) on the
 * timeline: `leg-dialing` before an originate, `announcement-started` before a playback,
 * `dtmf-started` before digits, `hangup-requested` before a hang-up, `bridge-requested` before
 * `uuid_bridge`. A successor gathers what the switch says about each leg (up, answered, bridged to
 * whom) and, for a leg that is gone, the switch's own record of it (its CDR: answered, bridged,
 * cause), then {@link decideResume} turns them into one decision. The rules are the README's
 * "Crash safety: resume rules" table, in the same order.
 */
import { parseHangupCause, type ChannelState, type HangupCause } from '../telephony/types.js';
import type { LegFacts } from './ports.js';
import type { Attempt, LegRole, TimelineEntry } from './types.js';

/** What the switch says about one leg now, and what it recorded once the leg was gone. */
export interface LegEvidence {
  /** `uuid_exists` + the channel's call state. */
  state: ChannelState;
  /** While up: the leg it is bridged to (`uuid_getvar <uuid> bridge_uuid`), when asked. */
  bridgedTo?: string;
  /** Once gone: its CDR (undefined when the switch has not reported it). */
  facts?: LegFacts;
}

/** What was learnt about a leg the store did not know had answered or ended. */
export type LegFinding =
  | { uuid: string; kind: 'ended'; answered: boolean; cause: HangupCause; source: 'cdr' | 'our-hangup' | 'unknown'; facts?: LegFacts }
  | { uuid: string; kind: 'answered' };

export type ResumeDecision =
  /** The parties were bridged (they talk, or talked): record the bridge; the conversation's end completes the callback. Never retried. */
  | { kind: 'conversation'; findings: LegFinding[]; talkedSec?: number }
  /** A leg ended on its own before any conversation: the attempt fails with its cause; the legs still up are let go. */
  | { kind: 'failed'; findings: LegFinding[]; role: LegRole; cause: HangupCause; tellWaiting: boolean }
  /** Nothing ended on its own and nobody talked: carry on from the stored step (a bridge not made is requested again). */
  | { kind: 'carry-on'; findings: LegFinding[] };

const isLive = (state: string): boolean => state === 'dialing' || state === 'answered';

/**
 * The resume rules (facts in, decision out). `timeline` is the callback's timeline (entries of
 * other attempts are ignored); `evidence` is by leg UUID, for the legs still dialling or answered
 * in the store.
 */
export function decideResume(attempt: Attempt, timeline: readonly TimelineEntry[], evidence: ReadonlyMap<string, LegEvidence>): ResumeDecision {
  const entries = timeline.filter((e) => e.attempt === attempt.number);
  const hangupAsked = (role: LegRole): TimelineEntry | undefined => entries.find((e) => e.event === 'hangup-requested' && e.role === role);
  const bridgeAsked = entries.some((e) => e.event === 'bridge-requested');

  // What happened to each leg while nobody watched.
  const findings: LegFinding[] = [];
  for (const leg of attempt.legs) {
    const seen = evidence.get(leg.uuid);
    if (!isLive(leg.state) || !seen) continue;
    if (seen.state === 'absent') {
      const { facts } = seen;
      // A leg dialled but never seen, with no CDR: its originate may still be on its way to the
      // switch. Not a finding: the drive follows it by its UUID (and hangs it up if it comes late).
      if (leg.state === 'dialing' && !facts) continue;
      const asked = hangupAsked(leg.role);
      const cause = facts ? parseHangupCause(facts.hangupCause) : (asked?.hangupCause ?? 'UNKNOWN');
      const source = facts ? 'cdr' : asked ? 'our-hangup' : 'unknown';
      findings.push({ uuid: leg.uuid, kind: 'ended', answered: facts?.answered ?? leg.state === 'answered', cause, source, ...(facts ? { facts } : {}) });
    } else if (seen.state === 'answered' && leg.state === 'dialing') {
      findings.push({ uuid: leg.uuid, kind: 'answered' });
    }
  }
  const ended = (uuid: string): Extract<LegFinding, { kind: 'ended' }> | undefined =>
    findings.find((f): f is Extract<LegFinding, { kind: 'ended' }> => f.uuid === uuid && f.kind === 'ended');

  // Rule 1: a bridge was requested and the switch says the parties were joined (or cannot tell, both being gone).
  if (bridgeAsked && attempt.legs.length === 2) {
    const [a, b] = attempt.legs as [Attempt['legs'][number], Attempt['legs'][number]];
    const joined =
      evidence.get(a.uuid)?.bridgedTo === b.uuid ||
      evidence.get(b.uuid)?.bridgedTo === a.uuid ||
      attempt.legs.some((l) => ended(l.uuid)?.facts?.bridged === true);
    const bothGone = attempt.legs.every((l) => l.state === 'ended' || ended(l.uuid) !== undefined);
    const unknowable = bothGone && attempt.legs.some((l) => l.state !== 'ended' && ended(l.uuid)?.facts === undefined);
    if (joined || unknowable) return { kind: 'conversation', findings, ...talkTime(attempt.legs.map((l) => ended(l.uuid)?.facts)) };
  }

  // Rule 2: the first leg that ended on its own (not hung up by us) decides the attempt.
  const ownEnds: Array<{ role: LegRole; cause: HangupCause }> = [];
  for (const e of entries) {
    if ((e.event === 'leg-failed' || e.event === 'leg-ended') && e.role && !hangupAsked(e.role)) ownEnds.push({ role: e.role, cause: e.hangupCause ?? 'UNKNOWN' });
  }
  const found = attempt.legs
    .map((leg) => ({ leg, end: ended(leg.uuid) }))
    .filter(({ leg, end }) => end && !hangupAsked(leg.role))
    .sort((x, y) => Date.parse(x.end?.facts?.endedAt ?? '') - Date.parse(y.end?.facts?.endedAt ?? '') || 0);
  for (const { leg, end } of found) ownEnds.push({ role: leg.role, cause: end?.cause ?? 'UNKNOWN' });
  const first = ownEnds[0];
  if (first) {
    // The party left waiting hears why, as in an attempt without a crash: the first leg when the
    // second failed (or when a requested bridge found the other gone); never the leg rung second.
    const failedIndex = attempt.legs.findIndex((l) => l.role === first.role);
    const waiting = attempt.legs.find((l) => l.role !== first.role);
    const waitingAnswered = waiting !== undefined && (waiting.state === 'answered' || findings.some((f) => f.uuid === waiting.uuid && f.kind === 'answered'));
    const tellWaiting = waitingAnswered && (failedIndex === 1 || bridgeAsked);
    return { kind: 'failed', findings, role: first.role, cause: first.cause, tellWaiting };
  }

  // Rule 3: nothing ended on its own, nobody talked.
  return { kind: 'carry-on', findings };
}

/** Seconds the parties talked, from the switch's CDRs: from the bridge to the first end. */
function talkTime(facts: Array<LegFacts | undefined>): { talkedSec?: number } {
  const bridgedAt = facts.map((f) => (f?.bridgedAt ? Date.parse(f.bridgedAt) : NaN)).filter(Number.isFinite);
  const endedAt = facts.map((f) => (f?.endedAt ? Date.parse(f.endedAt) : NaN)).filter(Number.isFinite);
  if (bridgedAt.length === 0 || endedAt.length === 0) return {};
  return { talkedSec: Math.max(0, Math.round((Math.min(...endedAt) - Math.min(...bridgedAt)) / 1000)) };
}
