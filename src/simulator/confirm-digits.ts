/**
 * `play_and_get_digits` run by Crossline on one of its own outbound legs (the press-1
 * confirmation): the prompt plays (a `say:` prompt as long as speak would take), the far end keys
 * in what its script says (far-end.ts: a person on +1 202 555 0210–0219 presses 1), each key a DTMF
 * event on the leg, and the digits the regexp accepts land in the named variable, read back from
 * CHANNEL_EXECUTE_COMPLETE. Nothing in time: the variable stays unset, `read_result=timeout`.
 */
import type { Channel, CurrentApp } from './channel.js';
import type { SwitchContext } from './context.js';
import { heardByFarEnd, keysFor } from './far-end.js';
import { executeStarted, fire } from './leg.js';
import { playbackMs } from './apps.js';

type Finish = (response?: string) => void;
type Own = (stop: (how: 'hangup' | 'break') => void) => void;

/** One key: tone and gap as a person presses it, simulated ms. */
const KEY_MS = 300;

/** Splits on spaces, keeping `'single quoted'` words whole (switch_separate_string with quotes). */
export function splitQuoted(arg: string): string[] {
  const out: string[] = [];
  for (const m of arg.matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? '');
  return out;
}

export function confirmDigitsApp(ctx: SwitchContext, ch: Channel, request: CurrentApp & { viaSendmsg: boolean }, finish: Finish, own: Own): void {
  const args = splitQuoted(request.arg);
  const min = Number.parseInt(args[0] ?? '1', 10) || 1;
  const max = Number.parseInt(args[1] ?? '1', 10) || 1;
  const timeoutMs = Number.parseInt(args[3] ?? '5000', 10) || 5000;
  const terminators = args[4] ?? '#';
  const prompt = args[5] ?? '';
  const variable = args[7] ?? 'digits';
  const pattern = args[8];
  executeStarted(ctx, ch, request, request.viaSendmsg);
  ch.vars.unset(variable);
  ch.vars.unset('read_result');
  heardByFarEnd(ctx, ch, 'play_and_get_digits', prompt);
  const promptMs = Number.isFinite(playbackMs(prompt)) ? playbackMs(prompt) : 0;
  const timers: Array<() => void> = [];
  let done = false;
  const complete = (digits: string | undefined): void => {
    if (done) return;
    done = true;
    for (const cancel of timers) cancel();
    if (digits !== undefined) {
      ch.vars.set(variable, digits);
      ch.vars.set('read_result', 'success');
    } else {
      ch.vars.set('read_result', 'timeout');
    }
    finish();
  };
  const press = keysFor(ch, promptMs);
  let typed = '';
  if (press) {
    const keys = [...press.keys].slice(0, max + 1);
    keys.forEach((key, i) => {
      timers.push(ctx.clock.after(press.afterMs + i * KEY_MS, () => {
        if (done || !ch.up) return;
        fire(ctx, 'DTMF', ch, { trail: [['DTMF-Digit', key], ['DTMF-Duration', '2000'], ['DTMF-Source', 'RTP']] });
        if (terminators.includes(key)) return complete(accept(typed, min, pattern));
        typed += key;
        if (typed.length >= max) complete(accept(typed, min, pattern));
      }));
    });
  }
  timers.push(ctx.clock.after(promptMs + timeoutMs, () => complete(typed === '' ? undefined : accept(typed, min, pattern))));
  for (const cancel of timers) ch.own(cancel);
  own(() => {
    if (done) return;
    done = true;
    for (const cancel of timers) cancel();
    finish();
  });
}

function accept(digits: string, min: number, pattern: string | undefined): string | undefined {
  if (digits.length < min) return undefined;
  if (pattern !== undefined && !new RegExp(pattern).test(digits)) return undefined;
  return digits;
}
