/**
 * DTMF sent to a leg (`uuid_send_dtmf`, the `send_dtmf` app): like FreeSWITCH, the digits are only
 * queued on the channel and played out one by one at the switch's pace (the same model the client
 * uses, src/telephony/dtmf.ts, measured from the m-/n- captures), scaled by the time scale. A
 * string queued while another still plays goes after it. Whatever is still queued when the leg
 * hangs up is dropped without an event, as on the real switch (the timers are owned by the leg).
 */
import { dtmfPlayoutMs, dtmfSchedule } from '../telephony/dtmf.js';
import type { Channel } from './channel.js';
import type { SwitchContext } from './context.js';
import { digitHeard } from './far-end.js';

/** Simulated ms (since the simulator started) at which each leg's DTMF queue runs empty. */
const queueEnds = new WeakMap<Channel, number>();

/** Queues `digits` (`w`/`W` pauses allowed; an `@duration` suffix is ignored) on `ch`. */
export function queueDtmf(ctx: SwitchContext, ch: Channel, data: string): void {
  const digits = data.split('@')[0] ?? '';
  const now = ctx.clock.simulatedElapsed();
  const start = Math.max(now, queueEnds.get(ch) ?? 0);
  queueEnds.set(ch, start + dtmfPlayoutMs(digits));
  // Set when the digits are queued: send_dtmf's EXECUTE_COMPLETE already carries it (n-send-dtmf-app).
  ch.vars.set('last_dtmf_duration', '2080');
  for (const { digit, atMs } of dtmfSchedule(digits)) {
    ch.own(ctx.clock.after(start - now + atMs, () => deliver(ctx, ch, digit)));
  }
}

/** The far end hears one digit (EslSimulator.dtmfReceived reports it). */
function deliver(ctx: SwitchContext, ch: Channel, digit: string): void {
  if (!ch.up) return;
  const origin = ch.profile.times.answered || ch.profile.times.created;
  const atMs = Math.round((performance.timeOrigin + performance.now() - origin / 1000) / ctx.clock.timeScale);
  ch.dtmf.push({ digit, atMs });
  digitHeard(ctx, ch, digit);
}
