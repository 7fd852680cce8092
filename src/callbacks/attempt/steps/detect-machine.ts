/**
 * Answering-machine detection by the length of the greeting, with FreeSWITCH's `wait_for_silence`
 * (no extra module; see README "A person on each leg"): a person answers with a short "Hello?" and
 * waits; a machine talks through a greeting of several seconds before its beep. The switch reports
 * how many 20 ms frames of sound it heard before the silence (`wait_for_silence_listenhits`):
 *
 * - silence after less than `greetingMs` of speech: a person;
 * - `greetingMs` of speech or more, or still talking at the limit: a machine;
 * - nothing heard at all: unknown (a person who says nothing, or a machine with no greeting), which
 *   counts as a person: a press-1 confirmation is the check for that case.
 *
 * The verdict is in the timeline (`machine-detection`); a worker that takes over reads it there
 * instead of listening again to a greeting that is over.
 */
import type { MachinePolicy } from '../../types.js';
import { entriesOf, type StepContext } from './context.js';

export type MachineVerdict = 'person' | 'machine' | 'unknown' | 'hung-up';

/** Quiet that ends a person's hello: 0.5 s (25 frames). */
const SILENCE_HITS = 25;
/** Sound needed before the quiet counts: 0.1 s (a click or a breath is not a greeting). */
const LISTEN_HITS = 5;
const THRESHOLD = 200;
/** How long the hello may take to begin, beyond the greeting limit, ms. */
const START_SLACK_MS = 1_500;

export async function detectMachine(ctx: StepContext, policy: MachinePolicy): Promise<MachineVerdict> {
  const earlier = entriesOf(ctx).find((e) => e.event === 'machine-detection');
  if (earlier?.detail !== undefined) return earlier.detail.split(':')[0] as MachineVerdict;
  ctx.throwIfCanceled();
  const result = await ctx.telephony.waitForSilence(
    ctx.leg.uuid,
    { threshold: THRESHOLD, silenceHits: SILENCE_HITS, listenHits: LISTEN_HITS, timeoutMs: policy.greetingMs + START_SLACK_MS },
    ctx.signal,
  );
  ctx.throwIfCanceled();
  if (result.outcome === 'hung-up') {
    await ctx.legEnded(await ctx.telephony.awaitHangup(ctx.leg.uuid, ctx.signal), 'hung up during answering-machine detection');
    return 'hung-up';
  }
  let verdict: Exclude<MachineVerdict, 'hung-up'>;
  let why: string;
  if (result.outcome === 'failed') {
    verdict = 'unknown';
    why = result.reason;
  } else if (result.heardMs === 0) {
    verdict = 'unknown';
    why = 'no greeting heard';
  } else if (result.outcome === 'timeout' || result.heardMs >= policy.greetingMs) {
    verdict = 'machine';
    why = result.outcome === 'timeout' ? `still talking after ${(result.tookMs / 1000).toFixed(1)} s` : `a greeting of ${(result.heardMs / 1000).toFixed(1)} s`;
  } else {
    verdict = 'person';
    why = `a greeting of ${(result.heardMs / 1000).toFixed(1)} s, then silence`;
  }
  ctx.log.info({ role: ctx.leg.role, uuid: ctx.leg.uuid, verdict, heardMs: 'heardMs' in result ? result.heardMs : undefined }, 'answering-machine detection');
  ctx.note('machine-detection', `${verdict}: ${why}`);
  await ctx.commit();
  return verdict;
}
