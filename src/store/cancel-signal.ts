import type { RedisClient } from './redis.js';
import type { CancelSignal as CancelSignalPort } from '../callbacks/ports.js';

/**
 * Carries "cancel callback X" from the API to whichever worker is driving it: a flag key (seen by
 * a worker that picks the callback up later, or takes it over after a crash) plus a pub/sub message
 * (seen at once by the worker driving it now).
 */
export class CancelSignal implements CancelSignalPort {
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly everyCancel = new Set<(id: string) => void>();
  private subscribed: Promise<unknown> | undefined;

  /**
   * @param redis       commands
   * @param subscriber  a dedicated connection for SUBSCRIBE (only needed where `watch` is used)
   */
  constructor(private readonly redis: RedisClient, private readonly prefix: string, private readonly subscriber?: RedisClient) {}

  private flagKey = (id: string): string => `${this.prefix}:callback:${id}:cancel`;
  private get channel(): string {
    return `${this.prefix}:cancel`;
  }

  /** Raises the flag (kept for 7 days, longer than any retry schedule) and tells live workers. */
  async request(id: string): Promise<void> {
    await this.redis.set(this.flagKey(id), '1', 'EX', 7 * 86_400);
    await this.redis.publish(this.channel, id);
  }

  async isRequested(id: string): Promise<boolean> {
    return (await this.redis.exists(this.flagKey(id))) === 1;
  }

  /** Calls `onCancel` when a cancel for `id` arrives; returns the function that stops watching. */
  async watch(id: string, onCancel: () => void): Promise<() => void> {
    await this.ensureSubscribed();
    const set = this.listeners.get(id) ?? new Set();
    set.add(onCancel);
    this.listeners.set(id, set);
    return () => {
      set.delete(onCancel);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  /** Calls `onCancel(id)` for every cancel from now on; returns the function that stops watching. */
  async watchAll(onCancel: (id: string) => void): Promise<() => void> {
    await this.ensureSubscribed();
    this.everyCancel.add(onCancel);
    return () => void this.everyCancel.delete(onCancel);
  }

  private ensureSubscribed(): Promise<unknown> {
    const subscriber = this.subscriber;
    if (!subscriber) throw new Error('CancelSignal.watch needs a subscriber connection');
    if (!this.subscribed) {
      subscriber.on('message', (channel: string, id: string) => {
        if (channel !== this.channel) return;
        for (const listener of this.listeners.get(id) ?? []) listener();
        for (const listener of this.everyCancel) listener(id);
      });
      this.subscribed = subscriber.subscribe(this.channel);
    }
    return this.subscribed;
  }
}
