export { AttemptQueue, ATTEMPT_QUEUE, attemptJobId, type AttemptJobData, type AttemptQueueOptions } from './attempt-queue.js';
