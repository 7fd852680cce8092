import { assertDestinationAllowed, parseNumber, type FraudPolicy } from '../../callbacks/index.js';
import type { AnsweringMachinePolicy, CallCenter, CallCenterRoute, ConfirmationPolicy, KeepPlacePolicy, Pacing, QueueSource } from '../../callbacks/call-center.js';
import { parseBusinessHours, type WeeklyRange } from '../../callbacks/policies/hours.js';
import { normaliseText } from '../../callbacks/request.js';
import { CrosslineError, type ErrorCode } from '../../errors.js';
import { isQueueName } from '../../telephony/callcenter.js';
import { isDisplayName, isDtmf, isSpeakableText } from '../../telephony/grammar.js';
import { parseIvrSteps } from '../../callbacks/ivr.js';
import type { IvrStepInput } from '../../callbacks/ports.js';

/** The body of POST /v1/call-centers and PUT /v1/call-centers/{name}, after schema validation. */
export interface CallCenterInput {
  name: string;
  aliases?: string[];
  displayName?: string;
  numbers: string[];
  routes?: Record<string, { dtmf?: string; ivr?: IvrStepInput[]; description?: string }>;
  hours?: { timeZone: string; weekly: WeeklyRange[]; holidays?: string[] };
  queue?: QueueSource;
  pacing?: Pacing;
  confirmation?: Partial<ConfirmationPolicy>;
  answeringMachine?: Partial<AnsweringMachinePolicy>;
  keepPlace?: Partial<KeepPlacePolicy> & { extension: string };
  onQueueError?: 'wait' | 'call-anyway';
}

/** A dialplan extension and context, as the queue leg's dial string takes them (telephony/dial-string.ts). */
const EXTENSION = /^[A-Za-z0-9+_.-]{1,32}$/;
const CONTEXT = /^[A-Za-z0-9_.-]{1,64}$/;

function keepPlacePolicy(input: CallCenterInput['keepPlace'], queue: QueueSource): KeepPlacePolicy | undefined {
  if (input === undefined) return undefined;
  if (queue.type !== 'freeswitch') throw invalid('VALIDATION_FAILED', '/keepPlace', 'keep-your-place needs a queue of type freeswitch (a mod_callcenter queue on the switch)');
  if (!EXTENSION.test(input.extension)) throw invalid('VALIDATION_FAILED', '/keepPlace/extension', 'a dialplan extension: letters, digits and + _ . - only, at most 32');
  const context = input.context ?? 'default';
  if (!CONTEXT.test(context)) throw invalid('VALIDATION_FAILED', '/keepPlace/context', 'a dialplan context: letters, digits and _ . - only, at most 64');
  return { extension: input.extension, context, byDefault: input.byDefault ?? false };
}

/** Names, aliases and route names: lower-case letters, digits and inner `-`, 1-64. */
export const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
export const MAX_ALIASES = 10;
export const MAX_NUMBERS = 5;
export const MAX_ROUTES = 50;
const DEFAULT_CONFIRM_TIMEOUT_SEC = 8;

const invalid = (code: ErrorCode, path: string, message: string): CrosslineError => new CrosslineError(code, undefined, [{ path, message }]);

function slug(value: string, path: string): string {
  if (!SLUG.test(value)) throw invalid('VALIDATION_FAILED', path, 'lower-case letters, digits and inner "-" only, 1-64 characters');
  return value;
}

function speakable(text: string | undefined, path: string): string | undefined {
  if (text === undefined) return undefined;
  const normal = normaliseText(text);
  if (normal === undefined || !isSpeakableText(normal)) throw invalid('INVALID_ANNOUNCEMENT', path, "letters, digits, spaces and . , : ! ? ' ( ) - only, at most 500");
  return normal;
}

