/**
 * The queue-time capability: reads call centers' queues (mod_callcenter over ESL, a third-party
 * ACD over HTTP, or none), records what mod_callcenter's events show (workers), and answers
 * GET /v1/call-centers/{id}/queue with Crossline's expected wait.
 */
import type { CapabilityModule } from '../runtime/modules/types.js';
import type { QueueSwitch } from '../telephony/callcenter.js';
import type { Telephony } from '../telephony/types.js';
import { createGuardedLookup } from '../notify/url-guard.js';
import { startQueueMonitor } from './monitor.js';
import { QueueObservations } from './observations.js';
import { FreeswitchQueueProvider } from './providers/freeswitch.js';
import { HttpQueueProvider } from './providers/http.js';
import { queueRoutes } from './routes.js';
import { QueueService } from './service.js';


const isQueueSwitch = (t: Telephony | undefined): t is Telephony & QueueSwitch =>
  t !== undefined && typeof (t as Partial<QueueSwitch>).queueStatus === 'function' && typeof (t as Partial<QueueSwitch>).onQueueEvent === 'function';

export const queuesModule: CapabilityModule = {
  name: 'queues',
  start(ctx) {
    const observations = new QueueObservations(ctx.redis, `${ctx.prefixes.spread}:`);
    const switchOf = (): QueueSwitch | undefined => (isQueueSwitch(ctx.services.telephony) ? ctx.services.telephony : undefined);
    const allowPrivate = ctx.config.webhookAllowPrivate;
    const queues = new QueueService({
      freeswitch: new FreeswitchQueueProvider(switchOf),
      http: new HttpQueueProvider({ lookup: createGuardedLookup({ allowPrivate }), allowPrivate, timeoutMs: ctx.config.queueProviderTimeoutMs }),
      observations,
      defaultHandleSeconds: ctx.config.queueDefaultHandleSeconds,
      clock: () => new Date(),
    });
    ctx.services.queues = queues;
    const queueSwitch = switchOf();
    const stop = ctx.roles.workers && queueSwitch ? startQueueMonitor({ queues: queueSwitch, observations, defaultHandleSeconds: ctx.config.queueDefaultHandleSeconds, logger: ctx.logger.child({ module: 'queues' }) }) : undefined;
    const http = ctx.roles.api ? [{ door: 'api-key' as const, path: '/v1/call-centers', router: queueRoutes({ api: ctx.api, queues, sources: () => ctx.services.callCenterQueueSources }) }] : [];
    return Promise.resolve({
      http,
      close: () => {
        stop?.();
        return Promise.resolve();
      },
    });
  },
};
