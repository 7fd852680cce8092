/**
 * What a call step (a verb: send digits, wait for a prompt, confirm a person, detect a machine)
 * gets from the attempt that runs it: its leg, the switch, the timeline, and the attempt's cancel
 * signal. Each step is a unit of its own over this context (style.md, "verbs as units"); the
 * attempt (flow.ts) decides which steps a leg goes through.
 */
import type { Logger } from 'pino';
import type { HangupCause, Telephony } from '../../../telephony/types.js';
import type { Attempt, Callback, Leg, TimelineEntry, TimelineEvent } from '../../types.js';

export interface StepContext {
  readonly callback: Callback;
  readonly attempt: Attempt;
  readonly leg: Leg;
  /** The switch the attempt's legs are on. */
  readonly telephony: Telephony;
  /** Aborted when the callback is canceled. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Now, ms since the epoch (the flow's clock). */
  now(): number;
  /** Appends a timeline entry for this attempt and leg (not saved yet). */
  note(event: TimelineEvent, detail?: string): void;
  /** Saves the callback (and announces status changes). */
  commit(): Promise<void>;
  /** Throws the flow's cancel error once the callback is canceled. */
  throwIfCanceled(): void;
  /** Waits `ms` while the leg stays up; its hangup cause if it hangs up first. */
  whileUp(ms: number): Promise<HangupCause | undefined>;
  /** Records the leg ended by the party (leg-ended with `detail`). */
  legEnded(cause: HangupCause, detail?: string): Promise<void>;
  /** Hangs the leg up (written ahead) and records it ended. */
  hangup(cause: HangupCause): Promise<void>;
}

/** This attempt's timeline entries for the step's leg. */
export function entriesOf(ctx: StepContext): TimelineEntry[] {
  return ctx.callback.timeline.filter((e) => e.attempt === ctx.attempt.number && e.role === ctx.leg.role);
}

/** The leg's hangup cause as the switch reports it, once it is gone. */
export async function causeOfGoneLeg(ctx: StepContext): Promise<HangupCause> {
  return ctx.telephony.awaitHangup(ctx.leg.uuid, ctx.signal);
}