function queueSource(input: QueueSource | undefined): QueueSource {
  if (input === undefined || input.type === 'none') return { type: 'none' };
  if (input.type === 'freeswitch') {
    if (!isQueueName(input.queue)) throw invalid('INVALID_QUEUE', '/queue/queue', 'a mod_callcenter queue name such as support@default (name@domain; letters, digits and _ . - only)');
    return { type: 'freeswitch', queue: input.queue };
  }
  if (input.type === 'http') {
    let url: URL;
    try {
      url = new URL(input.url);
    } catch {
      throw invalid('VALIDATION_FAILED', '/queue/url', 'not an absolute URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('VALIDATION_FAILED', '/queue/url', 'must be http or https');
    if (url.username !== '' || url.password !== '') throw invalid('VALIDATION_FAILED', '/queue/url', 'must not carry credentials');
    return { type: 'http', url: url.toString() };
  }
  throw invalid('VALIDATION_FAILED', '/queue/type', 'one of none, freeswitch, http');
}

/**
 * Checks a call-center entry as strictly as a callback: every number real for its region and
 * allowed by the toll-fraud policy, IVR digits in the DTMF grammar, hours valid (time zone, no
 * inverted or overlapping ranges), names and aliases distinct. Throws CrosslineError with paths.
 */
export function parseCallCenterInput(input: CallCenterInput, policy: { defaultRegion: string; fraud: FraudPolicy }, now: Date, previous?: CallCenter): CallCenter {
  const name = slug(input.name, '/name');
  const aliases = [...new Set((input.aliases ?? []).map((a, i) => slug(a, `/aliases/${i}`)))];
  if (aliases.length > MAX_ALIASES) throw invalid('VALIDATION_FAILED', '/aliases', `at most ${MAX_ALIASES}`);
  if (aliases.includes(name)) throw invalid('VALIDATION_FAILED', '/aliases', 'an alias may not repeat the name');
  let displayName: string | undefined;
  if (input.displayName !== undefined) {
    const normal = normaliseText(input.displayName);
    if (normal === undefined || !isDisplayName(normal)) throw invalid('INVALID_NAME', '/displayName', 'letters, digits, spaces, "." and "-" only, at most 64');
    displayName = normal;
  }
  if (!Array.isArray(input.numbers) || input.numbers.length === 0 || input.numbers.length > MAX_NUMBERS) {
    throw invalid('VALIDATION_FAILED', '/numbers', `give 1 to ${MAX_NUMBERS} numbers`);
  }
  const numbers = [
    ...new Set(
      input.numbers.map((text, i) => {
        const parsed = parseNumber(text, policy.defaultRegion, `/numbers/${i}`);
        assertDestinationAllowed({ kind: 'number', ...parsed }, policy.fraud, `/numbers/${i}`);
        return parsed.e164;
      }),
    ),
  ];
  const routes: Record<string, CallCenterRoute> = {};
  const routeEntries = Object.entries(input.routes ?? {});
  if (routeEntries.length > MAX_ROUTES) throw invalid('VALIDATION_FAILED', '/routes', `at most ${MAX_ROUTES} routes`);
  for (const [routeName, route] of routeEntries) {
    slug(routeName, `/routes/${routeName}`);
    if ((route.dtmf === undefined) === (route.ivr === undefined)) throw invalid('INVALID_IVR', `/routes/${routeName}`, 'give exactly one of dtmf (compact) and ivr (structured)');
    if (route.dtmf !== undefined && !isDtmf(route.dtmf)) throw invalid('INVALID_DTMF', `/routes/${routeName}/dtmf`, '0-9 * # A-D and w/W pauses only, at most 64');
    // Checked now (steps, limits, digits); its value steps against each request's values later.
    if (route.ivr !== undefined) parseIvrSteps(route.ivr, 'any', `/routes/${routeName}/ivr`);
    const description = route.description === undefined ? undefined : speakable(route.description, `/routes/${routeName}/description`);
    routes[routeName] = {
      ...(route.dtmf !== undefined ? { dtmf: route.dtmf } : {}),
      ...(route.ivr !== undefined ? { ivr: route.ivr } : {}),
      ...(description !== undefined ? { description } : {}),
    };
  }
  const hours = input.hours === undefined ? undefined : parseBusinessHours(input.hours, '/hours');
  let pacing: Pacing | undefined;
  if (input.pacing !== undefined) {
    const { maxInProgress, originatesPerMinute } = input.pacing;
    if (!Number.isInteger(maxInProgress) || maxInProgress < 1 || maxInProgress > 10_000) throw invalid('VALIDATION_FAILED', '/pacing/maxInProgress', 'an integer from 1 to 10000');
    if (!Number.isInteger(originatesPerMinute) || originatesPerMinute < 1 || originatesPerMinute > 60_000) throw invalid('VALIDATION_FAILED', '/pacing/originatesPerMinute', 'an integer from 1 to 60000');
    pacing = { maxInProgress, originatesPerMinute };
  }
  const timeoutSeconds = input.confirmation?.timeoutSeconds ?? DEFAULT_CONFIRM_TIMEOUT_SEC;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 2 || timeoutSeconds > 60) throw invalid('VALIDATION_FAILED', '/confirmation/timeoutSeconds', 'an integer from 2 to 60');
  const prompt = speakable(input.confirmation?.prompt, '/confirmation/prompt');
  const confirmation: ConfirmationPolicy = { enabled: input.confirmation?.enabled ?? false, timeoutSeconds, ...(prompt !== undefined ? { prompt } : {}) };
  const amdMessage = speakable(input.answeringMachine?.message, '/answeringMachine/message');
  const action = input.answeringMachine?.action ?? 'hangup-and-retry';
  if (action === 'leave-message' && amdMessage === undefined) throw invalid('VALIDATION_FAILED', '/answeringMachine/message', 'leave-message needs the message to leave');
  const answeringMachine: AnsweringMachinePolicy = { detection: input.answeringMachine?.detection ?? 'off', action, ...(amdMessage !== undefined ? { message: amdMessage } : {}) };
  const stamp = now.toISOString();
  const queue = queueSource(input.queue);
  const keepPlace = keepPlacePolicy(input.keepPlace, queue);
  return {
    name,
    aliases,
    ...(displayName !== undefined ? { displayName } : {}),
    numbers,
    routes,
    ...(hours !== undefined ? { hours } : {}),
    queue,
    ...(pacing !== undefined ? { pacing } : {}),
    confirmation,
    answeringMachine,
    ...(keepPlace !== undefined ? { keepPlace } : {}),
    ...(input.onQueueError === 'call-anyway' ? { onQueueError: 'call-anyway' as const } : {}),
    createdAt: previous?.createdAt ?? stamp,
    updatedAt: stamp,
  };
}
