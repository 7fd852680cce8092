import express from 'express';
import type { RedisClient } from '../store/index.js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CallbackService, LegFactsRepository } from '../callbacks/ports.js';
import type { Config } from '../config/index.js';
import { authenticate } from './auth.js';
import { contextOf, requestContext } from './context.js';
import { docsRoutes } from './docs.js';
import { errorHandler, routeNotFound } from './errors.js';
import { IdempotencyStore } from './idempotency.js';
import { httpMetrics } from './metrics.js';
import { loadOpenApi } from './openapi.js';
import { opsTokenCheck, requireOpsToken } from './ops-auth.js';
import { authFailureLimit, rateLimit } from './rate-limit.js';
import { callbackRoutes } from './routes/callbacks.js';
import { healthRoutes, type Readiness } from './routes/health.js';
import { switchCdrRoutes } from './routes/switch-cdr.js';
import { switchAdminRoutes, type SwitchAdmin } from './routes/switches.js';
import { switchMetrics } from './metrics.js';
import { LegFactsStore } from '../store/leg-facts.js';
import type { HttpMount } from '../runtime/modules/types.js';

/** What the HTTP API needs; built by the entry point, passed in. */
export interface AppDeps {
  config: Readonly<Config>;
  /** The domain: every /v1 route ends in one of its methods. */
  callbacks: CallbackService;
  /** Shared ioredis client: rate limits, idempotency keys, the readiness PING. */
  redis: RedisClient;
  /** The switch connection, for /readyz. */
  readiness: Readiness;
  logger: Logger;
  /**
   * Registry for the HTTP metrics, to share one /metrics with other parts of the process; it
   * should hold the default Node.js metrics already. @defaultValue a registry of the app's own,
   * with the default metrics
   */
  metricsRegistry?: Registry;
  /**
   * Where POST /v1/switch/cdr keeps what the switch reports about each leg.
   * @defaultValue a LegFactsStore on `redis` under KEY_PREFIX, kept CALLBACK_RETENTION_DAYS
   */
  legFacts?: LegFactsRepository;
  /**
   * The switches for operators: /v1/admin/switches, each switch in /readyz and /metrics.
   * @defaultValue none: those routes answer 404 and /readyz shows one switch
   */
  switches?: SwitchAdmin;
  /** Routes of the capability modules (runtime/modules), each behind its door. */
  mounts?: readonly HttpMount[];
}

/** The Express app (no listen): operations endpoints, then /v1 behind auth and the rate limit. */
export function createApp(deps: AppDeps): express.Express {
  const { config, redis, logger } = deps;
  const api = loadOpenApi();
  const metrics = httpMetrics(deps.metricsRegistry);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.set('trust proxy', config.trustProxy);

  app.use(requestContext(api, logger));
  app.use(metrics.middleware);
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });

  if (deps.switches) switchMetrics(metrics.registry, deps.switches);
  app.use(healthRoutes(redis, deps.readiness, opsTokenCheck(config.opsToken), deps.switches));
  // the counts of every tenant together: for the operator, not for whoever can reach the port
  app.get('/metrics', requireOpsToken(config.opsToken), metrics.handler);
  app.use(docsRoutes(api));

  app.use('/v1', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  const failures = authFailureLimit(redis, config.keyPrefix, config.authFailuresPerMinute);
  const mounts = deps.mounts ?? [];
  // public doors first: each such module authenticates by itself (site keys, signatures)
  for (const mount of mounts) if (mount.door === 'public') app.use(mount.path, mount.router);
  // the operator's door (OPS_TOKEN), before the API keys' one; rate-limited as one owner
  const asOperator: express.RequestHandler = (_req, res, next) => {
    contextOf(res).owner = 'ops';
    next();
  };
  const operatorDoor = [requireOpsToken(config.opsToken), asOperator, rateLimit(redis, `${config.keyPrefix}:ops`, config.rateLimitPerMinute)];
  if (deps.switches) app.use(switchAdminRoutes(deps.switches, operatorDoor));
  for (const mount of mounts) if (mount.door === 'ops') app.use(mount.path, ...operatorDoor, mount.router);
  // the switch's own door (HTTP Basic, CDR_CREDENTIALS), before the API keys' one
  app.use(
    switchCdrRoutes({
      api,
      legFacts: deps.legFacts ?? new LegFactsStore(redis, config.keyPrefix, { retentionSec: config.callbackRetentionDays * 86_400 }),
      credentials: config.cdrCredentials,
      failures,
      rateLimit: rateLimit(redis, `${config.keyPrefix}:cdr`, config.cdrRateLimitPerMinute),
    }),
  );
  app.use('/v1', authenticate(config.apiKeys, failures), rateLimit(redis, config.keyPrefix, config.rateLimitPerMinute));
  app.use(
    callbackRoutes({
      api,
      callbacks: deps.callbacks,
      idempotency: new IdempotencyStore(redis, config.keyPrefix, config.idempotencyTtlSec),
    }),
  );
  for (const mount of mounts) if (mount.door === 'api-key') app.use(mount.path, mount.router);

  app.use(routeNotFound(api));
  app.use(errorHandler());
  return app;
}
