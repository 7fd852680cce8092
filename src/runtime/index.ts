import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import type { Worker } from 'bullmq';
import type { Logger } from 'pino';
import { createCallbackWorker } from '../../workers/callback-worker.js';
import { answerClientErrors, createApp } from '../api/index.js';
import { CallEndRecorder, DefaultCallbackService, type FlowDeps } from '../callbacks/index.js';
import type { Config } from '../config/index.js';
import { createWebhookNotifier, createWebhookUrlGuard, createWebhookWorker, WEBHOOK_QUEUE, type WebhookWorker } from '../notify/index.js';
import { ATTEMPT_QUEUE, AttemptQueue } from '../queue/index.js';
import { createEslSimulator, type EslSimulator } from '../simulator/index.js';
import { budgetGate, OriginateBudget, switchIdOf } from '../switches/index.js';
import {
  CallbackRepository,
  CancelSignal,
  createRedisClient,
  describeClient,
  duplicateClient,
  isClusterUrl,
  keyPrefixes,
  RedisIntakeLimits,
  resolveRedis,
  SwitchStatusBoard,
  uuidv7,
  type RedisClient,
  type ResolvedRedis,
} from '../store/index.js';
import { LegFactsStore } from '../store/leg-facts.js';
import { connectTelephony, parseEslUrl, type EslTelephony } from '../telephony/index.js';

/** Which parts this process runs: `npm start` runs both; `npm run api` / `npm run worker` one each. */
export interface Roles {
  api: boolean;
  workers: boolean;
}

export interface Runtime {
  readonly redis: ResolvedRedis;
  /** The in-process ESL simulator, when no ESL_URL was configured. */
  readonly simulator: EslSimulator | undefined;
  /** Where the API listens, e.g. http://127.0.0.1:8080. */
  readonly apiUrl: string | undefined;
  /** The webhook signing secret in force (generated when WEBHOOK_SECRET is unset). */
  readonly webhookSecret: string;
  readonly webhookSecretGenerated: boolean;
  /** Stops everything, in order; safe to call twice; runs every step even if one fails. */
  close(): Promise<void>;
}

/**
 * How long shutdown lets the attempts being dialled finish before leaving them to another worker.
 * Bridged calls hold no job, so no conversation is waited for (or touched).
 */
const DRAIN_GRACE_MS = 10_000;
const SWITCH_STATUS_EVERY_MS = 5_000;

