import ipaddr from 'ipaddr.js';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import type { CallerIdPolicy, SipDomainRule } from '../config/index.js';
import { CrosslineError } from '../errors.js';
import type { Endpoint } from './types.js';

export type { CallerIdPolicy, SipDomainRule };

/** Toll-fraud rules every destination passes before anything is queued. */
export interface FraudPolicy {
  /** ISO 3166 alpha-2 countries numbers may be in. */
  allowedCountries: readonly string[];
  /** E.164 prefixes always refused (checked first). */
  deniedPrefixes: readonly string[];
  /** E.164 prefixes allowed outside allowedCountries; the only way to allow premium-rate ranges. */
  allowedPrefixes: readonly string[];
  /** SIP hosts that may be called; empty means SIP endpoints are refused. */
  allowedSipDomains: readonly SipDomainRule[];
  /** Region a SIP user part without '+' is read in, when it looks like a national number. */
  defaultRegion: string;
}

// Number types that bill the caller at a premium or share the cost: the classic toll-fraud targets.
const COSTLY_TYPES = new Set(['PREMIUM_RATE', 'SHARED_COST']);

const startsWithAny = (e164: string, prefixes: readonly string[]): boolean => prefixes.some((p) => e164.startsWith(p));

/**
 * Throws DESTINATION_NOT_ALLOWED, PREMIUM_RATE_DENIED or SIP_DOMAIN_NOT_ALLOWED when `endpoint`
 * may not be dialled. A SIP URI reaches whatever host it names, so it is held to an allow-list of
 * hosts, and a user part that is a telephone number to the number rules (a gateway would dial it).
 */
export function assertDestinationAllowed(endpoint: Endpoint, policy: FraudPolicy, path: string): void {
  if (endpoint.kind === 'number') {
    assertNumberAllowed(endpoint.e164, endpoint.country, policy, path);
    return;
  }
  assertSipUriAllowed(endpoint.uri, policy, path);
}

function assertNumberAllowed(e164: string, country: string, policy: FraudPolicy, path: string): void {
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

const sipRefused = (path: string, message: string, detail: string): CrosslineError =>
  new CrosslineError('SIP_DOMAIN_NOT_ALLOWED', message, [{ path: `${path}/sipUri`, message: detail }]);

/** The parts of a URI that already passed the SIP_URI grammar: `sip[s]:user@host[:port]`. */
function splitSipUri(uri: string): { user: string; host: string; port: number | undefined } {
  const at = uri.lastIndexOf('@');
  const user = uri.slice(uri.indexOf(':') + 1, at);
  const hostPort = uri.slice(at + 1).toLowerCase();
  const colon = hostPort.indexOf(':');
  if (colon === -1) return { user, host: hostPort, port: undefined };
  return { user, host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)) };
}

/**
 * A host the resolver would read as an IPv4 address: a dotted quad, but also `127.1`,
 * `2130706433` or `0x7f.0.0.1` (inet_aton forms). No top-level domain is all digits or hex.
 */
const looksLikeIpv4 = (host: string): boolean => ipaddr.IPv4.isValid(host) || /(^|\.)(0x[0-9a-f]*|[0-9]+)$/.test(host);

function ruleMatches(rule: SipDomainRule, host: string, port: number | undefined, isIp: boolean): boolean {
  if (rule.port !== undefined && rule.port !== port) return false;
  if (!rule.subdomains) return rule.host === host;
  // a wildcard names the subdomains of a domain; it never opens an address
  return !isIp && host.endsWith(`.${rule.host}`);
}

function assertSipUriAllowed(uri: string, policy: FraudPolicy, path: string): void {
  const { user, host, port } = splitSipUri(uri);
  if (policy.allowedSipDomains.length === 0) {
    throw sipRefused(path, 'SIP endpoints are not enabled on this server.', 'no SIP domain is allowed (ALLOWED_SIP_DOMAINS)');
  }
  const isIp = looksLikeIpv4(host);
  if (isIp && !ipaddr.IPv4.isValidFourPartDecimal(host)) {
    throw sipRefused(path, `${host} is not a plain IPv4 address.`, 'address written in a non-canonical form');
  }
  if (!policy.allowedSipDomains.some((rule) => ruleMatches(rule, host, port, isIp))) {
    const kind = isIp ? `${ipaddr.IPv4.parse(host).range()} address` : 'host';
    const where = port === undefined ? host : `${host}:${port}`;
    throw sipRefused(path, `SIP calls to ${where} are not allowed.`, `${kind} not in the allowed SIP domains`);
  }
  for (const e164 of numberReadings(user, policy.defaultRegion)) {
    const country = parsePhoneNumberFromString(e164)?.country ?? 'unknown';
    assertNumberAllowed(e164, country, policy, `${path}/sipUri`);
  }
}

// At least this many digits before a user part is taken for a telephone number rather than an extension.
const MIN_NUMBER_DIGITS = 7;

/**
 * Every E.164 number a gateway could read `user` as: with '+' it is international; bare digits
 * may be international without the '+', behind an international prefix (00, 011), or national in
 * `region`. Each reading that is a valid number must pass the number rules. Visual separators
 * (`-` and `.`, RFC 3966) are ignored; a user part with letters is a name, not a number.
 */
export function numberReadings(user: string, region: string): string[] {
  const compact = user.replace(/[-.]/g, '');
  if (!/^\+?[0-9]+$/.test(compact)) return [];
  const digits = compact.replace('+', '');
  if (digits.length < MIN_NUMBER_DIGITS) return [];
  const candidates = compact.startsWith('+')
    ? [compact]
    : [`+${digits}`, ...(digits.startsWith('00') ? [`+${digits.slice(2)}`] : []), ...(digits.startsWith('011') ? [`+${digits.slice(3)}`] : [])];
  const readings = new Set<string>();
  for (const candidate of candidates) {
    const parsed = parsePhoneNumberFromString(candidate);
    if (parsed?.isValid()) readings.add(parsed.number);
  }
  if (!compact.startsWith('+')) {
    const national = parsePhoneNumberFromString(digits, region as CountryCode);
    if (national?.isValid()) readings.add(national.number);
  }
  return [...readings];
}

/**
 * Throws CALLER_ID_NOT_ALLOWED unless `owner` may present `callerId`: a caller id is a claim the
 * carrier passes on, so a key may only present numbers its operator listed for it (or for `*`).
 */
export function assertCallerIdAllowed(callerId: string | undefined, owner: string, policy: CallerIdPolicy): void {
  if (callerId === undefined) return;
  const rules = [...(policy[owner] ?? []), ...(policy['*'] ?? [])];
  const allowed = rules.some((rule) => (rule.prefix ? callerId.startsWith(rule.number) : callerId === rule.number));
  if (allowed) return;
  throw new CrosslineError('CALLER_ID_NOT_ALLOWED', `This API key may not present ${callerId} as caller id.`, [
    { path: '/callerId', message: rules.length === 0 ? 'no caller id is allowed for this API key (CALLER_IDS)' : 'not one of the caller ids allowed for this API key' },
  ]);
}
