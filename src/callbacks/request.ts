import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { CrosslineError, type ErrorCode } from '../errors.js';
import { isDisplayName, isDtmf, isE164, isSipUri, isSpeakableText } from '../telephony/grammar.js';
import { assertDestinationAllowed, type CallerIdPolicy, type FraudPolicy } from './fraud.js';
import type { CallbackInput, EndpointInput } from './ports.js';
import type { CallbackRequest, Endpoint, Party } from './types.js';
import { parseIvrSteps, parseIvrValues } from './ivr.js';
import { parseHumanCheck } from './human-check.js';

/** The defaults and limits a request is completed and checked with. */
export interface RequestPolicy {
  defaultRegion: string;
  defaultRingTimeoutSec: number;
  defaultMaxAttempts: number;
  defaultRetryDelaySec: number;
  maxScheduleDays: number;
  fraud: FraudPolicy;
  /** Caller ids each API key may present (checked by the service, which knows the key). */
  callerIds: CallerIdPolicy;
}

// Characters a human writes in a phone number; anything else is refused before parsing.
const NUMBER_CHARS = /^\+?[0-9 ().-]{3,32}$/;
// ISO 8601 date-time with an explicit offset: a time without one is ambiguous across time zones.
const DATE_TIME_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
// A time slightly in the past (clock skew, slow client) means "now"; further back is a mistake.
const PAST_TOLERANCE_MS = 5 * 60_000;
// Characters that show nothing or reorder what follows: a name made of them impersonates another.
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Bidi_Control}]/u;
// Stacks of combining marks ("zalgo") overdraw the neighbouring text; real scripts need few in a row.
const MARK_STACK = /\p{M}{4}/u;

const invalid = (code: ErrorCode, path: string, message: string): CrosslineError =>
  new CrosslineError(code, undefined, [{ path, message }]);

/** Parses a phone number written in E.164 or in the national format of `region` into E.164. */
export function parseNumber(text: string, region: string, path: string, code: ErrorCode = 'INVALID_NUMBER'): { e164: string; country: string } {
  if (!NUMBER_CHARS.test(text)) throw invalid(code, path, 'contains characters that are not part of a phone number');
  const parsed = parsePhoneNumberFromString(text, region as CountryCode);
  if (!parsed || !parsed.isValid() || !parsed.country) throw invalid(code, path, `not a valid phone number (default region ${region})`);
  const e164 = parsed.number;
  if (!isE164(e164)) throw invalid(code, path, 'not representable in E.164');
  return { e164, country: parsed.country };
}

function parseEndpoint(input: EndpointInput, region: string, path: string): Endpoint {
  const hasNumber = input.number !== undefined;
  const hasSip = input.sipUri !== undefined;
  if (hasNumber === hasSip) throw invalid('VALIDATION_FAILED', path, 'give exactly one of number or sipUri');
  if (input.number !== undefined) return { kind: 'number', ...parseNumber(input.number, region, `${path}/number`) };
  const uri = input.sipUri ?? '';
  if (!isSipUri(uri)) throw invalid('INVALID_SIP_URI', `${path}/sipUri`, 'not a sip: or sips: URI of the form user@host[:port]');
  return { kind: 'sip', uri };
}

/**
 * Human text in its NFKC form (full-width and other compatibility look-alikes folded to the plain
 * letters), or undefined when it holds invisible or bidi-control characters or stacked marks.
 */
export function normaliseText(text: string): string | undefined {
  const normal = text.normalize('NFKC');
  if (INVISIBLE.test(text) || INVISIBLE.test(normal) || MARK_STACK.test(normal)) return undefined;
  return normal;
}

function parseName(name: string, path: string): string {
  const normal = normaliseText(name);
  if (normal === undefined) throw invalid('INVALID_NAME', path, 'contains invisible, bidirectional-control or stacked combining characters');
  if (!isDisplayName(normal)) throw invalid('INVALID_NAME', path, 'letters, digits, spaces, "." and "-" only, at most 64');
  return normal;
}

function parseParty(input: EndpointInput, policy: RequestPolicy, path: string): Party {
  const endpoint = parseEndpoint(input, policy.defaultRegion, path);
  assertDestinationAllowed(endpoint, policy.fraud, path);
  if (input.name === undefined) return { endpoint };
  return { endpoint, name: parseName(input.name, `${path}/name`) };
}

/** A requested time: in the future (a little past means now: undefined) and within the horizon. Throws INVALID_SCHEDULE. */
export function parseAt(at: string, now: Date, maxScheduleDays: number): string | undefined {
  const time = Date.parse(at);
  if (!DATE_TIME_WITH_OFFSET.test(at) || Number.isNaN(time)) throw invalid('INVALID_SCHEDULE', '/at', 'ISO 8601 date-time with an offset, e.g. 2026-11-22T15:00:00+01:00');
  if (time < now.getTime() - PAST_TOLERANCE_MS) throw invalid('INVALID_SCHEDULE', '/at', 'is in the past');
  if (time > now.getTime() + maxScheduleDays * 86_400_000) throw invalid('INVALID_SCHEDULE', '/at', `is more than ${maxScheduleDays} days ahead`);
  return time > now.getTime() ? new Date(time).toISOString() : undefined;
}