/** Builds and starts the parts of Crossline named by `roles`, from a validated config. */
export async function startRuntime(config: Readonly<Config>, roles: Roles, logger: Logger): Promise<Runtime> {
  const cleanups: Array<{ name: string; run: () => Promise<unknown> }> = [];
  const onClose = (name: string, run: () => Promise<unknown>): void => void cleanups.unshift({ name, run });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      for (const step of cleanups) {
        try {
          await step.run();
        } catch (err) {
          logger.warn({ err, step: step.name }, 'shutdown step failed');
        }
      }
    })());

  try {
    const redis = await resolveRedis(config.redisUrl);
    onClose('redis-server', () => redis.stop());
    const commands = createRedisClient(redis.url);
    // on a Redis Cluster, keys changed together share a hash tag (see store/keys.ts)
    const prefixes = keyPrefixes(config.keyPrefix, isClusterUrl(redis.url));
    logRedisErrors(commands, logger, 'commands');
    onClose('redis', () => commands.quit());
    // Serve nothing before the store answers: the rate limiter refuses a connection that is not ready.
    await waitUntilReady(commands);

    const webhookSecret = config.webhookSecret ?? randomBytes(24).toString('hex');
    const repository = new CallbackRepository(commands, prefixes.callbacks, { retentionSec: config.callbackRetentionDays * 86_400 });
    const scheduler = new AttemptQueue({
      connection: commands,
      prefix: prefixes.queue(ATTEMPT_QUEUE),
      onError: (err) => logger.warn({ err, component: 'attempt-queue' }, 'attempt queue connection error'),
    });
    onClose('attempt-queue', () => scheduler.close());
    const notifier = createWebhookNotifier({ connection: commands, prefix: prefixes.queue(WEBHOOK_QUEUE), maxAttempts: config.webhookMaxAttempts, logger });
    onClose('webhook-notifier', () => notifier.close());
    const board = new SwitchStatusBoard(commands, prefixes.spread);

    let simulator: EslSimulator | undefined;
    let telephony: EslTelephony | undefined;
    if (roles.workers) {
      const subscriber = duplicateClient(commands);
      logRedisErrors(subscriber, logger, 'subscriber');
      onClose('redis-subscriber', () => subscriber.quit());
      const cancelSignal = new CancelSignal(commands, prefixes.spread, subscriber);
      let eslUrl = config.eslUrl;
      if (eslUrl === undefined) {
        simulator = await createEslSimulator({ timeScale: config.simulatorTimeScale, ...embeddedCdrTarget(config, roles) });
        const sim = simulator;
        onClose('simulator', () => sim.close());
        eslUrl = simulator.url;
      }
      const esl = parseEslUrl(eslUrl);
      const connected = await connectTelephony({
        ...esl,
        apiTimeoutMs: config.eslApiTimeoutMs,
        dialGateway: config.dialGateway,
        dialNumberFormat: config.dialNumberFormat,
        sipProfile: config.sipProfile,
        ttsEngine: config.ttsEngine,
        ttsVoice: config.ttsVoice,
        logger: logger.child({ component: 'esl' }),
      });
      telephony = connected;
      onClose('telephony', () => connected.close());
      // The switch's originate budget, shared by every worker through Redis; a leg's slot is freed
      // by whichever process hears it end.
      const gate = budgetGate(new OriginateBudget({
        redis: commands, keyPrefix: config.keyPrefix, switchId: switchIdOf(esl.host, esl.port), limits: config.switchBudget, load: connected,
      }));
      const stopReleasing = connected.onLegEnded((end) => {
        gate.release(end.uuid).catch((err: unknown) => logger.debug({ err, uuid: end.uuid }, 'switch slot not released; it lapses by itself'));
      });
      onClose('switch-slots', async () => stopReleasing());

      const flow: FlowDeps = {
        repository,
        telephony: connected,
        scheduler,
        notifier,
        cancelSignal,
        gate,
        messages: { callerNoAnswer: config.callerNoAnswerMessage, calleeUnavailable: config.calleeUnavailableMessage },
        defaultCallerId: config.defaultCallerId,
        callEndReconcileMs: config.callEndReconcileMs,
        legFacts: new LegFactsStore(commands, config.keyPrefix, { retentionSec: config.callbackRetentionDays * 86_400 }),
        clock: () => new Date(),
        logger: logger.child({ component: 'flow' }),
      };
      // Hears the ends of live calls (and cancels of them) for every worker. Started before the
      // worker and closed after it, so ends during the drain are still recorded.
      const recorder = new CallEndRecorder({ ...flow, logger: logger.child({ component: 'call-end' }) });
      await recorder.start();
      onClose('call-end-recorder', () => recorder.stop());
      const worker = createCallbackWorker(flow, {
        connection: commands,
        prefix: prefixes.queue(ATTEMPT_QUEUE),
        concurrency: config.workerConcurrency,
        lockMs: config.jobLockMs,
      });
      onClose('callback-worker', () => drain(worker, logger));
      const webhooks: WebhookWorker = createWebhookWorker({
        connection: commands,
        prefix: prefixes.queue(WEBHOOK_QUEUE),
        secret: webhookSecret,
        timeoutMs: config.webhookTimeoutMs,
        allowPrivate: config.webhookAllowPrivate,
        logger: logger.child({ component: 'webhooks' }),
      });
      onClose('webhook-worker', () => webhooks.close());

      const workerName = `${os.hostname()}:${process.pid}`;
      const post = (): void => void board.post(workerName, connected.status()).catch(() => undefined);
      post();
      const timer = setInterval(post, SWITCH_STATUS_EVERY_MS);
      connected.on('ready', post);
      connected.on('lost', post);
      onClose('switch-status', async () => {
        clearInterval(timer);
        await board.remove(workerName);
      });
    }

    let apiUrl: string | undefined;
    if (roles.api) {
      const limitPolicy = {
        destinationPerHour: config.destinationCallbacksPerHour,
        destinationMaxActive: config.destinationMaxActive,
        keyPerDay: config.keyCallbacksPerDay,
        exempt: config.destinationLimitExempt,
      };
      const service = new DefaultCallbackService({
        repository,
        scheduler,
        cancelSignal: new CancelSignal(commands, prefixes.spread),
        notifier,
        webhookGuard: createWebhookUrlGuard({ allowPrivate: config.webhookAllowPrivate }),
        policy: {
          defaultRegion: config.defaultRegion,
          defaultRingTimeoutSec: config.defaultRingTimeoutSec,
          defaultMaxAttempts: config.defaultMaxAttempts,
          defaultRetryDelaySec: config.defaultRetryDelaySec,
          maxScheduleDays: config.maxScheduleDays,
          fraud: {
            allowedCountries: config.allowedCountries,
            deniedPrefixes: config.deniedPrefixes,
            allowedPrefixes: config.allowedPrefixes,
            allowedSipDomains: config.allowedSipDomains,
            defaultRegion: config.defaultRegion,
          },
          callerIds: config.callerIds,
        },
        limits: new RedisIntakeLimits(commands, prefixes.callbacks, limitPolicy),
        limitPolicy,
        clock: () => new Date(),
        newId: () => uuidv7(),
        logger: logger.child({ component: 'callbacks' }),
      });
      const local = telephony;
      const app = createApp({
        config,
        callbacks: service,
        redis: commands,
        readiness: { switchStatus: () => (local ? Promise.resolve(local.status()) : board.read()) },
        legFacts: new LegFactsStore(commands, config.keyPrefix, { retentionSec: config.callbackRetentionDays * 86_400 }),
        logger: logger.child({ component: 'api' }),
      });
      const server = await listen(app, config);
      onClose('http', () => closeServer(server));
      const address = server.address() as AddressInfo;
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      apiUrl = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    }

    return {
      redis,
      simulator,
      apiUrl,
      webhookSecret,
      webhookSecretGenerated: config.webhookSecret === undefined,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The embedded simulator reports legs to this process's own POST /v1/switch/cdr, as the switch
 * would, when CDR intake is on and the API listens on a known port.
 */
function embeddedCdrTarget(config: Readonly<Config>, roles: Roles): { cdrUrl?: string; cdrCredentials?: string } {
  if (!roles.api || config.cdrCredentials === undefined || config.port === 0) return {};
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return { cdrUrl: `http://${host.includes(':') ? `[${host}]` : host}:${config.port}/v1/switch/cdr`, cdrCredentials: config.cdrCredentials };
}

/**
 * ioredis reconnects by itself; without a listener its errors would go to stderr unstructured.
 * One line per outage (not per retry), and one when the connection is back.
 */
function logRedisErrors(redis: RedisClient, logger: Logger, connection: string): void {
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger.warn({ err, connection }, 'Redis connection lost; reconnecting');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({ connection }, 'Redis connection back');
  });
}

