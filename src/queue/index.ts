export { AttemptQueue, ATTEMPT_QUEUE, attemptJobId, type AttemptJobData, type AttemptScheduler, type AttemptQueueOptions } from './attempt-queue.js';
