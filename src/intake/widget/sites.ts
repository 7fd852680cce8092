import { randomBytes } from 'node:crypto';
import { assertDestinationAllowed, type FraudPolicy } from '../../callbacks/fraud.js';
import { normaliseText, parseNumber } from '../../callbacks/request.js';
import { CrosslineError, type ErrorDetail } from '../../errors.js';
import { isDisplayName } from '../../telephony/grammar.js';
import { parseBusinessHours, type BusinessHours, type WeeklyRange } from '../../callbacks/policies/hours.js';
import type { CallCenterDirectory } from '../../callbacks/ports.js';

/**
 * Where a site's callbacks ring first: fixed by the site, never given by the visitor. A number, or
 * a call center of the owner's directory (its numbers, IVR route, hours and pacing apply).
 */
export type SiteTarget = { number: string } | { callCenter: string; route?: string };

/** When a site's volume jumps, who hears about it: a webhook, an e-mail address, or both. */
export interface VolumeAlert {
  /** Signed POST (Crossline-Signature) of a `site.volume-jump` event. */
  webhook?: string;
  /** An e-mail through the channels' message queue (relay or local outbox). */
  email?: string;
  /** An hour with more than `factor` x the mean of the previous 24 hours sets it off. @defaultValue 3 */
  factor: number;
  /** ... and at least this many requests. @defaultValue 20 */
  minPerHour: number;
}

/** A website allowed to embed the call-me-back button, owned by one API key. */
export interface Site {
  id: string;
  owner: string;
  /** Shown to the visitor ("We are calling <name> now…"): a display name. */
  name: string;
  /** The key the embed carries (`data-site`): public, bounded by everything below. */
  publicKey: string;
  /** Exact origins (`https://shop.example`) whose pages may use the key. */
  allowedOrigins: string[];
  target: SiteTarget;
  /** Country the phone field starts with (ISO 3166 alpha-2). */
  defaultCountry: string;
  /** Countries the visitor may pick; empty: every country the server's toll-fraud policy allows. */
  countries: string[];
  /** The site's own opening hours (a call center's hours apply as well); undefined: always open. */
  hours?: BusinessHours;
  /** Callbacks accepted per day (the target's local day), across visitors. */
  dailyCap: number;
  /** Status changes of this site's callbacks are POSTed here (the REST API's signed webhooks). */
  webhook?: string;
  alert?: VolumeAlert;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

/** The body of POST /v1/sites and PATCH (every field optional there), after schema validation. */
export interface SiteInput {
  name?: string;
  allowedOrigins?: string[];
  target?: { number?: string; callCenter?: string; route?: string };
  defaultCountry?: string;
  countries?: string[];
  hours?: { timeZone: string; weekly: WeeklyRange[]; holidays?: string[] } | null;
  dailyCap?: number;
  webhook?: string | null;
  alert?: { webhook?: string; email?: string; factor?: number; minPerHour?: number } | null;
  enabled?: boolean;
}

/** What parsing a site needs from the server's policy. */
export interface SitePolicy {
  fraud: FraudPolicy;
  defaultRegion: string;
  /** Refuses webhook URLs that resolve to forbidden addresses (SSRF). */
  webhookGuard: (url: string) => Promise<void>;
  /** The owners' call centers, when the directory runs: a site may target one. */
  callCenters?: CallCenterDirectory;
}

export const newPublicKey = (): string => `pk_${randomBytes(18).toString('base64url')}`;
/** What a public key looks like; anything else is not looked up. */
export const PUBLIC_KEY = /^pk_[A-Za-z0-9_-]{24}$/;

const fail = (code: 'VALIDATION_FAILED' | 'INVALID_NAME' | 'INVALID_WEBHOOK_URL' | 'INVALID_ADDRESS', details: ErrorDetail[]): CrosslineError => new CrosslineError(code, undefined, details);

/** `https://shop.example[:port]` exactly as browsers send it in `Origin`; undefined otherwise. */
export function normaliseOrigin(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) return undefined;
  // the origin as given must be the origin as serialised: no trailing slash, lower-case host
  return url.origin === text ? url.origin : undefined;
}

/** A plain mailbox (`local@domain.tld`, lower-cased): nothing a mail header could be bent with. */
const EMAIL = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

function parseEmail(text: string, path: string): string {
  const address = text.trim().toLowerCase();
  if (address.length > 254 || !EMAIL.test(address)) throw fail('INVALID_ADDRESS', [{ path, message: 'not an e-mail address (local@domain)' }]);
  return address;
}

async function parseAlert(input: NonNullable<SiteInput['alert']>, policy: SitePolicy): Promise<VolumeAlert> {
  if (input.webhook === undefined && input.email === undefined) throw fail('VALIDATION_FAILED', [{ path: '/alert', message: 'give a webhook, an email, or both' }]);
  const webhook = input.webhook !== undefined ? parseWebhook(input.webhook, '/alert/webhook') : undefined;
  if (webhook !== undefined) await policy.webhookGuard(webhook);
  return {
    ...(webhook !== undefined ? { webhook } : {}),
    ...(input.email !== undefined ? { email: parseEmail(input.email, '/alert/email') } : {}),
    factor: input.factor ?? 3,
    minPerHour: input.minPerHour ?? 20,
  };
}

