/**
 * IVR sequences: what is sent to the called party's IVR once it answers. Two forms, one meaning:
 * the compact string (`ww1w2#`, DTMF with fixed pauses) is a single `digits` step; the structured
 * form lists steps that wait for a prompt to end (`waitForSilence`), send digits, pause, or send a
 * run-time value of the request (`{value: "accountNumber"}`). Every digit string still passes the
 * DTMF grammar here and again in the command builder; values are digits only.
 */
import { CrosslineError, type ErrorCode } from '../errors.js';
import { isDtmf, isIvrValue, isIvrValueName } from '../telephony/grammar.js';
import type { IvrStepInput } from './ports.js';
import type { CalleeParty, IvrStep } from './types.js';

/** Most steps in one sequence: a real IVR walk is a few menus deep. */
export const MAX_IVR_STEPS = 100;
/** Longest pause step, ms. */
export const MAX_PAUSE_MS = 60_000;
/** Limits of a wait for a prompt's end, ms. */
export const PROMPT_WAIT = { minTimeoutMs: 500, maxTimeoutMs: 120_000, defaultTimeoutMs: 15_000 } as const;
/** A prompt has ended after this much silence, ms (FreeSWITCH counts 20 ms frames). */
const DEFAULT_SILENCE_MS = 400;
/** Sound needed before silence counts: less is a click, not a prompt, ms. */
const DEFAULT_MIN_SOUND_MS = 200;
/** wait_for_silence's energy threshold (the value of the r- captures). */
const DEFAULT_THRESHOLD = 200;
/** Most run-time values in one request. */
export const MAX_IVR_VALUES = 10;

const invalid = (code: ErrorCode, path: string, message: string): CrosslineError => new CrosslineError(code, undefined, [{ path, message }]);

function whole(value: unknown, min: number, max: number, path: string, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid('INVALID_IVR', path, `${what} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

/** The request's run-time values: names of letters and digits, values of digits only. */
export function parseIvrValues(values: Record<string, string> | undefined): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const entries = Object.entries(values);
  if (entries.length > MAX_IVR_VALUES) throw invalid('INVALID_IVR_VALUE', '/values', `at most ${MAX_IVR_VALUES} values`);
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!isIvrValueName(name)) throw invalid('INVALID_IVR_VALUE', `/values/${name}`, 'a value name is a letter, then letters, digits or _ (at most 32)');
    if (typeof value !== 'string' || !isIvrValue(value)) throw invalid('INVALID_IVR_VALUE', `/values/${name}`, 'a run-time value is sent as DTMF: digits 0-9 only, 1 to 32 of them');
    out[name] = value;
  }
  return out;
}

/** `'any'`: any value name is accepted (a call center's route, checked against each request's values later). */
type KnownValues = Record<string, string> | undefined | 'any';

function parseStep(input: IvrStepInput, path: string, values: KnownValues): IvrStep {
  const keys = Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] !== undefined);
  if (keys.length !== 1) throw invalid('INVALID_IVR', path, 'each step has exactly one of waitForSilence, digits, pause, value');
  if (input.digits !== undefined) {
    if (!isDtmf(input.digits)) throw invalid('INVALID_DTMF', `${path}/digits`, '0-9 * # A-D and w/W pauses only, at most 64');
    return { kind: 'digits', digits: input.digits };
  }
  if (input.pause !== undefined) return { kind: 'pause', ms: whole(input.pause, 0, MAX_PAUSE_MS, `${path}/pause`, 'a pause (ms)') };
  if (input.value !== undefined) {
    if (!isIvrValueName(input.value)) throw invalid('INVALID_IVR', `${path}/value`, 'names a run-time value: a letter, then letters, digits or _');
    if (values !== 'any' && values?.[input.value] === undefined) {
      const known = Object.keys(values ?? {});
      throw invalid('INVALID_IVR', `${path}/value`, `no run-time value "${input.value}" in /values (given: ${known.length > 0 ? known.join(', ') : 'none'})`);
    }
    return { kind: 'value', name: input.value };
  }
  const wait = input.waitForSilence ?? {};
  const p = `${path}/waitForSilence`;
  return {
    kind: 'wait-for-silence',
    timeoutMs: whole(wait.timeoutMs ?? PROMPT_WAIT.defaultTimeoutMs, PROMPT_WAIT.minTimeoutMs, PROMPT_WAIT.maxTimeoutMs, `${p}/timeoutMs`, 'timeoutMs'),
    silenceMs: whole(wait.silenceMs ?? DEFAULT_SILENCE_MS, 100, 5_000, `${p}/silenceMs`, 'silenceMs'),
    minSoundMs: whole(wait.minSoundMs ?? DEFAULT_MIN_SOUND_MS, 0, 10_000, `${p}/minSoundMs`, 'minSoundMs'),
    threshold: whole(wait.threshold ?? DEFAULT_THRESHOLD, 1, 10_000, `${p}/threshold`, 'threshold'),
  };
}

/**
 * The structured form, checked: at most MAX_IVR_STEPS steps, each valid, each `value` naming one
 * of `values`. Throws INVALID_IVR / INVALID_DTMF with the JSON pointer of the step.
 */
export function parseIvrSteps(input: readonly IvrStepInput[], values: KnownValues, path: string): IvrStep[] {
  if (!Array.isArray(input) || input.length === 0) throw invalid('INVALID_IVR', path, 'an IVR sequence lists 1 or more steps');
  if (input.length > MAX_IVR_STEPS) throw invalid('INVALID_IVR', path, `at most ${MAX_IVR_STEPS} steps, got ${input.length}`);
  return input.map((step, i) => parseStep(step, `${path}/${i}`, values));
}

/** The steps sent to a callee: the structured form, or the compact string as one digits step. */
export function ivrStepsOf(callee: CalleeParty): IvrStep[] | undefined {
  if (callee.ivr !== undefined) return callee.ivr;
  return callee.dtmf === undefined ? undefined : [{ kind: 'digits', digits: callee.dtmf }];
}

/**
 * How a step is named in the timeline. The compact form keeps its digits as they were (`detail`
 * of dtmf-started / dtmf-sent); structured steps are numbered from 1. A run-time value is shown by
 * name and length, never its digits (an account number does not belong in a timeline or webhook).
 */
export function stepLabel(steps: readonly IvrStep[], index: number, compact: boolean): string {
  const step = steps[index];
  if (!step) return `step ${index + 1}`;
  const what = step.kind === 'digits' ? step.digits
    : step.kind === 'value' ? `{${step.name}}`
      : step.kind === 'pause' ? `pause ${step.ms} ms`
        : `wait for the prompt to end (at most ${step.timeoutMs} ms)`;
  return compact ? what : `step ${index + 1}: ${what}`;
}
