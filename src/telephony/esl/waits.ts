/**
 * Long waits on a leg (dial, awaitAnswer, awaitHangup, play): they outlive a reconnect, because
 * the switch is asked again afterwards, but not close(). Each settles once, and runs its cleanups
 * (watchers, timers, abort listeners, job handlers) when it does.
 */
import { CrosslineError } from '../../errors.js';
import type { InFlight } from './connection.js';
import type { SafeCall } from './safely.js';

/** What a long wait's executor gets. */
export interface WaitControl<T> {
  finish(value: T): void;
  fail(error: unknown): void;
  onCleanup(fn: () => void): void;
  /** True once settled: late callbacks stand down. */
  done(): boolean;
}

export class LongWaits {
  readonly #safely: SafeCall;
  readonly #waits = new Set<InFlight>();

  constructor(safely: SafeCall) {
    this.#safely = safely;
  }

  /** Runs a wait: registered for failAll(), settled once; settling runs every cleanup. */
  run<T>(executor: (wait: WaitControl<T>) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const cleanups: Array<() => void> = [];
      const settle = (fn: () => void): void => {
        if (done) return;
        done = true;
        this.#waits.delete(entry);
        for (const cleanup of cleanups.splice(0)) this.#safely(cleanup);
        fn();
      };
      const entry: InFlight = { fail: (error) => settle(() => reject(error)) };
      this.#waits.add(entry);
      const control: WaitControl<T> = {
        finish: (value) => settle(() => resolve(value)),
        fail: (error) => settle(() => reject(error)),
        onCleanup: (fn) => {
          if (done) this.#safely(fn);
          else cleanups.push(fn);
        },
        done: () => done,
      };
      try {
        executor(control);
      } catch (error) {
        control.fail(error);
      }
    });
  }

  /** Fails every wait still running (on close). */
  failAll(error: Error): void {
    for (const entry of [...this.#waits]) entry.fail(error);
  }
}

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Registers an abort listener, removed on cleanup. */
export function onAbort(signal: AbortSignal | undefined, onCleanup: (fn: () => void) => void, handler: () => void): void {
  if (!signal) return;
  signal.addEventListener('abort', handler, { once: true });
  onCleanup(() => signal.removeEventListener('abort', handler));
}

/**
 * Passes errors on, except a lost connection while the client is open: a wait stays registered
 * across a reconnect, and the reconciliation that follows the reconnect settles it.
 */
export function unlessLost(fail: (error: unknown) => void, isClosed: () => boolean): (error: unknown) => void {
  return (error) => {
    if (error instanceof CrosslineError && error.code === 'SWITCH_UNAVAILABLE' && !isClosed()) return;
    fail(error);
  };
}
