import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { RateLimiterQueue, RateLimiterRedis } from 'rate-limiter-flexible';
import smpp, { type MessageField, type PDU } from 'smpp';
import { assertDestinationAllowed, type FraudPolicy } from '../../callbacks/fraud.js';
import { parseNumber } from '../../callbacks/request.js';
import { CrosslineError } from '../../errors.js';
import type { RedisClient } from '../../store/index.js';
import { Script } from '../../store/index.js';
import { ChannelSendError } from '../errors.js';
import { messageToken } from '../sender.js';
import type { Channel, ChannelAddress, InboundMessage, OutboundMessage, SentMessage } from '../types.js';
import { concatUdh, encodeSms } from './encoding.js';
import { LinkError, SmppLink, type LinkStatus, type SmppLinkOptions } from './link.js';
import { SmsLog } from './log.js';
import { parseReceipt, type Receipt } from './receipt.js';

/**
 * The SMS channel over SMPP v3.4 (one transceiver bind, {@link SmppLink}). Outbound: the
 * destination is checked like a dialled number (E.164, toll-fraud policy: no premium-rate or
 * shared-cost numbers, denied prefixes, allowed countries), the text goes as GSM 03.38 or UCS-2,
 * split into at most `maxParts` concatenated parts, each `submit_sm` asks for a delivery receipt,
 * and the parts the SMSC accepted are kept (SmsLog) so a retried job sends only the rest.
 * Throttling answers (ESME_RTHROTTLED, ESME_RMSGQFUL) pause sending and are retried with backoff;
 * permanent errors (bad address, rejected content, …) fail the message for good.
 * Inbound: delivery receipts update the log; MO messages (joined when concatenated) reach the
 * listener as InboundMessage on channel `sms`, from the sender's E.164. The SMSC's deliver_sm is
 * answered once the listener is done, with a temporary error when it failed (the SMSC retries).
 */

export type ConcatMode = 'udh' | 'sar';

export interface SmsSource {
  /** `+` E.164 long number, short code, or alphanumeric sender id. */
  address: string;
  ton: number;
  npi: number;
}

export interface SmsChannelOptions {
  link: Omit<SmppLinkOptions, 'logger'>;
  source: SmsSource;
  redis: RedisClient;
  /** Key base of the SMS log and reassembly (`<prefix>:sms`, hash-tagged on a cluster). */
  keyBase: string;
  fraud: FraudPolicy;
  /** Region MO senders without a country code are read in. */
  defaultRegion: string;
  /** submit_sm per second, shared by every process through Redis. @defaultValue 10 */
  ratePerSecond?: number;
  /** Parts one message may take; longer texts are cut with an ellipsis. @defaultValue 6 */
  maxParts?: number;
  /** @defaultValue 'udh' */
  concat?: ConcatMode;
  /** How long a send waits for the bind before failing (retryable). @defaultValue 5000 */
  bindWaitMs?: number;
  /** Throttled answers retried in place (each after a doubling pause) before the job is retried later. @defaultValue 3 */
  throttleRetries?: number;
  /** @defaultValue 1000 */
  throttleBackoffMs?: number;
  metrics?: Registry;
  logger: Logger;
}

/** What the channel hands on for each MO message; the returned promise decides the SMSC's answer. */
export type SmsListener = (message: InboundMessage) => Promise<void>;

const E = smpp.errors;
/** Answers that may succeed later: throttling, queue full, the SMSC's temporary trouble. */
const THROTTLED = new Set([E.ESME_RTHROTTLED, E.ESME_RMSGQFUL]);
const TRANSIENT = new Set([E.ESME_RSYSERR, E.ESME_RX_T_APPN, E.ESME_RSUBMITFAIL, E.ESME_RINVBNDSTS, E.ESME_RUNKNOWNERR]);
const ERROR_NAMES = new Map(Object.entries(E).map(([name, code]) => [code, name]));
const errorName = (status: number): string => ERROR_NAMES.get(status) ?? `0x${status.toString(16).padStart(8, '0')}`;

