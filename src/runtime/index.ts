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
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createMessageSender, MESSAGE_QUEUE } from '../channels/index.js';
import { createRequesterNotifier, createWebhookNotifier, createWebhookUrlGuard, createWebhookWorker, fanOutNotifier, WEBHOOK_QUEUE, type WebhookWorker } from '../notify/index.js';
import { ATTEMPT_QUEUE, AttemptQueue } from '../queue/index.js';
import { createEslSimulator, type EslSimulator } from '../simulator/index.js';
import { CallCenterStore, RedisCallCenterPacer } from '../directory/call-centers/index.js';
import { OriginateBudget, parseSwitchList, SwitchDirectory, SwitchDrains, SwitchPool, type PoolMember } from '../switches/index.js';
import type { OriginateGate } from '../callbacks/ports.js';
import {
  CallbackRepository,
  CancelSignal,
  createRedisClient,
  describeClient,
  duplicateClient,
  isClusterUrl,
  keyPrefixes,
  RedisDoNotCallList,
  RedisIntakeLimits,
  resolveRedis,
  SwitchStatusBoard,
  uuidv7,
  type RedisClient,
  type ResolvedRedis,
} from '../store/index.js';
import { LegFactsStore } from '../store/leg-facts.js';
import { EslTelephony } from '../telephony/index.js';
import { callCenterNameOf, queueNearness, QueuePlaceWatcher } from '../queues/index.js';
import type { TelephonyStatus } from '../telephony/types.js';
import { loadOpenApi } from '../api/index.js';
import { CAPABILITY_MODULES, type CapabilityModule, type HttpMount, type ModuleContext, type Roles, type Services } from './modules/index.js';

export type { Roles } from './modules/index.js';

export interface Runtime {
  readonly redis: ResolvedRedis;
  /** The in-process ESL simulator, when no ESL_URL was configured. */
  readonly simulator: EslSimulator | undefined;
  /** Where the API listens, e.g. http://127.0.0.1:8080. */
  readonly apiUrl: string | undefined;
  /** The webhook signing secret in force (generated when WEBHOOK_SECRET is unset). */
  readonly webhookSecret: string;
  readonly webhookSecretGenerated: boolean;
  /** What the capability modules want `npm start` to print (their `banner` lines). */
  readonly moduleBanner: readonly string[];
  /** Stops everything, in order; safe to call twice; runs every step even if one fails. */
  close(): Promise<void>;
}

/**
 * How long shutdown lets the attempts being dialled finish before leaving them to another worker.
 * Bridged calls hold no job, so no conversation is waited for (or touched).
 */
const DRAIN_GRACE_MS = 10_000;
const SWITCH_STATUS_EVERY_MS = 5_000;
/** How long boot waits for the switches' first connection (connectTelephony's own default). */
const BOOT_CONNECT_MS = 30_000;

