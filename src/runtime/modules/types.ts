import type { Router } from 'express';
import type { ImChat, ImLink, InboundAttempt } from '../../inbound/index.js';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { OpenApi } from '../../api/openapi.js';
import type { CallbackService, CallCenterDirectory, CallCenterPacer, DoNotCallStore } from '../../callbacks/ports.js';
import type { Config } from '../../config/index.js';
import type { Directory } from '../../directory/types.js';
import type { AlertRegistrations } from '../../intake/messaging.js';
import type { CallCenterQueueSources, QueueService } from '../../queues/index.js';
import type { KeyPrefixes, RedisClient } from '../../store/index.js';
import type { MessageHandler, MessageSender, SenderDirectory } from '../../channels/types.js';
import type { XmppChannel } from '../../channels/xmpp/channel.js';
import type { Telephony } from '../../telephony/types.js';

/** Which parts this process runs: `npm start` runs both; `npm run api` / `npm run worker` one each. */
export interface Roles {
  api: boolean;
  workers: boolean;
}

/**
 * What capabilities offer one another, filled in as modules start (in the order of
 * `runtime/modules/index.ts`). A capability adds one optional field here for the service it
 * provides, and reads the fields of the capabilities it builds on; a field is undefined when the
 * capability that provides it is not running in this process.
 */
export interface Services {
  /** The domain of callbacks (API role). */
  callbacks?: CallbackService;
  /** The owners' do-not-call lists: every callback is checked against them; `/v1/do-not-call` edits them. */
  doNotCall?: DoNotCallStore;
  /** The first switch's telephony (workers role); calls that are not callbacks go through it. */
  telephony?: Telephony;
  /** Queues messages to any channel (e-mail, XMPP, SMS), once per `dedupKey` (channels module). */
  messageSender?: MessageSender;
  /** What e-mail and IM intake hand authenticated messages to (the messaging conversation). */
  messaging?: MessageHandler;
  /** Whether an address belongs to a (verified) user: asked before a message reaches `messaging`. */
  senderDirectory?: SenderDirectory;
  /** Users and contacts per owner, verified sender lookup (directory module; also `senderDirectory`). */
  directory?: Directory;
  /** Call centers' queues: snapshots and Crossline's expected wait (queues module). */
  queues?: QueueService;
  /** Each call center's queue source, by owner and name (the call-center directory provides it). */
  callCenterQueueSources?: CallCenterQueueSources;
  /** The owners' call centers by name or alias (both roles): numbers, routes, hours, queue source, pacing, answer policies. */
  callCenters?: CallCenterDirectory;
  /** Per-call-center pacing shared by every worker (both roles). */
  callCenterPacer?: CallCenterPacer;
  /** The XMPP channel's presence and the chats users send (channels module): IM call offers use them. */
  im?: ImLink;
  /** Takes a chat that replies to a live IM call offer (inbound module); the XMPP intake asks it first. */
  imOfferReplies?: (chat: ImChat) => Promise<boolean>;
  /** Calls that reached a line through the inbound IVR, as they arrive (inbound module): alerts listen. */
  inboundAttempts?: { on(listener: (attempt: InboundAttempt) => void): () => void };
  /** The XMPP bot (channels module, when XMPP_URL is set): presence per JID and resource, chat and raw stanzas. */
  xmpp?: XmppChannel;
  /** The port the SMTP intake listens on (channels module, API role). */
  smtpPort?: number;
  /** Call-alert registrations a user manages by message ("alert me when … calls"; alerts module). */
  alertRegistrations?: AlertRegistrations;
}

/** Which door an HTTP mount sits behind. */
export type Door =
  /** No authentication (the module authenticates itself: site keys, HTTP Basic, signatures). */
  | 'public'
  /** OPS_TOKEN, rate-limited as one owner `ops`. */
  | 'ops'
  /** An API key (`Authorization: Bearer`), the owner in `ownerOf(res)`, rate-limited per key. */
  | 'api-key';

/**
 * Routes a module adds to the HTTP API, under `path` (`/v1/users`): the router's own paths are
 * relative to it, and the door's checks run only for requests under it.
 */
export interface HttpMount {
  door: Door;
  path: string;
  router: Router;
}

export interface ModuleContext {
  readonly config: Readonly<Config>;
  readonly roles: Roles;
  /** The shared command connection. Blocking commands need a `duplicateClient` of their own. */
  readonly redis: RedisClient;
  readonly prefixes: KeyPrefixes;
  /** openapi.yaml, compiled: validate every body and parameter with it. */
  readonly api: OpenApi;
  readonly logger: Logger;
  /** The process's metrics registry, served by GET /metrics: register module metrics here. */
  readonly metrics: Registry;
  /** Read what earlier modules provide; assign what this one provides. */
  readonly services: Services;
}

export interface StartedModule {
  /** HTTP routes, mounted when this process runs the API. */
  http?: HttpMount[];
  /** Stops what the module started; called once, in reverse start order. */
  close?(): Promise<void>;
  /**
   * Lines `npm start` prints for a newcomer (where to find what this capability serves), given
   * where the API listens (undefined in a workers-only process). No secrets.
   */
  banner?(apiUrl: string | undefined): string[];
}

/** One capability's part of the composition root: `start(ctx) → close`. */
export interface CapabilityModule {
  readonly name: string;
  start(ctx: ModuleContext): Promise<StartedModule>;
}
