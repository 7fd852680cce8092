/**
 * The call-attempt alerts capability in the composition root: registrations over REST (API role);
 * detection (workers role) from the first switch's events (own ESL connection, CHANNEL_CREATE and
 * CHANNEL_HANGUP_COMPLETE only) and from the inbound IVR (services.inboundAttempts).
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
  /** The switch whose events are watched (tests); default the first of ESL_URL. */
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
      const alerts = new AlertService({ registry, user, telephony: () => services.telephony });
      services.alertRegistrations = alerts;
      const notifier = new AlertNotifier({
        redis: ctx.redis, base, registry, sender: options.sender ?? (() => services.messageSender), logger: log,
        ...(options.onAlert !== undefined ? { onAlert: options.onAlert } : {}),
      });
      const closers: Array<() => void> = [];
      if (ctx.roles.workers) {
        const fromIvr = services.inboundAttempts?.on((a) => void notifier.handle({ uuid: a.uuid, callerNumber: a.callerNumber, ...(a.callerName !== undefined ? { callerName: a.callerName } : {}), line: a.did, at: a.at }));
        if (fromIvr) closers.push(fromIvr);
        const url = options.eslUrl ?? config.eslUrl;
        const first = url === undefined ? undefined : parseSwitchList(url)[0];
        if (first !== undefined) {
          const detector = new SwitchAttemptDetector({ host: first.host, port: first.port, password: first.password });
          detector.on('attempt', (attempt) => void notifier.handle(attempt));
          detector.on('status', (up) => log[up ? 'info' : 'warn']({ switch: first.id }, up ? 'call-attempt events subscribed' : 'call-attempt events lost; reconnecting'));
          await detector.start();
          closers.push(() => detector.close());
        }
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
