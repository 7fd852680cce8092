/** Call-attempt alerts: registrations, detection from the switch and the inbound IVR, notification. */
export type { Attempt, Interest, InterestInput, InterestKind } from './types.js';
export { NETWORK_FAILURES } from './types.js';
export { InterestRegistry } from './registry.js';
export { AlertNotifier, type NotifierOptions } from './notifier.js';
export { SwitchAttemptDetector, attemptOf, lineOf, ALERT_EVENTS } from './detector.js';
export { AlertService, type UserAddresses } from './service.js';
export { alertRoutes, alertAdminRoutes } from './routes.js';
