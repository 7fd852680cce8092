import type { Logger } from 'pino';
import type { CallCenter } from '../../callbacks/call-center.js';
import type { FraudPolicy } from '../../callbacks/index.js';
import { callCenterNotFound } from '../../callbacks/call-center.js';
import { CrosslineError } from '../../errors.js';
import { parseCallCenterInput, type CallCenterInput } from './parse.js';
import type { CallCenterStore } from './store.js';

export interface CallCenterAdminDeps {
  store: CallCenterStore;
  policy: { defaultRegion: string; fraud: FraudPolicy };
  clock: () => Date;
  logger: Logger;
}

/** The directory's CRUD, scoped to the owner (an API key never sees another's centers). */
export class CallCenterAdmin {
  constructor(private readonly deps: CallCenterAdminDeps) {}

  async create(input: CallCenterInput, owner: string): Promise<CallCenter> {
    const center = parseCallCenterInput(input, this.deps.policy, this.deps.clock());
    await this.deps.store.create(owner, center);
    this.deps.logger.info({ owner, callCenter: center.name }, 'call center created');
    return center;
  }

  list(owner: string): Promise<CallCenter[]> {
    return this.deps.store.list(owner);
  }

  async get(name: string, owner: string): Promise<CallCenter> {
    const center = await this.deps.store.get(owner, name);
    if (!center) throw await this.notFound(name, owner);
    return center;
  }

  /** Replaces the whole entry; the name in the body must be the one in the path (a center is not renamed). */
  async replace(name: string, input: CallCenterInput, owner: string): Promise<CallCenter> {
    if (input.name !== name) throw new CrosslineError('VALIDATION_FAILED', undefined, [{ path: '/name', message: `must be "${name}", the name in the path (create a new center to rename)` }]);
    const previous = await this.get(name, owner);
    const center = parseCallCenterInput(input, this.deps.policy, this.deps.clock(), previous);
    await this.deps.store.replace(owner, center);
    this.deps.logger.info({ owner, callCenter: name }, 'call center replaced');
    return center;
  }

  async delete(name: string, owner: string): Promise<void> {
    if (!(await this.deps.store.delete(owner, name))) throw await this.notFound(name, owner);
    this.deps.logger.info({ owner, callCenter: name }, 'call center deleted');
  }

  private async notFound(name: string, owner: string): Promise<CrosslineError> {
    return callCenterNotFound(name, await this.deps.store.names(owner));
  }
}
