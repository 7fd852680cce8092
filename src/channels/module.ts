import os from 'node:os';
import { createEmailChannel, createMessageWorker, MESSAGE_QUEUE, Outbox, XmppChannel, type Channel } from './index.js';
import type { SenderDirectory } from './types.js';
import { createEmailIntake, createSenderAuthenticator, inboundEmailRoutes, outboxRoutes, startSmtpIntake, type DnsResolver } from '../intake/email/index.js';
import { createMessageIntake, intakeMetrics } from '../intake/messages.js';
import { attachXmppIntake } from '../intake/xmpp/index.js';
import { attachSmsIntake } from '../intake/sms/index.js';
import { SmsChannel, SmsLog, smsAdminRoutes, smsKeyBase } from './sms/index.js';
import type { CapabilityModule, HttpMount, ModuleContext, StartedModule } from '../runtime/modules/types.js';

/** The default SMTP port; in use, only a warning (see MessagingConfig.smtpPort). */
const DEFAULT_SMTP_PORT = 2525;

/**
 * Messaging channels and intakes: the e-mail channel (relay or local outbox) and the XMPP bot send
 * what the message queue holds (workers role); the SMTP server and `POST /v1/inbound/email` take
 * e-mail in (API role), the bot takes chat in; both hand authenticated messages to
 * `services.messaging`. Offers `services.xmpp` (presence, IM offers) when IM is configured. With
 * SMPP_URL, the SMS channel binds to the SMSC (workers role): it sends what the queue holds for
 * `sms` addresses and hands texts to the same intake; `/v1/admin/sms` shows delivery (API role).
 */
export interface ChannelsModuleOptions {
  /** DNS behind the DKIM/SPF/DMARC checks (tests publish their own keys). @defaultValue the system resolver */
  resolver?: DnsResolver;
}

