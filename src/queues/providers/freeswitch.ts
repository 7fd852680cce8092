/** The queue on the switch Crossline drives: mod_callcenter's member and agent lists over ESL. */
import type { QueueStatus, QueueSwitch } from '../../telephony/callcenter.js';
import type { QueueProvider, QueueSnapshot, QueueSource } from '../types.js';

/** Members not yet answered. */
const WAITING_STATES = new Set(['Waiting', 'Trying']);

/** A queue's state from mod_callcenter's lists, as of `nowMs`. */
export function snapshotOf(status: QueueStatus, nowMs: number): QueueSnapshot {
  const nowSec = Math.floor(nowMs / 1000);
  const waiting = status.members.filter((m) => WAITING_STATES.has(m.state));
  const staffed = status.agents.filter((a) => a.status.startsWith('Available'));
  // As mod_callcenter picks agents: idle, no delay pending, and past the wrap-up of its last call.
  const free = staffed.filter((a) => a.state === 'Waiting' && a.readyEpoch <= nowSec && a.lastBridgeEndEpoch + a.wrapUpSeconds <= nowSec);
  const oldest = waiting.reduce<number | undefined>((min, m) => (min === undefined || m.joinedEpoch < min ? m.joinedEpoch : min), undefined);
  const wrapUp = staffed.length === 0 ? 0 : staffed.reduce((sum, a) => sum + a.wrapUpSeconds, 0) / staffed.length;
  return {
    waiting: waiting.length,
    agentsAvailable: free.length,
    agentsBusy: staffed.length - free.length,
    ...(oldest !== undefined && oldest > 0 ? { oldestWaitSeconds: Math.max(0, nowSec - oldest) } : {}),
    wrapUpSeconds: wrapUp,
  };
}

export class FreeswitchQueueProvider implements QueueProvider {
  constructor(private readonly switchOf: () => QueueSwitch | undefined, private readonly clock: () => Date = () => new Date()) {}

  async snapshot(source: QueueSource): Promise<QueueSnapshot | undefined> {
    if (source.type !== 'freeswitch') return undefined;
    const queues = this.switchOf();
    if (!queues) return undefined;
    return snapshotOf(await queues.queueStatus(source.queue), this.clock().getTime());
  }
}
