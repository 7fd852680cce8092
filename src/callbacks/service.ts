import type { Logger } from 'pino';
import { CrosslineError } from '../errors.js';
import { holdUntil, limitedDestinations, type LimitPolicy } from './limits.js';
import {
  RevisionConflictError,
  type Admission,
  type AttemptScheduler,
  type CallbackInput,
  type CallbackNotifier,
  type CallbackPage,
  type CallbackRepository,
  type CallbackService,
  type CancelSignal,
  type CreateOptions,
  type IntakeLimits,
  type ListQuery,
  type WebhookUrlGuard,
} from './ports.js';
import { assertCallerIdAllowed } from './fraud.js';
import { parseCallbackInput, type RequestPolicy } from './request.js';
import { isFinal, transition } from './state-machine.js';
import type { Callback, TimelineEntry } from './types.js';

export interface CallbackServiceDeps {
  repository: CallbackRepository;
  scheduler: AttemptScheduler;
  cancelSignal: CancelSignal;
  notifier: CallbackNotifier;
  webhookGuard: WebhookUrlGuard;
  policy: RequestPolicy;
  /** Call-bombing limits and quotas every accepted callback counts against. */
  limits: IntakeLimits;
  /** Which destinations the limits skip. */
  limitPolicy: Pick<LimitPolicy, 'exempt'>;
  clock: () => Date;
  newId: () => string;
  logger: Logger;
  /** How long DELETE waits for the worker driving a live call to confirm the cancel. @defaultValue 3000 */
  cancelConfirmMs?: number;
}

const CANCEL_POLL_MS = 50;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The domain's front door, shared by every intake. */
export class DefaultCallbackService implements CallbackService {
  constructor(private readonly deps: CallbackServiceDeps) {}

  async create(input: CallbackInput, owner: string, options: CreateOptions = {}): Promise<Callback> {
    const { deps } = this;
    const now = deps.clock();
    const request = parseCallbackInput(input, deps.policy, now);
    assertCallerIdAllowed(request.callerId, owner, deps.policy.callerIds);
    if (request.webhook !== undefined) await deps.webhookGuard(request.webhook);
    const at = request.at === undefined ? undefined : new Date(request.at);
    const createdAt = now.toISOString();
    const id = deps.newId();
    const admission: Admission = {
      callbackId: id,
      owner,
      destinations: limitedDestinations(request, deps.limitPolicy.exempt),
      holdUntilMs: holdUntil(request, (at ?? now).getTime()),
    };
    await deps.limits.admit(admission);
    const callback: Callback = {
      id,
      status: at ? 'scheduled' : 'queued',
      request,
      attempts: [],
      timeline: [],
      createdAt,
      updatedAt: createdAt,
      ...(at ? { nextAttemptAt: at.toISOString() } : {}),
      owner,
      ...(options.requester !== undefined ? { requester: structuredClone(options.requester) } : {}),
      revision: 0,
    };
    const entry: TimelineEntry = { at: createdAt, event: 'created', status: callback.status, ...(at ? { detail: `first attempt at ${at.toISOString()}` } : {}) };
    callback.timeline.push(entry);
    try {
      await deps.repository.create(callback);
    } catch (err) {
      await deps.limits.refund(admission).catch(() => undefined);
      throw err;
    }
    try {
      await deps.scheduler.enqueue(callback.id, 1, at ? at.getTime() - now.getTime() : 0);
    } catch (err) {
      // Not queued means not accepted: remove it, so nothing is left that no worker will ever run.
      await deps.repository.discard(callback).catch(() => undefined);
      await deps.limits.refund(admission).catch(() => undefined);
      throw new CrosslineError('STORE_UNAVAILABLE', 'The callback could not be queued; it was not accepted.', [], { cause: err });
    }
    deps.logger.info({ callbackId: callback.id, owner, status: callback.status }, 'callback accepted');
    await this.notify(callback, entry);
    return callback;
  }

  async get(id: string, owner: string): Promise<Callback> {
    const callback = await this.deps.repository.get(id);
    if (!callback || callback.owner !== owner) throw new CrosslineError('CALLBACK_NOT_FOUND', `No callback ${id}.`);
    return callback;
  }

  list(query: ListQuery, owner: string): Promise<CallbackPage> {
    return this.deps.repository.list(owner, query);
  }

  /**
   * A callback still waiting in the queue is taken off it and canceled here. One that a worker is
   * driving gets a cancel signal; the worker hangs its legs up and ends it, and this waits briefly
   * for that so the answer usually shows `canceled`.
   */
  async cancel(id: string, owner: string): Promise<Callback> {
    const callback = await this.get(id, owner);
    if (isFinal(callback.status)) throw new CrosslineError('CALLBACK_FINISHED', `Callback ${id} is already ${callback.status}.`);
    if (callback.status === 'scheduled' || callback.status === 'queued') {
      const removed = await this.deps.scheduler.remove(id, callback.attempts.length + 1);
      if (removed === 'removed') {
        const canceled = await this.cancelWaiting(callback);
        if (canceled) return canceled;
      }
    }
    await this.deps.cancelSignal.request(id);
    return this.awaitFinal(id, owner);
  }

  /** Cancels a callback no worker holds; undefined if a worker got to it first (then the signal does it). */
  private async cancelWaiting(callback: Callback): Promise<Callback | undefined> {
    const previous = callback.status;
    delete callback.nextAttemptAt;
    const entry = transition(callback, 'canceled', { event: 'canceled', detail: 'canceled before the attempt started' }, this.deps.clock());
    try {
      await this.deps.repository.save(callback, previous);
    } catch (err) {
      if (err instanceof RevisionConflictError) return undefined;
      throw err;
    }
    await this.notify(callback, entry);
    return callback;
  }

  private async awaitFinal(id: string, owner: string): Promise<Callback> {
    const deadline = Date.now() + (this.deps.cancelConfirmMs ?? 3_000);
    let callback = await this.get(id, owner);
    while (!isFinal(callback.status) && Date.now() < deadline) {
      await sleep(CANCEL_POLL_MS);
      callback = await this.get(id, owner);
    }
    return callback;
  }

  private async notify(callback: Callback, entry: TimelineEntry): Promise<void> {
    try {
      await this.deps.notifier.statusChanged(callback, entry);
    } catch (err) {
      this.deps.logger.warn({ err, callbackId: callback.id }, 'status notification could not be queued');
    }
  }
}
