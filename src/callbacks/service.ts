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
  type CallCenterDirectory,
  type CallCenterPacer,
  type CancelSignal,
  type CreateOptions,
  type DoNotCallList,
  type RescheduleInput,
  type IntakeLimits,
  type ListQuery,
  type WebhookUrlGuard,
} from './ports.js';
import { assertCallerIdAllowed } from './fraud.js';
import { callCenterNotFound, callCenterRouteNotFound, type CallCenter, type CallCenterRef } from './call-center.js';
import { assertNotOnDoNotCallList } from './policies/do-not-call.js';
import { parseCallWindow, type CallWindow } from './policies/hours.js';
import { firstAttemptAt, schedulesOf } from './policies/schedule.js';
import { parseAt, parseCallbackInput, type RequestPolicy } from './request.js';
import { isFinal, record, transition } from './state-machine.js';
import type { Callback, CallbackRequest, TimelineEntry } from './types.js';

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
  /** The owners' call-center directory: `callee: {callCenter}` is resolved with it. @defaultValue none: CALL_CENTER_NOT_FOUND */
  callCenters?: CallCenterDirectory;
  /** Per-center pacing: a callback canceled while waiting in line gives its place up. @defaultValue none */
  pacer?: CallCenterPacer;
  /** The owners' do-not-call numbers: a callback that would ring one is refused. @defaultValue none: nothing refused */
  doNotCall?: DoNotCallList;
}

const CANCEL_POLL_MS = 50;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The domain's front door, shared by every intake. */
export class DefaultCallbackService implements CallbackService {
  constructor(private readonly deps: CallbackServiceDeps) {}

