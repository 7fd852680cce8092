export type * from './types.js';
export { PHONE_LABELS } from './types.js';
export { DirectoryService, normaliseAddress, type DirectoryServiceDeps } from './service.js';
export { DirectoryStore } from './store.js';
export { VerificationCodes } from './codes.js';
export { resolveCallee, regionOf, labelOf, splitLabel, foldName, formatNumber, type Choice, type Resolution, type ResolveContext } from './resolve.js';
export { personRoutes, toPersonView, type PersonView } from './routes.js';
export { directoryModule, buildDirectory, senderLimit } from './module.js';
