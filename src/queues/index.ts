/** Queue-time lookup for call centers: providers, observations, Crossline's expected wait, the route. */
export { queuesModule } from './module.js';
export { callCenterNameOf, queueNearness } from './nearness.js';
export { QueuePlaceWatcher } from './places.js';
export { QueueService } from './service.js';
export { estimateWait, type Estimate, type QueueHistory, type QueueNow, type WaitSample } from './ewt.js';
export type { CallCenterQueueSources } from './routes.js';
export type { QueueProvider, QueueReading, QueueSnapshot, QueueSource } from './types.js';
