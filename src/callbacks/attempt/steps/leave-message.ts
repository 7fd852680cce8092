/**
 * Leaves a spoken message on an answering machine: waits for the end of its greeting and beep
 * (`wait_for_silence`: the beep is sound, the recording that follows is quiet), speaks the message,
 * and records `machine-message-left`. At most once per attempt: a takeover that finds the entry
 * does not speak it again.
 */
import { entriesOf, type StepContext } from './context.js';

/** Quiet after the beep before speaking: 0.3 s. */
const SILENCE_HITS = 15;
/** Greeting plus beep may last this long before the message is spoken anyway, ms. */
const BEEP_WAIT_MS = 20_000;

export async function leaveMessage(ctx: StepContext, message: string): Promise<'left' | 'hung-up' | 'failed'> {
  if (entriesOf(ctx).some((e) => e.event === 'machine-message-left')) return 'left';
  const waited = await ctx.telephony.waitForSilence(ctx.leg.uuid, { threshold: 200, silenceHits: SILENCE_HITS, listenHits: 5, timeoutMs: BEEP_WAIT_MS }, ctx.signal);
  ctx.throwIfCanceled();
  if (waited.outcome === 'hung-up') return 'hung-up';
  const played = await ctx.telephony.play(ctx.leg.uuid, { kind: 'speak', text: message }, ctx.signal);
  ctx.throwIfCanceled();
  if (played.outcome === 'hung-up') return 'hung-up';
  if (played.outcome === 'failed') {
    ctx.note('announcement-failed', `machine message: ${played.reason}`);
    await ctx.commit();
    return 'failed';
  }
  ctx.note('machine-message-left', waited.outcome === 'silence' ? 'after the beep' : 'no beep heard; spoken at the limit');
  await ctx.commit();
  return 'left';
}
