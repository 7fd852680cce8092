/**
 * "A person, not a machine, on each leg": the request's (or its call center's) checks per leg,
 * validated. Press-1 confirmation speaks a prompt and waits for a 1; answering-machine detection
 * judges the greeting's length (see README, "A person on each leg", for why this and not mod_avmd).
 */
import { CrosslineError } from '../errors.js';
import { isConfirmPrompt, isSpeakableText } from '../telephony/grammar.js';
import { normaliseText } from './request.js';
import type { ConfirmInput, MachineDetectionInput } from './ports.js';
import type { ConfirmPolicy, HumanCheck, LegRole, MachinePolicy } from './types.js';

/** Seconds a party has to press 1 after the prompt. */
export const CONFIRM_TIMEOUT = { min: 2, max: 60, default: 8 } as const;
/** Speech from this long is a machine's greeting, ms: people say "Hello?" (about 1 s) and wait. */
export const MACHINE_GREETING = { min: 1_000, max: 10_000, default: 2_500 } as const;

const invalid = (path: string, message: string): CrosslineError => new CrosslineError('VALIDATION_FAILED', undefined, [{ path, message }]);

function text(value: string, path: string, check: (s: string) => boolean, rule: string): string {
  const normal = normaliseText(value);
  if (normal === undefined || !check(normal)) throw new CrosslineError('INVALID_ANNOUNCEMENT', undefined, [{ path, message: rule }]);
  return normal;
}

function seconds(value: number | undefined, bounds: { min: number; max: number; default: number }, path: string): number {
  const v = value ?? bounds.default;
  if (!Number.isInteger(v) || v < bounds.min || v > bounds.max) throw invalid(path, `must be a whole number from ${bounds.min} to ${bounds.max}`);
  return v;
}

export function parseConfirm(input: ConfirmInput, defaultPrompt: string, path: string): ConfirmPolicy {
  const prompt = text(input.prompt ?? defaultPrompt, `${path}/prompt`, isConfirmPrompt, "letters, digits, spaces and . , : ! ? ( ) - only (no '), at most 200");
  return { prompt, timeoutSec: seconds(input.timeoutSeconds, CONFIRM_TIMEOUT, `${path}/timeoutSeconds`) };
}

export function parseMachineDetection(input: MachineDetectionInput, path: string): MachinePolicy {
  const onMachine = input.onMachine ?? 'hangup-retry';
  if (onMachine === 'leave-message' && input.message === undefined) throw invalid(`${path}/message`, 'leave-message needs the message to speak');
  const message = input.message === undefined ? undefined : text(input.message, `${path}/message`, isSpeakableText, "letters, digits, spaces and . , : ! ? ' ( ) - only, at most 500");
  return {
    onMachine,
    greetingMs: seconds(input.greetingMs, MACHINE_GREETING, `${path}/greetingMs`),
    ...(message !== undefined ? { message } : {}),
  };
}

/** Both checks of each leg from the request's `confirm` and `machineDetection`; undefined when none. */
export function parseHumanCheck(
  confirm: { caller?: ConfirmInput; callee?: ConfirmInput } | undefined,
  machine: { caller?: MachineDetectionInput; callee?: MachineDetectionInput } | undefined,
  defaultPrompt: (role: LegRole) => string,
): { caller?: HumanCheck; callee?: HumanCheck } | undefined {
  const out: { caller?: HumanCheck; callee?: HumanCheck } = {};
  for (const role of ['caller', 'callee'] as const) {
    const c = confirm?.[role];
    const m = machine?.[role];
    if (c === undefined && m === undefined) continue;
    out[role] = {
      ...(m !== undefined ? { machineDetection: parseMachineDetection(m, `/machineDetection/${role}`) } : {}),
      ...(c !== undefined ? { confirm: parseConfirm(c, defaultPrompt(role), `/confirm/${role}`) } : {}),
    };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
