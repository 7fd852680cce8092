export { CallbackRepository, RevisionConflictError, type CallbackRepositoryOptions } from './callback-repository.js';
export { CancelSignal } from './cancel-signal.js';
export { activeSlotKey, RedisIntakeLimits } from './intake-limits.js';
export { createRedis, type Redis } from './redis.js';
export { freePort, resolveRedis, redisAnswers, RedisUnavailableError, startRedisServer, type ResolvedRedis } from './embedded-redis.js';
export { uuidv7 } from './ids.js';
export { SwitchStatusBoard } from './switch-status.js';
