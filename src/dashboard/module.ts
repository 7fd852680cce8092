import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import type { RequestHandler } from 'express';
import { packageRoot } from '../api/openapi.js';
import { authFailureLimit } from '../api/rate-limit.js';
import { apiKeyId } from '../config/index.js';
import { WEBHOOK_QUEUE } from '../notify/index.js';
import { ATTEMPT_QUEUE } from '../queue/index.js';
import type { CapabilityModule } from '../runtime/modules/types.js';
import { CallCenterQueueView } from './call-centers.js';
import { adminCallbackRoutes, adminCallCenterRoutes, dashboardRoutes, operatorSessionDoor } from './routes.js';
import { OperatorSessions } from './session.js';
import { OperatorView } from './stats.js';
import path from 'node:path';

/** How long a dashboard sign-in lasts. */
const SESSION_TTL_SEC = 8 * 3600;

/**
 * The operator dashboard (`/dashboard`, needs OPS_TOKEN): sign-in with the operator token, a
 * signed session cookie, pages that read the /v1/admin operations (which it adds:
 * /v1/admin/callbacks, /v1/admin/stats, /v1/admin/call-centers) and Bull Board, read-only, for the queues.
 */
export const dashboardModule: CapabilityModule = {
  name: 'dashboard',
  async start(ctx) {
    const { config } = ctx;
    const callbacks = ctx.services.callbacks;
    if (!ctx.roles.api || !callbacks) return {};
    if (config.opsToken === undefined) {
      ctx.logger.info('dashboard off: set OPS_TOKEN to sign in to /dashboard');
      return {};
    }
    const sessions = new OperatorSessions(config.opsToken, SESSION_TTL_SEC);
    const queues = [ATTEMPT_QUEUE, WEBHOOK_QUEUE].map((name) => new Queue(name, { connection: ctx.redis, prefix: ctx.prefixes.queue(name) }));
    const board = new ExpressAdapter();
    board.setBasePath('/dashboard/queues');
    createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true })), serverAdapter: board, options: { uiConfig: { boardTitle: 'Crossline queues' } } });
    const view = new OperatorView(callbacks, () => config.apiKeys.map(apiKeyId));
    const admin = adminCallbackRoutes(ctx.api, view);
    // read when asked: the services are those of the capabilities running in this process
    const callCenterQueues = new CallCenterQueueView({
      owners: () => config.apiKeys.map(apiKeyId),
      callCenters: () => ctx.services.callCenters,
      sources: () => ctx.services.callCenterQueueSources,
      queues: () => ctx.services.queues,
      logger: ctx.logger.child({ module: 'dashboard' }),
    });
    return {
      http: [
        {
          door: 'public',
          path: '/dashboard',
          router: dashboardRoutes({
            sessions,
            opsToken: config.opsToken,
            failures: authFailureLimit(ctx.redis, `${config.keyPrefix}:dashboard`, config.authFailuresPerMinute),
            assetsDir: path.join(packageRoot(), 'dist', 'web'),
            queuesRouter: board.getRouter() as RequestHandler,
          }),
        },
        { door: 'public', path: '/v1/admin', router: operatorSessionDoor(sessions) },
        { door: 'ops', path: '/v1/admin/callbacks', router: admin.callbacks },
        { door: 'ops', path: '/v1/admin/stats', router: admin.stats },
        { door: 'ops', path: '/v1/admin/call-centers', router: adminCallCenterRoutes(callCenterQueues) },
      ],
      async close() {
        await Promise.allSettled(queues.map((q) => q.close()));
      },
      banner: (apiUrl) => (apiUrl === undefined ? [] : [`  Dashboard ${apiUrl}/dashboard (sign in with the operations token)`]),
    };
  },
};
