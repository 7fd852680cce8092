/**
 * The queue-time capability's types: where a call center's queue state comes from, what a provider
 * reports, and what Crossline answers about a queue.
 */

/**
 * Where a call center's queue state comes from (the directory stores it with the center):
 * nothing (business hours only), a mod_callcenter queue on the switch Crossline drives, or a
 * third-party ACD answering `{waiting, agentsAvailable, expectedWaitSeconds}` over HTTP.
 */
export type QueueSource = { type: 'none' } | { type: 'freeswitch'; queue: string } | { type: 'http'; url: string };

/** A queue as a provider sees it now. */
export interface QueueSnapshot {
  waiting: number;
  agentsAvailable: number;
  /** Undefined when the provider does not say (an HTTP ACD may not). */
  agentsBusy?: number;
  /** The longest wait of a caller in the queue now, s. */
  oldestWaitSeconds?: number;
  /** Mean wrap-up of the staffed agents, s (mod_callcenter). */
  wrapUpSeconds?: number;
  /** The provider's own estimate, when it gives one (HTTP). */
  providerExpectedWaitSeconds?: number;
}

/** Reads a queue's state from one kind of source. */
export interface QueueProvider {
  /** Throws QUEUE_PROVIDER_FAILED (garbage, slow, refused), SWITCH_UNAVAILABLE… */
  snapshot(source: QueueSource): Promise<QueueSnapshot | undefined>;
}

/** GET /v1/call-centers/{id}/queue. */
export interface QueueReading {
  source: QueueSource['type'];
  /** Absent for `none`: there is no queue to read. */
  waiting?: number;
  agentsAvailable?: number;
  agentsBusy?: number;
  oldestWaitSeconds?: number;
  /**
   * Crossline's estimate of the wait of a caller joining now (see src/queues/ewt.ts); absent when no
   * agent is staffed or there is no queue.
   */
  expectedWaitSeconds?: number;
  /** How it was made: `observed` (Crossline's model and its observations), `provider` (the ACD's own figure). */
  method?: 'observed' | 'provider';
  providerExpectedWaitSeconds?: number;
  /** What the estimate rests on. */
  basis?: { handleSeconds: number; calibration: number; handleSamples: number; waitSamples: number };
  at: string;
}
