import assert from 'node:assert/strict';
import { runAttempt, type FlowDeps } from '../../src/callbacks/index.js';

/**
 * Plays the callback worker in keep-your-place tests: runs an attempt until it is done or bridged,
 * and sleeps each `queue-place` wait until its wake-up or until the queue-place watcher wakes the
 * job (`wake`, handed to QueuePlaceWatcher as the worker's AttemptQueue.wake would be).
 */
export class SleepingJobs {
  /** `<callbackId>/<attempt>` of every wake-up asked for. */
  readonly woken: string[] = [];
  private readonly wakers = new Map<string, () => void>();

  /** True when the job was asleep (and now runs), as AttemptQueue.wake. */
  readonly wake = (callbackId: string, attempt: number): Promise<boolean> => {
    this.woken.push(`${callbackId}/${attempt}`);
    const wake = this.wakers.get(callbackId);
    wake?.();
    return Promise.resolve(wake !== undefined);
  };

  async drive(deps: FlowDeps, callbackId: string, attempt = 1, deadlineMs = 20_000): Promise<'bridged' | 'done'> {
    const end = Date.now() + deadlineMs;
    while (Date.now() < end) {
      const outcome = await runAttempt(deps, callbackId, attempt);
      if (outcome.kind === 'done') return 'done';
      if (outcome.wait.step === 'call-end') return 'bridged';
      assert.equal(outcome.wait.step, 'queue-place');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, Math.min(outcome.wait.wakeInMs, end - Date.now())));
        this.wakers.set(callbackId, () => {
          clearTimeout(timer);
          this.wakers.delete(callbackId);
          resolve();
        });
      });
    }
    const stuck = await deps.repository.get(callbackId);
    throw new Error(`the callback never got past the queue: ${stuck?.status}; ${stuck?.timeline.map((e) => `${e.event} ${e.detail ?? ''}`).join(' | ')}`);
  }
}
