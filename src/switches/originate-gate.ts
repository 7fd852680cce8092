import type { OriginateGate } from '../callbacks/ports.js';
import type { OriginateBudget } from './originate-budget.js';

/** The slot held, beside its own, by a call's first leg for the leg that will be bridged to it. */
const partnerSlot = (uuid: string): string => `${uuid}:partner`;

/**
 * The domain's capacity guard over a switch's originate budget: a call's first leg takes two
 * slots (its own, named by its UUID, and its partner's), so that the second leg never waits for
 * room while the first party holds. The first leg's end frees both (a partner still up is counted
 * by the switch's own session count); a second leg's end frees nothing.
 */
export function budgetGate(budget: OriginateBudget): OriginateGate {
  return {
    async acquire(uuid) {
      const decision = await budget.tryAcquire([uuid, partnerSlot(uuid)]);
      return decision.granted ? { granted: true } : { granted: false, reason: decision.reason, retryInMs: decision.retryInMs };
    },
    release: (uuid) => budget.release([uuid, partnerSlot(uuid)]),
  };
}

/** A budget's switch id from the switch's ESL address (`127.0.0.1:8021` → `127.0.0.1_8021`). */
export const switchIdOf = (host: string, port: number): string => `${host}_${port}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
