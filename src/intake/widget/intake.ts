import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from 'pino';
import type { CallbackService } from '../../callbacks/ports.js';
import { parseNumber } from '../../callbacks/request.js';
import type { Callback } from '../../callbacks/types.js';
import { CrosslineError } from '../../errors.js';
import { isDisplayName } from '../../telephony/grammar.js';
import type { RedisClient } from '../../store/index.js';
import type { SiteStore } from '../../store/sites.js';
import type { ChallengeSolution, ProofOfWork } from './challenge.js';
import type { BusinessHours } from '../../callbacks/policies/hours.js';
import type { CallCenterDirectory } from '../../callbacks/ports.js';
import { OpenTimes } from './slots.js';
import { phoneMetadataFor } from './phone-metadata.js';
import { PUBLIC_KEY, type Site } from './sites.js';
import type { StatusTokens } from './status.js';
import type { SiteVolume } from './volume.js';

/** A visitor's request, as the widget sends it (after schema validation). */
export interface WidgetSubmission {
  site: string;
  number: string;
  /** The country picked in the widget, for a number written in national format. */
  country?: string;
  name?: string;
  /** One of the offered slots; absent: now. */
  at?: string;
  consent: true;
  pow: ChallengeSolution;
}

/** Who sent it: from the HTTP request, never from the body. */
export interface SubmissionContext {
  origin: string | undefined;
  ip: string;
}

export interface WidgetAccepted {
  id: string;
  statusToken: string;
  statusTokenExpiresAt: string;
  callback: Callback;
}

export interface WidgetIntakeDeps {
  sites: SiteStore;
  callbacks: CallbackService;
  pow: ProofOfWork;
  tokens: StatusTokens;
  volume: SiteVolume;
  redis: RedisClient;
  prefix: string;
  limits: { perIpPerHour: number; perNumberPerDay: number };
  /** The owners' call centers (their hours apply to a site that targets one). */
  callCenters?: CallCenterDirectory;
  /** The server's ALLOWED_COUNTRIES: what a site without its own list offers. */
  allowedCountries: readonly string[];
  logger: Logger;
  clock?: () => Date;
}

const retryAfter = (res: RateLimiterRes): number => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

/**
 * The public door of the widget: everything a site key allows, and nothing more. Checks, in order,
 * cheapest and most telling first: the site and its origin, enabled, the client address's budget
 * (every submission counts, valid or not), the proof of work (once), the visitor's number (parsed,
 * do-not-call, its daily budget), the target's hours and the site's daily cap; then the callback
 * service applies the REST API's toll-fraud and call-bombing rules.
 */
export class WidgetIntake {
  private readonly perIp: RateLimiterRedis;
  private readonly perNumber: RateLimiterRedis;
  private readonly clock: () => Date;

  constructor(private readonly deps: WidgetIntakeDeps) {
    this.perIp = new RateLimiterRedis({ storeClient: deps.redis, keyPrefix: `${deps.prefix}:wip`, points: deps.limits.perIpPerHour, duration: 3600, rejectIfRedisNotReady: true });
    this.perNumber = new RateLimiterRedis({ storeClient: deps.redis, keyPrefix: `${deps.prefix}:wnum`, points: deps.limits.perNumberPerDay, duration: 86_400, rejectIfRedisNotReady: true });
    this.clock = deps.clock ?? (() => new Date());
  }

  /** The site a public key names, usable from `origin`; throws SITE_NOT_FOUND, ORIGIN_NOT_ALLOWED. */
  async siteFor(key: string, origin: string | undefined): Promise<Site> {
    const site = PUBLIC_KEY.test(key) ? await this.deps.sites.byPublicKey(key) : undefined;
    if (!site) throw new CrosslineError('SITE_NOT_FOUND');
    if (origin === undefined || !site.allowedOrigins.includes(origin)) {
      throw new CrosslineError('ORIGIN_NOT_ALLOWED', undefined, [{ path: 'header.Origin', message: origin === undefined ? 'no Origin header' : `${origin} is not among the site's allowed origins` }]);
    }
    return site;
  }

  /** What the widget needs to draw itself: the site's name, countries, whether it is open, slots. */
  /** Every schedule the site's callbacks must fit: its own hours and its call center's. */
  private async schedulesOf(site: Site): Promise<BusinessHours[]> {
    const schedules = site.hours ? [site.hours] : [];
    if ('callCenter' in site.target) {
      const center = await this.deps.callCenters?.find(site.owner, site.target.callCenter);
      if (center?.hours) schedules.push(center.hours);
    }
    return schedules;
  }

