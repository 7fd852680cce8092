/**
 * The late-leg guard. When we stop waiting for a leg without a definite end (abort, timeout, a
 * lost acknowledgement), the leg may still appear: an originate that ran late, or a kill that
 * arrived before the channel existed. Left alone it would ring a phone, or park a call nobody
 * drives, and a retry would double the call. So it is killed now and again whenever it shows a
 * sign of life during its window, including after a reconnect.
 */
import type { HangupCause } from '../types.js';
import type { ChannelWatch } from './channel-watch.js';
import { isHangup } from './events.js';
import type { EslLogger } from './safely.js';

/** Signs of life closer together than this get one kill, ms. */
const KILL_DEBOUNCE_MS = 50;

export interface LegGuardDeps {
  channels: ChannelWatch;
  /** `uuid_kill` (a leg that no longer exists is not an error). */
  kill(uuid: string, cause: HangupCause): Promise<void>;
  /** Whether commands can be sent now; a kill while disconnected would only fail. */
  isReady(): boolean;
  logger?: EslLogger;
}

export class LegGuard {
  readonly #deps: LegGuardDeps;
  /** Stoppers of the guards running now. */
  readonly #guards = new Set<() => void>();

  constructor(deps: LegGuardDeps) {
    this.#deps = deps;
  }

  /** Kills the leg now, and for `windowMs` again whenever it shows a sign of life. */
  guard(uuid: string, cause: HangupCause, windowMs: number): void {
    this.#killQuietly(uuid, cause);
    let lastKill = 0;
    const killAgain = (): void => {
      const now = Date.now();
      if (now - lastKill < KILL_DEBOUNCE_MS) return;
      lastKill = now;
      this.#killQuietly(uuid, cause);
    };
    const unwatch = this.#deps.channels.watch(uuid, {
      onEvent: (event) => {
        if (isHangup(event)) stop();
        else if (event.type === 'created' || event.type === 'progress' || event.type === 'answered' || event.type === 'bridged') killAgain();
      },
      onReconcile: (state) => {
        if (state === 'absent') return;
        killAgain();
      },
    });
    const timer = setTimeout(() => stop(), windowMs);
    timer.unref();
    const stop = (): void => {
      clearTimeout(timer);
      unwatch();
      this.#guards.delete(stop);
    };
    this.#guards.add(stop);
  }

  /** Stops every guard (on close). */
  stopAll(): void {
    for (const stop of [...this.#guards]) stop();
  }

  /** Best-effort kill that never throws (used when we stop caring about a leg). */
  #killQuietly(uuid: string, cause: HangupCause): void {
    if (!this.#deps.isReady()) return;
    this.#deps.kill(uuid, cause).catch((error: unknown) => {
      this.#deps.logger?.debug({ uuid, err: (error as Error).message }, 'esl kill failed');
    });
  }
}
