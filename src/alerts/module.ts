/**
 * The call-attempt alerts capability in the composition root: registrations over REST (API role);
 * detection (workers role) from every switch's events (an ESL connection of its own to each switch
 * of ESL_URL, CHANNEL_CREATE and CHANNEL_HANGUP_COMPLETE only) and from the inbound IVR
 * (services.inboundAttempts).
 */
import type { ChannelAddress, MessageSender } from '../channels/types.js';
import {
  AlertNotifier, AlertService, InterestRegistry, SwitchAttemptDetector, alertAdminRoutes, alertRoutes, type Attempt, type UserAddresses,
} from './index.js';
import { parseSwitchList } from '../switches/addresses.js';
import type { CapabilityModule, ModuleContext, StartedModule } from '../runtime/modules/types.js';

export interface AlertsModuleOptions {
  user?: (owner: string, userId: string) => Promise<UserAddresses>;
  sender?: () => MessageSender | undefined;
  /** The switches whose events are watched (tests; a comma-separated ESL_URL list); default ESL_URL, every switch of it. */
  eslUrl?: string;
  onAlert?: (attempt: Attempt, to: ChannelAddress) => void;
}

export function createAlertsModule(options: AlertsModuleOptions = {}): CapabilityModule {
  return {
    name: 'alerts',
    async start(ctx: ModuleContext): Promise<StartedModule> {
      const { services, config } = ctx;
      const log = ctx.logger.child({ module: 'alerts' });
      const base = ctx.prefixes.callbacks === ctx.prefixes.spread ? `${ctx.prefixes.spread}:alerts` : `{${ctx.prefixes.spread}:alerts}`;
      const registry = new InterestRegistry(ctx.redis, base);
      const user = options.user ?? (async (owner: string, userId: string): Promise<UserAddresses> => {
        const directory = services.directory;
        if (directory === undefined) return { exists: false, verified: [] };
        try {
          const found = await directory.get('user', userId, owner);
          return {
            exists: true,
            verified: [
              ...found.emails.filter((a) => a.verifiedAt !== undefined).map((a) => ({ channel: 'email' as const, address: a.address })),
              ...found.jids.filter((a) => a.verifiedAt !== undefined).map((a) => ({ channel: 'xmpp' as const, address: a.address })),
              // A mobile verified by a code sent to it by SMS (the SMS channel, SMPP_URL).
              ...found.phones.filter((p) => p.verifiedAt !== undefined).map((p) => ({ channel: 'sms' as const, address: p.number })),
            ],
          };
        } catch (error) {
          if (error instanceof Error && 'status' in error && (error as { status: number }).status === 404) return { exists: false, verified: [] };
          throw error;
        }
      });
      const alerts = new AlertService({
        registry, user, telephony: () => services.telephony,
        // A code texted to a mobile line goes through the message queue to the SMS channel (SMPP_URL).
        ...(config.messaging.sms !== undefined ? { sms: options.sender ?? (() => services.messageSender) } : {}),
      });
      services.alertRegistrations = alerts;
      const notifier = new AlertNotifier({
        redis: ctx.redis, base, registry, sender: options.sender ?? (() => services.messageSender), logger: log,
        ...(options.onAlert !== undefined ? { onAlert: options.onAlert } : {}),
      });
      const closers: Array<() => void> = [];
      if (ctx.roles.workers) {
        const fromIvr = services.inboundAttempts?.on((a) => void notifier.handle({ uuid: a.uuid, callerNumber: a.callerNumber, ...(a.callerName !== undefined ? { callerName: a.callerName } : {}), line: a.did, at: a.at }));
        if (fromIvr) closers.push(fromIvr);
        // Every switch of the pool: a call to a registered line may reach any of them. One attempt is
        // one channel UUID, unique across switches; the notifier sends each once.
        const url = options.eslUrl ?? config.eslUrl;
        const switches = url === undefined ? [] : parseSwitchList(url);
        await Promise.all(switches.map(async (sw) => {
          const detector = new SwitchAttemptDetector({ host: sw.host, port: sw.port, password: sw.password });
          detector.on('attempt', (attempt) => void notifier.handle(attempt));
          detector.on('status', (up) => log[up ? 'info' : 'warn']({ switch: sw.id }, up ? 'call-attempt events subscribed' : 'call-attempt events lost; reconnecting'));
          closers.push(() => detector.close());
          await detector.start();
        }));
      }
      return {
        http: ctx.roles.api
          ? [
              { door: 'api-key', path: '/v1/alerts', router: alertRoutes(ctx.api, alerts) },
              { door: 'ops', path: '/v1/admin/alerts', router: alertAdminRoutes(ctx.api, alerts) },
            ]
          : [],
        async close() {
          for (const close of closers.splice(0)) close();
        },
      };
    },
  };
}

export const alertsModule: CapabilityModule = createAlertsModule();
