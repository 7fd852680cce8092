import { CrosslineError } from '../errors.js';
import type { Telephony } from '../telephony/types.js';
import type { OriginateGate, SwitchRouter } from './ports.js';
import type { Attempt } from './types.js';

/** What an attempt's switch is looked up in: the pool, else the one switch. */
export interface SwitchDeps {
  telephony: Telephony;
  gate?: OriginateGate;
  switches?: SwitchRouter;
}

/**
 * The switch an attempt's legs are on: every command of an attempt goes there (uuid_bridge needs
 * both legs on one switch). An attempt made before the pool, or with no pool, uses `telephony`.
 * Throws SWITCH_UNAVAILABLE for a switch this worker's pool does not have (it was removed from ESL_URL).
 */
export function telephonyOf(deps: SwitchDeps, attempt: Attempt | undefined): Telephony {
  const id = attempt?.switchId;
  if (id === undefined || deps.switches === undefined) return deps.telephony;
  const telephony = deps.switches.telephonyFor(id);
  if (!telephony) throw new CrosslineError('SWITCH_UNAVAILABLE', `switch ${id} is not in this worker's ESL_URL`);
  return telephony;
}

/** The capacity guard of an attempt's switch. */
export function gateOf(deps: SwitchDeps, attempt: Attempt | undefined): OriginateGate | undefined {
  const id = attempt?.switchId;
  if (id === undefined || deps.switches === undefined) return deps.gate;
  return deps.switches.gateFor(id);
}

/** Every switch of the pool (or the one): a recorder listens to all of them. */
export function allTelephonies(deps: SwitchDeps): Telephony[] {
  if (deps.switches === undefined) return [deps.telephony];
  return deps.switches.ids().flatMap((id) => deps.switches?.telephonyFor(id) ?? []);
}
