import { Registry } from 'prom-client';
/**
 * The inbound capability as it runs: the module started with a real Redis, its outbound-socket
 * server on a free port, its routes in the API, and the ESL simulator placing scripted inbound
 * calls to it. The channel layer is stood in for by {@link TestChannels}: a MessageSender that
 * records what would be sent, and an IM link whose presence and chats the test sets.
 */
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type express from 'express';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createApp, loadOpenApi } from '../../src/api/index.js';
import type { MessageSender, OutboundMessage } from '../../src/channels/types.js';
import { loadConfig } from '../../src/config/index.js';
import type { ImChat, ImFormAnswer, ImLink, SessionOutcome, UserFacts } from '../../src/inbound/index.js';
import { createInboundModule } from '../../src/inbound/module.js';
import type { Services } from '../../src/runtime/modules/index.js';
import { createEslSimulator, type CallerScript, type EslSimulator } from '../../src/simulator/index.js';
import { keyPrefixes } from '../../src/store/index.js';
import type { OutboundSocketServer } from '../../src/telephony/index.js';
import { FakeCallbackService, API_KEY } from '../api/helpers.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

export const auth = { Authorization: `Bearer ${API_KEY}` };

/** The channel layer as the inbound capability sees it: messages queued, presence, chats. */
export class TestChannels implements MessageSender, ImLink {
  readonly sent: OutboundMessage[] = [];
  readonly #keys = new Set<string>();
  readonly #online = new Set<string>();
  readonly #events = new EventEmitter();

  async enqueue(message: OutboundMessage): Promise<void> {
    if (this.#keys.has(message.dedupKey)) return;
    this.#keys.add(message.dedupKey);
    this.sent.push(message);
    this.#events.emit('sent', message);
  }

  isReachable(jid: string): boolean {
    return this.#online.has(jid);
  }

  setOnline(jid: string, online: boolean): void {
    if (online) this.#online.add(jid);
    else this.#online.delete(jid);
  }

  onChat(listener: (chat: ImChat) => void): () => void {
    this.#events.on('chat', listener);
    return () => this.#events.off('chat', listener);
  }

  /** JIDs whose client takes XEP-0004 forms, and on which resource. */
  readonly formClients = new Map<string, string>();

  async formResource(jid: string): Promise<string | undefined> {
    return this.#online.has(jid) ? this.formClients.get(jid) : undefined;
  }

  onFormAnswer(listener: (answer: ImFormAnswer) => void): () => void {
    this.#events.on('form', listener);
    return () => this.#events.off('form', listener);
  }

  /** A user presses a button of a form (an XEP-0004 submission). */
  submitForm(from: string, type: string, fields: Record<string, string>): void {
    this.#events.emit('form', { id: `form-${Math.random().toString(36).slice(2)}`, from, type, fields } satisfies ImFormAnswer);
  }

  /** A user types `body` in their IM client. */
  chat(from: string, body: string): void {
    this.#events.emit('chat', { id: `chat-${Math.random().toString(36).slice(2)}`, from, body } satisfies ImChat);
  }

  /** Resolves with the first message (already sent or still to come) that matches. */
  async next(match: (m: OutboundMessage) => boolean, timeoutMs = 10_000): Promise<OutboundMessage> {
    const found = this.sent.find(match);
    if (found) return found;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#events.off('sent', check);
        reject(new Error(`no matching message in ${timeoutMs} ms; sent: ${JSON.stringify(this.sent.map((m) => m.text))}`));
      }, timeoutMs);
      const check = (m: OutboundMessage): void => {
        if (!match(m)) return;
        clearTimeout(timer);
        this.#events.off('sent', check);
        resolve(m);
      };
      this.#events.on('sent', check);
    });
  }
}

export interface InboundRig {
  sim: EslSimulator;
  app: express.Express;
  channels: TestChannels;
  redis: Redis;
  mediaDir: string;
  /** Users the directory knows, with their verified addresses. */
  users: Map<string, UserFacts>;
  /** Places a call from `from` to `to` with the caller doing `caller`; resolves with the channel UUID. */
  call(from: string, to: string, caller: CallerScript): Promise<string>;
  /** Resolves with the outcome once the inbound session of `uuid` is over (voicemail kept and delivered). */
  ended(uuid: string, timeoutMs?: number): Promise<SessionOutcome>;
}

export async function startInbound(t: TestContext, options: { timeScale?: number } = {}): Promise<InboundRig> {
  const url = await testRedisUrl();
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  await redis.ping(); // the rate limiter refuses at once while the store is not ready
  const prefix = uniquePrefix();
  const mediaDir = mkdtempSync(join(tmpdir(), 'crossline-media-'));
  const config = loadConfig({ MEDIA_DIR: mediaDir, MEDIA_URL_SECRET: 'test-media-secret-0123456789abcdef0123' }, { apiKeys: [API_KEY], keyPrefix: prefix, rateLimitPerMinute: 10_000 });
  const logger = pino({ level: process.env.TEST_LOG === '1' ? 'debug' : 'silent' });
  const channels = new TestChannels();
  const users = new Map<string, UserFacts>();
  const sim = await createEslSimulator({ timeScale: options.timeScale ?? 0.02 });
  let server: OutboundSocketServer | undefined;
  const services: Services = {};
  const outcomes = new Map<string, SessionOutcome>();
  const ends = new EventEmitter();
  const module = createInboundModule({
    facts: async (_owner, userId) => users.get(userId) ?? { exists: false, verifiedJids: [], verifiedEmails: [] },
    im: () => channels,
    sender: () => channels,
    socketPort: 0,
    onListening: (s) => {
      server = s;
    },
    onSessionEnd: (uuid, outcome) => {
      outcomes.set(uuid, outcome);
      ends.emit(uuid, outcome);
    },
  });
  const started = await module.start({
    config, roles: { api: true, workers: true }, redis, prefixes: keyPrefixes(prefix, false), api: loadOpenApi(), logger, services, metrics: new Registry(),
  });
  const app = createApp({
    config, callbacks: new FakeCallbackService(), redis, logger, mounts: started.http ?? [],
    readiness: { switchStatus: () => ({ connected: true, since: new Date().toISOString() }) },
  });
  t.after(async () => {
    await sim.close();
    await started.close?.();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    rmSync(mediaDir, { recursive: true, force: true });
  });
  return {
    sim, app, channels, redis, mediaDir, users,
    async call(from, to, caller) {
      if (server === undefined) throw new Error('the inbound socket server is not listening');
      return sim.inboundCall({ from, to, socket: `${server.address} async full`, caller });
    },
    async ended(uuid, timeoutMs = 15_000) {
      const known = outcomes.get(uuid);
      if (known !== undefined) return known;
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          once(ends, uuid).then(([outcome]) => outcome as SessionOutcome),
          new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`call ${uuid} did not end in ${timeoutMs} ms`)), timeoutMs))),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
