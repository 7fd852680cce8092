/**
 * Builds the arguments of `originate` from validated values only. Every value is checked again
 * here against the strict grammars (defence in depth: a bug upstream must not become a dial-string
 * or ESL injection), and channel variables come from a fixed allow-list: nothing a user typed can
 * name a variable, and no `execute_on_*` / `api_on_*` style variable can be set at all: a leg's
 * tags only ever become `crossline_<name>` variables.
 */
import { CrosslineError, type ErrorCode } from '../errors.js';
import { isDisplayName, isE164, isSipUri, isUuid } from './grammar.js';
import { isQueueName } from './callcenter.js';
import type { DialRequest, DialTags, Endpoint, QueueEndpoint } from './types.js';

/** Gateway and profile names as FreeSWITCH configs spell them (same rule as the config schema). */
const SWITCH_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Longest ring time we hand to the switch, s. */
export const MAX_RING_TIMEOUT_SEC = 600;

export interface DialStringOptions {
  /** Gateway numbers are dialled through: `sofia/gateway/<gateway>/<number>`. */
  gateway: string;
  /** `e164` hands `+12025550100` to the gateway, `digits` hands `12025550100`; caller id numbers follow the same format. */
  numberFormat: 'e164' | 'digits';
  /** Sofia profile SIP URIs are dialled through: `sofia/<profile>/<user@host>`. */
  sipProfile: string;
}

/**
 * The only channel variables Crossline ever sets on an originate, in the order they are written.
 * Values are checked by type and grammar before they are written.
 */
export interface OriginateVariables {
  /** The leg's UUID, chosen by us before dialling. */
  origination_uuid: string;
  /** Ring time, s (1–600). */
  originate_timeout: number;
  /** Early media (183) is not an answer: wait for the 200 OK. */
  ignore_early_media: true;
  origination_caller_id_number?: string;
  origination_caller_id_name?: string;
  /** The leg's tags, written as `crossline_<name>` in the order given. */
  tags: DialTags;
  /** End the leg when a bridge it is in ends. */
  hangup_after_bridge?: boolean;
  /** A queue leg's place in line: its member's score starts at this many seconds (mod_callcenter). */
  cc_base_score?: number;
  /**
   * A queue leg is bridged to the caller while its loopback twin is bridged to the agent: mod_loopback
   * must not bow out (it would replace both loopback legs, and Crossline's leg with them).
   */
  loopback_bowout?: false;
  /** Marks the leg as Crossline's: the event socket filters the switch's events on it (esl/events.ts). */
  crossline: true;
}

/** The allow-list, in output order; `tags` stands for the `crossline_<name>` variables. */
export const ORIGINATE_VARIABLES: readonly (keyof OriginateVariables)[] = [
  'origination_uuid',
  'originate_timeout',
  'ignore_early_media',
  'origination_caller_id_number',
  'origination_caller_id_name',
  'tags',
  'hangup_after_bridge',
  'cc_base_score',
  'loopback_bowout',
  'crossline',
];

/** Tag names: the variable is `crossline_<name>`, so no tag can name another variable. */
const TAG_NAME = /^[a-z][a-z0-9_]{0,31}$/;
/** Tag values are identifiers (UUIDs, roles, counters): never quoted, never a separator. */
const TAG_VALUE = /^[A-Za-z0-9._:@+-]{1,128}$/;
/** More tags than this is a bug, not a use. */
const MAX_TAGS = 8;
/** Prefix of the channel variable each tag becomes (tag `role` → `crossline_role`). */
export const TAG_PREFIX = 'crossline_';

/**
 * Characters a variable value may hold once its own grammar has passed. No `,` (separates
 * variables), no quotes, no `{}[]<>` (variable blocks), no `^` (delimiter change), no `$` or `\`,
 * no `|`, `;`, `&`, no control or format characters. A value with a space is single-quoted.
 */
const VARIABLE_VALUE = /^[\p{L}\p{M}\p{N} +._@:-]{1,256}$/u;

/** Anything that would end or split an ESL command line. */
const UNSAFE_IN_COMMAND = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

function refuse(code: ErrorCode, message: string, path?: string): never {
  throw new CrosslineError(code, message, [{ ...(path !== undefined ? { path } : {}), message }]);
}

function checkSwitchName(name: string, what: string): void {
  if (!SWITCH_NAME.test(name)) refuse('INTERNAL', `The configured ${what} is not a valid FreeSWITCH name.`);
}

/** Formats an E.164 number for the switch. */
export function formatNumber(e164: string, format: DialStringOptions['numberFormat']): string {
  if (!isE164(e164)) refuse('INVALID_NUMBER', 'The phone number is not in E.164 form.');
  return format === 'digits' ? e164.slice(1) : e164;
}

/**
 * The dial string of one endpoint (no variables, no application).
 * - number: `sofia/gateway/<gateway>/<number>`;
 * - `sip:user@host`: `sofia/<profile>/user@host`;
 * - `sips:user@host`: `sofia/<profile>/sips:user@host`. Sofia keeps a `sips:` scheme and signals
 *   over TLS, so the profile must have TLS enabled; there is no separate TLS profile setting.
 */
/** A dialplan extension a queue leg is sent to: digits, letters and + _ . - only. */
const EXTENSION = /^[A-Za-z0-9+_.-]{1,32}$/;
/** Most seconds a place in line may be kept (a year): beyond it the score is a bug. */
const MAX_BASE_SCORE = 366 * 86_400;

