import type { LimitedDestination } from './limits.js';
import type { Callback, CallbackStatus, TimelineEntry } from './types.js';

/** The body of POST /v1/callbacks after JSON Schema validation (shape only; values not yet checked). */
export interface EndpointInput {
  number?: string;
  sipUri?: string;
  name?: string;
}

export interface CallbackInput {
  caller: EndpointInput;
  callee: EndpointInput & { dtmf?: string };
  at?: string;
  ringTimeout?: number;
  retry?: { maxAttempts?: number; delaySeconds?: number };
  announce?: { callee?: string; caller?: string };
  callerId?: string;
  webhook?: string;
  order?: 'callee-first' | 'caller-first';
}

export interface ListQuery {
  status?: CallbackStatus;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface CallbackPage {
  items: Callback[];
  nextCursor?: string;
}

/**
 * What intake (REST today; e-mail, IM and the widget later) calls. Every method scopes to `owner`,
 * the id of the API key (never the key itself): one key never sees another's callbacks.
 */
export interface CallbackService {
  /** Validates, applies the toll-fraud policy, stores and queues. Throws CrosslineError (4xx codes). */
  create(input: CallbackInput, owner: string): Promise<Callback>;
  /** Throws CALLBACK_NOT_FOUND. */
  get(id: string, owner: string): Promise<Callback>;
  list(query: ListQuery, owner: string): Promise<CallbackPage>;
  /** Cancels; hangs up legs in progress. Throws CALLBACK_NOT_FOUND, CALLBACK_FINISHED. */
  cancel(id: string, owner: string): Promise<Callback>;
}

/** Told about every status change, after it is stored (webhooks, later IM / e-mail). */
export interface CallbackNotifier {
  statusChanged(callback: Callback, entry: TimelineEntry): Promise<void>;
}

/** Refuses webhook URLs that resolve to addresses the policy forbids (SSRF). Throws WEBHOOK_URL_NOT_ALLOWED / INVALID_WEBHOOK_URL. */
export type WebhookUrlGuard = (url: string) => Promise<void>;

/** Everything one accepted callback counts against: its owner and the destinations it will ring. */
export interface Admission {
  callbackId: string;
  owner: string;
  destinations: readonly LimitedDestination[];
  /**
   * Unix ms after which its in-progress slots lapse even if nothing released them: a safety net
   * for a process that died between admission and the store. Releasing on a final status is the rule.
   */
  holdUntilMs: number;
}

/** Counts and refuses callbacks (anti call-bombing, quotas); implemented over Redis in `store/`. */
export interface IntakeLimits {
  /** Counts `admission`; throws DESTINATION_RATE_LIMITED / DAILY_QUOTA_EXCEEDED (429, nothing counted) when over a limit. */
  admit(admission: Admission): Promise<void>;
  /** Gives back what admit counted, for a callback that was not accepted after all. */
  refund(admission: Admission): Promise<void>;
}
