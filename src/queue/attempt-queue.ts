import { Queue, type ConnectionOptions } from 'bullmq';
import type { AttemptScheduler } from '../callbacks/ports.js';
import type { WaitStep } from '../callbacks/wait.js';

/** The BullMQ queue that carries one job per callback attempt. */
export const ATTEMPT_QUEUE = 'callback-attempts';

export interface AttemptJobData {
  callbackId: string;
  attempt: number;
  /** Set while the job sleeps in a wait that left the worker (e.g. `call-end`: the call is bridged). */
  waiting?: WaitStep;
}

/**
 * Job ids are derived from (callback, attempt): BullMQ refuses a second job with the same id, so an
 * attempt can be queued twice by accident (a retried request, a takeover) and still run once.
 */
export const attemptJobId = (callbackId: string, attempt: number): string => `${callbackId}-a${attempt}`;

export interface AttemptQueueOptions {
  connection: ConnectionOptions;
  prefix: string;
  /**
   * How often a job is retried after a *switch or store* failure (not a call failure: those are
   * attempts of their own). @defaultValue 10
   */
  jobAttempts?: number;
  /** Told about connection errors (BullMQ reconnects by itself); without it they go to stderr. */
  onError?: (err: Error) => void;
}

export class AttemptQueue implements AttemptScheduler {
  readonly queue: Queue<AttemptJobData>;
  private closed = false;

  constructor(private readonly options: AttemptQueueOptions) {
    this.queue = new Queue<AttemptJobData>(ATTEMPT_QUEUE, { connection: options.connection, prefix: options.prefix });
    this.queue.on('error', options.onError ?? (() => undefined));
  }

  async enqueue(callbackId: string, attempt: number, delayMs: number): Promise<void> {
    await this.queue.add(
      'attempt',
      { callbackId, attempt },
      {
        jobId: attemptJobId(callbackId, attempt),
        delay: Math.max(0, Math.round(delayMs)),
        attempts: this.options.jobAttempts ?? 10,
        // 5 s, 10 s, … : ten tries span about 85 minutes, so a switch outage delays callbacks, not fails them.
        backoff: { type: 'exponential', delay: 5_000 },
        // Kept a day so that the job id keeps deduplicating late duplicates.
        removeOnComplete: { age: 86_400, count: 100_000 },
        removeOnFail: { age: 7 * 86_400 },
      },
    );
  }

  async remove(callbackId: string, attempt: number): Promise<'removed' | 'active' | 'missing'> {
    const job = await this.queue.getJob(attemptJobId(callbackId, attempt));
    if (!job) return 'missing';
    const state = await job.getState();
    if (state === 'active') return 'active';
    if (state === 'completed' || state === 'failed' || state === 'unknown') return 'missing';
    const removed = await this.queue.remove(job.id ?? attemptJobId(callbackId, attempt));
    return removed === 1 ? 'removed' : 'active';
  }

  async wake(callbackId: string, attempt: number): Promise<boolean> {
    const job = await this.queue.getJob(attemptJobId(callbackId, attempt));
    if (!job || (await job.getState()) !== 'delayed') return false;
    try {
      await job.promote();
      return true;
    } catch {
      // It left the delayed set meanwhile (woken by its own timer, or by another process).
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.close();
  }
}
