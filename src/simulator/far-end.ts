/**
 * What the far end of an answered leg sends back: sound (which `wait_for_silence` listens to) and
 * key presses (which `play_and_get_digits` reads), scripted per phone kind:
 *
 * - a telephone of the bundle's 0100–0149: a 440 Hz tone, 1 s on and 4 s off, until hung up
 *   (shared/freeswitch conf phones.xml; the r-wait-for-silence capture heard the same);
 * - a prompt-timed IVR (`ivr-menu`): each menu's prompt is sound for `promptMs`, then it waits
 *   for its digits; a digit that arrives while a prompt still plays is logged as early;
 * - an answering machine: a greeting of `greetingMs`, a pause, a beep, then silence while it
 *   records; what is played to the leg after the beep is the message it keeps;
 * - a person: says "hello?" (0.8 s of sound), then keys in `presses` once a prompt asks for digits.
 *
 * All times are simulated ms (the clock's timeScale applies). Sound is kept as loud intervals on
 * the simulator's own time line (SimClock.simulatedElapsed()).
 */
import type { Channel } from './channel.js';
import type { SwitchContext } from './context.js';

/** One IVR menu: its prompt plays for `promptMs`, then it takes `digits` digits (0: until `#`). */
export interface IvrMenu {
  promptMs: number;
  digits: number;
}

/** A digit that reached an IVR, with the menu it answered and whether a prompt was still playing. */
export interface IvrDigit {
  digit: string;
  /** Simulated ms since the leg answered. */
  atMs: number;
  /** Index of the menu whose input it was. */
  menu: number;
  /** True when it arrived while that menu's prompt was still playing (too early: a real IVR may drop it). */
  duringPrompt: boolean;
}

/** An IVR prompt that played, in simulated ms since the answer. */
export interface IvrPrompt {
  menu: number;
  fromMs: number;
  toMs: number;
}

/** What the far end keyed in or heard, for EslSimulator.farEnd(). */
export interface FarEndLog {
  prompts: IvrPrompt[];
  digits: IvrDigit[];
  /** Answering machine: when its beep ended (ms since answer), and what was played after it. */
  beepEndedAtMs?: number;
  recorded: Array<{ app: string; arg: string; atMs: number }>;
}

export type FarEndScript =
  | { kind: 'tone-loop'; onMs: number; offMs: number }
  | { kind: 'silent' }
  | { kind: 'ivr-menu'; menus: readonly IvrMenu[] }
  | { kind: 'answering-machine'; greetingMs: number; beepMs: number }
  | { kind: 'person'; helloMs: number; presses?: string; pressAfterMs: number };

interface FarEnd {
  script: FarEndScript;
  /** Simulated elapsed ms at the answer. */
  answeredAt: number;
  /** Loud intervals [from, to) in simulated elapsed ms; `to` may be Infinity. */
  loud: Array<[number, number]>;
  listeners: Set<() => void>;
  log: FarEndLog;
  menu: number;
  collected: number;
  promptEndsAt: number;
}

const ends = new WeakMap<Channel, FarEnd>();

const BEEP_GAP_MS = 300;
/** How long an answering machine records before it hangs up on its own. */
const RECORD_LIMIT_MS = 30_000;

/** Starts the far end's script when the leg answers. */
export function startFarEnd(ctx: SwitchContext, ch: Channel, script: FarEndScript, onHangup: () => void): void {
  const now = ctx.clock.simulatedElapsed();
  const end: FarEnd = {
    script, answeredAt: now, loud: [], listeners: new Set(), log: { prompts: [], digits: [], recorded: [] },
    menu: 0, collected: 0, promptEndsAt: now,
  };
  ends.set(ch, end);
  switch (script.kind) {
    case 'ivr-menu':
      return playPrompt(end, now);
    case 'answering-machine': {
      const beepFrom = now + script.greetingMs + BEEP_GAP_MS;
      end.loud.push([now, now + script.greetingMs], [beepFrom, beepFrom + script.beepMs]);
      end.log.beepEndedAtMs = script.greetingMs + BEEP_GAP_MS + script.beepMs;
      ch.own(ctx.clock.after(script.greetingMs + BEEP_GAP_MS + script.beepMs + RECORD_LIMIT_MS, () => {
        if (ch.up) onHangup();
      }));
      return;
    }
    case 'person':
      end.loud.push([now, now + script.helloMs]);
      return;
    case 'tone-loop':
    case 'silent':
      return;
  }
}

