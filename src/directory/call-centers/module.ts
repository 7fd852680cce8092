import type { CapabilityModule } from '../../runtime/modules/types.js';
import { callCenterRoutes } from './routes.js';
import { CallCenterAdmin } from './service.js';
import { CallCenterStore } from './store.js';

/**
 * The call-center directory's HTTP side: /v1/call-centers behind the API-key door. The store itself
 * (the `callCenters` service) is built by the composition root before the callback core, which
 * resolves callees and reads hours and pacing with it.
 */
export const callCentersModule: CapabilityModule = {
  name: 'call-centers',
  async start(ctx) {
    if (!ctx.roles.api) return {};
    const store = new CallCenterStore(ctx.redis, ctx.prefixes.spread);
    const admin = new CallCenterAdmin({
      store,
      policy: {
        defaultRegion: ctx.config.defaultRegion,
        fraud: {
          allowedCountries: ctx.config.allowedCountries,
          deniedPrefixes: ctx.config.deniedPrefixes,
          allowedPrefixes: ctx.config.allowedPrefixes,
          allowedSipDomains: ctx.config.allowedSipDomains,
          defaultRegion: ctx.config.defaultRegion,
        },
      },
      clock: () => new Date(),
      logger: ctx.logger,
    });
    return { http: [{ door: 'api-key', path: '/v1/call-centers', router: callCenterRoutes(ctx.api, admin) }] };
  },
};
