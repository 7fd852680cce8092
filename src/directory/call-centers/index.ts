/** The call-center directory: entries per owner, their REST routes, and per-center pacing. */
export { callCentersModule } from './module.js';
export { CallCenterStore, MAX_CALL_CENTERS } from './store.js';
export { RedisCallCenterPacer, PACING_WINDOW_MS, retryDelay } from './pacer.js';
export { CallCenterAdmin, type CallCenterAdminDeps } from './service.js';
export { parseCallCenterInput, type CallCenterInput } from './parse.js';
export { callCenterRoutes } from './routes.js';
