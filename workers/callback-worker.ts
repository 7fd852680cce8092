import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { abandonCallback, AttemptStillOpenError, IllegalTransitionError, runAttempt, type AttemptOutcome, type FlowDeps, type Wait } from '../src/callbacks/index.js';
import { isCrosslineError } from '../src/errors.js';
import { ATTEMPT_QUEUE, type AttemptJobData } from '../src/queue/index.js';

export interface CallbackWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  /**
   * Job lock, ms. A worker that dies (kill -9) stops renewing it; once it lapses BullMQ hands the
   * job to another worker, which resumes the callback from the store and the switch.
   */
  lockMs: number;
}

/**
 * The BullMQ processor for callback attempts: thin, it calls the domain and classifies errors. A
 * wait the domain returns (a bridged call) leaves the worker: the job moves to the delayed set
 * until its wake-up and its slot goes back to dialling (BullMQ's step-job pattern).
 */
export function createCallbackWorker(flow: FlowDeps, options: CallbackWorkerOptions): Worker<AttemptJobData> {
  const processor = async (job: Job<AttemptJobData>, token?: string): Promise<void> => {
    const { callbackId, attempt } = job.data;
    let outcome: AttemptOutcome;
    try {
      outcome = await runAttempt(flow, callbackId, attempt);
    } catch (err) {
      if (err instanceof AttemptStillOpenError) throw err;
      // A bug or bad stored data will not get better by retrying.
      if (err instanceof IllegalTransitionError || (isCrosslineError(err) && !err.retryable)) throw new UnrecoverableError(String(err));
      throw err;
    }
    if (outcome.kind === 'wait') await sleep(job, token, outcome.wait);
  };
  const worker = new Worker<AttemptJobData>(ATTEMPT_QUEUE, processor, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    stalledInterval: options.lockMs,
    // A ringing call may be taken over several times (rolling restarts); each takeover resumes,
    // never redials. A bridged call holds no job, so no stall ever reaches a conversation.
    maxStalledCount: 10,
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const exhausted = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    flow.logger.warn({ err, callbackId: job.data.callbackId, attempt: job.data.attempt, jobAttempts: job.attemptsMade, exhausted }, 'callback job failed');
    if (!exhausted) return;
    abandonCallback(flow, job.data.callbackId, `gave up after ${job.attemptsMade} tries: ${err.message}`).catch((e: unknown) =>
      flow.logger.error({ err: e, callbackId: job.data.callbackId }, 'could not mark callback failed'),
    );
  });
  worker.on('error', (err) => flow.logger.error({ err }, 'callback worker error'));
  return worker;
}

/** Moves the job to the delayed set until `wait.wakeInMs` from now; DelayedError tells BullMQ it was moved. */
async function sleep(job: Job<AttemptJobData>, token: string | undefined, wait: Wait): Promise<never> {
  if (job.data.waiting !== wait.step) await job.updateData({ ...job.data, waiting: wait.step });
  await job.moveToDelayed(Date.now() + wait.wakeInMs, token);
  throw new DelayedError();
}