const TON_INTERNATIONAL = 1;
const TON_ALPHANUMERIC = 5;
const ESM_UDHI = 0x40;
const ESM_TYPE_MASK = 0x3c;
const ESM_RECEIPT = 0x04;
const ESM_INTERMEDIATE = 0x20;
const REASSEMBLY_TTL_SEC = 600;
/** Parts a concatenated MO message may have; more is not a person typing (and would fill Redis). */
const MAX_MO_PARTS = 16;

// Stores one part of a concatenated MO message; when the last one arrives, returns them all and forgets them.
const JOIN_PART = new Script(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
if redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3]) then return false end
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return all`);

interface SmsMetrics {
  submitted: Counter<'outcome'>;
  receipts: Counter<'state'>;
  bound: Gauge;
}

function smsMetrics(registry: Registry | undefined): SmsMetrics | undefined {
  if (registry === undefined) return undefined;
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    submitted: get('crossline_sms_parts_total', () => new Counter({ name: 'crossline_sms_parts_total', help: 'SMS parts sent with submit_sm, by outcome (accepted, throttled, transient, rejected, link-error).', labelNames: ['outcome'], registers: [registry] })),
    receipts: get('crossline_sms_receipts_total', () => new Counter({ name: 'crossline_sms_receipts_total', help: 'SMS delivery receipts, by state (delivered, undeliverable, enroute, unmatched).', labelNames: ['state'], registers: [registry] })),
    bound: get('crossline_sms_bound', () => new Gauge({ name: 'crossline_sms_bound', help: '1 while the SMPP transceiver bind is up.', registers: [registry] })),
  };
}

/** A destination as SMPP addresses it: international, the digits without '+'. */
function destination(to: ChannelAddress, options: Pick<SmsChannelOptions, 'defaultRegion' | 'fraud'>): { e164: string; digits: string } {
  let parsed: { e164: string; country: string };
  try {
    parsed = parseNumber(to.address, options.defaultRegion, '/to');
    assertDestinationAllowed({ kind: 'number', ...parsed }, options.fraud, '/to');
  } catch (err) {
    if (err instanceof CrosslineError) throw new ChannelSendError(`SMS to ${to.address} refused: ${err.code} (${err.message})`, false, undefined, { cause: err });
    throw err;
  }
  return { e164: parsed.e164, digits: parsed.e164.slice(1) };
}

export class SmsChannel implements Channel {
  readonly kind = 'sms' as const;
  readonly log: SmsLog;
  private readonly link: SmppLink;
  private readonly limiter: RateLimiterQueue;
  private readonly metrics: SmsMetrics | undefined;
  private readonly logger: Logger;
  private readonly maxParts: number;
  private readonly concat: ConcatMode;
  private readonly bindWaitMs: number;
  private readonly throttleRetries: number;
  private readonly throttleBackoffMs: number;
  private listener: SmsListener | undefined;
  private receiptListeners: Array<(receipt: Receipt, message: { id: string; seq: number } | undefined) => void> = [];
  /** No submit before this time (an SMSC that said "throttled" gets a pause from everyone in this process). */
  private pausedUntil = 0;

  constructor(private readonly options: SmsChannelOptions) {
    this.logger = options.logger;
    this.maxParts = Math.max(1, Math.min(255, options.maxParts ?? 6));
    this.concat = options.concat ?? 'udh';
    this.bindWaitMs = options.bindWaitMs ?? 5000;
    this.throttleRetries = options.throttleRetries ?? 3;
    this.throttleBackoffMs = options.throttleBackoffMs ?? 1000;
    this.metrics = smsMetrics(options.metrics);
    this.log = new SmsLog(options.redis, options.keyBase);
    const rate = new RateLimiterRedis({
      storeClient: options.redis,
      keyPrefix: `${options.keyBase}:rate:${options.link.systemId}`,
      points: Math.max(1, options.ratePerSecond ?? 10),
      duration: 1,
      useRedisPackage: false,
    });
    this.limiter = new RateLimiterQueue(rate, { maxQueueSize: 100_000 });
    this.link = new SmppLink({ ...options.link, logger: options.logger });
    this.link.on('bound', () => this.metrics?.bound.set(1));
    this.link.on('lost', () => this.metrics?.bound.set(0));
    this.link.onDeliver((pdu) => this.onDeliver(pdu));
  }

  /** Binds; resolves once bound or after `waitMs` (the bind is retried in the background). */
  start(waitMs?: number): Promise<void> {
    return this.link.start(waitMs);
  }

  status(): LinkStatus {
    return this.link.status();
  }

  close(): Promise<void> {
    this.metrics?.bound.set(0);
    return this.link.close();
  }

  /** The one listener of MO messages (the SMS intake); returns the function that detaches it. */
  onMessage(listener: SmsListener): () => void {
    this.listener = listener;
    return () => {
      if (this.listener === listener) this.listener = undefined;
    };
  }

  /** Told of every delivery receipt, with the message it matched (undefined: no sent part has that id). */
  onReceipt(listener: (receipt: Receipt, message: { id: string; seq: number } | undefined) => void): () => void {
    this.receiptListeners.push(listener);
    return () => {
      this.receiptListeners = this.receiptListeners.filter((l) => l !== listener);
    };
  }

  async send(message: OutboundMessage): Promise<SentMessage> {
    const to = destination(message.to, this.options);
    const id = messageToken(message.dedupKey);
    const encoded = encodeSms(message.text, this.maxParts);
    const total = encoded.parts.length;
    const log = this.logger.child({ smsId: id, to: to.e164, parts: total, encoding: encoded.encoding });
    if (encoded.droppedChars > 0) log.warn({ droppedChars: encoded.droppedChars, maxParts: this.maxParts }, 'SMS text longer than the part limit; sent cut');
    const done = await this.log.begin({
      id,
      to: to.e164,
      purpose: message.dedupKey.split(':')[0] ?? 'message',
      encoding: encoded.encoding,
      partCount: total,
      createdAt: new Date().toISOString(),
    });
    // One reference per message, the same on every retry, so the phone joins the parts of each attempt.
    const ref = Buffer.from(id, 'base64url').readUInt16BE(0);
    try {
      for (let seq = 1; seq <= total; seq++) {
        if (done.has(seq)) continue;
        const octets = encoded.parts[seq - 1]!;
        const params: Record<string, unknown> = {
          source_addr_ton: this.options.source.ton,
          source_addr_npi: this.options.source.npi,
          source_addr: this.options.source.address.replace(/^\+/, ''),
          dest_addr_ton: TON_INTERNATIONAL,
          dest_addr_npi: 1,
          destination_addr: to.digits,
          registered_delivery: smpp.consts.REGISTERED_DELIVERY.FINAL ?? 1,
          data_coding: encoded.dataCoding,
          esm_class: 0,
          short_message: octets,
        };
        if (total > 1 && this.concat === 'udh') {
          params.esm_class = ESM_UDHI;
          params.short_message = Buffer.concat([concatUdh(ref & 0xff, total, seq), octets]);
        } else if (total > 1) {
          params.sar_msg_ref_num = ref;
          params.sar_total_segments = total;
          params.sar_segment_seqnum = seq;
        }
        const smscId = await this.submit(params, log.child({ seq }));
        await this.log.partSubmitted(id, seq, smscId, new Date());
      }
    } catch (err) {
      if (err instanceof ChannelSendError && !err.retryable) await this.log.failed(id, err.message).catch(() => undefined);
      throw err;
    }
    log.info('SMS submitted');
    return { channel: 'sms', messageId: id };
  }

  /** Submits one part; returns the SMSC's message id. Throttling is retried here a few times. */
  private async submit(params: Record<string, unknown>, log: Logger): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const pause = this.pausedUntil - Date.now();
      if (pause > 0) await sleep(pause);
      try {
        await this.link.waitBound(this.bindWaitMs);
      } catch (err) {
        this.metrics?.submitted.inc({ outcome: 'link-error' });
        throw new ChannelSendError((err as Error).message, true, this.bindWaitMs, { cause: err });
      }
      await this.limiter.removeTokens(1);
      let response: PDU;
      try {
        response = await this.link.request('submit_sm', params);
      } catch (err) {
        this.metrics?.submitted.inc({ outcome: 'link-error' });
        if (err instanceof LinkError && err.maybeDelivered) log.warn({ reason: err.message }, 'submit_sm unanswered: this part may reach the phone twice when retried');
        throw new ChannelSendError(`SMPP: ${(err as Error).message}`, true, undefined, { cause: err });
      }
      const status = response.command_status;
      if (status === 0) {
        this.metrics?.submitted.inc({ outcome: 'accepted' });
        const smscId = typeof response.message_id === 'string' ? response.message_id : '';
        return smscId === '' ? `none-${randomUUID()}` : smscId;
      }
      const name = errorName(status);
      if (THROTTLED.has(status)) {
        this.metrics?.submitted.inc({ outcome: 'throttled' });
        const delay = this.throttleBackoffMs * 2 ** attempt;
        this.pausedUntil = Math.max(this.pausedUntil, Date.now() + delay);
        if (attempt < this.throttleRetries) {
          log.info({ status: name, retryInMs: delay }, 'SMSC throttled submit_sm; pausing');
          continue;
        }
        throw new ChannelSendError(`SMSC answered ${name}`, true, delay * 2);
      }
      if (TRANSIENT.has(status)) {
        this.metrics?.submitted.inc({ outcome: 'transient' });
        throw new ChannelSendError(`SMSC answered ${name}`, true);
      }
      this.metrics?.submitted.inc({ outcome: 'rejected' });
      throw new ChannelSendError(`SMSC rejected the message: ${name}`, false);
    }
  }

  private async onDeliver(pdu: PDU): Promise<number> {
    const esm = typeof pdu.esm_class === 'number' ? pdu.esm_class : 0;
    const type = esm & ESM_TYPE_MASK;
    const field = (pdu.message_payload ?? pdu.short_message) as MessageField | Buffer | undefined;
    const text = field === undefined ? '' : Buffer.isBuffer(field) ? field.toString('latin1') : typeof field.message === 'string' ? field.message : field.message.toString('latin1');
    if (type === ESM_RECEIPT || type === ESM_INTERMEDIATE) {
      await this.onReceiptPdu(pdu, text);
      return 0;
    }
    if (type !== 0) return 0; // SME acknowledgements: nothing to do
    return this.onMo(pdu, field, text);
  }

  private async onReceiptPdu(pdu: PDU, text: string): Promise<void> {
    const receipt = parseReceipt({
      text,
      ...(typeof pdu.receipted_message_id === 'string' ? { receiptedMessageId: pdu.receipted_message_id } : {}),
      ...(typeof pdu.message_state === 'number' ? { messageState: pdu.message_state } : {}),
      ...(Buffer.isBuffer(pdu.network_error_code) ? { networkErrorCode: pdu.network_error_code } : {}),
    });
    if (receipt === undefined) {
      this.logger.warn({ text: text.slice(0, 200) }, 'SMS delivery receipt not readable; ignored');
      this.metrics?.receipts.inc({ state: 'unmatched' });
      return;
    }
    const matched = await this.log.receipt(receipt);
    this.metrics?.receipts.inc({ state: matched ? receipt.state : 'unmatched' });
    this.logger[receipt.state === 'undeliverable' ? 'warn' : 'info'](
      { smscMessageId: receipt.messageId, stat: receipt.stat, ...(receipt.error ? { error: receipt.error } : {}), ...(matched ? { smsId: matched.id, seq: matched.seq } : { matched: false }) },
      'SMS delivery receipt',
    );
    for (const listener of this.receiptListeners) listener(receipt, matched);
  }

  private async onMo(pdu: PDU, field: MessageField | Buffer | undefined, text: string): Promise<number> {
    const source = String(pdu.source_addr ?? '');
    const from = this.senderE164(source, Number(pdu.source_addr_ton ?? 0));
    if (from === undefined) {
      this.logger.info({ source: source.slice(0, 32), ton: pdu.source_addr_ton }, 'MO SMS from an address that is not a phone number; dropped');
      return 0;
    }
    if (field !== undefined && !Buffer.isBuffer(field) && typeof field.message !== 'string') {
      this.logger.info({ from, dataCoding: pdu.data_coding }, 'MO SMS that is not text (binary data coding); dropped');
      return 0;
    }
    const concat = this.concatInfo(pdu, field);
    let body = text;
    if (concat !== undefined && (concat.total > MAX_MO_PARTS || concat.seq < 1 || concat.seq > concat.total)) {
      this.logger.info({ from, total: concat.total, seq: concat.seq }, 'MO SMS part of an over-long or malformed concatenated message; dropped');
      return 0;
    }
    if (concat !== undefined && concat.total > 1) {
      const key = `${this.options.keyBase}:mo:${from}:${concat.ref}:${concat.total}`;
      const all = (await JOIN_PART.run(this.options.redis, [key], [String(concat.seq), text, String(concat.total), String(REASSEMBLY_TTL_SEC)])) as string[] | null;
      if (all === null) return 0; // kept; the last part hands the whole message on
      const parts = new Map<number, string>();
      for (let i = 0; i + 1 < all.length; i += 2) parts.set(Number(all[i]), all[i + 1] ?? '');
      body = [...parts.entries()].sort(([a], [b]) => a - b).map(([, t]) => t).join('');
    }
    const listener = this.listener;
    if (listener === undefined) return E.ESME_RX_T_APPN ?? 0x64;
    const message: InboundMessage = {
      id: `sms-${randomUUID()}`,
      from: { channel: 'sms', address: from },
      to: { channel: 'sms', address: this.options.source.address },
      text: body,
      receivedAt: new Date(),
    };
    await listener(message);
    return 0;
  }

  private concatInfo(pdu: PDU, field: MessageField | Buffer | undefined): { ref: number; total: number; seq: number } | undefined {
    if (typeof pdu.sar_total_segments === 'number' && typeof pdu.sar_segment_seqnum === 'number') {
      return { ref: Number(pdu.sar_msg_ref_num ?? 0), total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum };
    }
    if (field === undefined || Buffer.isBuffer(field)) return undefined;
    for (const ie of field.udh ?? []) {
      if (ie[0] === 0x00 && ie[1] === 3 && ie.length >= 5) return { ref: ie[2]!, total: ie[3]!, seq: ie[4]! };
      if (ie[0] === 0x08 && ie[1] === 4 && ie.length >= 6) return { ref: ie.readUInt16BE(2), total: ie[4]!, seq: ie[5]! };
    }
    return undefined;
  }

  /** The sender's E.164, or undefined when the source is not a phone number (alphanumeric, invalid). */
  private senderE164(source: string, ton: number): string | undefined {
    if (ton === TON_ALPHANUMERIC || !/^\+?[0-9]{3,20}$/.test(source)) return undefined;
    const digits = source.replace(/^\+/, '');
    const readings = ton === TON_INTERNATIONAL || source.startsWith('+') ? [`+${digits}`] : [digits, `+${digits}`];
    for (const reading of readings) {
      try {
        return parseNumber(reading, this.options.defaultRegion, '/from').e164;
      } catch {
        // the next reading
      }
    }
    return undefined;
  }
}
