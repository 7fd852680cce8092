import { createHash, timingSafeEqual } from 'node:crypto';
import express, { Router, type RequestHandler } from 'express';
import type { LegFacts, LegFactsRepository } from '../../callbacks/ports.js';
import { CrosslineError } from '../../errors.js';
import { contextOf } from '../context.js';
import { toDetails, type OpenApi } from '../openapi.js';
import type { AuthFailureLimit } from '../rate-limit.js';

/** Where mod_json_cdr posts (its `url` parameter; it appends `?uuid=<leg uuid>`). */
export const SWITCH_CDR_PATH = '/v1/switch/cdr';
/** Largest CDR accepted: the captured ones are 6–11 kB; a leg that ran many applications is longer. */
export const CDR_BODY_LIMIT_BYTES = 512 * 1024;

/** The part of a mod_json_cdr record Crossline reads, as the SwitchCdr schema of openapi.yaml checks it. */
interface SwitchCdr {
  switchname?: string;
  variables: {
    uuid: string;
    crossline_callback_id?: string;
    crossline_role?: string;
    crossline_attempt?: string;
    hangup_cause: string;
    sip_hangup_disposition?: string;
    last_bridge_to?: string;
    start_epoch?: string;
    start_uepoch?: string;
    answer_epoch: string;
    answer_uepoch?: string;
    bridge_epoch: string;
    bridge_uepoch?: string;
    end_epoch: string;
    end_uepoch?: string;
    duration: string;
    billsec: string;
  };
}

export type CdrOutcome = 'stored' | 'duplicate' | 'ignored';

export interface SwitchCdrRoutesDeps {
  api: OpenApi;
  legFacts: LegFactsRepository;
  /** `user:password` of CDR_CREDENTIALS; undefined turns the endpoint off (404). */
  credentials: string | undefined;
  /** Counts wrong credentials per client address (shared with API-key guessing). */
  failures: AuthFailureLimit;
  /** The per-CDR-user rate limit (runs once the credentials are right). */
  rateLimit: RequestHandler;
  clock?: () => Date;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;
const CHARSET = /;\s*charset\s*=\s*"?([^;\s"]*)/i;

/**
 * The variables of a CDR are URL-encoded when mod_json_cdr has `encode-values=true` (the
 * default); the ones read here never hold a `%` of their own, so decoding is harmless either way.
 */
const decode = (value: string): string => {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};

/** An epoch pair as ISO time: the µs one when present, else the seconds; undefined for 0 ("did not happen"). */
function timeOf(epoch: string | undefined, uepoch: string | undefined): string | undefined {
  const micros = uepoch !== undefined ? Number(uepoch) : Number(epoch ?? '0') * 1_000_000;
  if (!(micros > 0)) return epoch !== undefined && Number(epoch) > 0 ? new Date(Number(epoch) * 1000).toISOString() : undefined;
  return new Date(Math.floor(micros / 1000)).toISOString();
}

/** The facts of one leg from its validated CDR; undefined for a leg Crossline did not tag (not ours). */
export function legFactsFromCdr(cdr: SwitchCdr, receivedAt: Date): LegFacts | undefined {
  const v = Object.fromEntries(Object.entries(cdr.variables).map(([k, value]) => [k, decode(String(value))])) as SwitchCdr['variables'];
  if (v.crossline_callback_id === undefined && v.crossline_role === undefined && v.crossline_attempt === undefined) return undefined;
  const answeredAt = Number(v.answer_epoch) > 0 ? timeOf(v.answer_epoch, v.answer_uepoch) : undefined;
  const bridgedAt = Number(v.bridge_epoch) > 0 ? timeOf(v.bridge_epoch, v.bridge_uepoch) : undefined;
  const startedAt = timeOf(v.start_epoch, v.start_uepoch);
  return {
    uuid: v.uuid,
    ...(v.crossline_callback_id !== undefined ? { callbackId: v.crossline_callback_id } : {}),
    ...(v.crossline_role !== undefined ? { role: v.crossline_role } : {}),
    ...(v.crossline_attempt !== undefined ? { attempt: Number(v.crossline_attempt) } : {}),
    answered: answeredAt !== undefined,
    ...(answeredAt !== undefined ? { answeredAt } : {}),
    bridged: bridgedAt !== undefined,
    ...(bridgedAt !== undefined ? { bridgedAt } : {}),
    ...(v.last_bridge_to !== undefined ? { bridgedTo: v.last_bridge_to } : {}),
    hangupCause: v.hangup_cause,
    ...(v.sip_hangup_disposition !== undefined ? { hangupDisposition: v.sip_hangup_disposition } : {}),
    ...(startedAt !== undefined ? { startedAt } : {}),
    endedAt: timeOf(v.end_epoch, v.end_uepoch) ?? receivedAt.toISOString(),
    durationSec: Number(v.duration),
    billSec: Number(v.billsec),
    receivedAt: receivedAt.toISOString(),
  };
}

