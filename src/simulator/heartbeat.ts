/**
 * The core's periodic HEARTBEAT and the RE_SCHEDULE of its task, as FreeSWITCH fires them every
 * 20 s (see b-no-answer in the traces).
 */
import type { SwitchContext } from './context.js';
import { uptimeText } from './show.js';
import { FREESWITCH_VERSION, nowMicros } from './switch-core.js';

/** @param periodMs - real milliseconds until the next one, for Task-Runtime. */
export function fireHeartbeat(ctx: SwitchContext, periodMs: number): void {
  const sessions = String(ctx.live.size);
  const uptimeMs = Math.floor((nowMicros() - ctx.startedAt) / 1000);
  ctx.fire(ctx.factory.create('HEARTBEAT')
    .add('Event-Info', 'System Ready').add('Up-Time', uptimeText(ctx.startedAt))
    .add('FreeSWITCH-Version', FREESWITCH_VERSION).add('Uptime-msec', String(uptimeMs))
    .add('Session-Count', sessions).add('Max-Sessions', '1000').add('Session-Per-Sec', '30')
    .add('Session-Per-Sec-Last', '0').add('Session-Per-Sec-Max', '0').add('Session-Per-Sec-FiveMin', '0')
    .add('Session-Since-Startup', String(ctx.sessionsSinceStart())).add('Session-Peak-Max', sessions)
    .add('Session-Peak-FiveMin', sessions).add('Idle-CPU', '99.000000'));
  const next = Math.floor((Date.now() + periodMs) / 1000);
  ctx.fire(ctx.factory.create('RE_SCHEDULE')
    .add('Task-ID', '1').add('Task-Desc', 'heartbeat').add('Task-Group', 'core').add('Task-Runtime', String(next)));
}