  async publicConfig(site: Site): Promise<{ name: string; defaultCountry: string; countries: string[]; enabled: boolean; openNow: boolean; slots: string[]; phoneMetadata: unknown }> {
    const now = this.clock().getTime();
    const times = new OpenTimes(await this.schedulesOf(site), now);
    const countries = this.countriesOf(site);
    return {
      name: site.name,
      defaultCountry: site.defaultCountry,
      countries,
      phoneMetadata: phoneMetadataFor(countries),
      enabled: site.enabled,
      openNow: site.enabled && times.isOpen(now),
      slots: site.enabled ? times.slots(now) : [],
    };
  }

  /** The site's countries, else every country the server may call. */
  private countriesOf(site: Site): string[] {
    return site.countries.length > 0 ? site.countries : [...this.deps.allowedCountries];
  }

  async challenge(site: Site): Promise<unknown> {
    if (!site.enabled) throw new CrosslineError('SITE_DISABLED');
    return this.deps.pow.issue(site.publicKey);
  }

  async submit(input: WidgetSubmission, from: SubmissionContext): Promise<WidgetAccepted> {
    const { deps } = this;
    const site = await this.siteFor(input.site, from.origin);
    if (!site.enabled) throw new CrosslineError('SITE_DISABLED');
    await this.consume(this.perIp, from.ip, 'client address');
    await deps.pow.redeem(input.pow, site.publicKey);

    const region = input.country !== undefined && this.countriesOf(site).includes(input.country) ? input.country : site.defaultCountry;
    const visitor = parseNumber(input.number, region, '/number').e164;
    const now = this.clock();
    const times = new OpenTimes(await this.schedulesOf(site), now.getTime());
    if (input.at !== undefined) {
      const at = Date.parse(input.at);
      if (Number.isNaN(at) || at > now.getTime() + 7 * 86_400_000 || !times.isOpen(at)) throw new CrosslineError('OUTSIDE_BUSINESS_HOURS', undefined, [{ path: '/at', message: 'pick one of the offered slots' }]);
    } else if (!times.isOpen(now.getTime())) {
      throw new CrosslineError('OUTSIDE_BUSINESS_HOURS', 'The site is closed now; pick a time slot.', [{ path: '/at', message: 'closed now' }]);
    }

    await this.consume(this.perNumber, visitor, 'number');
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: site.hours?.timeZone ?? 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
    const capKey = `${deps.prefix}:wcap:${site.id}:${day}`;
    const used = await deps.redis.incr(capKey);
    if (used === 1) await deps.redis.expire(capKey, 2 * 86_400);
    const refund = async (): Promise<void> => {
      await deps.redis.decr(capKey).catch(() => undefined);
      await this.perNumber.reward(visitor, 1).catch(() => undefined);
    };
    if (used > site.dailyCap) {
      await refund();
      throw new CrosslineError('SITE_DAILY_CAP_REACHED', undefined, [], { retryAfterSec: 3600 });
    }

    let callback: Callback;
    try {
      callback = await deps.callbacks.create(
        {
          // the site is rung first; once someone there answers, the visitor is rung and bridged
          callee: 'callCenter' in site.target ? { callCenter: site.target.callCenter, ...(site.target.route !== undefined ? { route: site.target.route } : {}) } : { number: site.target.number, name: site.name },
          caller: { number: visitor, ...(input.name !== undefined ? { name: input.name } : {}) },
          ...(input.at !== undefined ? { at: input.at } : {}),
          announce: { callee: input.name !== undefined && isDisplayName(input.name) ? `Web callback request from ${input.name}.` : 'Web callback request.' },
          ...(site.webhook !== undefined ? { webhook: site.webhook } : {}),
          order: 'callee-first',
        },
        site.owner,
      );
    } catch (err) {
      await refund();
      throw err;
    }
    deps.logger.info({ siteId: site.id, callbackId: callback.id, owner: site.owner }, 'widget callback accepted');
    await deps.volume.record(site, now.getTime());
    const token = deps.tokens.issue(callback.id, site.id, now.getTime());
    return { id: callback.id, statusToken: token.token, statusTokenExpiresAt: token.expiresAt, callback };
  }

  private async consume(limiter: RateLimiterRedis, key: string, what: string): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        throw new CrosslineError('VISITOR_RATE_LIMITED', undefined, [{ message: `too many requests for this ${what}` }], { retryAfterSec: retryAfter(err) });
      }
      throw new CrosslineError('STORE_UNAVAILABLE', undefined, [], { cause: err });
    }
  }
}
