import type { components } from '../api/contract.gen.js';
import { CrosslineError } from '../errors.js';
import type { PostedSwitch } from '../store/index.js';
import type { SwitchDrains } from './pool.js';

/** One switch as the operator sees it (GET /v1/admin/switches, /readyz, /metrics): the contract's SwitchStatus. */
export type SwitchView = components['schemas']['SwitchStatus'];

/**
 * The switches of the deployment for operators: what the workers report of each (or, in a
 * process that holds the connections, what it sees itself) and the drain state shared in Redis.
 */
export class SwitchDirectory {
  constructor(
    private readonly configured: readonly string[],
    private readonly seen: () => Promise<PostedSwitch[]>,
    private readonly drains: SwitchDrains,
  ) {}

  async list(): Promise<SwitchView[]> {
    const [seen, drained] = await Promise.all([this.seen(), this.drains.drained()]);
    const byId = new Map(seen.map((s) => [s.id, s]));
    const ids = [...new Set([...this.configured, ...byId.keys()])];
    return ids.map((id): SwitchView => {
      const s = byId.get(id);
      const view: SwitchView = { id, connected: s?.status.connected ?? false, drained: drained.has(id) };
      if (s) view.since = s.status.since;
      if (s && !s.status.connected && s.status.lastError !== undefined) view.error = s.status.lastError;
      if (!s) view.error = 'no live worker reports this switch';
      if (s?.sessions !== undefined) view.sessions = s.sessions;
      if (s?.freeSessions !== undefined) view.freeSessions = s.freeSessions;
      return view;
    });
  }

  /** No new legs go to the switch; its live calls finish. Throws SWITCH_NOT_FOUND. */
  async drain(id: string): Promise<SwitchView> {
    await this.known(id);
    await this.drains.drain(id);
    return this.view(id);
  }

  /** New legs may go to the switch again. Throws SWITCH_NOT_FOUND. */
  async undrain(id: string): Promise<SwitchView> {
    await this.known(id);
    await this.drains.undrain(id);
    return this.view(id);
  }

  private async known(id: string): Promise<void> {
    if (this.configured.includes(id)) return;
    if ((await this.seen()).some((s) => s.id === id)) return;
    throw new CrosslineError('SWITCH_NOT_FOUND');
  }

  private async view(id: string): Promise<SwitchView> {
    return (await this.list()).find((v) => v.id === id) as SwitchView;
  }
}
