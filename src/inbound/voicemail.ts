/**
 * Voicemails and faxes: the switch writes the file into the media directory (same host, or a
 * shared mount), Crossline keeps the record in Redis, serves the file through a signed, expiring
 * link, and delivers each message exactly once: an IM with the link while the user is reachable,
 * else an e-mail with the file attached. A fax's TIFF becomes a PDF with libtiff's `tiff2pdf`
 * (Debian `libtiff-tools`) before it is sent.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { execFile } from 'node:child_process';
import { stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { MessageSender } from '../channels/types.js';
import { CrosslineError } from '../errors.js';
import type { RedisClient } from '../store/index.js';
import type { ImPresence, Voicemail } from './types.js';

const run = promisify(execFile);
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Signs and checks media links: HMAC-SHA256 over `<id>.<expires>`. */
export class MediaLinks {
  constructor(
    private readonly secret: string,
    /** Public base URL of the API, `https://crossline.example.com`. */
    private readonly baseUrl: string,
    private readonly ttlSeconds: number,
  ) {}

  private sign(id: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${id}.${expires}`).digest('base64url');
  }

  url(id: string, now = Date.now()): string {
    const expires = Math.floor(now / 1000) + this.ttlSeconds;
    return `${this.baseUrl.replace(/\/$/, '')}/media/voicemails/${id}?expires=${expires}&sig=${this.sign(id, expires)}`;
  }

  /** Throws MEDIA_LINK_INVALID unless the signature holds and the link has not expired. */
  check(id: string, expires: string | undefined, sig: string | undefined, now = Date.now()): void {
    const at = Number(expires);
    if (!ID.test(id) || !Number.isInteger(at) || sig === undefined || at * 1000 < now) throw new CrosslineError('MEDIA_LINK_INVALID');
    const expected = Buffer.from(this.sign(id, at));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new CrosslineError('MEDIA_LINK_INVALID');
  }
}

export class VoicemailStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly base: string,
  ) {}

  private key(id: string): string {
    return `${this.base}:vm:${id}`;
  }

  private userKey(owner: string, userId: string): string {
    return `${this.base}:vms:${owner}:${userId}`;
  }

  async save(vm: Voicemail): Promise<void> {
    await this.redis.multi()
      .set(this.key(vm.id), JSON.stringify(vm))
      .zadd(this.userKey(vm.owner, vm.userId), String(Date.parse(vm.receivedAt)), vm.id)
      .exec();
  }

  async get(id: string): Promise<Voicemail | undefined> {
    if (!ID.test(id)) return undefined;
    const text = await this.redis.get(this.key(id));
    return text === null ? undefined : (JSON.parse(text) as Voicemail);
  }

  async getFor(owner: string, userId: string, id: string): Promise<Voicemail> {
    const vm = await this.get(id);
    if (vm === undefined || vm.owner !== owner || vm.userId !== userId) throw new CrosslineError('VOICEMAIL_NOT_FOUND');
    return vm;
  }

  /** Newest first. */
  async list(owner: string, userId: string, limit = 100): Promise<Voicemail[]> {
    const ids = await this.redis.zrevrange(this.userKey(owner, userId), 0, limit - 1);
    const items = await Promise.all(ids.map((id) => this.get(id)));
    return items.filter((v): v is Voicemail => v !== undefined);
  }

  async update(vm: Voicemail): Promise<void> {
    await this.redis.set(this.key(vm.id), JSON.stringify(vm), 'XX');
  }

  /** Claims the one delivery of `id`: true for the first caller only. */
  async claimDelivery(id: string): Promise<boolean> {
    return (await this.redis.set(`${this.key(id)}:delivery`, '1', 'NX')) === 'OK';
  }

  async remove(vm: Voicemail): Promise<void> {
    await this.redis.multi().del(this.key(vm.id)).zrem(this.userKey(vm.owner, vm.userId), vm.id).exec();
  }
}

export interface DeliveryTarget {
  alias: string;
  imAddress?: string;
  email?: string;
  timeZone: string;
}

export interface VoicemailDeps {
  store: VoicemailStore;
  links: MediaLinks;
  /** Where the switch writes and Crossline serves the files. */
  dir: string;
  sender: () => MessageSender | undefined;
  presence: () => ImPresence | undefined;
  logger: Logger;
}

const describeCaller = (vm: Voicemail): string => (vm.callerName !== undefined && vm.callerName !== vm.callerNumber ? `${vm.callerName} (${vm.callerNumber})` : vm.callerNumber);

/** Keeps and delivers voicemails and faxes. */
export class Voicemails {
  constructor(private readonly deps: VoicemailDeps) {}

  get dir(): string {
    return this.deps.dir;
  }

  /** A new message's id and the path the switch is to write it to. */
  allocate(kind: 'voice' | 'fax'): { id: string; path: string } {
    const id = randomUUID();
    return { id, path: join(this.deps.dir, `${id}.${kind === 'voice' ? 'wav' : 'tif'}`) };
  }

  /**
   * Keeps what the switch wrote at `path` (a recording shorter than `minMs` is not a message and is
   * removed) and delivers it once. Returns the record, or undefined when nothing was kept.
   */
  async keep(input: Omit<Voicemail, 'file' | 'contentType' | 'sizeBytes' | 'heard' | 'delivery'> & { path: string; minMs?: number }, target: DeliveryTarget): Promise<Voicemail | undefined> {
    const { path, minMs = 700, ...fields } = input;
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      this.deps.logger.warn({ voicemailId: input.id }, 'the switch wrote no file for the message');
      return undefined;
    }
    let durationMs = input.durationMs;
    if (input.kind === 'voice') {
      // The WAV's own length beats the switch's report, which a hangup mid-recording leaves unset.
      durationMs = Math.max(durationMs, Math.round(((size - 44) / 16000) * 1000));
      if (durationMs < minMs) {
        await unlink(path).catch(() => undefined);
        return undefined;
      }
    }
    let file = path.slice(this.deps.dir.length + 1);
    let contentType = input.kind === 'voice' ? 'audio/wav' : 'image/tiff';
    if (input.kind === 'fax') {
      const pdf = path.replace(/\.tiff?$/, '.pdf');
      await run('tiff2pdf', ['-o', pdf, path], { timeout: 60_000 });
      size = (await stat(pdf)).size;
      file = pdf.slice(this.deps.dir.length + 1);
      contentType = 'application/pdf';
    }
    const vm: Voicemail = { ...fields, durationMs, file, contentType, sizeBytes: size, heard: false };
    await this.deps.store.save(vm);
    await this.deliver(vm, target);
    return vm;
  }

  /** Sends the message once: IM with a link when reachable, else e-mail with the file. */
  async deliver(vm: Voicemail, target: DeliveryTarget): Promise<void> {
    const sender = this.deps.sender();
    if (sender === undefined) {
      this.deps.logger.error({ voicemailId: vm.id }, 'no message channel is running: the voicemail is kept but not delivered');
      return;
    }
    if (!(await this.deps.store.claimDelivery(vm.id))) return;
    const online = target.imAddress !== undefined && this.deps.presence()?.isReachable(target.imAddress) === true;
    const what = vm.kind === 'voice' ? `Voicemail from ${describeCaller(vm)}, ${Math.max(1, Math.round(vm.durationMs / 1000))} s` : `Fax from ${describeCaller(vm)}, ${vm.pages ?? 0} page(s)`;
    const when = new Date(vm.receivedAt).toLocaleString('en-GB', { timeZone: target.timeZone, dateStyle: 'medium', timeStyle: 'short' });
    if (online && target.imAddress !== undefined) {
      await sender.enqueue({
        to: { channel: 'xmpp', address: target.imAddress },
        text: `${what} at ${when}: ${this.deps.links.url(vm.id)}`,
        dedupKey: `voicemail:${vm.id}`,
      });
      vm.delivery = { channel: 'xmpp', at: new Date().toISOString() };
    } else if (target.email !== undefined) {
      const extension = vm.file.slice(vm.file.lastIndexOf('.'));
      await sender.enqueue({
        to: { channel: 'email', address: target.email },
        subject: what,
        text: `${what}, received ${when} on ${vm.did}. The ${vm.kind === 'voice' ? 'recording' : 'fax'} is attached.`,
        attachments: [{ filename: `${vm.kind === 'voice' ? 'voicemail' : 'fax'}-${vm.id}${extension}`, contentType: vm.contentType, path: join(this.deps.dir, vm.file) }],
        dedupKey: `voicemail:${vm.id}`,
      });
      vm.delivery = { channel: 'email', at: new Date().toISOString() };
    } else {
      this.deps.logger.warn({ voicemailId: vm.id }, 'the user has no reachable IM address and no e-mail: the voicemail waits in the list');
      return;
    }
    await this.deps.store.update(vm);
  }

  /** Removes a file the switch wrote that is not a message. */
  async discard(path: string): Promise<void> {
    if (path.startsWith(`${this.deps.dir}/`)) await unlink(path).catch(() => undefined);
  }

  async remove(vm: Voicemail): Promise<void> {
    await this.deps.store.remove(vm);
    await unlink(join(this.deps.dir, vm.file)).catch(() => undefined);
    if (vm.kind === 'fax') await unlink(join(this.deps.dir, vm.file.replace(/\.pdf$/, '.tif'))).catch(() => undefined);
  }
}