function playPrompt(end: FarEnd, at: number): void {
  if (end.script.kind !== 'ivr-menu') return;
  const menu = end.script.menus[end.menu];
  if (!menu) return;
  end.promptEndsAt = at + menu.promptMs;
  end.loud.push([at, end.promptEndsAt]);
  end.log.prompts.push({ menu: end.menu, fromMs: at - end.answeredAt, toMs: end.promptEndsAt - end.answeredAt });
  for (const listener of end.listeners) listener();
}

/** Whether the far end of `ch` sends sound at simulated elapsed time `at`. */
export function loudAt(ch: Channel, at: number): boolean {
  const end = ends.get(ch);
  if (!end || at < end.answeredAt) return false;
  if (end.script.kind === 'tone-loop') {
    const period = end.script.onMs + end.script.offMs;
    return (at - end.answeredAt) % period < end.script.onMs;
  }
  return end.loud.some(([from, to]) => at >= from && at < to);
}

/** Calls `listener` whenever the far end's sound changes (a new prompt); returns the unsubscriber. */
export function onSoundChange(ch: Channel, listener: () => void): () => void {
  const end = ends.get(ch);
  if (!end) return () => undefined;
  end.listeners.add(listener);
  return () => end.listeners.delete(listener);
}

/** A DTMF digit reached the far end (dtmf.ts): an IVR logs it and moves to its next menu when the menu is complete. */
export function digitHeard(ctx: SwitchContext, ch: Channel, digit: string): void {
  const end = ends.get(ch);
  if (!end || end.script.kind !== 'ivr-menu') return;
  const now = ctx.clock.simulatedElapsed();
  const menu = end.script.menus[end.menu];
  end.log.digits.push({ digit, atMs: Math.round(now - end.answeredAt), menu: end.menu, duringPrompt: now < end.promptEndsAt });
  if (!menu) return;
  end.collected += 1;
  const complete = menu.digits === 0 ? digit === '#' : end.collected >= menu.digits;
  if (!complete) return;
  end.menu += 1;
  end.collected = 0;
  // The next prompt starts a moment after the input, as an IVR looks up the choice.
  const next = Math.max(now, end.promptEndsAt) + NEXT_PROMPT_MS;
  ch.own(ctx.clock.after(next - now, () => {
    if (ch.up) playPrompt(end, ctx.clock.simulatedElapsed());
  }));
}

/** From the end of an IVR menu's input to its next prompt. */
const NEXT_PROMPT_MS = 200;

/**
 * A prompt that asks for digits is playing on the leg (play_and_get_digits): what the far end keys
 * in, and how long after the prompt's start; undefined when it keys in nothing.
 */
export function keysFor(ch: Channel, promptMs: number): { keys: string; afterMs: number } | undefined {
  const end = ends.get(ch);
  if (!end || end.script.kind !== 'person' || end.script.presses === undefined) return undefined;
  return { keys: end.script.presses, afterMs: promptMs + end.script.pressAfterMs };
}

/** Something was played to the leg (speak, playback): an answering machine records what comes after its beep. */
export function heardByFarEnd(ctx: SwitchContext, ch: Channel, app: string, arg: string): void {
  const end = ends.get(ch);
  if (!end || end.script.kind !== 'answering-machine') return;
  const atMs = Math.round(ctx.clock.simulatedElapsed() - end.answeredAt);
  if (end.log.beepEndedAtMs !== undefined && atMs >= end.log.beepEndedAtMs) end.log.recorded.push({ app, arg, atMs });
}

export function farEndLog(ch: Channel): FarEndLog | undefined {
  const end = ends.get(ch);
  if (!end) return undefined;
  return { ...end.log, prompts: [...end.log.prompts], digits: [...end.log.digits], recorded: [...end.log.recorded] };
}

/** Whether `ch` is a leg to a simulated phone that answered (it has a far end). */
export function hasFarEnd(ch: Channel): boolean {
  return ends.has(ch);
}
