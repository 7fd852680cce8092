/**
 * Sends DTMF digits to a leg and waits until the switch has played every digit and pause: it only
 * queues them, sends no event per digit and drops what is still queued at hangup, so the known
 * play-out time (dtmfPlayoutMs) is waited out before anything else happens. `dtmf-started` is saved
 * before the digits go out, so a worker that takes over mid-play-out waits out the rest instead of
 * sending them twice (at most once: a crash between that save and the send loses the digits).
 */
import { dtmfPlayoutMs } from '../../../telephony/dtmf.js';
import { entriesOf, type StepContext } from './context.js';

/**
 * @param digits - what goes to the switch (a run-time value resolved already)
 * @param label - how the timeline names them (a value by its name, never its digits)
 */
export async function sendDigits(ctx: StepContext, digits: string, label: string): Promise<'up' | 'hung-up'> {
  const started = entriesOf(ctx).find((e) => e.event === 'dtmf-started' && e.detail === label);
  let startedAt = started ? Date.parse(started.at) : ctx.now();
  if (!started) {
    ctx.note('dtmf-started', label);
    await ctx.commit();
    ctx.throwIfCanceled();
    const refused = await ctx.telephony.sendDtmf(ctx.leg.uuid, digits).then(() => undefined, (err: unknown) => err);
    if (refused !== undefined) {
      // Refused because the leg is gone is a hangup; anything else is the switch's fault.
      if ((await ctx.telephony.channelState(ctx.leg.uuid)) !== 'absent') throw refused;
      return cutOff(ctx, await ctx.telephony.awaitHangup(ctx.leg.uuid, ctx.signal));
    }
    startedAt = ctx.now();
  }
  const cause = await ctx.whileUp(startedAt + dtmfPlayoutMs(digits) - ctx.now());
  ctx.throwIfCanceled();
  if (cause !== undefined) return cutOff(ctx, cause);
  ctx.note('dtmf-sent', label);
  await ctx.commit();
  return 'up';
}

async function cutOff(ctx: StepContext, cause: Parameters<StepContext['legEnded']>[0]): Promise<'hung-up'> {
  await ctx.legEnded(cause, 'hung up before the IVR digits were all played; not delivered');
  return 'hung-up';
}