/** Builds and starts the parts of Crossline named by `roles`, from a validated config. */
export async function startRuntime(config: Readonly<Config>, roles: Roles, logger: Logger, options: { modules?: readonly CapabilityModule[] } = {}): Promise<Runtime> {
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
    const webhookNotifier = createWebhookNotifier({ connection: commands, prefix: prefixes.queue(WEBHOOK_QUEUE), maxAttempts: config.webhookMaxAttempts, logger });
    onClose('webhook-notifier', () => webhookNotifier.close());
    // Messages to any channel, queued once per dedup key; status changes go to the callback's
    // webhook and to the person who asked for it on their channel.
    const messageSender = createMessageSender({ connection: commands, prefix: prefixes.queue(MESSAGE_QUEUE), maxAttempts: config.messaging.messageMaxAttempts, logger });
    onClose('message-sender', () => messageSender.close());
    const notifier = fanOutNotifier([webhookNotifier, createRequesterNotifier({ sender: messageSender })]);
    const board = new SwitchStatusBoard(commands, prefixes.spread);
    const callCenters = new CallCenterStore(commands, prefixes.spread);
    const pacer = new RedisCallCenterPacer(commands, prefixes.spread);
    const doNotCall = new RedisDoNotCallList(commands, prefixes.spread);
    const services: Services = { callCenters, callCenterPacer: pacer, callCenterQueueSources: callCenters, messageSender, doNotCall };
    const metricsRegistry = new Registry();
    collectDefaultMetrics({ register: metricsRegistry });

    let simulator: EslSimulator | undefined;
    let telephony: EslTelephony | undefined;
    let switchPool: SwitchPool | undefined;
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
      const addresses = parseSwitchList(eslUrl);
      const drains = new SwitchDrains(commands, config.keyPrefix);
      // DRAINED_SWITCHES is applied at every boot; the admin call changes it at run time.
      for (const id of config.drainedSwitches) await drains.drain(id);
      const members: PoolMember[] = [];
      // One ESL connection per switch in every worker; each switch's originate budget is shared by
      // every worker through Redis, and a leg's slot is freed by whichever process hears it end.
      for (const address of addresses) {
        const client = new EslTelephony({
          host: address.host,
          port: address.port,
          password: address.password,
          apiTimeoutMs: config.eslApiTimeoutMs,
          dialGateway: config.dialGateway,
          dialNumberFormat: config.dialNumberFormat,
          sipProfile: config.sipProfile,
          ttsEngine: config.ttsEngine,
          ttsVoice: config.ttsVoice,
          logger: logger.child({ component: 'esl', switchId: address.id }),
        });
        onClose(`telephony ${address.id}`, () => client.close());
        const budget = new OriginateBudget({ redis: commands, keyPrefix: config.keyPrefix, switchId: address.id, limits: config.switchBudget, load: client });
        members.push({ id: address.id, telephony: client, budget });
      }
      // One switch must answer at boot, as before; in a pool, one is enough: the others keep
      // reconnecting and take legs once connected.
      const started = await Promise.allSettled(members.map((m) => (m.telephony as EslTelephony).start({ timeoutMs: BOOT_CONNECT_MS })));
      if (!started.some((r) => r.status === 'fulfilled')) throw (started[0] as PromiseRejectedResult).reason;
      started.forEach((r, i) => {
        if (r.status === 'rejected') logger.warn({ err: r.reason, switchId: members[i]?.id }, 'switch not connected at boot; reconnecting');
      });
      const pool = new SwitchPool(members, drains, config.switchLostAfterMs);
      switchPool = pool;
      for (const member of pool.members()) {
        const stopReleasing = member.telephony.onLegEnded((end) => {
          member.gate.release(end.uuid).catch((err: unknown) => logger.debug({ err, uuid: end.uuid }, 'switch slot not released; it lapses by itself'));
        });
        onClose(`switch-slots ${member.id}`, async () => stopReleasing());
      }
      // Attempts stored before the pool have no switch id: they are on the first switch.
      const [first] = pool.members() as [PoolMember & { gate: OriginateGate }];
      const connected = first.telephony as EslTelephony;
      telephony = connected;
      services.telephony = connected;

      // Keep-your-place: every switch's queue events; an agent picking a kept place up wakes its job.
      const places = new QueuePlaceWatcher({
        switches: pool.members().map((m) => ({ id: m.id, queues: m.telephony as EslTelephony })),
        wake: (callbackId, attempt) => scheduler.wake(callbackId, attempt),
        logger: logger.child({ component: 'queue-places' }),
      });
      places.start();
      onClose('queue-places', async () => places.stop());
      // A kept place asleep in its queue hears a cancel at once: its job is woken, and ends it.
      const stopWakingCanceled = await cancelSignal.watchAll((id) => {
        void repository
          .get(id)
          .then((cb) => (cb && cb.status === 'waiting-for-agent' && cb.attempts.some((a) => !a.endedAt) ? scheduler.wake(id, cb.attempts.length) : false))
          .catch((err: unknown) => logger.warn({ err, callbackId: id }, 'canceled place not woken; its job sees the cancel at its wake-up'));
      });
      onClose('queue-place-cancels', async () => stopWakingCanceled());
      const flow: FlowDeps = {
        repository,
        telephony: connected,
        switches: pool,
        scheduler,
        notifier,
        cancelSignal,
        gate: first.gate,
        messages: { callerNoAnswer: config.callerNoAnswerMessage, calleeUnavailable: config.calleeUnavailableMessage, agentConnecting: config.agentConnectingMessage },
        defaultCallerId: config.defaultCallerId,
        callEndReconcileMs: config.callEndReconcileMs,
        keepPlace: {
          places,
          joinTimeoutMs: config.keepPlaceJoinTimeoutMs,
          recheckMs: config.keepPlaceRecheckMs,
          maxHoldMs: config.agentWaitMaxHoldMinutes * 60_000,
        },
        legFacts: new LegFactsStore(commands, config.keyPrefix, { retentionSec: config.callbackRetentionDays * 86_400 }),
        callCenters,
        pacer,
        // Read at each look: the queues module and the call-center directory start after the worker.
        agentWait: {
          nearness: queueNearness({ queues: () => services.queues, sources: () => services.callCenterQueueSources, callCenterOf: callCenterNameOf }),
          recheckMinMs: config.agentWaitRecheckMinMs,
          recheckMaxMs: config.agentWaitRecheckMaxMs,
          maxHoldMs: config.agentWaitMaxHoldMinutes * 60_000,
        },
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
      const post = (): void => void pool.report().then((switches) => board.post(workerName, connected.status(), switches)).catch(() => undefined);
      post();
      const timer = setInterval(post, SWITCH_STATUS_EVERY_MS);
      for (const member of pool.members()) {
        const esl = member.telephony as EslTelephony;
        esl.on('ready', post);
        esl.on('lost', post);
      }
      onClose('switch-status', async () => {
        clearInterval(timer);
        await board.remove(workerName);
      });
    }

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
        callCenters,
        pacer,
        doNotCall,
        clock: () => new Date(),
        newId: () => uuidv7(),
        logger: logger.child({ component: 'callbacks' }),
      });
      services.callbacks = service;
    }

    const api = loadOpenApi();
    const mounts: HttpMount[] = [];
    const banners: Array<(apiUrl: string | undefined) => string[]> = [];
    const moduleContext: ModuleContext = { config, roles, redis: commands, prefixes, api, logger, services, metrics: metricsRegistry };
    for (const module of options.modules ?? CAPABILITY_MODULES) {
      const started = await module.start({ ...moduleContext, logger: logger.child({ component: module.name }) });
      if (started.close) {
        const stop = started.close.bind(started);
        onClose(module.name, stop);
      }
      mounts.push(...(started.http ?? []));
      if (started.banner) banners.push(started.banner.bind(started));
    }

    let apiUrl: string | undefined;
    if (roles.api && services.callbacks) {
      const service = services.callbacks;
      const local = switchPool;
      const switches = new SwitchDirectory(
        config.eslUrl === undefined ? [] : parseSwitchList(config.eslUrl).map((a) => a.id),
        () => (local ? local.report() : board.readSwitches()),
        new SwitchDrains(commands, config.keyPrefix),
      );
      const app = createApp({
        config,
        callbacks: service,
        redis: commands,
        readiness: { switchStatus: () => (telephony ? Promise.resolve(anyConnected(local, telephony)) : board.read()) },
        switches,
        mounts,
        metricsRegistry,
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
      moduleBanner: banners.flatMap((lines) => lines(apiUrl)),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The process's switch status for /readyz: a connected switch of the pool if any, else the first's. */
function anyConnected(pool: SwitchPool | undefined, first: EslTelephony): TelephonyStatus {
  const statuses = pool ? pool.members().map((m) => m.telephony.status()) : [first.status()];
  return statuses.find((s) => s.connected) ?? first.status();
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