function parseAnnouncement(text: string | undefined, path: string): string | undefined {
  if (text === undefined) return undefined;
  const normal = normaliseText(text);
  if (normal === undefined) throw invalid('INVALID_ANNOUNCEMENT', path, 'contains invisible, bidirectional-control or stacked combining characters');
  if (!isSpeakableText(normal)) throw invalid('INVALID_ANNOUNCEMENT', path, 'letters, digits, spaces and . , : ! ? \' ( ) - only, at most 500');
  return normal;
}

// The schema bounds these too; checked again because intakes other than REST build input as well.
function assertWithin(value: number | undefined, min: number, max: number, path: string): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) throw invalid('VALIDATION_FAILED', path, `must be an integer from ${min} to ${max}`);
}

function parseWebhook(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('INVALID_WEBHOOK_URL', '/webhook', 'not an absolute URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw invalid('INVALID_WEBHOOK_URL', '/webhook', 'must be http or https');
  if (parsed.username !== '' || parsed.password !== '') throw invalid('INVALID_WEBHOOK_URL', '/webhook', 'must not carry credentials');
  return parsed.toString();
}

/**
 * Turns schema-valid input into a {@link CallbackRequest}: numbers normalised to E.164, every value
 * checked against the ESL grammars, the toll-fraud policy applied to both legs, defaults filled in.
 * Throws CrosslineError with a JSON-pointer path in `details`.
 */
export function parseCallbackInput(input: CallbackInput, policy: RequestPolicy, now: Date): CallbackRequest {
  const caller = parseParty(input.caller, policy, '/caller');
  const calleeParty = parseParty(input.callee, policy, '/callee');
  let dtmf: string | undefined;
  if (input.callee.dtmf !== undefined) {
    if (!isDtmf(input.callee.dtmf)) throw invalid('INVALID_DTMF', '/callee/dtmf', '0-9 * # A-D and w/W pauses only, at most 64');
    dtmf = input.callee.dtmf;
  }
  const values = parseIvrValues(input.values);
  if (dtmf !== undefined && input.callee.ivr !== undefined) throw invalid('INVALID_IVR', '/callee/ivr', 'give the IVR sequence as dtmf (compact) or ivr (structured), not both');
  const ivr = input.callee.ivr === undefined ? undefined : parseIvrSteps(input.callee.ivr, values, '/callee/ivr');
  // Who each party is told it will be connected to when it must press 1.
  const humanCheck = parseHumanCheck(input.confirm, input.machineDetection, (role) => {
    const other = role === 'caller' ? calleeParty.name : caller.name;
    return `Press 1 to be connected to ${other ?? 'your call'}.`;
  });
  const announceCallee = parseAnnouncement(input.announce?.callee, '/announce/callee');
  const announceCaller = parseAnnouncement(input.announce?.caller, '/announce/caller');
  assertWithin(input.ringTimeout, 5, 120, '/ringTimeout');
  assertWithin(input.retry?.maxAttempts, 1, 10, '/retry/maxAttempts');
  assertWithin(input.retry?.delaySeconds, 0, 86_400, '/retry/delaySeconds');
  if (input.maxWaitSeconds !== undefined && !(Number.isInteger(input.maxWaitSeconds) && input.maxWaitSeconds >= MAX_WAIT_BOUNDS[0] && input.maxWaitSeconds <= MAX_WAIT_BOUNDS[1])) {
    throw invalid('INVALID_MAX_WAIT', '/maxWaitSeconds', `a whole number of seconds from ${MAX_WAIT_BOUNDS[0]} to ${MAX_WAIT_BOUNDS[1]}`);
  }
  const at = input.at === undefined ? undefined : parseAt(input.at, now, policy.maxScheduleDays);
  const callerId = input.callerId === undefined ? undefined : parseNumber(input.callerId, policy.defaultRegion, '/callerId', 'INVALID_CALLER_ID').e164;
  return {
    caller,
    callee: { ...calleeParty, ...(dtmf !== undefined ? { dtmf } : {}), ...(ivr !== undefined ? { ivr } : {}) },
    ...(at !== undefined ? { at } : {}),
    ringTimeoutSec: input.ringTimeout ?? policy.defaultRingTimeoutSec,
    retry: {
      maxAttempts: input.retry?.maxAttempts ?? policy.defaultMaxAttempts,
      delaySeconds: input.retry?.delaySeconds ?? policy.defaultRetryDelaySec,
    },
    announce: {
      ...(announceCallee !== undefined ? { callee: announceCallee } : {}),
      ...(announceCaller !== undefined ? { caller: announceCaller } : {}),
    },
    ...(callerId !== undefined ? { callerId } : {}),
    ...(input.webhook !== undefined ? { webhook: parseWebhook(input.webhook) } : {}),
    order: input.order ?? 'callee-first',
    ...(values !== undefined ? { values } : {}),
    ...(humanCheck !== undefined ? { humanCheck } : {}),
    ...(input.maxWaitSeconds !== undefined ? { maxWaitSec: input.maxWaitSeconds } : {}),
  };
}

/** maxWaitSeconds: 0 would never ring; more than an hour on hold is not what anyone asks for. */
export const MAX_WAIT_BOUNDS = [10, 3600] as const;
