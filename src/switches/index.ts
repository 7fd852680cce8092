/**
 * The switches Crossline dials through: today each switch's originate budget (sessions per second
 * and sessions up, shared by every worker through Redis); the pool of switches comes here too.
 */
export {
  OriginateBudget,
  SESSIONS_RETRY_MS,
  SLOW_RETRY_MS,
  SPS_WINDOW_MS,
  budgetKeys,
  effectiveLimits,
  inFlightMs,
  type BudgetDecision,
  type BudgetLimits,
  type BudgetRefusal,
  type OriginateBudgetOptions,
} from './originate-budget.js';
export { budgetGate, switchIdOf } from './originate-gate.js';
export { parseSwitchList, type SwitchAddress } from './addresses.js';
export { drainedKey, SwitchDrains, SwitchPool, type PoolMember } from './pool.js';
export { SwitchDirectory, type SwitchView } from './directory.js';