function waitUntilReady(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${describeClient(redis)} did not become ready within 10 s`)), 10_000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Listens with the configured timeouts: Node's defaults hold a stalled upload for 300 s, and
 * check for one only every 30 s.
 */
function listen(app: ReturnType<typeof createApp>, config: Readonly<Config>): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(
      {
        headersTimeout: config.httpHeadersTimeoutMs,
        requestTimeout: config.httpRequestTimeoutMs,
        connectionsCheckingInterval: Math.min(1000, config.httpHeadersTimeoutMs),
      },
      app,
    );
    answerClientErrors(server);
    server.listen(config.port, config.host);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/**
 * Stops taking jobs and lets the attempts being dialled finish for a short while, then lets go of
 * them: their jobs' locks lapse and another worker resumes them from the store and the switch,
 * without redialling. (A second `close(true)` would not help: BullMQ returns the first close's
 * promise, which waits for every active job; that is how a shutdown used to hang.)
 */
async function drain(worker: Worker, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const closed = worker.close().then(() => true, () => true);
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), DRAIN_GRACE_MS);
  });
  const drained = await Promise.race([closed, timedOut]);
  clearTimeout(timer);
  if (!drained) logger.warn({ graceMs: DRAIN_GRACE_MS }, 'attempts still dialling at shutdown are left to another worker');
}

export type { RedisClient };
