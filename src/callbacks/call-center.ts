/**
 * What the callback domain knows of a call center: the directory (src/directory/call-centers)
 * stores and validates it; the flow reads its hours and pacing, intake resolves a callee that names
 * it. Validated values only: numbers in E.164, IVR digits in the DTMF grammar, hours normalised.
 */
import { CrosslineError } from '../errors.js';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { BusinessHours } from './policies/hours.js';
import type { CalleeParty, Endpoint } from './types.js';
import type { IvrStepInput } from './ports.js';

/** A named way through the center's IVR ("billing"). */
export interface CallCenterRoute {
  /** The IVR digits in the compact form (`ww1w2#`), validated by the DTMF grammar. */
  dtmf?: string;
  /**
   * Or the structured form, which waits for each prompt to end (see ivr.ts); kept as given, its
   * `value` steps are checked against each request's `values`. Exactly one of dtmf and ivr.
   */
  ivr?: IvrStepInput[];
  description?: string;
}

/** Where the center's queue state comes from (the cc-queue providers read it). */
export type QueueSource = { type: 'none' } | { type: 'freeswitch'; queue: string } | { type: 'http'; url: string };

/** How fast callbacks to one center are placed, across every worker. */
export interface Pacing {
  /** Most callbacks with an attempt in progress (dialling, talking) at once. */
  maxInProgress: number;
  /** Most attempts started in any 60 s. */
  originatesPerMinute: number;
}

/** Press-1 confirmation of the customer leg ("Press 1 to be connected to Acme Support"). */
export interface ConfirmationPolicy {
  enabled: boolean;
  /** Spoken before waiting for the digit. @defaultValue the server's text */
  prompt?: string;
  /** No digit within this many seconds counts as not answered. */
  timeoutSeconds: number;
}

/** What to do when a machine answers the customer leg. */
export interface AnsweringMachinePolicy {
  detection: 'off' | 'on';
  /** `hangup-and-retry`: the attempt fails (retried per policy); `leave-message`: `message` is spoken, then it completes. */
  action: 'hangup-and-retry' | 'leave-message';
  message?: string;
}

/**
 * Keep-your-place: the call-center leg is originated into the center's mod_callcenter queue on
 * Crossline's switch (`loopback/<extension>/<context>`, the extension that runs
 * `callcenter <queue>`) and waits there with the customer's place in line; the caller is rung the
 * moment an agent picks up. Only with a `freeswitch` queue source.
 */
export interface KeepPlacePolicy {
  /** The dialplan extension that joins the queue (`7000`). */
  extension: string;
  /** Its dialplan context. @defaultValue 'default' */
  context: string;
  /** Callbacks to the center keep their place unless the request says `keepPlace: false`. @defaultValue false */
  byDefault: boolean;
}

export interface CallCenter {
  /** Lower-case slug, unique per owner, as callbacks name it (`acme`). */
  name: string;
  /** Other slugs that name it; unique per owner across names and aliases. */
  aliases: string[];
  /** Shown to the customer as caller name, and said to the agent. */
  displayName?: string;
  /** E.164 numbers, tried in turn from one attempt to the next. */
  numbers: string[];
  routes: Record<string, CallCenterRoute>;
  /** Absent: always open. */
  hours?: BusinessHours;
  queue: QueueSource;
  /** Absent: not paced beyond the switch's own capacity guard. */
  pacing?: Pacing;
  confirmation: ConfirmationPolicy;
  answeringMachine: AnsweringMachinePolicy;
  /** Absent: callbacks dial the center's numbers and walk its IVR (no place is kept). */
  keepPlace?: KeepPlacePolicy;
  /**
   * When its queue cannot be read (provider error) while a `maxWaitSeconds` callback waits for an
   * agent: `wait` (nothing is dialled; it looks again) or `call-anyway` (the call is placed as if
   * the agent were near). @defaultValue 'wait'
   */
  onQueueError?: 'wait' | 'call-anyway';
  createdAt: string;
  updatedAt: string;
}

/** What a callback records of the center it calls (the number and digits are snapshotted on the callee). */
export interface CallCenterRef {
  /** The center's name (an alias given in the request is resolved to it). */
  name: string;
  route?: string;
  /** Every number of the center when the callback was accepted; attempt n dials numbers[(n - 1) % length]. */
  numbers: string[];
  /** Keep-your-place: the queue the call-center leg joins instead of dialling a number. */
  keepPlace?: { queue: string; extension: string; context: string };
  /** The center's policy says to place the call when its queue cannot be read (onQueueError call-anyway). */
  callOnQueueError?: true;
}

/** CALL_CENTER_NOT_FOUND naming the centers the owner does have (`details[0].known`). */
export function callCenterNotFound(name: string, known: string[], path?: string): CrosslineError {
  const list = known.length === 0 ? 'none: create one with POST /v1/call-centers' : known.join(', ');
  return new CrosslineError('CALL_CENTER_NOT_FOUND', `No call center "${name}".`, [{ ...(path !== undefined ? { path } : {}), message: `known call centers: ${list}`, known }]);
}

/** CALL_CENTER_ROUTE_NOT_FOUND naming the center's routes (`details[0].known`). */
export function callCenterRouteNotFound(center: CallCenter, route: string, path: string): CrosslineError {
  const known = Object.keys(center.routes).sort();
  const list = known.length === 0 ? 'none' : known.join(', ');
  return new CrosslineError('CALL_CENTER_ROUTE_NOT_FOUND', `Call center "${center.name}" has no route "${route}".`, [{ path, message: `known routes of ${center.name}: ${list}`, known }]);
}

/**
 * The endpoint attempt `attemptNumber` dials for a callee: a call center's numbers in turn
 * (attempt 1 the first), else the callee's own endpoint.
 */
export function calleeEndpointFor(callee: CalleeParty, attemptNumber: number): Endpoint {
  const numbers = callee.callCenter?.numbers ?? [];
  if (numbers.length < 2) return callee.endpoint;
  const e164 = numbers[(attemptNumber - 1) % numbers.length] as string;
  const parsed = parsePhoneNumberFromString(e164);
  return parsed?.country ? { kind: 'number', e164, country: parsed.country } : callee.endpoint;
}