export function createChannelsModule(options: ChannelsModuleOptions = {}): CapabilityModule {
  return {
  name: 'channels',
  async start(ctx: ModuleContext): Promise<StartedModule> {
    const { config, roles, redis, prefixes, logger, services } = ctx;
    const m = config.messaging;
    const closers: Array<() => Promise<void>> = [];
    const close = async (): Promise<void> => {
      for (const fn of closers.reverse()) await fn().catch((err: unknown) => logger.warn({ err }, 'channels: close step failed'));
    };
    const sender = services.messageSender;
    if (sender === undefined) throw new Error('channels: services.messageSender is not set by the runtime');
    // Asked at each message: the directory module may start after this one.
    const senders = (): SenderDirectory | undefined => services.senderDirectory;
    const directory: SenderDirectory = { standing: async (a) => (senders() ? senders()!.standing(a) : 'unknown') };
    const messages = createMessageIntake({
      redis,
      keyPrefix: config.keyPrefix,
      handler: () => services.messaging,
      senders,
      sender,
      metrics: intakeMetrics(ctx.metrics),
      perSenderPerMinute: m.floodPerMinute,
      logger: logger.child({ part: 'intake' }),
    });
    const outbox = new Outbox(redis, config.keyPrefix);
    const http: HttpMount[] = [];
    try {
      let xmpp: XmppChannel | undefined;
      if (m.xmppUrl !== undefined && m.xmppJid !== undefined && m.xmppPassword !== undefined && roles.workers) {
        const channel = new XmppChannel({ service: m.xmppUrl, jid: m.xmppJid, password: m.xmppPassword, senders: directory, logger: logger.child({ part: 'xmpp' }) });
        xmpp = channel;
        closers.push(() => channel.close());
        const detach = attachXmppIntake({
          channel, messages, logger: logger.child({ part: 'xmpp-intake' }),
          // A reply to an IM call offer belongs to the inbound call, not to the conversation.
          claim: async (chat) => (await services.imOfferReplies?.({ id: chat.id, from: chat.from.address, body: chat.body })) ?? false,
        });
        closers.push(async () => detach());
        await channel.start();
        services.xmpp = channel;
        services.im = {
          isReachable: (jid) => channel.isAvailable(jid, { reachable: true }),
          onChat: (listener) => channel.onChat((chat) => listener({ id: chat.id, from: chat.from.address, body: chat.body })),
          formResource: (jid) => channel.formResource(jid),
          onFormAnswer: (listener) => channel.onForm((form) => listener({ id: form.id, from: form.from.address, type: form.type, fields: form.fields })),
        };
      }
      let sms: SmsChannel | undefined;
      if (m.sms !== undefined && roles.workers) {
        const s = m.sms;
        const keyBase = smsKeyBase(ctx.prefixes);
        const channel = new SmsChannel({
          link: { host: s.host, port: s.port, tls: s.tls, systemId: s.systemId, password: s.password, systemType: s.systemType, enquireLinkMs: s.enquireLinkSec * 1000 },
          source: { address: s.sourceAddr, ton: s.sourceTon, npi: s.sourceNpi },
          redis,
          keyBase,
          fraud: { allowedCountries: config.allowedCountries, deniedPrefixes: config.deniedPrefixes, allowedPrefixes: config.allowedPrefixes, allowedSipDomains: config.allowedSipDomains, defaultRegion: config.defaultRegion },
          defaultRegion: config.defaultRegion,
          ratePerSecond: s.ratePerSecond,
          maxParts: s.maxParts,
          concat: s.concat,
          metrics: ctx.metrics,
          logger: logger.child({ part: 'sms' }),
        });
        sms = channel;
        closers.push(() => channel.close());
        const detach = attachSmsIntake({ channel, messages, redis, keyBase, logger: logger.child({ part: 'sms-intake' }) });
        closers.push(async () => detach());
        if (s.sourceTon === 5) logger.warn({ sourceAddr: s.sourceAddr }, 'SMPP_SOURCE_ADDR is an alphanumeric sender id: phones cannot reply to it, so texts reach Crossline only on a number the carrier routes to this account');
        await channel.start();
      }
      if (roles.workers) {
        const email = createEmailChannel({
          from: m.emailAddress,
          ...(m.smtpRelayUrl !== undefined ? { relayUrl: m.smtpRelayUrl } : { outbox }),
          logger: logger.child({ part: 'email' }),
        });
        closers.push(() => email.close());
        const channels: Channel[] = [email, ...(xmpp ? [xmpp] : []), ...(sms ? [sms] : [])];
        const worker = createMessageWorker({
          connection: redis,
          prefix: prefixes.queue(MESSAGE_QUEUE),
          redis,
          keyPrefix: config.keyPrefix,
          channels,
          logger: logger.child({ part: 'messages' }),
        });
        closers.push(() => worker.close());
      }
      if (roles.api) {
        const intake = createEmailIntake({
          authenticate: createSenderAuthenticator({ mta: os.hostname(), trustedClients: m.smtpTrustedClients, ...(options.resolver ? { resolver: options.resolver } : {}) }),
          messages,
          mailbox: m.emailAddress,
          logger: logger.child({ part: 'email-intake' }),
        });
        if (m.smtpEnabled) {
          try {
            const smtp = await startSmtpIntake({
              intake,
              host: m.smtpHost,
              port: m.smtpPort ?? DEFAULT_SMTP_PORT,
              maxBytes: m.smtpMaxBytes,
              maxRecipients: m.smtpMaxRecipients,
              ...(m.smtpTlsKey !== undefined && m.smtpTlsCert !== undefined ? { tlsKeyPath: m.smtpTlsKey, tlsCertPath: m.smtpTlsCert } : {}),
              serverName: m.emailAddress.split('@')[1] ?? os.hostname(),
              logger: logger.child({ part: 'smtp' }),
            });
            services.smtpPort = smtp.port;
            closers.push(() => smtp.close());
          } catch (err) {
            if (m.smtpPort !== undefined || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
            logger.warn({ port: DEFAULT_SMTP_PORT }, 'SMTP intake off: port 2525 is in use (set SMTP_PORT to choose another)');
          }
        }
        http.push({ door: 'api-key', path: '/v1/inbound/email', router: inboundEmailRoutes({ api: ctx.api, intake, mailbox: m.emailAddress, maxBytes: m.smtpMaxBytes }) });
        http.push({ door: 'api-key', path: '/v1/outbox', router: outboxRoutes({ api: ctx.api, outbox }) });
        if (m.sms !== undefined) http.push({ door: 'ops', path: '/v1/admin/sms', router: smsAdminRoutes({ api: ctx.api, log: new SmsLog(redis, smsKeyBase(ctx.prefixes)) }) });
      }
    } catch (err) {
      await close();
      throw err;
    }
    const smtpPort = services.smtpPort;
    return {
      http,
      close,
      banner: (apiUrl) => [
        ...(smtpPort === undefined ? [] : [`  E-mail    SMTP on ${m.smtpHost}:${smtpPort} takes "call …" messages to ${m.emailAddress} from verified users (README: People and "call X" by message)`]),
        ...(m.smtpRelayUrl === undefined && apiUrl !== undefined ? [`  Outbox    ${apiUrl}/v1/outbox (the replies, with no SMTP_RELAY_URL)`] : []),
        ...(m.sms === undefined ? [] : [`  SMS       SMPP to ${m.sms.host}:${m.sms.port} as ${m.sms.sourceAddr}: texts from verified numbers take "call …"${apiUrl !== undefined ? `; delivery at ${apiUrl}/v1/admin/sms` : ''} (README: Text messages)`]),
      ],
    };
  },
  };
}

export const channelsModule: CapabilityModule = createChannelsModule();
