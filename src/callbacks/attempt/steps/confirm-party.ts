/**
 * Press-1 confirmation: the party hears the prompt ("Press 1 to be connected to Acme Support") and
 * has `timeoutSec` to key in 1 (FreeSWITCH `play_and_get_digits`, one try, regexp `^1$`). No 1 in
 * time means nobody is there to talk to: the leg counts as not answered. The outcome is in the
 * timeline; a worker that takes over does not ask again.
 */
import type { ConfirmPolicy } from '../../types.js';
import { entriesOf, type StepContext } from './context.js';

export type ConfirmOutcome = 'confirmed' | 'not-confirmed' | 'hung-up';

export async function confirmParty(ctx: StepContext, policy: ConfirmPolicy): Promise<ConfirmOutcome> {
  const earlier = entriesOf(ctx).find((e) => e.event === 'party-confirmed' || e.event === 'party-not-confirmed');
  if (earlier) return earlier.event === 'party-confirmed' ? 'confirmed' : 'not-confirmed';
  ctx.throwIfCanceled();
  const result = await ctx.telephony.collectDigits(
    ctx.leg.uuid,
    { prompt: policy.prompt, minDigits: 1, maxDigits: 1, timeoutMs: policy.timeoutSec * 1000, regexp: '^1$' },
    ctx.signal,
  );
  ctx.throwIfCanceled();
  if (result.outcome === 'hung-up') {
    await ctx.legEnded(await ctx.telephony.awaitHangup(ctx.leg.uuid, ctx.signal), 'hung up before pressing 1');
    return 'hung-up';
  }
  if (result.outcome === 'digits') {
    ctx.note('party-confirmed', 'pressed 1');
    await ctx.commit();
    return 'confirmed';
  }
  ctx.note('party-not-confirmed', result.outcome === 'failed' ? result.reason : `no 1 within ${policy.timeoutSec} s`);
  await ctx.commit();
  return 'not-confirmed';
}