/**
 * The JSON text of a CDR as mod_json_cdr sends it: raw JSON (encode=false), which it labels
 * `application/x-www-form-urlencoded` whenever disable-100-continue is on (the captures), or
 * `cdr=<url-encoded JSON>` (encode=true). It is never parsed as a form field by field.
 */
function cdrText(body: string): string {
  const text = body.trimStart();
  if (!text.startsWith('cdr=')) return text;
  return new URLSearchParams(text).get('cdr') ?? '';
}

/**
 * POST /v1/switch/cdr: FreeSWITCH's mod_json_cdr reports each leg once it ended. HTTP Basic with
 * CDR_CREDENTIALS (compared as SHA-256 digests, in constant time; wrong ones count against the
 * client address like wrong API keys), rate-limited per CDR user, parsed and validated once here,
 * stored as {@link LegFacts} by leg UUID. Any 2xx stops the switch's retries; a 4xx or 5xx makes it
 * try again `retries` times, `delay` seconds apart, and then write the CDR to its err-log-dir.
 */
export function switchCdrRoutes(deps: SwitchCdrRoutesDeps): Router {
  const router = Router();
  const { api, legFacts, credentials, failures } = deps;
  const clock = deps.clock ?? (() => new Date());
  const validate = api.schema('/components/schemas/SwitchCdr');
  const isUuid = api.schema('/components/schemas/Uuid');
  const expected = credentials === undefined ? undefined : sha256(credentials);
  const user = credentials?.slice(0, credentials.indexOf(':'));

  const authenticateSwitch: RequestHandler = async (req, res, next) => {
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    await failures.check(address, res);
    const match = BASIC.exec(req.get('authorization') ?? '');
    const presented = match?.[1] === undefined ? undefined : sha256(Buffer.from(match[1], 'base64').toString('utf8'));
    if (expected === undefined || presented === undefined || !timingSafeEqual(expected, presented)) {
      if (presented !== undefined) await failures.record(address);
      res.setHeader('WWW-Authenticate', 'Basic realm="crossline-cdr", charset="UTF-8"');
      return next(new CrosslineError('UNAUTHENTICATED', 'This endpoint needs the switch credentials: HTTP Basic with CDR_CREDENTIALS.'));
    }
    const ctx = contextOf(res);
    ctx.owner = `cdr:${user ?? ''}`;
    ctx.log = ctx.log.child({ owner: ctx.owner });
    next();
  };

  const contentType: RequestHandler = (req, _res, next) => {
    if (!req.is(['application/x-www-form-urlencoded', 'application/json'])) return next(new CrosslineError('UNSUPPORTED_MEDIA_TYPE', 'A CDR is JSON, sent as application/json or application/x-www-form-urlencoded.'));
    const charset = CHARSET.exec(req.get('content-type') ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return next(new CrosslineError('UNSUPPORTED_MEDIA_TYPE', 'The CDR must be UTF-8.'));
    next();
  };

  if (expected === undefined) {
    router.all(SWITCH_CDR_PATH, (_req, _res, next) => next(new CrosslineError('ROUTE_NOT_FOUND', 'CDR intake is off: CDR_CREDENTIALS is not set.')));
    return router;
  }

  router.post(
    SWITCH_CDR_PATH,
    authenticateSwitch,
    deps.rateLimit,
    contentType,
    express.text({ type: () => true, limit: CDR_BODY_LIMIT_BYTES, defaultCharset: 'utf-8' }),
    async (req, res) => {
      const body = typeof req.body === 'string' ? req.body : '';
      let cdr: unknown;
      try {
        cdr = JSON.parse(cdrText(body));
      } catch (err) {
        throw new CrosslineError('MALFORMED_JSON', 'The CDR is not JSON (mod_json_cdr with encode=false, or cdr=<url-encoded JSON>).', [{ message: (err as Error).message }]);
      }
      if (!validate(cdr)) throw new CrosslineError('VALIDATION_FAILED', 'The CDR lacks a fact Crossline reads, or holds one in an unexpected form.', toDetails(validate.errors ?? [], ''));
      const record = cdr as SwitchCdr;
      const queryUuid = req.query.uuid;
      if (queryUuid !== undefined && (typeof queryUuid !== 'string' || !isUuid(queryUuid) || queryUuid !== record.variables.uuid)) {
        throw new CrosslineError('VALIDATION_FAILED', undefined, [{ path: 'query.uuid', message: 'must be the UUID of the leg the CDR describes (variables.uuid)' }]);
      }
      const facts = legFactsFromCdr(record, clock());
      const outcome: CdrOutcome = facts === undefined ? 'ignored' : await legFacts.record(facts);
      contextOf(res).log.info({ uuid: record.variables.uuid, callbackId: facts?.callbackId, outcome }, 'switch CDR received');
      res.status(200).json({ uuid: record.variables.uuid, outcome });
    },
  );
  router.all(SWITCH_CDR_PATH, (_req, res, next) => {
    res.setHeader('Allow', 'POST');
    next(new CrosslineError('METHOD_NOT_ALLOWED'));
  });
  return router;
}
