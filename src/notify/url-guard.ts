import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { CrosslineError } from '../errors.js';
import type { WebhookUrlGuard } from '../callbacks/ports.js';

/**
 * SSRF protection for webhooks. A webhook URL is chosen by whoever creates a callback, and
 * Crossline POSTs to it from inside the operator's network, so the URL must not be a way to reach
 * loopback services, the private network or a cloud metadata endpoint. Two checks:
 *
 * 1. {@link createWebhookUrlGuard}, when a callback is accepted: the URL's shape, then every
 *    address its host resolves to;
 * 2. {@link createGuardedLookup}, at delivery: the `lookup` that `http.request` connects through,
 *    so the address actually connected to is checked again. Without it a host that resolved to a
 *    public address at step 1 could resolve to 127.0.0.1 a second later (DNS rebinding).
 */

/** Longer URLs are refused; they are stored and re-sent with every event. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Ranges (ipaddr.js names) that `allowPrivate` opens: the config's "loopback/private/link-local". */
const PRIVATE_RANGES: ReadonlySet<string> = new Set(['loopback', 'private', 'linkLocal', 'uniqueLocal', 'carrierGradeNat']);

/**
 * The ipaddr.js range an address falls in, after unwrapping the IPv6 forms that carry an IPv4
 * address to the IPv4 network: IPv4-mapped (`::ffff:a.b.c.d`) and NAT64 (`64:ff9b::a.b.c.d`) give
 * the range of the embedded address. IPv4-compatible (`::a.b.c.d`, deprecated) is its own range,
 * and 6to4, Teredo and the rest keep the range ipaddr.js gives them, none of which is `unicast`.
 * Returns `invalid` for anything that is not an IP address.
 */
export function addressRange(address: string): string {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return 'invalid';
  }
  if (parsed.kind() === 'ipv4') return parsed.range();
  const v6 = parsed as ipaddr.IPv6;
  const range = v6.range();
  if (range === 'ipv4Mapped') return v6.toIPv4Address().range();
  const parts = v6.parts;
  if (range === 'rfc6052' && parts[2] === 0 && parts[3] === 0 && parts[4] === 0 && parts[5] === 0) {
    return embeddedIPv4(parts).range();
  }
  if (range === 'unicast' && parts.slice(0, 6).every((p) => p === 0)) return 'ipv4Compatible';
  return range;
}

const embeddedIPv4 = (parts: number[]): ipaddr.IPv4 => {
  const hi = parts[6] ?? 0;
  const lo = parts[7] ?? 0;
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
};

/** True when a webhook may be sent to `address`: a public unicast one, or with `allowPrivate` a private one too. */
export function isAllowedAddress(address: string, allowPrivate: boolean): boolean {
  const range = addressRange(address);
  return range === 'unicast' || (allowPrivate && PRIVATE_RANGES.has(range));
}

const invalidUrl = (why: string): CrosslineError => new CrosslineError('INVALID_WEBHOOK_URL', `The webhook URL ${why}.`);

function notAllowed(address: string): CrosslineError {
  const range = addressRange(address);
  return new CrosslineError(
    'WEBHOOK_URL_NOT_ALLOWED',
    `The webhook URL resolves to a ${range === 'invalid' ? 'malformed' : range} address; only public unicast addresses are allowed.`,
  );
}

/**
 * Parses a webhook URL and checks its shape: absolute, http or https, a host, no user name or
 * password (they would be sent on every request and logged by proxies). Throws INVALID_WEBHOOK_URL.
 */
export function parseWebhookUrl(raw: string): URL {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) throw invalidUrl(`is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidUrl('is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidUrl('must use http or https');
  if (url.username !== '' || url.password !== '') throw invalidUrl('must not contain a user name or password');
  if (url.hostname === '') throw invalidUrl('has no host');
  return url;
}

/** The host to resolve or connect to: `URL.hostname` without the brackets of an IPv6 literal. */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** Throws WEBHOOK_URL_NOT_ALLOWED unless every address is allowed. */
export function assertAllowedAddresses(addresses: readonly string[], allowPrivate: boolean): void {
  const refused = addresses.find((a) => !isAllowedAddress(a, allowPrivate));
  if (refused !== undefined) throw notAllowed(refused);
}

/** Resolves a host to all its addresses (dns.lookup, so /etc/hosts counts, as it will when connecting). */
export type HostResolver = (hostname: string) => Promise<string[]>;

const systemResolver: HostResolver = async (hostname) =>
  (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

export interface WebhookUrlGuardOptions {
  /** Allow loopback, private, link-local, unique-local and CGNAT addresses (`config.webhookAllowPrivate`). @defaultValue false */
  allowPrivate?: boolean;
  /** How hosts are resolved. @defaultValue dns.lookup with `all: true` */
  resolve?: HostResolver;
}

/**
 * The {@link WebhookUrlGuard} the callback service calls before it accepts a webhook URL.
 * A host that does not resolve is INVALID_WEBHOOK_URL; a host with any address outside the
 * allowed ranges (not only the first one: the connection may use any of them) is
 * WEBHOOK_URL_NOT_ALLOWED. The refused address itself is not echoed to the client.
 */
export function createWebhookUrlGuard({ allowPrivate = false, resolve = systemResolver }: WebhookUrlGuardOptions = {}): WebhookUrlGuard {
  return async (raw) => {
    const host = hostOf(parseWebhookUrl(raw));
    if (net.isIP(host) !== 0) {
      assertAllowedAddresses([host], allowPrivate);
      return;
    }
    let addresses: string[];
    try {
      addresses = await resolve(host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'lookup failed';
      throw new CrosslineError('INVALID_WEBHOOK_URL', `The webhook URL's host does not resolve (${code}).`, [], { cause: err });
    }
    if (addresses.length === 0) throw invalidUrl("host does not resolve");
    assertAllowedAddresses(addresses, allowPrivate);
  };
}

/** The callback-style `dns.lookup` that {@link createGuardedLookup} wraps. */
export type LookupAll = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

export interface GuardedLookupOptions {
  allowPrivate?: boolean;
  /** @defaultValue dns.lookup */
  lookup?: LookupAll;
}

/**
 * A `lookup` for `http.request` / `net.connect` that refuses (WEBHOOK_URL_NOT_ALLOWED) when any
 * address the host resolves to is not allowed, so the socket only ever connects to a checked
 * address. Node does not call `lookup` for IP literals: check those with
 * {@link assertAllowedAddresses} before connecting.
 */
export function createGuardedLookup({ allowPrivate = false, lookup = dns.lookup }: GuardedLookupOptions = {}): net.LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, options.all ? [] : '');
      try {
        if (addresses.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
        assertAllowedAddresses(
          addresses.map((a) => a.address),
          allowPrivate,
        );
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, options.all ? [] : '');
      }
      const first = addresses[0] as dns.LookupAddress;
      if (options.all) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}
