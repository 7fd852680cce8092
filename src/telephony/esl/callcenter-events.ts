/**
 * mod_callcenter's `CUSTOM callcenter::info` events (p-callcenter in shared/esl-traces) turned into
 * {@link QueueEvent}s: the only place that reads their CC-* headers.
 */
import type { Event as EslEvent } from 'drachtio-modesl';
import type { QueueEvent } from '../callcenter.js';
import { tagsOf } from './events.js';

export const CALLCENTER_SUBCLASS = 'callcenter::info';

/** Event-Date-Timestamp (µs) as ms; the local clock when absent. */
function timeOf(event: EslEvent): number {
  const micros = Number(event.getHeader('Event-Date-Timestamp') ?? Number.NaN);
  return Number.isFinite(micros) ? Math.floor(micros / 1000) : Date.now();
}

const seconds = (text: string | null): number => {
  const n = Number.parseInt(text ?? '', 10);
  return Number.isFinite(n) ? n * 1000 : 0;
};

/** The QueueEvent a callcenter::info event stands for; undefined for other events and for actions of no interest. */
export function toQueueEvent(event: EslEvent): QueueEvent | undefined {
  if (event.getHeader('Event-Subclass') !== CALLCENTER_SUBCLASS) return undefined;
  const h = (name: string): string => event.getHeader(name) ?? '';
  const at = timeOf(event);
  switch (h('CC-Action')) {
    case 'member-queue-start': {
      const leg = event.getHeader('variable_other_loopback_leg_uuid');
      // A loopback-b member carries its A leg's origination variables: Crossline's tags, when the A leg is Crossline's.
      const tags = leg ? tagsOf(event) : undefined;
      return {
        type: 'member-joined', queue: h('CC-Queue'), memberUuid: h('CC-Member-UUID'), sessionUuid: h('CC-Member-Session-UUID'), at,
        ...(leg ? { crosslineLeg: leg } : {}),
        ...(tags ? { tags } : {}),
      };
    }
    case 'bridge-agent-start':
      return {
        type: 'agent-answered', queue: h('CC-Queue'), memberUuid: h('CC-Member-UUID'), sessionUuid: h('CC-Member-Session-UUID'),
        agent: h('CC-Agent'), agentUuid: h('CC-Agent-UUID'), at, joinedAt: seconds(event.getHeader('CC-Member-Joined-Time')),
      };
    case 'bridge-agent-end':
      return {
        type: 'agent-call-ended', queue: h('CC-Queue'), memberUuid: h('CC-Member-UUID'), agent: h('CC-Agent'), at,
        answeredAt: seconds(event.getHeader('CC-Agent-Answered-Time')),
      };
    case 'bridge-agent-fail':
      return { type: 'agent-missed', queue: h('CC-Queue'), memberUuid: h('CC-Member-UUID'), sessionUuid: h('CC-Member-Session-UUID'), agent: h('CC-Agent'), at, cause: h('CC-Hangup-Cause') };
    case 'member-queue-end':
      return { type: 'member-left', queue: h('CC-Queue'), memberUuid: h('CC-Member-UUID'), sessionUuid: h('CC-Member-Session-UUID'), at, cause: h('CC-Cause') };
    case 'agent-state-change':
      return { type: 'agent-state', agent: h('CC-Agent'), state: h('CC-Agent-State'), at };
    case 'agent-status-change':
      return { type: 'agent-status', agent: h('CC-Agent'), status: h('CC-Agent-Status'), at };
    default:
      return undefined;
  }
}
