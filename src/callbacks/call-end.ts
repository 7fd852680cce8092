/**
 * The end of a live conversation, recorded without a job holding a worker. A bridged callback's
 * job sleeps (see wait.ts); its end is recorded by whichever worker process first hears a leg hang
 * up (the {@link CallEndRecorder} every worker runs), or, when nobody heard it, by the job's next
 * wake-up, which asks the switch. Every writer re-reads and saves with compare-and-set, so the
 * first one wins and the others find the end recorded: the timeline, the status change and its
 * webhook come once.
 */
import type { Logger } from 'pino';
import { isCrosslineError } from '../errors.js';
import { parseHangupCause, type HangupCause, type LegEnd, type Telephony } from '../telephony/types.js';
import { releasePacing } from './attempt-admission.js';
import { RevisionConflictError, type AttemptScheduler, type CallCenterPacer, type SwitchRouter, type CallbackNotifier, type CallbackRepository, type CancelSignal, type LegFacts, type LegFactsRepository } from './ports.js';
import { isFinal, record, transition } from './state-machine.js';
import { allTelephonies, telephonyOf } from './switch-of.js';
import type { Attempt, Callback, CallbackStatus, Leg, TimelineEntry, TimelineEvent } from './types.js';

export interface CallEndDeps {
  repository: CallbackRepository;
  telephony: Telephony;
  /** The pool of switches, when ESL_URL names several; an attempt's commands go to its switch. @defaultValue none: `telephony` */
  switches?: SwitchRouter;
  notifier: CallbackNotifier;
  cancelSignal: CancelSignal;
  /** The switch's CDRs: the cause of an end nobody heard. */
  legFacts: LegFactsRepository;
  /** Per-center pacing: a conversation that ends gives its in-progress slot back. @defaultValue none */
  pacer?: CallCenterPacer;
  /** Wakes the next callback in line for that slot. @defaultValue none: it asks at its own time */
  scheduler?: { wake?: AttemptScheduler['wake'] };
  clock: () => Date;
  logger: Logger;
}

/** A bridged call: `up` while both parties are on, `over` once its end is recorded (by anyone). */
export type ConversationState = 'up' | 'over' | 'not-bridged';

/** A hangup heard from the switch. */
export interface HeardEnd {
  uuid: string;
  cause: HangupCause;
}

/** Re-reads after a lost compare-and-set before giving up (each loser finds more done). */
const MAX_TRIES = 10;
/** How long the hangup of a leg we hung up is awaited before its cause counts as UNKNOWN, ms. */
const SURVIVOR_HANGUP_MS = 10_000;
/**
 * A wake-up that finds a leg gone first gives the recorders this long to record the end they
 * heard, ms: they know which party hung up first; a look at the switch taken while the hangups
 * happen may see the second leg gone before the first.
 */
const RECORDER_HEAD_START_MS = 300;

/**
 * How long a leg that is gone may take to be reported by the switch, ms: FreeSWITCH posts the CDR
 * before it destroys the channel, but the post may still be on its way (the simulator's is).
 */
const CDR_GRACE_MS = 1_500;
const CDR_POLL_MS = 100;

/** The switch's CDR of a leg that is gone, waiting CDR_GRACE_MS for it; undefined when none came. */
export async function factsOf(deps: { legFacts: LegFactsRepository }, uuid: string): Promise<LegFacts | undefined> {
  const deadline = Date.now() + CDR_GRACE_MS;
  for (;;) {
    const facts = await deps.legFacts.get(uuid);
    if (facts || Date.now() >= deadline) return facts;
    await new Promise((resolve) => setTimeout(resolve, CDR_POLL_MS));
  }
}

/** Whether attempt `attemptNumber` of `callback` is a live conversation (bridged, not yet over). */
export function inConversation(callback: Callback, attemptNumber: number): boolean {
  const attempt = callback.attempts.find((a) => a.number === attemptNumber);
  return callback.status === 'bridged' && attempt !== undefined && attempt.endedAt === undefined && attempt.legs.length === 2;
}

/**
 * Brings the store up to date with a bridged call: a cancel requested → both legs hung up,
 * `canceled`; a leg ended (in the store, `heard`, or — with `askSwitch` — gone from the switch) →
 * it is recorded, the other party is hung up, and the callback `completed`. Idempotent; safe to run
 * in several processes at once.
 */
