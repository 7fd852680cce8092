export { CallbackRepository, RevisionConflictError, Script, type CallbackRepositoryOptions } from './callback-repository.js';
export { CancelSignal } from './cancel-signal.js';
export { activeSlotKey, RedisIntakeLimits } from './intake-limits.js';
export { keyPrefixes, type KeyPrefixes } from './keys.js';
export { createRedis, createRedisClient, describeClient, duplicateClient, isClusterUrl, parseClusterUrl, type ClusterTarget, type Redis, type RedisClient } from './redis.js';
export { freePort, resolveRedis, redisAnswers, RedisUnavailableError, startRedisServer, type ResolvedRedis } from './embedded-redis.js';
export { uuidv7 } from './ids.js';
export { SwitchStatusBoard, type PostedSwitch } from './switch-status.js';
export { RedisDoNotCallList } from './do-not-call.js';
