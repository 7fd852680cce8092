/**
 * The core's periodic HEARTBEAT and the RE_SCHEDULE of its task, as FreeSWITCH fires them every
 * 20 s (see b-no-answer in the traces), with the load fields of q-heartbeat from SwitchCapacity.
 */
import type { SwitchContext } from './context.js';
import { uptimeText } from './show.js';
import { FREESWITCH_VERSION, nowMicros } from './switch-core.js';

/** @param periodMs - real milliseconds until the next one, for Task-Runtime. */
export function fireHeartbeat(ctx: SwitchContext, periodMs: number): void {
  const load = ctx.capacity.counters();
  const uptimeMs = Math.floor((nowMicros() - ctx.startedAt) / 1000);
  ctx.fire(ctx.factory.create('HEARTBEAT')
    .add('Event-Info', 'System Ready').add('Up-Time', uptimeText(ctx.startedAt))
    .add('FreeSWITCH-Version', FREESWITCH_VERSION).add('Uptime-msec', String(uptimeMs))
    .add('Session-Count', String(load.sessions)).add('Max-Sessions', String(ctx.capacity.maxSessions))
    // What is left of this second's budget, not a rate (q-heartbeat).
    .add('Session-Per-Sec', String(load.budgetLeft)).add('Session-Per-Sec-Last', String(load.lastSecond))
    .add('Session-Per-Sec-Max', String(load.spsPeak)).add('Session-Per-Sec-FiveMin', String(load.spsPeakFiveMin))
    .add('Session-Since-Startup', String(ctx.sessionsSinceStart())).add('Session-Peak-Max', String(load.sessionPeak))
    .add('Session-Peak-FiveMin', String(load.sessionPeakFiveMin)).add('Idle-CPU', load.idleCpu.toFixed(6)));
  const next = Math.floor((Date.now() + periodMs) / 1000);
  ctx.fire(ctx.factory.create('RE_SCHEDULE')
    .add('Task-ID', '1').add('Task-Desc', 'heartbeat').add('Task-Group', 'core').add('Task-Runtime', String(next)));
}