function parseWebhook(url: string, path: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw fail('INVALID_WEBHOOK_URL', [{ path, message: 'not an absolute URL' }]);
  }
  if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.username || parsed.password) {
    throw fail('INVALID_WEBHOOK_URL', [{ path, message: 'must be http(s) without credentials' }]);
  }
  return parsed.toString();
}

/**
 * Applies `input` to `base` (a new site when undefined) and checks the result: exact origins, the
 * target under the toll-fraud policy, the hours table, webhooks under the SSRF guard.
 */
export async function applySiteInput(owner: string, base: Omit<Site, 'id' | 'owner' | 'publicKey' | 'createdAt' | 'updatedAt'> | undefined, input: SiteInput, policy: SitePolicy): Promise<Omit<Site, 'id' | 'owner' | 'publicKey' | 'createdAt' | 'updatedAt'>> {
  const problems: ErrorDetail[] = [];
  const required = ['name', 'allowedOrigins', 'target'] as const;
  if (!base) for (const field of required) if (input[field] === undefined) problems.push({ path: `/${field}`, message: 'is required' });
  if (problems.length > 0) throw fail('VALIDATION_FAILED', problems);

  let name = base?.name ?? '';
  if (input.name !== undefined) {
    const normal = normaliseText(input.name);
    if (normal === undefined || !isDisplayName(normal)) throw fail('INVALID_NAME', [{ path: '/name', message: 'letters, digits, spaces, "." and "-" only, at most 64' }]);
    name = normal;
  }
  let allowedOrigins = base?.allowedOrigins ?? [];
  if (input.allowedOrigins !== undefined) {
    allowedOrigins = [];
    input.allowedOrigins.forEach((origin, i) => {
      const normal = normaliseOrigin(origin);
      if (normal === undefined) problems.push({ path: `/allowedOrigins/${i}`, message: 'must be an origin such as https://shop.example (scheme, host, optional port; no path or trailing slash)' });
      else if (!allowedOrigins.includes(normal)) allowedOrigins.push(normal);
    });
  }
  const defaultCountry = input.defaultCountry ?? base?.defaultCountry ?? policy.defaultRegion;
  const countries = input.countries ?? base?.countries ?? [];
  for (const [i, country] of countries.entries()) {
    if (!policy.fraud.allowedCountries.includes(country)) problems.push({ path: `/countries/${i}`, message: `${country} is not among the countries the server may call (ALLOWED_COUNTRIES)` });
  }
  if (input.defaultCountry !== undefined && countries.length > 0 && !countries.includes(defaultCountry)) problems.push({ path: '/defaultCountry', message: 'must be one of countries' });
  if (problems.length > 0) throw fail('VALIDATION_FAILED', problems);
  const hours = input.hours === null ? undefined : input.hours !== undefined ? parseBusinessHours(input.hours, '/hours') : base?.hours;

  let target: SiteTarget = base?.target ?? { number: '' };
  if (input.target !== undefined) target = await parseTarget(owner, input.target, defaultCountry, policy);
  let webhook = base?.webhook;
  if (input.webhook !== undefined) webhook = input.webhook === null ? undefined : parseWebhook(input.webhook, '/webhook');
  if (input.webhook) await policy.webhookGuard(webhook ?? '');
  let alert = base?.alert;
  if (input.alert !== undefined) alert = input.alert === null ? undefined : await parseAlert(input.alert, policy);
  return {
    name,
    allowedOrigins,
    target,
    defaultCountry,
    countries,
    ...(hours ? { hours } : {}),
    dailyCap: input.dailyCap ?? base?.dailyCap ?? 200,
    ...(webhook !== undefined ? { webhook } : {}),
    ...(alert !== undefined ? { alert } : {}),
    enabled: input.enabled ?? base?.enabled ?? true,
  };
}

async function parseTarget(owner: string, input: NonNullable<SiteInput['target']>, region: string, policy: SitePolicy): Promise<SiteTarget> {
  if ((input.number === undefined) === (input.callCenter === undefined)) throw fail('VALIDATION_FAILED', [{ path: '/target', message: 'give exactly one of number or callCenter' }]);
  if (input.number !== undefined) {
    if (input.route !== undefined) throw fail('VALIDATION_FAILED', [{ path: '/target/route', message: 'a route belongs to a call center' }]);
    const parsed = parseNumber(input.number, region, '/target/number');
    // the target is rung first, on the site owner's account: the REST API's toll-fraud rules apply
    assertDestinationAllowed({ kind: 'number', e164: parsed.e164, country: parsed.country }, policy.fraud, '/target');
    return { number: parsed.e164 };
  }
  const name = input.callCenter ?? '';
  const center = policy.callCenters ? await policy.callCenters.find(owner, name) : undefined;
  if (!center) throw new CrosslineError('CALL_CENTER_NOT_FOUND', undefined, [{ path: '/target/callCenter', message: `no call center "${name.slice(0, 64)}" in this API key's directory` }]);
  if (input.route !== undefined && !(input.route in center.routes)) {
    throw new CrosslineError('CALL_CENTER_ROUTE_NOT_FOUND', undefined, [{ path: '/target/route', message: `known routes: ${Object.keys(center.routes).join(', ') || 'none'}` }]);
  }
  return { callCenter: center.name, ...(input.route !== undefined ? { route: input.route } : {}) };
}

/** The site as its owner sees it (GET /v1/sites/{id}). */
export function toSiteView(site: Site): Omit<Site, 'owner'> {
  const { owner: _owner, ...view } = site;
  return view;
}
