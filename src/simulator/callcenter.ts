/**
 * A stand-in for mod_callcenter's `callcenter_config`: queues with a number of waiting callers and
 * a list of agents, printed as the real module prints them (see e-api-misc in the traces).
 */

export interface QueueAgent {
  name: string;
  contact: string;
  status: string;
  state: string;
}

/** What a test can say about a queue. */
export interface QueueState {
  /** Callers waiting in the queue (`queue count members`). @defaultValue 0 */
  waiting: number;
  /** @defaultValue one available agent */
  agents?: QueueAgent[];
}

const AGENT_COLUMNS = 'name|instance_id|uuid|type|contact|status|state|max_no_answer|wrap_up_time|reject_delay_time|busy_delay_time|no_answer_delay_time|last_bridge_start|last_bridge_end|last_offered_call|last_status_change|no_answer_count|calls_answered|talk_time|ready_time|external_calls_count';
const MEMBER_COLUMNS = 'queue|instance_id|uuid|session_uuid|cid_number|cid_name|system_epoch|joined_epoch|rejoined_epoch|bridge_epoch|abandoned_epoch|base_score|skill_score|serving_agent|serving_system|state|score';

const DEFAULT_AGENT: QueueAgent = {
  name: '1000@default', contact: '[leg_timeout=10,ignore_early_media=true]sofia/internal/1500@127.0.0.1:5090',
  status: 'Available', state: 'Waiting',
};

export class CallCenter {
  private readonly queues = new Map<string, QueueState>([['support@default', { waiting: 0 }]]);

  set(queue: string, state: QueueState): void {
    this.queues.set(queue, state);
  }

  /** `callcenter_config <args>`. */
  command(arg: string | undefined): string {
    const [section, action, what, queue = ''] = (arg ?? '').split(' ').filter(Boolean);
    if (section !== 'queue') return '-ERR Unknown Command!\n';
    const state = this.queues.get(queue);
    const agents = state ? state.agents ?? [DEFAULT_AGENT] : [];
    if (action === 'count' && what === 'members') return `${state?.waiting ?? 0}\n`;
    if (action === 'count' && what === 'agents') return `${agents.length}\n`;
    if (action === 'list' && what === 'agents') return [AGENT_COLUMNS, ...agents.map(agentRow), '+OK', ''].join('\n');
    if (action === 'list' && what === 'members') return [MEMBER_COLUMNS, '+OK', ''].join('\n');
    return '-ERR Unknown Command!\n';
  }
}

function agentRow(a: QueueAgent): string {
  const now = String(Math.floor(Date.now() / 1000));
  return [a.name, 'single_box', '', 'callback', a.contact, a.status, a.state, '3', '10', '10', '60', '0', '0', '0', '0', now, '0', '0', '0', '0', '0'].join('|');
}
