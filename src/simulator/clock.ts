/**
 * Simulated time: every delay of the phone plan and of the switch is multiplied by `timeScale`, and
 * every pending timer is tracked so that close() leaves nothing behind.
 */
export class SimClock {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly started = performance.now();

  constructor(readonly timeScale: number) {}

  /** Runs `fn` after `ms` simulated milliseconds; returns a cancel function. */
  after(ms: number, fn: () => void): () => void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, Math.max(0, Math.round(ms * this.timeScale)));
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  /** Runs `fn` every `ms` simulated milliseconds until cancelled. */
  every(ms: number, fn: () => void): () => void {
    let cancel = (): void => undefined;
    const tick = (): void => {
      fn();
      cancel = this.after(ms, tick);
    };
    cancel = this.after(ms, tick);
    return () => cancel();
  }

  /** Real milliseconds since the simulator started (what ReceivedCommand.at and DTMF timings use). */
  elapsed(): number {
    return performance.now() - this.started;
  }

  /** Simulated milliseconds since start: real time divided by the scale. */
  simulatedElapsed(): number {
    return this.elapsed() / this.timeScale;
  }

  cancelAll(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
