/** The HTTP API: build it with createApp(deps) and listen in the entry point. */
export { createApp, type AppDeps } from './app.js';
export { answerClientErrors } from './client-errors.js';
export { apiKeyOwner } from './auth.js';
export type { Readiness } from './routes/health.js';
export { loadOpenApi, type OpenApi } from './openapi.js';
