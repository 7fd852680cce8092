import type { CallbackRequest, Endpoint } from './types.js';

/** Limits on how often one destination may be called and how much one API key may ask for. */
export interface LimitPolicy {
  /** Callbacks accepted per destination per hour, across API keys. */
  destinationPerHour: number;
  /** Unfinished callbacks per destination at once, across API keys. */
  destinationMaxActive: number;
  /** Callbacks accepted per API key per day. */
  keyPerDay: number;
  /** E.164 prefixes (`+1202555`) and SIP URIs (`sip:agents@pbx.example.com`) the destination limits skip: your own lines. */
  exempt: readonly string[];
}

/** A destination the limits count, and the request field it came from. */
export interface LimitedDestination {
  /** `+12025550100`, or `sip:user@host` (lower-case host, no port: `sips:` and ports reach the same phone). */
  key: string;
  path: '/caller' | '/callee';
}

export function destinationKey(endpoint: Endpoint): string {
  if (endpoint.kind === 'number') return endpoint.e164;
  const at = endpoint.uri.lastIndexOf('@');
  const user = endpoint.uri.slice(endpoint.uri.indexOf(':') + 1, at);
  const host = endpoint.uri.slice(at + 1).replace(/:[0-9]+$/, '').toLowerCase();
  return `sip:${user}@${host}`;
}

const isExempt = (key: string, exempt: readonly string[]): boolean =>
  exempt.some((entry) => (entry.startsWith('+') ? key.startsWith(entry) : destinationKey({ kind: 'sip', uri: entry }) === key));

/** Both legs are rung, so both are destinations a flood could aim at; one number on both legs counts once. */
export function limitedDestinations(request: Pick<CallbackRequest, 'caller' | 'callee'>, exempt: readonly string[] = []): LimitedDestination[] {
  const legs: LimitedDestination[] = [
    { key: destinationKey(request.callee.endpoint), path: '/callee' },
    { key: destinationKey(request.caller.endpoint), path: '/caller' },
  ];
  return legs.filter((leg, i) => !isExempt(leg.key, exempt) && legs.findIndex((other) => other.key === leg.key) === i);
}

// Per attempt: the retry delay, both legs ringing, and up to an hour of conversation.
const CALL_ALLOWANCE_SEC = 3600;

/** When the in-progress slots of a callback starting at `startMs` lapse at the latest. */
export function holdUntil(request: Pick<CallbackRequest, 'retry' | 'ringTimeoutSec'>, startMs: number): number {
  const perAttemptSec = request.retry.delaySeconds + 2 * request.ringTimeoutSec + CALL_ALLOWANCE_SEC;
  return startMs + request.retry.maxAttempts * perAttemptSec * 1000;
}
