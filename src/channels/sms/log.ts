import type { RedisClient } from '../../store/index.js';
import { Script } from '../../store/index.js';
import { idVariants, type PartState, type Receipt, type ReceiptStat } from './receipt.js';
import type { SmsEncoding } from './encoding.js';

/**
 * What became of each outbound SMS: its parts as the SMSC accepted them (the SMSC's message ids)
 * and the delivery receipts that came back. It is also what makes a retried send skip the parts
 * already accepted, so no part is sent twice. The text is not kept (it may hold a verification code).
 *
 * Layout (`<b>` = `<prefix>:sms`, hash-tagged on a Redis Cluster so the keys share a slot):
 * - `<b>:out:<id>`        hash: `meta` (JSON), `part:<n>` (submission JSON), `rcpt:<n>` (receipt JSON), `failed`
 * - `<b>:smsc:<smsc id>`  `<id> <n>`: which message and part an SMSC message id is
 * - `<b>:recent`          sorted set of ids by creation time (capped)
 * Everything expires after `ttlSec`.
 */

export type SmsStatus = 'sending' | 'submitted' | 'enroute' | 'delivered' | 'undeliverable' | 'failed';

export interface SmsPart {
  seq: number;
  smscMessageId?: string;
  submittedAt?: string;
  state: PartState | 'pending';
  /** The receipt's `stat:` word. */
  stat?: ReceiptStat;
  error?: string;
  doneAt?: string;
}

export interface SmsRecord {
  /** Crossline's id of the message (stable per dedupKey). */
  id: string;
  /** E.164. */
  to: string;
  /** The kind of message: the first word of its dedupKey (`reply`, `verify`, `alert`, `callback`, …). */
  purpose: string;
  encoding: SmsEncoding;
  partCount: number;
  createdAt: string;
  status: SmsStatus;
  /** Why it was given up, when `failed`. */
  failure?: string;
  parts: SmsPart[];
}

/** What is stored once per message; status and parts are kept apart. */
type Meta = Pick<SmsRecord, 'id' | 'to' | 'purpose' | 'encoding' | 'partCount' | 'createdAt'>;

interface Submission {
  smscMessageId: string;
  submittedAt: string;
}

interface StoredReceipt {
  state: PartState;
  stat: ReceiptStat;
  error?: string;
  doneAt?: string;
  final: boolean;
}

const RECENT_CAP = 10_000;

