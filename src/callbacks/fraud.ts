import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { CrosslineError } from '../errors.js';
import type { Endpoint } from './types.js';

/** Toll-fraud rules every destination passes before anything is queued. */
export interface FraudPolicy {
  /** ISO 3166 alpha-2 countries numbers may be in. */
  allowedCountries: readonly string[];
  /** E.164 prefixes always refused (checked first). */
  deniedPrefixes: readonly string[];
  /** E.164 prefixes allowed outside allowedCountries; the only way to allow premium-rate ranges. */
  allowedPrefixes: readonly string[];
}

// Number types that bill the caller at a premium or share the cost: the classic toll-fraud targets.
const COSTLY_TYPES = new Set(['PREMIUM_RATE', 'SHARED_COST']);

const startsWithAny = (e164: string, prefixes: readonly string[]): boolean => prefixes.some((p) => e164.startsWith(p));

/**
 * Throws DESTINATION_NOT_ALLOWED or PREMIUM_RATE_DENIED when `endpoint` may not be dialled.
 * SIP URIs are not checked here: they reach a SIP peer, not the telephone network through our gateway.
 */
export function assertDestinationAllowed(endpoint: Endpoint, policy: FraudPolicy, path: string): void {
  if (endpoint.kind !== 'number') return;
  const { e164, country } = endpoint;
  if (startsWithAny(e164, policy.deniedPrefixes)) {
    throw new CrosslineError('DESTINATION_NOT_ALLOWED', `${e164} is in a denied prefix.`, [{ path, message: 'denied prefix' }]);
  }
  const explicitlyAllowed = startsWithAny(e164, policy.allowedPrefixes);
  const type = parsePhoneNumberFromString(e164)?.getType();
  if (type !== undefined && COSTLY_TYPES.has(type) && !explicitlyAllowed) {
    throw new CrosslineError('PREMIUM_RATE_DENIED', `${e164} is a ${type.toLowerCase().replace('_', '-')} number.`, [
      { path, message: type },
    ]);
  }
  if (explicitlyAllowed || policy.allowedCountries.includes(country)) return;
  throw new CrosslineError('DESTINATION_NOT_ALLOWED', `Calls to ${country} numbers are not allowed.`, [
    { path, message: `country ${country} not allowed` },
  ]);
}
