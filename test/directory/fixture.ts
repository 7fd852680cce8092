import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { MessageSender, OutboundMessage } from '../../src/channels/types.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { buildDirectory } from '../../src/directory/module.js';
import type { DirectoryService } from '../../src/directory/service.js';
import type { MessagingIntake } from '../../src/intake/messaging.js';
import type { Services } from '../../src/runtime/modules/types.js';
import { keyPrefixes } from '../../src/store/keys.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

/** A MessageSender that keeps what it was asked to send. */
export class RecordingSender implements MessageSender {
  readonly sent: OutboundMessage[] = [];
  async enqueue(message: OutboundMessage): Promise<void> {
    if (!this.sent.some((m) => m.dedupKey === message.dedupKey)) this.sent.push(message);
  }
  /** The six-digit code in the last message sent to `address`. */
  lastCode(address: string): string {
    const message = [...this.sent].reverse().find((m) => m.to.address === address);
    const code = /\b(\d{6})\b/.exec(message?.text ?? '')?.[1];
    if (!code) throw new Error(`no code was sent to ${address}`);
    return code;
  }
}

export interface DirectoryRig {
  redis: Redis;
  config: Readonly<Config>;
  prefix: string;
  services: Services;
  sender: RecordingSender;
  directory: DirectoryService;
  messaging: MessagingIntake;
  /** The registry the messaging metrics are in. */
  metrics: Registry;
}

/** The directory and the messaging intake on the real Redis, under a key prefix of their own, cleaned up after the test. */
export async function directoryRig(t: TestContext, config: Partial<Config> = {}): Promise<DirectoryRig> {
  const redis = new Redis(await testRedisUrl(), { maxRetriesPerRequest: 1 });
  const prefix = uniquePrefix();
  const fullConfig = loadConfig({}, { keyPrefix: prefix, ...config });
  const sender = new RecordingSender();
  const services: Services = { messageSender: sender };
  const metrics = new Registry();
  const { directory, messaging } = buildDirectory({ config: fullConfig, redis, prefixes: keyPrefixes(prefix, false), logger: pino({ level: 'silent' }), services, metrics });
  t.after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
  return { redis, config: fullConfig, prefix, services, sender, directory, messaging, metrics };
}
