import { Router, type Request } from 'express';
import type { RedisClient } from '../../store/index.js';
import type { TelephonyStatus } from '../../telephony/types.js';
import type { SwitchAdmin, SwitchStatusView } from './switches.js';

export interface Readiness {
  /**
   * The switch connection: the ESL client's own status in the process that holds the connection,
   * or a status another process published (hence a promise is fine).
   */
  switchStatus(): TelephonyStatus | Promise<TelephonyStatus>;
}

interface Check {
  status: 'up' | 'down';
  since?: string;
  error?: string;
}

/** Each check answers within this, so a probe never hangs on a dependency. */
const CHECK_TIMEOUT_MS = 1000;
const TIMED_OUT = Symbol('timed out');

async function withTimeout<T>(work: Promise<T>): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function redisCheck(redis: RedisClient): Promise<Check> {
  // a client that is reconnecting would queue the PING; say so at once instead
  if (redis.status !== 'ready') return { status: 'down', error: `not connected (${redis.status})` };
  try {
    const reply = await withTimeout(redis.ping());
    if (reply === TIMED_OUT) return { status: 'down', error: `PING timed out after ${CHECK_TIMEOUT_MS} ms` };
    return reply === 'PONG' ? { status: 'up' } : { status: 'down', error: 'unexpected PING reply' };
  } catch {
    return { status: 'down', error: 'PING failed' };
  }
}

async function switchCheck(readiness: Readiness): Promise<Check> {
  let s: TelephonyStatus | typeof TIMED_OUT;
  try {
    s = await withTimeout(Promise.resolve().then(() => readiness.switchStatus()));
  } catch {
    return { status: 'down', error: 'switch status unavailable' };
  }
  if (s === TIMED_OUT) return { status: 'down', error: `switch status not known within ${CHECK_TIMEOUT_MS} ms` };
  if (s.connected) return { status: 'up', since: s.since };
  return { status: 'down', since: s.since, ...(s.lastError !== undefined ? { error: s.lastError } : {}) };
}

/**
 * Modules Crossline needs (mod_sofia, mod_dptools, the TTS engine's) that the connected switch
 * lacks; undefined until the ESL client has checked. Reported, not part of readiness: calls still
 * go through, and each announcement that cannot be played is recorded as announcement-failed.
 */
async function modulesCheck(readiness: Readiness): Promise<Check | undefined> {
  const s = await withTimeout(Promise.resolve().then(() => readiness.switchStatus())).catch((): typeof TIMED_OUT => TIMED_OUT);
  if (s === TIMED_OUT || !s.connected || s.missingModules === undefined) return undefined;
  return s.missingModules.length === 0 ? { status: 'up' } : { status: 'down', error: `missing on the switch: ${s.missingModules.join(', ')}` };
}

/**
 * /healthz: the process answers. /readyz: Redis answers PING and the switch is connected. Probes
 * get the status only; which part is down and why (addresses, the ESL client's error text) is for
 * requests that `showDetails` accepts (the operations token).
 */
export function healthRoutes(redis: RedisClient, readiness: Readiness, showDetails: (req: Request) => boolean, switches?: SwitchAdmin): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', uptimeSeconds: Math.round(process.uptime()) });
  });
  router.get('/readyz', async (req, res) => {
    const [redisResult, switchResult, modulesResult] = await Promise.all([redisCheck(redis), switchCheck(readiness), modulesCheck(readiness)]);
    const pool = switches && showDetails(req) ? await withTimeout(switches.list()).catch((): typeof TIMED_OUT => TIMED_OUT) : undefined;
    const listed: SwitchStatusView[] | undefined = pool === undefined || pool === TIMED_OUT ? undefined : pool;
    const checks = { redis: redisResult, switch: switchResult, ...(modulesResult ? { modules: modulesResult } : {}), ...(listed ? { switches: listed } : {}) };
    const ready = checks.redis.status === 'up' && checks.switch.status === 'up';
    const status = ready ? 'ready' : 'unavailable';
    res.status(ready ? 200 : 503).json(showDetails(req) ? { status, checks } : { status });
  });
  return router;
}
