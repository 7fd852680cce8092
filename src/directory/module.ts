import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { ConversationStore } from '../intake/conversation.js';
import { MessagingIntake, messagingMetrics, type SenderLimit } from '../intake/messaging.js';
import { CrosslineError } from '../errors.js';
import type { CapabilityModule, ModuleContext } from '../runtime/modules/types.js';
import { uuidv7, type RedisClient } from '../store/index.js';
import { VerificationCodes } from './codes.js';
import { personRoutes } from './routes.js';
import { DirectoryService } from './service.js';
import { DirectoryStore } from './store.js';

/** Records of each kind one API key may have: resolution reads them all per message. */
const MAX_PER_KIND = 10_000;
/** Verification codes sent to one address per hour. */
const CODES_PER_HOUR = 5;

/** Per-sender message limit over Redis: refused senders get one "slow down" reply per window. */
export function senderLimit(redis: RedisClient, keyPrefix: string, perMinute: number): SenderLimit {
  const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${keyPrefix}:rl:msg`, points: perMinute, duration: 60, rejectIfRedisNotReady: true });
  return {
    async consume(key) {
      try {
        await limiter.consume(key);
        return { allowed: true };
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw new CrosslineError('STORE_UNAVAILABLE', undefined, [], { cause: err });
        return { allowed: false, firstRefusal: err.consumedPoints === perMinute + 1, retryInSec: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) };
      }
    },
  };
}

function codeSendLimit(redis: RedisClient, keyPrefix: string): { consume(key: string): Promise<void> } {
  const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${keyPrefix}:rl:verify`, points: CODES_PER_HOUR, duration: 3600, rejectIfRedisNotReady: true });
  return {
    async consume(key) {
      try {
        await limiter.consume(key);
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw new CrosslineError('STORE_UNAVAILABLE', undefined, [], { cause: err });
        throw new CrosslineError('VERIFICATION_RATE_LIMITED', undefined, [], { retryAfterSec: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) });
      }
    },
  };
}

/** Builds the directory and the messaging intake over a module context (also used by tests). */
export function buildDirectory(ctx: Pick<ModuleContext, 'config' | 'redis' | 'prefixes' | 'logger' | 'services'> & Partial<Pick<ModuleContext, 'metrics'>>): { directory: DirectoryService; messaging: MessagingIntake } {
  const { config, redis, prefixes, logger, services } = ctx;
  const directory = new DirectoryService({
    store: new DirectoryStore(redis, prefixes.directory, MAX_PER_KIND),
    codes: new VerificationCodes(redis, prefixes.directory, config.verificationCodeTtlMinutes * 60, config.verificationMaxAttempts),
    sender: () => services.messageSender,
    sendLimit: codeSendLimit(redis, prefixes.spread),
    defaultRegion: config.defaultRegion,
    clock: () => new Date(),
    newId: () => uuidv7(),
    logger: logger.child({ part: 'directory' }),
  });
  const messaging = new MessagingIntake({
    directory,
    callbacks: () => services.callbacks,
    alerts: () => services.alertRegistrations,
    conversations: new ConversationStore(redis, prefixes.spread, config.conversationTtlMinutes * 60),
    senderLimit: senderLimit(redis, prefixes.spread, config.messagesPerSenderPerMinute),
    defaultRegion: config.defaultRegion,
    maxScheduleDays: config.maxScheduleDays,
    conversationTtlMinutes: config.conversationTtlMinutes,
    clock: () => new Date(),
    logger: logger.child({ part: 'messaging' }),
    ...(ctx.metrics ? { metrics: messagingMetrics(ctx.metrics) } : {}),
  });
  return { directory, messaging };
}

/**
 * The people directory (users, contacts, verification) and the messaging intake that turns
 * "call Ada" into a callback: `services.directory`, `services.senderDirectory`, `services.messaging`,
 * and /v1/users, /v1/contacts behind the API-key door.
 */
export const directoryModule: CapabilityModule = {
  name: 'directory',
  async start(ctx) {
    const { directory, messaging } = buildDirectory(ctx);
    ctx.services.directory = directory;
    ctx.services.senderDirectory = directory;
    ctx.services.messaging = messaging;
    return {
      http: [
        { door: 'api-key', path: '/v1/users', router: personRoutes('user', ctx.api, directory) },
        { door: 'api-key', path: '/v1/contacts', router: personRoutes('contact', ctx.api, directory) },
      ],
    };
  },
};
