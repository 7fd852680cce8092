/**
 * Walks an IVR sequence on the called party's leg, step by step, each at most once per attempt: a
 * worker that takes over skips the steps the timeline shows done (digits sent, prompt waited for)
 * and waits out digits still playing. Pauses leave no trace and are waited again after a takeover.
 */
import { stepLabel } from '../../ivr.js';
import type { IvrStep } from '../../types.js';
import { entriesOf, type StepContext } from './context.js';
import { sendDigits } from './send-digits.js';
import { waitForPrompt } from './wait-for-prompt.js';

const DONE_EVENTS = new Set(['dtmf-sent', 'ivr-prompt-ended', 'ivr-prompt-timeout']);

export async function walkIvr(ctx: StepContext, steps: readonly IvrStep[], values: Readonly<Record<string, string>>, compact: boolean): Promise<'up' | 'hung-up'> {
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    if (!step) continue;
    const label = stepLabel(steps, i, compact);
    const numbered = `step ${i + 1}:`;
    const done = (detail: string | undefined): boolean => detail === label || (!compact && detail?.startsWith(numbered) === true);
    if (entriesOf(ctx).some((e) => DONE_EVENTS.has(e.event) && done(e.detail))) continue;
    let outcome: 'up' | 'hung-up';
    switch (step.kind) {
      case 'wait-for-silence':
        outcome = await waitForPrompt(ctx, step, label);
        break;
      case 'digits':
        outcome = await sendDigits(ctx, step.digits, label);
        break;
      case 'value': {
        // Checked at intake; a value missing here is a stored request from before it was required.
        const digits = values[step.name];
        if (digits === undefined) throw new Error(`IVR value ${step.name} is not in the request`);
        outcome = await sendDigits(ctx, digits, `${label} (${digits.length} digits)`);
        break;
      }
      case 'pause': {
        const cause = await ctx.whileUp(step.ms);
        ctx.throwIfCanceled();
        if (cause !== undefined) {
          await ctx.legEnded(cause, 'hung up during an IVR pause');
          outcome = 'hung-up';
        } else outcome = 'up';
        break;
      }
    }
    if (outcome === 'hung-up') return outcome;
  }
  return 'up';
}
