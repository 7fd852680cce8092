/**
 * Who is waiting on which channel, and what the switch says about a channel. Events sent while the
 * connection was down are lost, so after every reconnect each watched leg is asked about again
 * (reconcile); and the causes of recent hangups are remembered, so that a leg which ended just
 * before someone asked still gets its real cause rather than UNKNOWN.
 */
import { CrosslineError } from '../../errors.js';
import { checkUuid, existsCommand } from '../commands.js';
import type { ChannelState, HangupCause } from '../types.js';
import { isHangup, type ChannelEvent } from './events.js';
import type { EslLogger, SafeCall } from './safely.js';

/** How many hangup causes we remember, so a leg that ended just before we asked still gets its real cause. */
const REMEMBERED_CAUSES = 5000;

/**
 * How long a leg found gone (uuid_exists false) is given for its hangup event to arrive before its
 * cause counts as UNKNOWN: mod_event_socket writes queued events between commands, so a reply can
 * overtake the CHANNEL_HANGUP of a leg that ended just before (seen on FreeSWITCH 1.10.12).
 */
export const HANGUP_EVENT_LAG_MS = 1000;

/** `show channels` call states that mean the leg has been answered. */
const ANSWERED_CALLSTATES = new Set(['ACTIVE', 'HELD', 'UNHELD']);

/** Someone waiting on one channel: told about its events, and what the switch says after a reconnect. */
export interface Watcher {
  onEvent(event: ChannelEvent): void;
  onReconcile(state: ChannelState): void;
}

export interface ChannelWatchDeps {
  /** `api <command>` on the current connection. */
  api(command: string): Promise<string>;
  safely: SafeCall;
  logger?: EslLogger;
}

export class ChannelWatch {
  readonly #deps: ChannelWatchDeps;
  readonly #watchers = new Map<string, Set<Watcher>>();
  readonly #causes = new Map<string, HangupCause>();
  /** When this process heard recent legs answer (Date.now()), as many as causes. */
  readonly #answers = new Map<string, number>();
  /**
   * Legs heard alive on the current connection and not (yet) heard to hang up: what their last
   * event said. The connection gets every Crossline leg's events (events.ts), so for these the
   * switch need not be asked; forgotten when the connection is lost, since events are lost with it.
   */
  readonly #live = new Map<string, 'ringing' | 'answered'>();

  constructor(deps: ChannelWatchDeps) {
    this.#deps = deps;
  }

  /** Watches one channel until the returned function is called. */
  watch(uuid: string, watcher: Watcher): () => void {
    let set = this.#watchers.get(uuid);
    if (!set) {
      set = new Set();
      this.#watchers.set(uuid, set);
    }
    set.add(watcher);
    return () => {
      const current = this.#watchers.get(uuid);
      if (!current) return;
      current.delete(watcher);
      if (current.size === 0) this.#watchers.delete(uuid);
    };
  }

