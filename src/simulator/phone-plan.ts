/**
 * The simulated telephones: what the far end does when a number is dialled. Scripted by number
 * ranges, overridable per number at run time.
 */
import { phoneKey } from './dial-string.js';
import type { IvrMenu } from './far-end.js';

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
  | { kind: 'fail'; cause: string }
  /**
   * A prompt-timed IVR: answers after `afterMs`, plays each menu's prompt (sound for `promptMs`),
   * then takes that menu's digits; every digit is logged with its time and whether a prompt was
   * still playing (EslSimulator.farEnd).
   */
  | { kind: 'ivr-menu'; afterMs: number; menus: IvrMenu[] }
  /** An answering machine: answers after `afterMs`, a spoken greeting of `greetingMs`, a beep of `beepMs`, then records. */
  | { kind: 'answering-machine'; afterMs: number; greetingMs: number; beepMs: number }
  /**
   * A person: answers after `afterMs`, says hello (sound for `helloMs`), and keys in `presses`
   * `pressAfterMs` after a prompt that asks for digits (play_and_get_digits) has ended.
   */
  | { kind: 'person'; afterMs: number; helloMs: number; presses?: string; pressAfterMs: number };

/** A range of numbers (inclusive, same length, E.164 with or without '+') and what they do. */
export interface PhoneRule {
  from: string;
  to: string;
  behaviour: PhoneBehaviour;
}

/** Ten numbers `<prefix>0` … `<prefix>9`, each with its own behaviour. */
const tenNumbers = (prefix: string, behaviour: (digit: number) => PhoneBehaviour): PhoneRule[] =>
  Array.from({ length: 10 }, (_, d) => ({ from: `${prefix}${d}`, to: `${prefix}${d}`, behaviour: behaviour(d) }));

/**
 * The default plan: +1 202 555 01xx as on the FreeSWITCH test bundle, plus the numbers only the
 * simulator has (the bundle answers 404 for them): answering machines on 0200–0209 and people who
 * press 1 on 0210–0219.
 */
export const DEFAULT_PLAN: readonly PhoneRule[] = [
  { from: '+12025550100', to: '+12025550149', behaviour: { kind: 'answer', afterMs: 1000 } },
  { from: '+12025550150', to: '+12025550159', behaviour: { kind: 'no-answer' } },
  { from: '+12025550160', to: '+12025550169', behaviour: { kind: 'busy' } },
  // IVRs: a welcome-and-menu prompt of 2 s (0170) to 6.5 s (0179) that takes one digit, then a
  // 2 s prompt that takes digits until '#'.
  ...tenNumbers('+1202555017', (d) => ({ kind: 'ivr-menu', afterMs: 1000, menus: [{ promptMs: 2000 + 500 * d, digits: 1 }, { promptMs: 2000, digits: 0 }] })),
  { from: '+12025550180', to: '+12025550189', behaviour: { kind: 'fail', cause: 'NETWORK_OUT_OF_ORDER' } },
  { from: '+12025550190', to: '+12025550199', behaviour: { kind: 'answer', afterMs: 1000, hangupAfterMs: 2000 } },
  // Answering machines: a greeting of 2.5 s (0200) to 7 s (0209), a 0.5 s beep, then they record.
  ...tenNumbers('+1202555020', (d) => ({ kind: 'answering-machine', afterMs: 1000, greetingMs: 2500 + 500 * d, beepMs: 500 })),
  { from: '+12025550210', to: '+12025550219', behaviour: { kind: 'person', afterMs: 1000, helloMs: 800, presses: '1', pressAfterMs: 400 } },
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
