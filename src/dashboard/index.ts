/** The operator dashboard: sign-in, the page, the /v1/admin reads it needs, Bull Board. */
export { dashboardModule } from './module.js';
export { OperatorSessions, SESSION_COOKIE } from './session.js';
export { OperatorView, type StatsBucket } from './stats.js';