export function buildDialString(endpoint: Endpoint | QueueEndpoint, options: DialStringOptions): string {
  if (endpoint.kind === 'queue') {
    if (!isQueueName(endpoint.queue)) refuse('INVALID_QUEUE', 'A queue name is name@domain, letters, digits and ._- only.');
    if (!EXTENSION.test(endpoint.extension)) refuse('INTERNAL', 'The queue extension is not a valid dialplan extension.');
    checkSwitchName(endpoint.context, 'queue context');
    return `loopback/${endpoint.extension}/${endpoint.context}`;
  }
  if (endpoint.kind === 'number') {
    checkSwitchName(options.gateway, 'dial gateway');
    return `sofia/gateway/${options.gateway}/${formatNumber(endpoint.e164, options.numberFormat)}`;
  }
  if (endpoint.kind === 'sip') {
    if (!isSipUri(endpoint.uri)) refuse('INVALID_SIP_URI', 'The SIP URI is not allowed by the SIP URI grammar.');
    checkSwitchName(options.sipProfile, 'SIP profile');
    const target = endpoint.uri.startsWith('sips:') ? endpoint.uri : endpoint.uri.slice('sip:'.length);
    return `sofia/${options.sipProfile}/${target}`;
  }
  return refuse('INTERNAL', 'Unknown endpoint kind.');
}

function formatValue(name: string, value: string | number | boolean): string {
  const text = String(value);
  if (!VARIABLE_VALUE.test(text) || text.trim() !== text) {
    refuse('INTERNAL', `Channel variable ${name} has a value that cannot be written safely.`);
  }
  return text.includes(' ') ? `'${text}'` : text;
}

/** Throws INTERNAL unless every tag's name and value pass their grammars. */
function checkTags(tags: DialTags): void {
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) refuse('INTERNAL', `A leg carries at most ${MAX_TAGS} tags.`, 'tags');
  for (const [name, value] of entries) {
    if (!TAG_NAME.test(name)) refuse('INTERNAL', 'A tag name must be lower-case letters, digits and _, starting with a letter.', 'tags');
    if (typeof value !== 'string' || !TAG_VALUE.test(value)) refuse('INTERNAL', 'A tag value must be letters, digits and . _ : @ + -.', 'tags');
  }
}

/** `{name=value,…}` from the allow-list only; values are re-checked and quoted when they hold spaces. */
export function buildVariableBlock(variables: OriginateVariables): string {
  const parts: string[] = [];
  for (const name of ORIGINATE_VARIABLES) {
    if (name === 'tags') {
      checkTags(variables.tags);
      for (const [tag, value] of Object.entries(variables.tags)) parts.push(`${TAG_PREFIX}${tag}=${formatValue(tag, value)}`);
      continue;
    }
    const value = variables[name];
    if (value === undefined) continue;
    parts.push(`${name}=${formatValue(name, value)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Checks a DialRequest against the grammars and turns it into the allow-listed variables. */
export function originateVariables(request: DialRequest, options: DialStringOptions): OriginateVariables {
  if (!isUuid(request.uuid)) refuse('INTERNAL', 'The leg UUID must be a lower-case UUID.', 'uuid');
  const { ringTimeoutSec, tags } = request;
  if (!Number.isInteger(ringTimeoutSec) || ringTimeoutSec < 1 || ringTimeoutSec > MAX_RING_TIMEOUT_SEC) {
    refuse('INTERNAL', `The ring timeout must be a whole number of seconds from 1 to ${MAX_RING_TIMEOUT_SEC}.`, 'ringTimeoutSec');
  }
  checkTags(tags);
  let callerIdNumber: string | undefined;
  if (request.callerIdNumber !== undefined) {
    if (!isE164(request.callerIdNumber)) refuse('INVALID_CALLER_ID', 'The caller id must be an E.164 number.', 'callerIdNumber');
    callerIdNumber = formatNumber(request.callerIdNumber, options.numberFormat);
  }
  if (request.callerIdName !== undefined && !isDisplayName(request.callerIdName)) {
    refuse('INVALID_NAME', 'The caller id name contains characters that are not allowed.', 'callerIdName');
  }
  return {
    origination_uuid: request.uuid,
    originate_timeout: ringTimeoutSec,
    ignore_early_media: true,
    ...(callerIdNumber !== undefined ? { origination_caller_id_number: callerIdNumber } : {}),
    ...(request.callerIdName !== undefined ? { origination_caller_id_name: request.callerIdName } : {}),
    tags,
    hangup_after_bridge: true,
    ...(request.endpoint.kind === 'queue' ? { cc_base_score: queueScore(request.endpoint), loopback_bowout: false as const } : {}),
    crossline: true,
  };
}

function queueScore(endpoint: QueueEndpoint): number {
  const score = endpoint.baseScore;
  if (!Number.isInteger(score) || score < 0 || score > MAX_BASE_SCORE) refuse('INTERNAL', 'A queue base score is a whole number of seconds up to a year.', 'baseScore');
  return score;
}

/** Throws unless `command` is one line of printable text (the last guard before the socket). */
export function assertSafeCommand(command: string): void {
  if (command.length === 0 || command.length > 2048 || UNSAFE_IN_COMMAND.test(command)) {
    refuse('INTERNAL', 'Refusing to send an ESL command with control characters or an unreasonable length.');
  }
}

/**
 * The arguments of `originate` for one leg: `{vars}<dial string> &park()`. The leg is parked on
 * answer; Crossline drives it from there (play, DTMF, uuid_bridge).
 */
export function buildOriginateArgs(request: DialRequest, options: DialStringOptions): string {
  const variables = buildVariableBlock(originateVariables(request, options));
  const args = `${variables}${buildDialString(request.endpoint, options)} &park()`;
  assertSafeCommand(args);
  return args;
}
