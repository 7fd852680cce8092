/**
 * Where keep-your-place legs stand in their mod_callcenter queues (the QueuePlaces port of the
 * callback domain), from the switch's callcenter::info events and its member lists:
 *
 * - member-queue-start of a loopback-b member whose `other_loopback_leg_uuid` is a Crossline leg
 *   ties that leg to its member (and to its callback through the tags the member inherits);
 * - bridge-agent-start for such a member wakes the callback's sleeping job at once, so the caller
 *   is rung the moment the agent picks up (the job's own wake-up, and the member list, catch an
 *   event this process missed);
 * - a member's standing is read from what was heard, else from `queue list members`.
 *
 * One per worker process, listening to every switch of the pool.
 */
import type { Logger } from 'pino';
import type { QueuePlace, QueuePlaces } from '../callbacks/ports.js';
import type { QueueEvent, QueueSwitch } from '../telephony/callcenter.js';

export interface QueuePlaceWatcherDeps {
  /** Each switch whose queue events are heard, by id (undefined: the only switch). */
  switches: ReadonlyArray<{ id?: string; queues: QueueSwitch }>;
  /** Wakes the sleeping job of attempt `attempt` of `callbackId`; true when it was asleep. */
  wake(callbackId: string, attempt: number): Promise<boolean>;
  logger: Logger;
  /** How long a member not heard of again is remembered, ms. @defaultValue 6 h */
  retainMs?: number;
}

interface Known {
  place: QueuePlace;
  legUuid: string;
  callbackId?: string;
  attempt?: number;
  answeredBy?: string;
  gone?: boolean;
  at: number;
}

/** Wake-ups of a picked-up member's job: at once, then again in case it was not asleep yet. */
const WAKE_RETRIES_MS = [0, 250, 1_000, 3_000];
const DEFAULT_RETAIN_MS = 6 * 3_600_000;

export class QueuePlaceWatcher implements QueuePlaces {
  private readonly byLeg = new Map<string, Known>();
  private readonly bySession = new Map<string, Known>();
  private readonly waiters = new Map<string, Set<(known: Known) => void>>();
  private readonly stoppers: Array<() => void> = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly deps: QueuePlaceWatcherDeps) {}

  start(): void {
    for (const { queues } of this.deps.switches) this.stoppers.push(queues.onQueueEvent((event) => this.heard(event)));
  }

  /** Stops listening. Safe to call twice. */
  stop(): void {
    for (const stop of this.stoppers.splice(0)) stop();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  memberOf(legUuid: string, timeoutMs: number, signal: AbortSignal): Promise<QueuePlace | undefined> {
    const known = this.byLeg.get(legUuid);
    if (known) return Promise.resolve(known.place);
    return new Promise((resolve) => {
      const waiters = this.waiters.get(legUuid) ?? new Set();
      this.waiters.set(legUuid, waiters);
      const done = (value: QueuePlace | undefined): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', aborted);
        waiters.delete(found);
        if (waiters.size === 0) this.waiters.delete(legUuid);
        resolve(value);
      };
      const found = (k: Known): void => done(k.place);
      const aborted = (): void => done(undefined);
      const timer = setTimeout(() => done(undefined), Math.max(0, timeoutMs));
      waiters.add(found);
      signal.addEventListener('abort', aborted, { once: true });
    });
  }

  async standing(place: QueuePlace, switchId?: string): Promise<{ state: 'waiting' } | { state: 'answered'; agent: string } | { state: 'gone' }> {
    const known = this.bySession.get(place.sessionUuid);
    if (known?.answeredBy !== undefined) return { state: 'answered', agent: known.answeredBy };
    const queues = this.deps.switches.find((s) => s.id === switchId)?.queues ?? this.deps.switches[0]?.queues;
    if (!queues) return known?.gone ? { state: 'gone' } : { state: 'waiting' };
    const status = await queues.queueStatus(place.queue);
    const member = status.members.find((m) => m.sessionUuid === place.sessionUuid);
    if (member?.state === 'Answered') return { state: 'answered', agent: member.servingAgent ?? '' };
    if (member && (member.state === 'Waiting' || member.state === 'Trying')) return { state: 'waiting' };
    return { state: 'gone' };
  }

  private heard(event: QueueEvent): void {
    this.forget(Date.now());
    switch (event.type) {
      case 'member-joined': {
        if (event.crosslineLeg === undefined) return;
        const attempt = Number(event.tags?.attempt);
        const known: Known = {
          place: { queue: event.queue, sessionUuid: event.sessionUuid, memberUuid: event.memberUuid },
          legUuid: event.crosslineLeg,
          ...(event.tags?.callback_id !== undefined ? { callbackId: event.tags.callback_id } : {}),
          ...(Number.isInteger(attempt) ? { attempt } : {}),
          at: Date.now(),
        };
        this.byLeg.set(known.legUuid, known);
        this.bySession.set(event.sessionUuid, known);
        for (const waiter of [...(this.waiters.get(known.legUuid) ?? [])]) waiter(known);
        return;
      }
      case 'agent-answered': {
        const known = this.bySession.get(event.sessionUuid);
        if (!known) return;
        known.answeredBy = event.agent;
        known.at = Date.now();
        this.wakeJob(known);
        return;
      }
      case 'member-left': {
        const known = this.bySession.get(event.sessionUuid);
        if (!known) return;
        known.gone = true;
        known.at = Date.now();
        // Left without an agent: its job looks now, and gives the place up.
        if (known.answeredBy === undefined) this.wakeJob(known);
        return;
      }
      default:
        return;
    }
  }

  private wakeJob(known: Known): void {
    const { callbackId, attempt } = known;
    if (callbackId === undefined || attempt === undefined) return;
    let tries = 0;
    const next = (): void => {
      const delay = WAKE_RETRIES_MS[tries++];
      if (delay === undefined) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.deps
          .wake(callbackId, attempt)
          .then((woken) => {
            if (!woken) next();
          })
          .catch((err: unknown) => {
            this.deps.logger.warn({ err, callbackId, attempt }, 'queue pickup: job not woken; it looks at its own wake-up');
            next();
          });
      }, delay);
      this.timers.add(timer);
    };
    next();
  }

  private forget(now: number): void {
    const retain = this.deps.retainMs ?? DEFAULT_RETAIN_MS;
    for (const [leg, known] of this.byLeg) {
      if (now - known.at <= retain) continue;
      this.byLeg.delete(leg);
      this.bySession.delete(known.place.sessionUuid);
    }
  }
}