export async function settleConversation(
  deps: CallEndDeps,
  callbackId: string,
  attemptNumber: number,
  options: { heard?: HeardEnd; askSwitch: boolean },
): Promise<ConversationState> {
  let headStartGiven = false;
  for (let tries = 1; ; tries += 1) {
    const callback = await deps.repository.get(callbackId);
    if (!callback || isFinal(callback.status)) return 'over';
    if (!inConversation(callback, attemptNumber)) return 'not-bridged';
    try {
      return await new Conversation(deps, callback, attemptNumber).settle({ ...options, recordGone: headStartGiven });
    } catch (err) {
      if (err instanceof LegGoneUnrecorded) {
        headStartGiven = true;
        await new Promise((resolve) => setTimeout(resolve, RECORDER_HEAD_START_MS));
        continue;
      }
      if (!(err instanceof RevisionConflictError) || tries >= MAX_TRIES) throw err;
    }
  }
}

/** The switch no longer has a leg whose end is not recorded yet. */
class LegGoneUnrecorded extends Error {}

/** One read of a bridged callback, changed and saved (compare-and-set) as its end is recorded. */
class Conversation {
  private storedStatus: CallbackStatus;
  private pending: TimelineEntry[] = [];
  private readonly attempt: Attempt;
  private readonly log: Logger;

  constructor(private readonly deps: CallEndDeps, private readonly callback: Callback, private readonly attemptNumber: number) {
    this.storedStatus = callback.status;
    this.attempt = callback.attempts.find((a) => a.number === attemptNumber) as Attempt;
    this.log = deps.logger.child({ callbackId: callback.id, attempt: attemptNumber });
  }

  /** The switch this call's legs are on. */
  private get telephony(): Telephony {
    return telephonyOf(this.deps, this.attempt);
  }

  async settle({ heard, askSwitch, recordGone }: { heard?: HeardEnd; askSwitch: boolean; recordGone: boolean }): Promise<ConversationState> {
    if (await this.deps.cancelSignal.isRequested(this.callback.id)) return this.cancel();
    const { legs } = this.attempt;
    let gone = legs.some((l) => l.state === 'ended');
    let learned = false;
    const heardLeg = heard && legs.find((l) => l.uuid === heard.uuid && l.state !== 'ended');
    if (heard && heardLeg) {
      this.endLeg(heardLeg, heard.cause);
      gone = learned = true;
    }
    if (!gone && askSwitch) {
      const present = await Promise.all(legs.map((leg) => this.telephony.exists(leg.uuid)));
      const first = legs.find((_, i) => !present[i]);
      if (first) {
        if (!recordGone) throw new LegGoneUnrecorded();
        this.endLeg(first, await this.causeOf(first));
        gone = learned = true;
      }
    }
    if (!gone) return 'up';
    // The first end is saved before the other party is hung up (its cause is known only here),
    // with the hang-up written ahead of it.
    const survivors = legs.filter((l) => l.state !== 'ended');
    const asked = survivors.filter((l) => this.noteOnce('hangup-requested', { role: l.role, uuid: l.uuid, hangupCause: 'NORMAL_CLEARING' }));
    if (learned || asked.length > 0) await this.commit();
    for (const survivor of survivors) {
      await this.telephony.hangup(survivor.uuid, 'NORMAL_CLEARING');
      this.endLeg(survivor, await this.causeOf(survivor));
    }
    this.attempt.endedAt = this.now();
    this.move('completed', 'completed');
    await this.commit();
    return 'over';
  }

  /** Canceled while bridged: both legs hung up, as a worker driving the attempt would. */
  private async cancel(): Promise<ConversationState> {
    this.noteOnce('cancel-requested', {});
    // Each end saved as it is made, as the attempt flow does (and the switch is given the moment
    // between two kills to tear the bridge down).
    const up = this.attempt.legs.filter((l) => l.state !== 'ended');
    for (const leg of up) this.noteOnce('hangup-requested', { role: leg.role, uuid: leg.uuid, hangupCause: 'ORIGINATOR_CANCEL' });
    await this.commit();
    for (const leg of up) {
      await this.telephony.hangup(leg.uuid, 'ORIGINATOR_CANCEL');
      this.endLeg(leg, 'ORIGINATOR_CANCEL');
      await this.commit();
    }
    this.attempt.endedAt ??= this.now();
    delete this.callback.nextAttemptAt;
    this.move('canceled', 'canceled');
    await this.commit();
    return 'over';
  }

  /**
   * The cause this process heard for a leg that is gone or going; when nobody heard it, the one
   * in the switch's CDR of it (its end time too); UNKNOWN when there is none either.
   */
  private async causeOf(leg: Leg): Promise<HangupCause> {
    let heard: HangupCause = 'UNKNOWN';
    try {
      heard = await this.telephony.awaitHangup(leg.uuid, AbortSignal.timeout(SURVIVOR_HANGUP_MS));
    } catch (err) {
      this.log.warn({ err, uuid: leg.uuid }, 'hangup cause not heard');
    }
    if (heard !== 'UNKNOWN') return heard;
    const facts = await factsOf(this.deps, leg.uuid);
    if (!facts) return 'UNKNOWN';
    this.factEnds.set(leg.uuid, facts.endedAt);
    return parseHangupCause(facts.hangupCause);
  }