  async create(input: CallbackInput, owner: string, options: CreateOptions = {}): Promise<Callback> {
    const { deps } = this;
    const now = deps.clock();
    const { input: resolved, center, ref } = await this.resolveCallee(input, owner);
    const request = parseCallbackInput(resolved, deps.policy, now);
    if (ref) request.callee.callCenter = ref;
    // maxWaitSeconds waits on a queue: a plain number, or a center without a queue source, has none.
    if (request.maxWaitSec !== undefined && (!center || center.queue.type === 'none')) {
      throw new CrosslineError('INVALID_MAX_WAIT', 'maxWaitSeconds needs a callee that is a call center with a queue source.', [
        { path: '/maxWaitSeconds', message: center ? `call center ${center.name} has no queue source (queue.type none)` : 'only for callee.callCenter' },
      ]);
    }
    if (ref) {
      const keep = keepPlaceOf(input, center, request.order);
      if (keep) ref.keepPlace = keep;
    }
    if (ref === undefined && input.keepPlace === true) {
      throw new CrosslineError('VALIDATION_FAILED', undefined, [{ path: '/keepPlace', message: 'keep-your-place needs a callee that is a call center (callee.callCenter)' }]);
    }
    if (input.window !== undefined) request.window = parseCallWindow(input.window, '/window');
    assertCallerIdAllowed(request.callerId, owner, deps.policy.callerIds);
    await assertNotOnDoNotCallList(request, owner, deps.doNotCall);
    if (request.webhook !== undefined) await deps.webhookGuard(request.webhook);
    const at = this.firstAttempt(request, center, now);
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
    const held = at !== undefined && request.at === undefined ? ' (the earliest the call center hours and caller window allow)' : '';
    const entry: TimelineEntry = { at: createdAt, event: 'created', status: callback.status, ...(at ? { detail: `first attempt at ${at.toISOString()}${held}` } : {}) };
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

  /**
   * `callee: {callCenter, route}` → the center's first number and the route's digits, checked like
   * any callee (fraud policy included) by parseCallbackInput; the center itself is kept for hours.
   */
  private async resolveCallee(input: CallbackInput, owner: string): Promise<{ input: CallbackInput; center?: CallCenter; ref?: CallCenterRef }> {
    const { callCenter: name, route, ...callee } = input.callee;
    if (name === undefined) {
      if (route !== undefined) throw new CrosslineError('VALIDATION_FAILED', undefined, [{ path: '/callee/route', message: 'a route needs callCenter' }]);
      return { input };
    }
    if (callee.number !== undefined || callee.sipUri !== undefined) {
      throw new CrosslineError('VALIDATION_FAILED', undefined, [{ path: '/callee', message: 'give exactly one of number, sipUri and callCenter' }]);
    }
    if (callee.dtmf !== undefined || callee.ivr !== undefined) {
      const path = callee.dtmf !== undefined ? '/callee/dtmf' : '/callee/ivr';
      throw new CrosslineError('VALIDATION_FAILED', undefined, [{ path, message: "a call center's digits come from its route; define the sequence as a route" }]);
    }
    const directory = this.deps.callCenters;
    const center = directory ? await directory.find(owner, name) : undefined;
    if (!center) throw callCenterNotFound(name, directory ? await directory.names(owner) : [], '/callee/callCenter');
    const routed = route === undefined ? undefined : center.routes[route];
    if (route !== undefined && !routed) throw callCenterRouteNotFound(center, route, '/callee/route');
    const number = center.numbers[0] as string;
    const displayName = callee.name ?? center.displayName;
    const callee2 = {
      number,
      ...(displayName !== undefined ? { name: displayName } : {}),
      ...(routed?.dtmf !== undefined ? { dtmf: routed.dtmf } : {}),
      ...(routed?.ivr !== undefined ? { ivr: routed.ivr } : {}),
    };
    return {
      input: { ...input, callee: callee2, ...personChecksOf(center, input, displayName ?? center.name) },
      center,
      ref: {
        name: center.name,
        ...(route !== undefined ? { route } : {}),
        numbers: [...center.numbers],
        ...(center.onQueueError === 'call-anyway' ? { callOnQueueError: true as const } : {}),
      },
    };
  }

  /**
   * When the first attempt is due (undefined: now). With a call center's hours or a caller window,
   * an `at` they do not allow is CALL_CENTER_CLOSED (with the next opening), and no `at` means
   * their next opening.
   */
  private firstAttempt(request: CallbackRequest, center: CallCenter | undefined, now: Date): Date | undefined {
    const wanted = request.at === undefined ? now.getTime() : Date.parse(request.at);
    const due = firstAttemptAt(schedulesOf(center, request.window), wanted, {
      explicit: request.at !== undefined,
      horizonMs: now.getTime() + this.deps.policy.maxScheduleDays * 86_400_000,
      path: request.at !== undefined ? '/at' : '/callee/callCenter',
      ...(center ? { center } : {}),
      ...(request.window ? { window: request.window } : {}),
    });
    return due > now.getTime() ? new Date(due) : undefined;
  }

  /**
   * A callback not started yet (`scheduled`/`queued`, no attempt made) moves to a new time and/or
   * window. Its job is taken off the queue and queued again for the new time; a worker that holds
   * it right now (it is starting) makes it CALLBACK_STARTED.
   */
  async reschedule(id: string, change: RescheduleInput, owner: string): Promise<Callback> {
    const { deps } = this;
    const callback = await this.get(id, owner);
    if (isFinal(callback.status)) throw new CrosslineError('CALLBACK_FINISHED', `Callback ${id} is already ${callback.status}.`);
    if (callback.attempts.length > 0 || (callback.status !== 'scheduled' && callback.status !== 'queued')) {
      throw new CrosslineError('CALLBACK_STARTED', `Callback ${id} has started (${callback.status}); it can no longer be rescheduled.`);
    }
    const now = deps.clock();
    const request: CallbackRequest = { ...callback.request };
    if (change.at !== undefined) {
      const at = parseAt(change.at, now, deps.policy.maxScheduleDays);
      if (at === undefined) delete request.at;
      else request.at = at;
    }
    if (change.window === null) delete request.window;
    else if (change.window !== undefined) request.window = parseCallWindow(change.window as CallWindow, '/window');
    const ref = request.callee.callCenter;
    const center = ref && deps.callCenters ? await deps.callCenters.find(owner, ref.name) : undefined;
    const due = this.firstAttempt(request, center, now);
    const removed = await deps.scheduler.remove(id, 1);
    if (removed === 'active') throw new CrosslineError('CALLBACK_STARTED', `Callback ${id} is being started; it can no longer be rescheduled.`);
    const previous = callback.status;
    callback.request = request;
    const status = due ? 'scheduled' : 'queued';
    if (due) callback.nextAttemptAt = due.toISOString();
    else delete callback.nextAttemptAt;
    const detail = due ? `first attempt at ${due.toISOString()}` : 'first attempt now';
    const entry = previous !== status ? transition(callback, status, { event: 'rescheduled', detail }, now) : record(callback, { event: 'rescheduled', detail }, now);
    try {
      await deps.repository.save(callback, previous);
    } catch (err) {
      // Not saved: the job goes back as it was, so the callback is not lost.
      await deps.scheduler.enqueue(id, 1, callback.nextAttemptAt ? Math.max(0, Date.parse(callback.nextAttemptAt) - now.getTime()) : 0).catch(() => undefined);
      if (err instanceof RevisionConflictError) throw new CrosslineError('CALLBACK_STARTED', `Callback ${id} changed meanwhile; read it again.`);
      throw err;
    }
    await deps.scheduler.enqueue(id, 1, due ? due.getTime() - now.getTime() : 0);
    if (ref && deps.pacer) await deps.pacer.release(owner, ref.name, id).catch(() => undefined);
    deps.logger.info({ callbackId: id, owner, nextAttemptAt: callback.nextAttemptAt }, 'callback rescheduled');
    if (previous !== status) await this.notify(callback, entry);
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
    if (callback.status === 'scheduled' || callback.status === 'queued' || callback.status === 'waiting-for-agent') {
      const removed = await this.deps.scheduler.remove(id, callback.attempts.length + 1);
      // A callback waiting in a call center's line gives its place up at once.
      const ref = callback.request.callee.callCenter;
      if (ref && this.deps.pacer && removed === 'removed') await this.deps.pacer.release(owner, ref.name, id).catch(() => undefined);
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

/**
 * Keep-your-place for a callback to `center`: the request's `keepPlace`, else the center's default.
 * The queue leg is the first leg, so caller-first order cannot keep a place.
 */
function keepPlaceOf(input: CallbackInput, center: CallCenter | undefined, order: CallbackRequest['order']): CallCenterRef['keepPlace'] {
  const policy = center?.keepPlace;
  const wanted = input.keepPlace ?? policy?.byDefault ?? false;
  if (!wanted) return undefined;
  if (!center || !policy || center.queue.type !== 'freeswitch') {
    throw new CrosslineError('VALIDATION_FAILED', undefined, [
      { path: '/keepPlace', message: center ? `call center ${center.name} has no keep-your-place set up (keepPlace with a freeswitch queue)` : 'only for callee.callCenter' },
    ]);
  }
  if (order === 'caller-first') {
    throw new CrosslineError('VALIDATION_FAILED', undefined, [{ path: '/keepPlace', message: 'keep-your-place rings the caller once an agent picks up: not with order caller-first' }]);
  }
  return { queue: center.queue.queue, extension: policy.extension, context: policy.context };
}

/**
 * The center's person checks for the customer (the caller leg), unless the request gives its own:
 * press-1 ("Press 1 to be connected to Acme Support") and answering-machine detection. The prompt
 * is one argument of play_and_get_digits, so apostrophes are dropped from a center's own prompt.
 */
function personChecksOf(center: CallCenter, input: CallbackInput, shownAs: string): Pick<CallbackInput, 'confirm' | 'machineDetection'> {
  const { confirmation, answeringMachine } = center;
  const confirm = input.confirm ?? (confirmation.enabled
    ? { caller: { prompt: (confirmation.prompt ?? `Press 1 to be connected to ${shownAs}.`).replace(/'/g, ''), timeoutSeconds: confirmation.timeoutSeconds } }
    : undefined);
  const machineDetection = input.machineDetection ?? (answeringMachine.detection === 'on'
    ? {
        caller: {
          onMachine: answeringMachine.action === 'leave-message' ? ('leave-message' as const) : ('hangup-retry' as const),
          ...(answeringMachine.message !== undefined ? { message: answeringMachine.message } : {}),
        },
      }
    : undefined);
  return { ...(confirm !== undefined ? { confirm } : {}), ...(machineDetection !== undefined ? { machineDetection } : {}) };
}
