import { EventEmitter } from 'node:events';
import { client as xmppClient, jid as parseJid, xml, type Client, type Element } from '@xmpp/client';
import type { Logger } from 'pino';
import { ChannelSendError } from '../errors.js';
import { messageToken } from '../sender.js';
import type { Channel, ChannelAddress, FormSubmission, OutboundForm, OutboundMessage, SenderDirectory, SentMessage } from '../types.js';

/**
 * The XMPP channel: one bot account (`XMPP_JID`) on a server, kept connected with backoff. It
 * accepts presence subscriptions from verified users only (asking the directory), subscribes back
 * so it sees their presence, tracks presence per full JID (bare JID + resource), answers XEP-0184
 * receipt requests, hands chat messages to its listeners and sends chat messages.
 *
 * Public surface for other capabilities (IM call offers, alerts): {@link XmppChannel.presence},
 * {@link XmppChannel.isAvailable}, {@link XmppChannel.onPresence}, {@link XmppChannel.onChat},
 * {@link XmppChannel.send} and {@link XmppChannel.sendStanza}.
 */

const NS_RECEIPTS = 'urn:xmpp:receipts';
const NS_DATA = 'jabber:x:data';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
/** How long a disco#info of a user's resource may take before it counts as "no forms". */
const DISCO_TIMEOUT_MS = 2000;

/** An XEP-0004 form element for `form`: FORM_TYPE and `ref` hidden, `answer` a required list-single. */
export function dataForm(form: OutboundForm): Element {
  const hidden = (name: string, value: string): Element => xml('field', { var: name, type: 'hidden' }, xml('value', {}, value));
  return xml(
    'x', { xmlns: NS_DATA, type: 'form' },
    xml('title', {}, form.title),
    ...(form.instructions !== undefined ? [xml('instructions', {}, form.instructions)] : []),
    hidden('FORM_TYPE', form.type),
    hidden('ref', form.ref),
    xml('field', { var: 'answer', type: 'list-single', label: form.label }, xml('required'), ...form.options.map((o) => xml('option', { label: o.label }, xml('value', {}, o.value)))),
  );
}

/** The fields of a submitted data form (first value of each), or undefined when `x` is not a submission. */
export function submittedFields(x: Element): { type: string; fields: Record<string, string> } | undefined {
  if (x.attrs.type !== 'submit') return undefined;
  const fields: Record<string, string> = {};
  let type = '';
  for (const field of x.getChildren('field').slice(0, 32)) {
    const name = field.attrs.var;
    const value = (field.getChildText('value') ?? '').slice(0, 256);
    if (name === undefined) continue;
    if (name === 'FORM_TYPE') type = value;
    else fields[name.slice(0, 64)] = value;
  }
  return { type, fields };
}

/** `show` of an available resource (RFC 6121 §4.7.2.1); `online` when the presence has no `show`. */
export type PresenceShow = 'online' | 'chat' | 'away' | 'xa' | 'dnd';

/** What is known of one resource of a contact. */
export interface ResourcePresence {
  resource: string;
  show: PresenceShow;
  status?: string;
  priority: number;
  /** When this presence was received (ISO 8601). */
  since: string;
}

export interface PresenceChange {
  /** Bare JID. */
  jid: string;
  resource: string;
  /** undefined when the resource went offline. */
  presence: ResourcePresence | undefined;
}

/** A chat message received from a JID (no authentication beyond the server's: the directory decides). */
export interface ChatMessage {
  /** The stanza id, or one made up when the client sent none. */
  id: string;
  from: ChannelAddress;
  to: ChannelAddress;
  body: string;
  /** `<thread>`, when the client keeps one. */
  thread?: string;
  /** Length of the body as received, before any cut (flood and size checks). */
  receivedLength: number;
  receivedAt: Date;
}

export interface XmppChannelOptions {
  /** `xmpp://host:5222` (STARTTLS when offered) or `xmpps://host:5223`. */
  service: string;
  /** The bot's bare JID, `crossline@im.example.com`. */
  jid: string;
  password: string;
  /** Resource of the bot's session. @defaultValue 'crossline' */
  resource?: string;
  /** Who may subscribe to the bot. */
  senders: SenderDirectory;
  /** First reconnect delay, doubled per failure up to `maxReconnectMs`. @defaultValue 1000 */
  reconnectMs?: number;
  /** @defaultValue 60000 */
  maxReconnectMs?: number;
  /** Bodies longer than this are cut before listeners see them (`receivedLength` tells). @defaultValue 4096 */
  maxBodyChars?: number;
  logger: Logger;
}

export interface XmppStatus {
  connected: boolean;
  /** The bot's full JID while connected. */
  jid?: string;
  /** Consecutive failed connection attempts. */
  failures: number;
}

