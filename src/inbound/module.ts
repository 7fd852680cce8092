/**
 * The inbound-calls capability in the composition root: profiles and voicemail routes (API role);
 * the outbound-socket server FreeSWITCH hands inbound calls to, one InboundCallSession per call,
 * and the IM replies to call offers (workers role, when INBOUND_SOCKET_PORT is set).
 */
import { mkdir } from 'node:fs/promises';
import type { MessageSender } from '../channels/types.js';
import type { Directory } from '../directory/types.js';
import {
  InboundCallSession, MediaLinks, OfferBoard, OfferReplies, ProfileService, ProfileStore, VoicemailStore, Voicemails,
  inboundUserRoutes, mediaRoutes, type ImLink, type InboundAttempt, type SessionOutcome, type UserFactsSource,
} from './index.js';
import { duplicateClient } from '../store/index.js';
import { OutboundSocketServer } from '../telephony/index.js';
import type { CapabilityModule, ModuleContext, StartedModule } from '../runtime/modules/types.js';

/** What tests (and the alerts capability) may hand the module instead of the other modules' services. */
export interface InboundModuleOptions {
  facts?: UserFactsSource;
  im?: () => ImLink | undefined;
  sender?: () => MessageSender | undefined;
  /** Where the outbound-socket server listens (tests: 0). */
  socketPort?: number;
  /** Called with the outbound-socket server once it listens (tests read its address). */
  onListening?: (server: OutboundSocketServer) => void;
  /** Called when a call's session is over (its voicemail kept and delivered). */
  onSessionEnd?: (uuid: string, outcome: SessionOutcome) => void;
}

/** The directory's view of a user: exists, and which addresses it verified. */
function directoryFacts(directory: () => Directory | undefined): UserFactsSource {
  return async (owner, userId) => {
    const dir = directory();
    if (dir === undefined) return { exists: false, verifiedJids: [], verifiedEmails: [] };
    try {
      const user = await dir.get('user', userId, owner);
      return {
        exists: true,
        timeZone: user.timeZone,
        verifiedJids: user.jids.filter((a) => a.verifiedAt !== undefined).map((a) => a.address),
        verifiedEmails: user.emails.filter((a) => a.verifiedAt !== undefined).map((a) => a.address),
      };
    } catch (error) {
      if (error instanceof Error && 'status' in error && (error as { status: number }).status === 404) return { exists: false, verifiedJids: [], verifiedEmails: [] };
      throw error;
    }
  };
}

export function createInboundModule(options: InboundModuleOptions = {}): CapabilityModule {
  return {
    name: 'inbound',
    async start(ctx: ModuleContext): Promise<StartedModule> {
      const { config, services, logger } = ctx;
      const settings = config.inbound;
      const base = ctx.prefixes.callbacks === ctx.prefixes.spread ? `${ctx.prefixes.spread}:inbound` : `{${ctx.prefixes.spread}:inbound}`;
      const log = logger.child({ module: 'inbound' });
      const sender = options.sender ?? (() => services.messageSender);
      const im = options.im ?? (() => services.im);
      const profileStore = new ProfileStore(ctx.redis, base);
      const profiles = new ProfileService(profileStore, options.facts ?? directoryFacts(() => services.directory));
      const store = new VoicemailStore(ctx.redis, base);
      // Links are signed with MEDIA_URL_SECRET; without it (no inbound calls configured) a random
      // secret still lets this process list voicemails, with links only it can check.
      const secret = settings.mediaUrlSecret ?? `${crypto.randomUUID()}${crypto.randomUUID()}`;
      const links = new MediaLinks(secret, settings.publicBaseUrl, settings.mediaLinkTtlSec);
      const voicemails = new Voicemails({ store, links, dir: settings.mediaDir, sender, presence: im, logger: log });
      const closers: Array<() => Promise<void>> = [];
      const attemptListeners = new Set<(attempt: InboundAttempt) => void>();
      services.inboundAttempts = { on: (listener) => (attemptListeners.add(listener), () => attemptListeners.delete(listener)) };

      const socketPort = options.socketPort ?? settings.socketPort;
      if (ctx.roles.workers && socketPort !== undefined) {
        await mkdir(settings.mediaDir, { recursive: true });
        const subscriber = duplicateClient(ctx.redis);
        const offers = new OfferBoard(ctx.redis, subscriber, base);
        const replies = new OfferReplies(profileStore, offers, sender);
        // In the full runtime the XMPP intake asks us first (services.imOfferReplies), so a reply
        // never reaches the conversation too; an IM link handed in directly (tests) is listened to.
        services.imOfferReplies = (chat) => replies.handle(chat);
        const unsubscribe = options.im?.()?.onChat((chat) => {
          replies.handle(chat).catch((error: unknown) => log.warn({ err: error }, 'IM reply to a call offer failed'));
        });
        // The buttons of an offer (XEP-0004 submissions) come from the channel directly: they are no chat.
        const unsubscribeForms = im()?.onFormAnswer?.((form) => {
          replies.handleForm(form).catch((error: unknown) => log.warn({ err: error }, 'IM button answer to a call offer failed'));
        });
        const server = await OutboundSocketServer.listen({
          host: settings.socketHost, port: socketPort, commandTimeoutMs: 5000, tts: { engine: config.ttsEngine, voice: config.ttsVoice },
        });
        options.onListening?.(server);
        const running = new Set<Promise<unknown>>();
        server.on('call', (call) => {
          const session = new InboundCallSession(call, {
            profiles: profileStore, offers, voicemails, redis: ctx.redis, base, presence: im, sender,
            dial: { gateway: config.dialGateway, numberFormat: config.dialNumberFormat, sipProfile: config.sipProfile },
            limits: {
              pinFailuresPerCaller: 6, pinFailuresPerNumber: 20, pinWindowSec: 900,
              callsPerNumberPerMinute: settings.callsPerNumberPerMinute, voicemailMaxSec: settings.voicemailMaxSec, voicemailSilenceSec: 5,
            },
            logger: log,
            onAttempt: (attempt) => {
              for (const listener of attemptListeners) listener(attempt);
            },
          });
          const done = session.run().then((outcome) => options.onSessionEnd?.(call.uuid, outcome)).finally(() => running.delete(done));
          running.add(done);
        });
        server.on('dropped', (error) => log.warn({ err: error }, 'an inbound socket connection never became a call'));
        log.info({ address: server.address }, 'inbound calls: outbound-socket server listening');
        closers.push(async () => {
          unsubscribe?.();
          unsubscribeForms?.();
          await server.close();
          await Promise.allSettled([...running]);
          offers.close();
          subscriber.disconnect();
        });
      }

      return {
        http: ctx.roles.api
          ? [
              { door: 'api-key', path: '/v1/users', router: inboundUserRoutes({ api: ctx.api, profiles, store, voicemails, links }) },
              { door: 'public', path: '/media', router: mediaRoutes({ store, voicemails, links }) },
            ]
          : [],
        async close() {
          for (const close of closers.splice(0)) await close();
        },
      };
    },
  };
}

export const inboundModule: CapabilityModule = createInboundModule();
