/**
 * Waits until the IVR's prompt has ended (FreeSWITCH `wait_for_silence`): sound first, then
 * `silenceMs` of quiet, at most `timeoutMs` from the start. At the limit the walk goes on anyway
 * (`ivr-prompt-timeout`): an IVR that plays no prompt, or one that talks on, still gets its digits.
 */
import type { IvrStep } from '../../types.js';
import type { StepContext } from './context.js';

const FRAME_MS = 20;

export async function waitForPrompt(ctx: StepContext, step: Extract<IvrStep, { kind: 'wait-for-silence' }>, label: string): Promise<'up' | 'hung-up'> {
  ctx.throwIfCanceled();
  const result = await ctx.telephony.waitForSilence(
    ctx.leg.uuid,
    {
      threshold: step.threshold,
      silenceHits: Math.max(1, Math.round(step.silenceMs / FRAME_MS)),
      listenHits: Math.round(step.minSoundMs / FRAME_MS),
      timeoutMs: step.timeoutMs,
    },
    ctx.signal,
  );
  ctx.throwIfCanceled();
  if (result.outcome === 'hung-up') {
    await ctx.legEnded(await ctx.telephony.awaitHangup(ctx.leg.uuid, ctx.signal), 'hung up while the IVR prompt played');
    return 'hung-up';
  }
  if (result.outcome === 'silence') ctx.note('ivr-prompt-ended', `${label}: ${(result.heardMs / 1000).toFixed(1)} s of prompt heard, ended after ${(result.tookMs / 1000).toFixed(1)} s`);
  else if (result.outcome === 'timeout') ctx.note('ivr-prompt-timeout', `${label}: ${result.heardMs > 0 ? 'the prompt was still playing' : 'no prompt heard'} at the limit; going on`);
  else ctx.note('ivr-prompt-timeout', `${label}: ${result.reason}; going on`);
  await ctx.commit();
  return 'up';
}