  /** Remembers a hangup's cause (the first one seen) and an answer's time, then tells the channel's watchers. */
  dispatch(event: ChannelEvent): void {
    if (event.type === 'answered' && !this.#answers.has(event.uuid)) remember(this.#answers, event.uuid, Date.now());
    if (isHangup(event)) this.#live.delete(event.uuid);
    else if (event.type === 'answered' || event.type === 'bridged') remember(this.#live, event.uuid, 'answered');
    else if ((event.type === 'created' || event.type === 'progress') && !this.#causes.has(event.uuid) && !this.#live.has(event.uuid)) {
      remember(this.#live, event.uuid, 'ringing');
    }
    if (isHangup(event) && !this.#causes.has(event.uuid)) {
      this.#causes.set(event.uuid, event.cause);
      if (this.#causes.size > REMEMBERED_CAUSES) {
        const oldest = this.#causes.keys().next();
        if (!oldest.done) this.#causes.delete(oldest.value);
      }
    }
    for (const watcher of [...(this.#watchers.get(event.uuid) ?? [])]) this.#deps.safely(() => watcher.onEvent(event));
  }

  /** When this process heard the leg answer (Date.now()), if it did. */
  answeredAt(uuid: string): number | undefined {
    return this.#answers.get(uuid);
  }

  /** The cause of a hangup seen by this process, if it saw one. */
  causeOf(uuid: string): HangupCause | undefined {
    return this.#causes.get(uuid);
  }

  /** The connection that brought the events is gone: what they said about live legs may be stale. */
  connectionLost(): void {
    this.#live.clear();
  }

  /**
   * Whether the switch still has the channel: false once its hangup was heard, true while it is
   * heard alive on this connection, else `uuid_exists`.
   */
  async exists(uuid: string): Promise<boolean> {
    checkUuid(uuid);
    if (this.#causes.has(uuid)) return false;
    if (this.#live.has(uuid)) return true;
    return (await this.#deps.api(existsCommand(uuid))).trim() === 'true';
  }

  /**
   * A leg the switch no longer has: `settle` gets its cause at once when its hangup was seen;
   * otherwise its hangup event may still be queued behind the reply, so `settle` gets the cause
   * after HANGUP_EVENT_LAG_MS (UNKNOWN if none came), with `lagged` true. A watcher that hears the
   * event meanwhile settles first, and its cleanup cancels the timer (registered with onCleanup).
   */
  whenGone(uuid: string, onCleanup: (fn: () => void) => void, settle: (cause: HangupCause, lagged: boolean) => void): void {
    const cause = this.#causes.get(uuid);
    if (cause !== undefined) return settle(cause, false);
    const lag = setTimeout(() => settle(this.#causes.get(uuid) ?? 'UNKNOWN', true), HANGUP_EVENT_LAG_MS);
    onCleanup(() => clearTimeout(lag));
  }

  /** Forgets every watcher (on close); remembered causes are kept. */
  clear(): void {
    this.#watchers.clear();
  }

  /**
   * After a (re)connect: events sent while we were away are lost, so ask the switch about every
   * watched leg. The subscription is already in place, so nothing can slip between the two. A
   * failed question is asked again after `retryDelayMs`, while the connection lasts.
   */
  async reconcile(stillCurrent: () => boolean, retryDelayMs: number): Promise<void> {
    while (stillCurrent() && this.#watchers.size > 0) {
      try {
        const uuids = [...this.#watchers.keys()];
        const rows = await this.#channelRows();
        for (const uuid of uuids) {
          if (!this.#watchers.has(uuid)) continue;
          const state = await this.#stateFrom(uuid, rows);
          for (const watcher of [...(this.#watchers.get(uuid) ?? [])]) this.#deps.safely(() => watcher.onReconcile(state));
        }
        return;
      } catch (error) {
        this.#deps.logger?.debug({ err: (error as Error).message }, 'esl reconcile failed, retrying');
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs).unref());
      }
    }
  }

  /**
   * A leg's state: from its events when they were heard (hung up = absent; alive on this
   * connection = ringing or answered); otherwise the switch is asked: `uuid_exists`, then its call
   * state in `show channels as json` (ACTIVE / HELD = answered; a hanging-up channel counts as absent).
   */
  async state(uuid: string): Promise<ChannelState> {
    checkUuid(uuid);
    if (this.#causes.has(uuid)) return 'absent';
    const heard = this.#live.get(uuid);
    if (heard !== undefined) return heard;
    const exists = (await this.#deps.api(existsCommand(uuid))).trim();
    if (exists !== 'true') return 'absent';
    return this.#stateFrom(uuid, await this.#channelRows());
  }

  /** `show channels as json` → call state by UUID. */
  async #channelRows(): Promise<Map<string, string>> {
    const body = (await this.#deps.api('show channels as json')).trim();
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new CrosslineError('SWITCH_COMMAND_FAILED', 'The switch answered show channels with something other than JSON.');
    }
    const rows = typeof parsed === 'object' && parsed !== null ? (parsed as { rows?: unknown }).rows : undefined;
    const states = new Map<string, string>();
    if (Array.isArray(rows)) {
      for (const row of rows as Array<Record<string, unknown> | null>) {
        if (row !== null && typeof row === 'object' && typeof row.uuid === 'string') states.set(row.uuid, typeof row.callstate === 'string' ? row.callstate : '');
      }
    }
    return states;
  }

  /**
   * A leg's state from a `show channels` snapshot. The channels table is written asynchronously,
   * so a UUID missing from it is asked about with uuid_exists (present but not listed = ringing).
   */
  async #stateFrom(uuid: string, rows: Map<string, string>): Promise<ChannelState> {
    const callstate = rows.get(uuid);
    if (callstate !== undefined) {
      if (ANSWERED_CALLSTATES.has(callstate)) return 'answered';
      return callstate === 'HANGUP' ? 'absent' : 'ringing';
    }
    const exists = (await this.#deps.api(existsCommand(uuid))).trim();
    return exists === 'true' ? 'ringing' : 'absent';
  }
}

/** Sets a key in a map kept to REMEMBERED_CAUSES entries, oldest dropped first. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.set(key, value);
  if (map.size <= REMEMBERED_CAUSES) return;
  const oldest = map.keys().next();
  if (!oldest.done) map.delete(oldest.value);
}