// A receipt never replaces a final one with an intermediate one (receipts may arrive out of order).
const SET_RECEIPT = new Script(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and ARGV[3] == '0' and string.find(cur, '"final":true', 1, true) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`);

export class SmsLog {
  constructor(
    private readonly redis: RedisClient,
    /** `<prefix>:sms`, or `{<prefix>:sms}` on a cluster. */
    private readonly base: string,
    private readonly ttlSec = 7 * 24 * 3600,
  ) {}

  private recordKey = (id: string): string => `${this.base}:out:${id}`;
  private smscKey = (smscId: string): string => `${this.base}:smsc:${smscId}`;
  private recentKey = (): string => `${this.base}:recent`;

  /** Starts (or resumes) a message; returns the parts the SMSC already accepted, by seq. */
  async begin(meta: Meta): Promise<Map<number, Submission>> {
    const key = this.recordKey(meta.id);
    const [, , , all] = ((await this.redis
      .multi()
      .hsetnx(key, 'meta', JSON.stringify(meta))
      .hdel(key, 'failed')
      .expire(key, this.ttlSec)
      .hgetall(key)
      .zadd(this.recentKey(), 'NX', Date.parse(meta.createdAt), meta.id)
      .zremrangebyrank(this.recentKey(), 0, -RECENT_CAP - 1)
      .exec()) ?? []) as Array<[Error | null, unknown]>;
    const fields = (all?.[1] ?? {}) as Record<string, string>;
    const stored = fields.meta === undefined ? meta : (JSON.parse(fields.meta) as Meta);
    // A message re-sent with another text (a different split) starts over: its old parts do not fit.
    if (stored.partCount !== meta.partCount || stored.encoding !== meta.encoding) {
      await this.redis.hset(key, 'meta', JSON.stringify(meta));
      return new Map();
    }
    const done = new Map<number, Submission>();
    for (const [field, value] of Object.entries(fields)) {
      if (field.startsWith('part:')) done.set(Number(field.slice(5)), JSON.parse(value) as Submission);
    }
    return done;
  }

  async partSubmitted(id: string, seq: number, smscMessageId: string, at: Date): Promise<void> {
    const submission: Submission = { smscMessageId, submittedAt: at.toISOString() };
    await this.redis
      .multi()
      .hset(this.recordKey(id), `part:${seq}`, JSON.stringify(submission))
      .set(this.smscKey(smscMessageId), `${id} ${seq}`, 'EX', this.ttlSec)
      .exec();
  }

  async failed(id: string, reason: string): Promise<void> {
    await this.redis.hset(this.recordKey(id), 'failed', reason.slice(0, 300));
  }

  /** Records a receipt against the part it is about; returns that message id, or undefined when no sent part has the SMSC id. */
  async receipt(receipt: Receipt): Promise<{ id: string; seq: number } | undefined> {
    for (const variant of idVariants(receipt.messageId)) {
      const ref = await this.redis.get(this.smscKey(variant));
      if (ref === null) continue;
      const [id = '', seqText = ''] = ref.split(' ');
      const final = receipt.state === 'delivered' || receipt.state === 'undeliverable';
      const stored: StoredReceipt = {
        state: receipt.state,
        stat: receipt.stat,
        final,
        ...(receipt.error !== undefined ? { error: receipt.error } : {}),
        ...(receipt.doneAt !== undefined ? { doneAt: receipt.doneAt.toISOString() } : {}),
      };
      await SET_RECEIPT.run(this.redis, [this.recordKey(id)], [`rcpt:${seqText}`, JSON.stringify(stored), final ? '1' : '0']);
      return { id, seq: Number(seqText) };
    }
    return undefined;
  }

  async get(id: string): Promise<SmsRecord | undefined> {
    const fields = await this.redis.hgetall(this.recordKey(id));
    if (fields.meta === undefined) return undefined;
    return view(fields);
  }

  /** The most recent messages first, optionally only those to `to` (E.164). */
  async list(options: { limit: number; to?: string }): Promise<SmsRecord[]> {
    const out: SmsRecord[] = [];
    let start = 0;
    const batch = Math.max(50, options.limit);
    while (out.length < options.limit) {
      const ids = await this.redis.zrevrange(this.recentKey(), start, start + batch - 1);
      if (ids.length === 0) break;
      start += ids.length;
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hgetall(this.recordKey(id));
      const results = (await pipeline.exec()) ?? [];
      for (const [err, value] of results) {
        const fields = value as Record<string, string> | undefined;
        if (err !== null || fields?.meta === undefined) continue;
        const record = view(fields);
        if (options.to !== undefined && record.to !== options.to) continue;
        out.push(record);
        if (out.length >= options.limit) break;
      }
    }
    return out;
  }
}

function view(fields: Record<string, string>): SmsRecord {
  const meta = JSON.parse(fields.meta ?? '{}') as Meta;
  const parts: SmsPart[] = [];
  for (let seq = 1; seq <= meta.partCount; seq++) {
    const submission = fields[`part:${seq}`] === undefined ? undefined : (JSON.parse(fields[`part:${seq}`]!) as Submission);
    const receipt = fields[`rcpt:${seq}`] === undefined ? undefined : (JSON.parse(fields[`rcpt:${seq}`]!) as StoredReceipt);
    parts.push({
      seq,
      ...(submission ? { smscMessageId: submission.smscMessageId, submittedAt: submission.submittedAt } : {}),
      state: receipt?.state ?? (submission ? 'submitted' : 'pending'),
      ...(receipt ? { stat: receipt.stat } : {}),
      ...(receipt?.error !== undefined ? { error: receipt.error } : {}),
      ...(receipt?.doneAt !== undefined ? { doneAt: receipt.doneAt } : {}),
    });
  }
  const failure = fields.failed;
  let status: SmsStatus;
  if (parts.some((p) => p.state === 'undeliverable')) status = 'undeliverable';
  else if (parts.every((p) => p.state === 'delivered')) status = 'delivered';
  else if (parts.some((p) => p.state === 'pending')) status = failure !== undefined ? 'failed' : 'sending';
  else if (parts.some((p) => p.state === 'enroute')) status = 'enroute';
  else status = 'submitted';
  return { ...meta, status, ...(failure !== undefined && status === 'failed' ? { failure } : {}), parts };
}
