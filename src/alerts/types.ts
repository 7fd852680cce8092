/**
 * Call-attempt alerts (seed 000): who wants to hear of calls to a line (claim 12), who wants the
 * people they call told when their calls fail (claim 13), and the attempts the switch reports.
 */
import type { ChannelAddress } from '../channels/types.js';

/**
 * `callee`: tell `recipients` of every call to `line` (and of each that the network fails).
 * `caller`: when calls from `line` to one of `targets` fail for a network reason, tell `recipients`.
 */
export type InterestKind = 'callee' | 'caller';

export interface Interest {
  id: string;
  owner: string;
  /** The directory user who registered it. */
  userId: string;
  kind: InterestKind;
  /** E.164: the line called (callee) or calling (caller). */
  line: string;
  /** caller kind: the lines whose failed calls are reported (E.164). */
  targets: string[];
  recipients: ChannelAddress[];
  /** Ownership of `line` is proven (a code spoken to it, or an operator's flag); alerts go out only then. */
  verified: boolean;
  verifiedBy?: 'code' | 'operator';
  createdAt: string;
}

export interface InterestInput {
  userId: string;
  kind: InterestKind;
  line: string;
  targets?: string[];
  recipients: ChannelAddress[];
}

/** A call that reached the switch, or one the network failed to complete. */
export interface Attempt {
  /** The switch's channel UUID: one attempt, one alert per recipient. */
  uuid: string;
  callerNumber: string;
  callerName?: string;
  /** E.164 of the line called. */
  line: string;
  at: Date;
  /** Set when the network failed the call (NETWORK_OUT_OF_ORDER, …). */
  failure?: string;
}

/** The hangup causes that mean the network, not the callee, failed the call. */
export const NETWORK_FAILURES: ReadonlySet<string> = new Set([
  'NETWORK_OUT_OF_ORDER', 'NO_ROUTE_DESTINATION', 'NO_ROUTE_TRANSIT_NET', 'DESTINATION_OUT_OF_ORDER', 'NORMAL_TEMPORARY_FAILURE',
  'RECOVERY_ON_TIMER_EXPIRE', 'GATEWAY_DOWN', 'SWITCH_CONGESTION', 'NORMAL_CIRCUIT_CONGESTION', 'REQUESTED_CHAN_UNAVAIL',
  'BEARERCAPABILITY_NOTAVAIL', 'FACILITY_NOT_SUBSCRIBED', 'SERVICE_UNAVAILABLE', 'MEDIA_TIMEOUT',
]);
