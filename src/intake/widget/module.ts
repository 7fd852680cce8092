import { randomBytes } from 'node:crypto';
import { packageRoot } from '../../api/openapi.js';
import { apiKeyId } from '../../config/index.js';
import { createWebhookUrlGuard } from '../../notify/index.js';
import type { CapabilityModule, HttpMount, ModuleContext } from '../../runtime/modules/types.js';
import { uuidv7 } from '../../store/index.js';
import { SiteStore } from '../../store/sites.js';
import { ProofOfWork } from './challenge.js';
import { WidgetIntake } from './intake.js';
import { adminSiteRoutes, demoRoutes, doNotCallRoutes, siteRoutes, webAssetsDir, widgetRoutes, widgetScriptRoutes, widgetTextRoutes } from './routes.js';
import { newPublicKey, type Site, type SitePolicy } from './sites.js';
import { StatusTokens } from './status.js';
import { SiteVolume, webhookAlertSender } from './volume.js';

/** Key prefix of the widget's Redis keys: tagged on a cluster so a site and its indexes share a slot. */
export const widgetPrefix = (ctx: Pick<ModuleContext, 'prefixes'>): string =>
  ctx.prefixes.callbacks === ctx.prefixes.spread ? ctx.prefixes.spread : `{${ctx.prefixes.spread}:widget}`;

/** The demo site `npm start` serves on /demo: its target is a simulated phone that answers. */
export const DEMO_TARGET = '+12025550100';

async function ensureDemoSite(ctx: ModuleContext, store: SiteStore, prefix: string): Promise<string | undefined> {
  const key = ctx.config.apiKeys[0];
  if (key === undefined) return undefined;
  const port = ctx.config.port;
  const origins = [`http://localhost:${port}`, `http://127.0.0.1:${port}`];
  const pointer = `${prefix}:widget-demo-site`;
  const id = await ctx.redis.get(pointer);
  const existing = id === null ? undefined : await store.get(id);
  const now = new Date().toISOString();
  if (existing && existing.owner === apiKeyId(key)) {
    const updated: Site = { ...existing, allowedOrigins: origins, enabled: true, updatedAt: now };
    await store.save(updated, existing.publicKey);
    return updated.publicKey;
  }
  const site: Site = {
    id: uuidv7(),
    owner: apiKeyId(key),
    name: 'Crossline demo',
    publicKey: newPublicKey(),
    allowedOrigins: origins,
    target: { number: DEMO_TARGET },
    defaultCountry: 'US',
    countries: [],
    dailyCap: 500,
    enabled: true,
    createdAt: now,
    updatedAt: now,
  };
  await store.create(site);
  await ctx.redis.set(pointer, site.id);
  return site.publicKey;
}

/**
 * The call-me-back button: sites (`/v1/sites`, `/v1/do-not-call`), its public intake
 * (`/v1/widget`), the script (`/widget.js`) and, with the simulator, `/demo`.
 */
export const widgetModule: CapabilityModule = {
  name: 'widget',
  async start(ctx) {
    const callbacks = ctx.services.callbacks;
    if (!ctx.roles.api || !callbacks) return {};
    const { config } = ctx;
    const secret = config.widgetSecret ?? randomBytes(32).toString('base64url');
    if (config.widgetSecret === undefined) ctx.logger.info('WIDGET_SECRET not set: widget challenges and status tokens are signed with a secret of this process only');
    const prefix = widgetPrefix(ctx);
    const sites = new SiteStore(ctx.redis, prefix);
    const volume = new SiteVolume(
      ctx.redis,
      prefix,
      {
        webhook: webhookAlertSender(config.webhookSecret ?? secret, { allowPrivate: config.webhookAllowPrivate, timeoutMs: config.webhookTimeoutMs }),
        ...(ctx.services.messageSender ? { messages: ctx.services.messageSender } : {}),
      },
      ctx.logger,
    );
    const tokens = new StatusTokens(secret, config.widgetStatusTokenTtlSec);
    const intake = new WidgetIntake({
      sites,
      callbacks,
      pow: new ProofOfWork({ redis: ctx.redis, prefix, secret, maxNumber: config.widgetChallengeMaxNumber }),
      tokens,
      volume,
      redis: ctx.redis,
      prefix,
      limits: { perIpPerHour: config.widgetPerIpPerHour, perNumberPerDay: config.widgetPerNumberPerDay },
      allowedCountries: config.allowedCountries,
      ...(ctx.services.callCenters ? { callCenters: ctx.services.callCenters } : {}),
      logger: ctx.logger,
    });
    const policy: SitePolicy = {
      fraud: {
        allowedCountries: config.allowedCountries,
      ...(ctx.services.callCenters ? { callCenters: ctx.services.callCenters } : {}),
        deniedPrefixes: config.deniedPrefixes,
        allowedPrefixes: config.allowedPrefixes,
        allowedSipDomains: config.allowedSipDomains,
        defaultRegion: config.defaultRegion,
      },
      defaultRegion: config.defaultRegion,
      webhookGuard: createWebhookUrlGuard({ allowPrivate: config.webhookAllowPrivate }),
      ...(ctx.services.callCenters ? { callCenters: ctx.services.callCenters } : {}),
    };
    const demoOn = config.widgetDemo === 'on' || (config.widgetDemo === 'auto' && config.eslUrl === undefined && ctx.roles.workers);
    const demoKey = demoOn ? await ensureDemoSite(ctx, sites, prefix) : undefined;
    const http: HttpMount[] = [
      { door: 'public', path: '/v1/widget', router: widgetRoutes({ api: ctx.api, intake, sites, callbacks, tokens }) },
      { door: 'public', path: '/widget.js', router: widgetScriptRoutes(webAssetsDir(packageRoot())) },
      { door: 'public', path: '/widget', router: widgetTextRoutes(webAssetsDir(packageRoot())) },
      { door: 'public', path: '/demo', router: demoRoutes(() => demoKey) },
      { door: 'api-key', path: '/v1/sites', router: siteRoutes({ api: ctx.api, sites, policy, volume }) },
      { door: 'ops', path: '/v1/admin/sites', router: adminSiteRoutes({ sites, volume, owners: () => config.apiKeys.map(apiKeyId) }) },
    ];
    if (ctx.services.doNotCall) http.push({ door: 'api-key', path: '/v1/do-not-call', router: doNotCallRoutes({ list: ctx.services.doNotCall, defaultRegion: config.defaultRegion }) });
    return {
      http,
      banner: (apiUrl) =>
        demoKey === undefined || apiUrl === undefined ? [] : [`  Demo      ${apiUrl}/demo (the call-me-back button on a page: type +1 202 555 0101)`],
    };
  },
};