  /** End times read from CDRs, by leg UUID. */
  private readonly factEnds = new Map<string, string>();

  private endLeg(leg: Leg, cause: HangupCause): void {
    leg.state = 'ended';
    leg.endedAt = this.factEnds.get(leg.uuid) ?? this.now();
    leg.hangupCause = cause;
    this.note('leg-ended', { role: leg.role, uuid: leg.uuid, hangupCause: cause });
  }

  private now(): string {
    return this.deps.clock().toISOString();
  }

  private note(event: TimelineEvent, fields: Omit<TimelineEntry, 'at' | 'event' | 'attempt'>): void {
    record(this.callback, { event, attempt: this.attemptNumber, ...fields }, this.deps.clock());
  }

  /**
   * Notes an entry unless this attempt's timeline has it already (for that leg): several processes
   * may settle one call, and a write-ahead intent is written once.
   */
  private noteOnce(event: TimelineEvent, fields: Omit<TimelineEntry, 'at' | 'event' | 'attempt'>): boolean {
    if (this.callback.timeline.some((e) => e.attempt === this.attemptNumber && e.event === event && e.uuid === fields.uuid)) return false;
    this.note(event, fields);
    return true;
  }

  private move(to: CallbackStatus, event: TimelineEvent): void {
    this.pending.push(transition(this.callback, to, { event, attempt: this.attemptNumber }, this.deps.clock()));
  }

  /** Saves (compare-and-set), then tells the notifier about the status changes it made. */
  private async commit(): Promise<void> {
    await this.deps.repository.save(this.callback, this.storedStatus);
    this.storedStatus = this.callback.status;
    for (const entry of this.pending.splice(0)) {
      this.log[entry.status !== undefined && isFinal(entry.status) ? 'info' : 'debug']({ status: entry.status, event: entry.event }, 'callback status changed');
      try {
        await this.deps.notifier.statusChanged(this.callback, entry);
      } catch (err) {
        this.log.warn({ err, status: entry.status }, 'status notification could not be queued');
      }
    }
  }
}

/**
 * Runs in every worker process: hears the switch's hangups of Crossline's legs and cancels of
 * callbacks no job holds, and records them ({@link settleConversation}). Work for one callback
 * runs one piece at a time in a process; across processes the compare-and-set decides.
 */
export class CallEndRecorder {
  private readonly busy = new Map<string, Promise<void>>();
  private readonly stoppers: Array<() => void> = [];
  private stopped = false;

  constructor(private readonly deps: CallEndDeps) {}

  async start(): Promise<void> {
    for (const telephony of allTelephonies(this.deps)) this.stoppers.push(telephony.onLegEnded((end) => this.heard(end)));
    this.stoppers.push(await this.deps.cancelSignal.watchAll((id) => this.canceled(id)));
  }

  /** Stops listening and waits for what it is recording now. Safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const stop of this.stoppers.splice(0)) stop();
    await Promise.allSettled([...this.busy.values()]);
  }

  private heard(end: LegEnd): void {
    const { callback_id: callbackId, attempt } = end.tags;
    const attemptNumber = Number(attempt);
    if (callbackId === undefined || !Number.isInteger(attemptNumber)) return;
    this.serially(callbackId, async () => {
      const state = await settleConversation(this.deps, callbackId, attemptNumber, { heard: { uuid: end.uuid, cause: end.cause }, askSwitch: false });
      if (state === 'over') await releasePacing(this.deps, callbackId);
    });
  }

  private canceled(callbackId: string): void {
    this.serially(callbackId, async () => {
      const callback = await this.deps.repository.get(callbackId);
      // A callback in any other state is driven by its job, which hears the cancel itself.
      if (!callback || callback.status !== 'bridged') return;
      await settleConversation(this.deps, callbackId, callback.attempts.length, { askSwitch: false });
    });
  }

  private serially(callbackId: string, work: () => Promise<void>): void {
    if (this.stopped) return;
    const previous = this.busy.get(callbackId) ?? Promise.resolve();
    const next = previous
      .then(work)
      .catch((err: unknown) => {
        // Not lost: the job's next wake-up asks the switch and records what is missing.
        const level = isCrosslineError(err) && err.retryable ? 'warn' : 'error';
        this.deps.logger[level]({ err, callbackId }, 'call end not recorded; left to the reconciliation');
      })
      .finally(() => {
        if (this.busy.get(callbackId) === next) this.busy.delete(callbackId);
      });
    this.busy.set(callbackId, next);
  }
}
