/**
 * The simulated telephones: what the far end does when a number is dialled. Scripted by number
 * ranges, overridable per number at run time.
 */
import { phoneKey } from './dial-string.js';

/** What a dialled phone does. All times are simulated milliseconds (multiplied by timeScale). */
export type PhoneBehaviour =
  /** Rings, answers after `afterMs` (0: at once, without ringing), hangs up after `hangupAfterMs` if given. */
  | { kind: 'answer'; afterMs: number; hangupAfterMs?: number }
  /** Rings until the originate timeout (NO_ANSWER). */
  | { kind: 'no-answer' }
  /** Refuses with 486 Busy Here (USER_BUSY). */
  | { kind: 'busy' }
  /** Answers after `afterMs` and records every DTMF digit sent to it. */
  | { kind: 'collect-dtmf'; afterMs: number }
  /** Fails with the given hangup cause, e.g. NETWORK_OUT_OF_ORDER. */
  | { kind: 'fail'; cause: string };

/** A range of numbers (inclusive, same length, E.164 with or without '+') and what they do. */
export interface PhoneRule {
  from: string;
  to: string;
  behaviour: PhoneBehaviour;
}

/** The default plan: +1 202 555 01xx. */
export const DEFAULT_PLAN: readonly PhoneRule[] = [
  { from: '+12025550100', to: '+12025550149', behaviour: { kind: 'answer', afterMs: 1000 } },
  { from: '+12025550150', to: '+12025550159', behaviour: { kind: 'no-answer' } },
  { from: '+12025550160', to: '+12025550169', behaviour: { kind: 'busy' } },
  { from: '+12025550170', to: '+12025550179', behaviour: { kind: 'collect-dtmf', afterMs: 1000 } },
  { from: '+12025550180', to: '+12025550189', behaviour: { kind: 'fail', cause: 'NETWORK_OUT_OF_ORDER' } },
  { from: '+12025550190', to: '+12025550199', behaviour: { kind: 'answer', afterMs: 1000, hangupAfterMs: 2000 } },
];

/** A SIP URI whose user part is not in the plan is a softphone that answers. */
const SIP_USER_DEFAULT: PhoneBehaviour = { kind: 'answer', afterMs: 1000 };

export type Resolution = PhoneBehaviour | { kind: 'unallocated' };

export class PhonePlan {
  private readonly overrides = new Map<string, PhoneBehaviour>();

  constructor(private readonly rules: readonly PhoneRule[]) {}

  set(number: string, behaviour: PhoneBehaviour): void {
    this.overrides.set(phoneKey(number), behaviour);
  }

  /**
   * @param isNumber - true for a gateway or loopback number; false for the user part of a SIP URI,
   * which answers when it is not a plan number.
   */
  resolve(user: string, isNumber: boolean): Resolution {
    const key = phoneKey(user);
    const override = this.overrides.get(key);
    if (override) return override;
    const rule = this.rules.find((r) => inRange(key, r));
    if (rule) return rule.behaviour;
    return isNumber ? { kind: 'unallocated' } : SIP_USER_DEFAULT;
  }
}

function inRange(key: string, rule: PhoneRule): boolean {
  const from = phoneKey(rule.from);
  const to = phoneKey(rule.to);
  if (!/^\d+$/.test(key) || key.length !== from.length) return false;
  return key >= from && key <= to;
}