/** Bare JID, lower-cased (RFC 7622 case-folds local and domain parts). */
export function bareJid(address: string): string {
  const at = parseJid(address);
  return `${at.local ? `${at.local.toLowerCase()}@` : ''}${at.domain.toLowerCase()}`;
}

export class XmppChannel implements Channel {
  readonly kind = 'xmpp' as const;
  private readonly client: Client;
  private readonly events = new EventEmitter();
  private readonly presences = new Map<string, Map<string, ResourcePresence>>();
  /** disco#info features per full JID, asked once per presence session of the resource. */
  private readonly features = new Map<string, Promise<Set<string>>>();
  private readonly reconnectMs: number;
  private readonly maxReconnectMs: number;
  private readonly maxBodyChars: number;
  private readonly logger: Logger;
  private readonly botJid: string;
  private failures = 0;
  private online = false;
  private stopped = false;
  private startTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: XmppChannelOptions) {
    this.logger = options.logger;
    this.reconnectMs = options.reconnectMs ?? 1000;
    this.maxReconnectMs = options.maxReconnectMs ?? 60_000;
    this.maxBodyChars = options.maxBodyChars ?? 4096;
    this.botJid = bareJid(options.jid);
    const at = parseJid(options.jid);
    this.client = xmppClient({
      service: options.service,
      domain: at.domain,
      username: at.local,
      password: options.password,
      resource: options.resource ?? 'crossline',
    });
    this.client.reconnect.delay = this.reconnectMs;
    this.events.setMaxListeners(0);
    this.client.on('error', (err: Error) => this.logger.warn({ err: { message: err.message, name: err.name } }, 'XMPP connection error'));
    this.client.on('offline', () => {
      this.online = false;
      this.forgetPresences();
    });
    this.client.on('disconnect', () => {
      const wasOnline = this.online;
      this.online = false;
      this.failures += 1;
      // The reconnect module has already read this failure's delay; this sets the next one's.
      this.client.reconnect.delay = this.nextDelay();
      if (wasOnline || this.failures === 1) this.logger.warn({ failures: this.failures }, 'XMPP connection lost; reconnecting');
    });
    // A resumed session (XEP-0198) keeps the server's presence state: what is known stays true.
    this.client.streamManagement?.on('resumed', () => {
      this.online = true;
      this.failures = 0;
      this.client.reconnect.delay = this.reconnectMs;
      this.logger.info('XMPP session resumed');
      this.events.emit('online');
    });
    this.client.on('online', (address: { toString(): string }) => {
      // A new session: the server sends every subscribed contact's presence again.
      this.forgetPresences();
      this.online = true;
      this.failures = 0;
      this.client.reconnect.delay = this.reconnectMs;
      this.logger.info({ jid: address.toString() }, 'XMPP connected');
      // Initial presence: the server then sends the presence of everyone the bot is subscribed to.
      this.client.send(xml('presence', {}, xml('priority', {}, '1'))).catch(() => undefined);
      this.events.emit('online');
    });
    // XEP-0030: what the bot understands, for clients that ask before showing forms or receipts.
    this.client.iqCallee.get(NS_DISCO_INFO, 'query', () =>
      xml('query', { xmlns: NS_DISCO_INFO }, xml('identity', { category: 'client', type: 'bot', name: 'Crossline' }), ...[NS_DISCO_INFO, NS_DATA, NS_RECEIPTS].map((v) => xml('feature', { var: v }))),
    );
    this.client.on('stanza', (stanza: Element) => {
      this.onStanza(stanza).catch((err: unknown) => this.logger.warn({ err }, 'XMPP stanza not handled'));
    });
  }

  /**
   * Connects; resolves once online, or after `waitMs` with the connection still being retried in
   * the background (a server that is down at boot does not stop Crossline).
   */
  async start(waitMs = 10_000): Promise<void> {
    const online = new Promise<void>((resolve) => {
      if (this.online) resolve();
      else this.events.once('online', resolve);
    });
    this.connect();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([online, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  /** The first connection; until it succeeds the reconnect module is not in play, so retry here. */
  private connect(): void {
    if (this.stopped) return;
    this.client.start().catch((err: unknown) => {
      if (this.stopped || this.online) return;
      this.failures += 1;
      const delay = this.nextDelay();
      this.logger.warn({ err: { message: (err as Error).message }, failures: this.failures, retryInMs: delay }, 'XMPP connection failed; retrying');
      this.startTimer = setTimeout(() => {
        // A failed start leaves the client offline; `start` again only from there.
        if (this.client.status === 'offline') this.connect();
      }, delay);
    });
  }

  private nextDelay(): number {
    const exponential = Math.min(this.maxReconnectMs, this.reconnectMs * 2 ** Math.max(0, this.failures - 1));
    return Math.round(exponential * (1 - 0.2 * Math.random()));
  }

  /** Disconnects (sends unavailable presence first); safe to call twice. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.startTimer);
    this.client.reconnect.stop();
    try {
      if (this.online) await this.client.send(xml('presence', { type: 'unavailable' }));
    } catch {
      // going away anyway
    }
    await this.client.stop().catch(() => undefined);
    this.online = false;
    this.events.removeAllListeners();
  }

  status(): XmppStatus {
    return { connected: this.online, failures: this.failures, ...(this.online && this.client.jid ? { jid: this.client.jid.toString() } : {}) };
  }

  /** The available resources of a contact (bare JID), most preferred first (priority, then most recent). */
  presence(jid: string): ResourcePresence[] {
    if (!this.online) return [];
    const resources = this.presences.get(bareJid(jid));
    if (!resources) return [];
    return [...resources.values()].sort((a, b) => b.priority - a.priority || b.since.localeCompare(a.since));
  }

  /** Whether any resource of `jid` is available (and, with `reachable`, not dnd/xa). */
  isAvailable(jid: string, options: { reachable?: boolean } = {}): boolean {
    return this.presence(jid).some((p) => p.priority >= 0 && (!options.reachable || (p.show !== 'dnd' && p.show !== 'xa')));
  }

  /** Called on every presence change of a contact; returns the unsubscribe function. */
  onPresence(listener: (change: PresenceChange) => void): () => void {
    this.events.on('presence', listener);
    return () => this.events.off('presence', listener);
  }

  /** The features (XEP-0030 disco#info) of one resource of a contact; empty when it does not answer in time. */
  async discoFeatures(jid: string, resource: string): Promise<Set<string>> {
    const full = `${bareJid(jid)}/${resource}`;
    let known = this.features.get(full);
    if (known === undefined) {
      known = this.client.iqCaller
        .request(xml('iq', { type: 'get', to: full }, xml('query', { xmlns: NS_DISCO_INFO })), DISCO_TIMEOUT_MS)
        .then((result) => new Set(result.getChild('query', NS_DISCO_INFO)?.getChildren('feature').map((f) => f.attrs.var ?? '').filter((v) => v !== '') ?? []))
        .catch((err: unknown) => {
          this.logger.debug({ jid: bareJid(jid), resource, err: { message: (err as Error).message } }, 'disco#info not answered');
          return new Set<string>();
        });
      this.features.set(full, known);
    }
    return known;
  }

  /**
   * The resource a question with buttons should go to: the most preferred reachable resource of
   * `jid`, when its client announces XEP-0004 data forms (disco#info); undefined otherwise.
   */
  async formResource(jid: string): Promise<string | undefined> {
    const best = this.presence(jid).find((p) => p.priority >= 0 && p.show !== 'dnd' && p.show !== 'xa');
    if (best === undefined) return undefined;
    return (await this.discoFeatures(jid, best.resource)).has(NS_DATA) ? best.resource : undefined;
  }

  /** Called for every submitted data form (XEP-0004) a contact sends; returns the unsubscribe function. */
  onForm(listener: (submission: FormSubmission) => void): () => void {
    this.events.on('form', listener);
    return () => this.events.off('form', listener);
  }

  /** Called for every chat message with a body; returns the unsubscribe function. */
  onChat(listener: (message: ChatMessage) => void): () => void {
    this.events.on('chat', listener);
    return () => this.events.off('chat', listener);
  }

  /** Sends a chat message to `to` (its resource when given, else the bare JID: the server routes). */
  async send(message: OutboundMessage): Promise<SentMessage> {
    const id = messageToken(message.dedupKey);
    const to = message.to.resource ? `${message.to.address}/${message.to.resource}` : message.to.address;
    const children: Element[] = [xml('body', {}, message.text)];
    if (message.thread?.messageId) children.push(xml('thread', {}, message.thread.messageId));
    if (message.form) children.push(dataForm(message.form));
    await this.sendStanza(xml('message', { to, type: 'chat', id }, ...children));
    return { channel: 'xmpp', messageId: id };
  }

  /** Sends any stanza (an IM call offer, a chat state); refuses while offline (retryable). */
  async sendStanza(stanza: Element): Promise<void> {
    if (!this.online) throw new ChannelSendError('the XMPP connection is down', true, this.reconnectMs);
    try {
      await this.client.send(stanza);
    } catch (err) {
      throw new ChannelSendError(`XMPP send failed: ${(err as Error).message}`, true, undefined, { cause: err });
    }
  }

  private forgetPresences(): void {
    for (const [jid, resources] of this.presences) {
      for (const resource of resources.keys()) this.events.emit('presence', { jid, resource, presence: undefined } satisfies PresenceChange);
    }
    this.presences.clear();
    this.features.clear();
  }

  private async onStanza(stanza: Element): Promise<void> {
    const from = stanza.attrs.from;
    if (from === undefined) return;
    if (stanza.is('presence')) return this.onPresenceStanza(stanza, from);
    if (stanza.is('message')) return this.onMessageStanza(stanza, from);
  }

  private async onPresenceStanza(stanza: Element, from: string): Promise<void> {
    const bare = bareJid(from);
    if (bare === this.botJid) return;
    const type = stanza.attrs.type;
    const address: ChannelAddress = { channel: 'xmpp', address: bare };
    if (type === 'subscribe') {
      const standing = await this.options.senders.standing(address);
      if (standing === 'verified') {
        await this.client.send(xml('presence', { to: bare, type: 'subscribed' }));
        await this.client.send(xml('presence', { to: bare, type: 'subscribe' }));
        this.logger.info({ jid: bare }, 'XMPP subscription accepted (verified user)');
      } else {
        await this.client.send(xml('presence', { to: bare, type: 'unsubscribed' }));
        this.logger.info({ jid: bare, standing }, 'XMPP subscription refused (not a verified user)');
      }
      return;
    }
    if (type === 'unsubscribe') {
      await this.client.send(xml('presence', { to: bare, type: 'unsubscribed' }));
      return;
    }
    if (type !== undefined && type !== 'unavailable') return;
    const resource = parseJid(from).resource;
    const resources = this.presences.get(bare) ?? new Map<string, ResourcePresence>();
    let presence: ResourcePresence | undefined;
    if (type === 'unavailable') {
      resources.delete(resource);
      this.features.delete(`${bare}/${resource}`);
    } else {
      const showText = stanza.getChildText('show');
      const show: PresenceShow = showText === 'chat' || showText === 'away' || showText === 'xa' || showText === 'dnd' ? showText : 'online';
      const priority = Number.parseInt(stanza.getChildText('priority') ?? '0', 10);
      const status = stanza.getChildText('status');
      presence = {
        resource,
        show,
        priority: Number.isFinite(priority) ? Math.max(-128, Math.min(127, priority)) : 0,
        since: new Date().toISOString(),
        ...(status ? { status: status.slice(0, 200) } : {}),
      };
      resources.set(resource, presence);
    }
    if (resources.size > 0) this.presences.set(bare, resources);
    else this.presences.delete(bare);
    this.events.emit('presence', { jid: bare, resource, presence } satisfies PresenceChange);
  }

  private async onMessageStanza(stanza: Element, from: string): Promise<void> {
    const type = stanza.attrs.type ?? 'normal';
    if (type === 'error') {
      this.logger.info({ from: bareJid(from), error: stanza.getChild('error')?.toString().slice(0, 300) }, 'XMPP message bounced');
      return;
    }
    if (type !== 'chat' && type !== 'normal') return;
    const body = stanza.getChildText('body');
    const id = stanza.attrs.id;
    // XEP-0184: acknowledge receipt when asked, to the full JID, with the message's id.
    if (id !== undefined && stanza.getChild('request', NS_RECEIPTS) && body !== null) {
      await this.client.send(xml('message', { to: from, id: `r-${id}`.slice(0, 128) }, xml('received', { xmlns: NS_RECEIPTS, id }))).catch(() => undefined);
    }
    if (bareJid(from) === this.botJid) return;
    const at = parseJid(from);
    const x = stanza.getChild('x', NS_DATA);
    const submitted = x === undefined ? undefined : submittedFields(x);
    if (submitted !== undefined) {
      const submission: FormSubmission = {
        id: id ?? `${bareJid(from)}:${Date.now()}:${Math.random().toString(36).slice(2, 10)}`,
        from: { channel: 'xmpp', address: bareJid(from), ...(at.resource ? { resource: at.resource } : {}) },
        ...submitted,
      };
      this.events.emit('form', submission);
      return;
    }
    if (body === null) return;
    const thread = stanza.getChildText('thread');
    const message: ChatMessage = {
      id: id ?? `${bareJid(from)}:${Date.now()}:${Math.random().toString(36).slice(2, 10)}`,
      from: { channel: 'xmpp', address: bareJid(from), ...(at.resource ? { resource: at.resource } : {}) },
      to: { channel: 'xmpp', address: this.botJid },
      body: body.length > this.maxBodyChars ? body.slice(0, this.maxBodyChars) : body,
      receivedLength: body.length,
      receivedAt: new Date(),
      ...(thread ? { thread: thread.slice(0, 256) } : {}),
    };
    this.events.emit('chat', message);
  }
}
