/**
 * Leaves a spoken message on an answering machine: waits for the end of its greeting and beep
 * (`wait_for_silence`: the beep is sound, the recording that follows is quiet), speaks the message,
 * and records `machine-message-left`. At most once per attempt: a takeover that finds the entry
 * does not speak it again.
 */
import { entriesOf, type StepContext } from './context.js';

/** Quiet after the beep before speaking: 0.5 s (longer than the gap between a greeting and its beep). */
const SILENCE_HITS = 25;
/** One look for the beep, ms: it follows the greeting closely; silence this long means it is past. */
const LOOK_MS = 3_000;
/** A greeting still going on is listened to this long in all before the message is spoken anyway, ms. */
const BEEP_WAIT_MS = 20_000;

export async function leaveMessage(ctx: StepContext, message: string): Promise<'left' | 'hung-up' | 'failed'> {
  if (entriesOf(ctx).some((e) => e.event === 'machine-message-left')) return 'left';
  // Sound then quiet: the greeting (or its end) and the beep are over. Quiet only: the beep is past
  // already. Sound through the whole look: the greeting goes on; look again.
  const until = ctx.now() + BEEP_WAIT_MS;
  let waited = await look(ctx);
  while (waited.outcome === 'timeout' && waited.heardMs > 0 && ctx.now() < until) waited = await look(ctx);
  if (waited.outcome === 'hung-up') {
    await ctx.legEnded(await ctx.telephony.awaitHangup(ctx.leg.uuid, ctx.signal), 'the answering machine hung up before the message');
    return 'hung-up';
  }
  const played = await ctx.telephony.play(ctx.leg.uuid, { kind: 'speak', text: message }, ctx.signal);
  ctx.throwIfCanceled();
  if (played.outcome === 'hung-up') {
    await ctx.legEnded(await ctx.telephony.awaitHangup(ctx.leg.uuid, ctx.signal), 'the answering machine hung up during the message');
    return 'hung-up';
  }
  if (played.outcome === 'failed') {
    ctx.note('announcement-failed', `machine message: ${played.reason}`);
    await ctx.commit();
    return 'failed';
  }
  ctx.note('machine-message-left', waited.outcome === 'silence' ? 'after the greeting and beep' : 'after the greeting (its beep was over or not heard)');
  await ctx.commit();
  return 'left';
}

async function look(ctx: StepContext): ReturnType<StepContext['telephony']['waitForSilence']> {
  const result = await ctx.telephony.waitForSilence(ctx.leg.uuid, { threshold: 200, silenceHits: SILENCE_HITS, listenHits: 5, timeoutMs: LOOK_MS }, ctx.signal);
  ctx.throwIfCanceled();
  return result;
}
