import { authenticate, type AuthenticateResult, type DNSResolver } from 'mailauth';

/**
 * Whether a message really comes from the domain of its `From`: From is forgeable, and a forged
 * "call" costs money. Verified with mailauth (DKIM, SPF, DMARC), never by hand.
 *
 * Authentic means:
 * - DMARC passes (an aligned DKIM signature or aligned SPF, under the domain's published policy); or
 * - the domain publishes no DMARC record, and a DKIM signature of the From domain (or its parent)
 *   verifies, or SPF passes for a MAIL FROM in the From domain.
 * Everything else (no signature, a broken one, a signature of another domain, SPF alone for another
 * domain, several From addresses, a DNS failure) is not.
 */

export type DnsResolver = DNSResolver;

export interface AuthenticityInput {
  /** The client's address (SMTP); undefined for mail handed over HTTP (SPF then cannot apply). */
  ip?: string;
  helo?: string;
  /** The SMTP envelope sender (MAIL FROM). */
  mailFrom?: string;
}

export interface AuthenticityVerdict {
  authentic: boolean;
  /** The one From address, lower-cased, when the message has exactly one. */
  from?: string;
  /** Short reason for logs and metrics: dmarc-pass, dkim-aligned, spf-aligned, no-from, dmarc-fail, unsigned, dns-error… */
  reason: string;
  /** mailauth's summary, as an Authentication-Results header would carry it (for logs). */
  summary: string;
}

export interface SenderAuthenticatorOptions {
  /** DNS lookups (TXT for DKIM keys, SPF and DMARC); injectable for tests. @defaultValue the system resolver */
  resolver?: DnsResolver;
  /** This receiver's name in Authentication-Results. @defaultValue os.hostname() */
  mta?: string;
  /** Smallest DKIM key accepted, bits. @defaultValue 1024 */
  minBitLength?: number;
  /**
   * SMTP clients whose mail counts as authenticated without DKIM/SPF (like an MTA's own networks):
   * your own mail server that has checked DMARC already, or 127.0.0.1 for a local try-out. @defaultValue none
   */
  trustedClients?: readonly string[];
}

const inDomain = (domain: string, of: string): boolean => domain === of || domain.endsWith(`.${of}`) || of.endsWith(`.${domain}`);

export type SenderAuthenticator = (raw: Buffer, input: AuthenticityInput) => Promise<AuthenticityVerdict>;

export function createSenderAuthenticator(options: SenderAuthenticatorOptions = {}): SenderAuthenticator {
  const trusted = new Set((options.trustedClients ?? []).map((ip) => ip.replace(/^::ffff:/, '')));
  return async (raw, input) => {
    let result: AuthenticateResult;
    try {
      result = await authenticate(raw, {
        ...(input.ip !== undefined ? { ip: input.ip } : {}),
        ...(input.helo !== undefined ? { helo: input.helo } : {}),
        ...(input.mailFrom !== undefined ? { sender: input.mailFrom } : {}),
        ...(options.resolver ? { resolver: options.resolver } : {}),
        ...(options.mta ? { mta: options.mta } : {}),
        minBitLength: options.minBitLength ?? 1024,
        disableArc: true,
        disableBimi: true,
        trustReceived: false,
      });
    } catch (err) {
      return { authentic: false, reason: 'auth-error', summary: (err as Error).message };
    }
    const summary = result.headers.replace(/\s+/g, ' ').trim().slice(0, 1000);
    const froms = result.dkim.headerFrom;
    if (froms.length !== 1 || !froms[0]?.includes('@')) return { authentic: false, reason: 'no-single-from', summary };
    const from = froms[0].toLowerCase();
    const fromDomain = from.slice(from.lastIndexOf('@') + 1);
    if (input.ip !== undefined && trusted.has(input.ip.replace(/^::ffff:/, ''))) return { authentic: true, from, reason: 'trusted-client', summary };
    const dmarc = result.dmarc;
    if (dmarc && dmarc.status.result === 'pass') return { authentic: true, from, reason: 'dmarc-pass', summary };
    if (dmarc && dmarc.status.result !== 'none') return { authentic: false, from, reason: `dmarc-${dmarc.status.result}`, summary };
    const dkimAligned = result.dkim.results.some((r) => r.status.result === 'pass' && inDomain(r.signingDomain.toLowerCase(), fromDomain));
    if (dkimAligned) return { authentic: true, from, reason: 'dkim-aligned', summary };
    const spf = result.spf;
    const spfDomain = input.mailFrom?.toLowerCase().split('@')[1];
    if (spf && spf.status.result === 'pass' && spfDomain !== undefined && inDomain(spfDomain, fromDomain)) {
      return { authentic: true, from, reason: 'spf-aligned', summary };
    }
    const anySigned = result.dkim.results.some((r) => r.status.result !== 'none');
    const tempError = result.dkim.results.some((r) => r.status.result === 'temperror') || (spf && spf.status.result === 'temperror');
    return { authentic: false, from, reason: tempError ? 'dns-error' : anySigned ? 'dkim-not-aligned-or-failed' : 'unsigned', summary };
  };
}
