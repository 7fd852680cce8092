/**
 * Joining two legs: the `bridge` application (A dials B and waits) and `uuid_bridge` (two parked,
 * answered legs). The A side fires CHANNEL_BRIDGE; both get a CALL_UPDATE naming the other.
 */
import { copyProfile, type CallerProfile } from './caller-profile.js';
import type { Channel, CurrentApp } from './channel.js';
import type { SwitchContext } from './context.js';
import { dial } from './dial.js';
import { hangup } from './hangup.js';
import { executeCompleted, executeStarted, fire, setCallState, setRunning, unpark } from './leg.js';
import { parseOriginate } from './originate-args.js';
import { nowMicros } from './switch-core.js';

/** Default ring time of the bridge app when the dial string gives no timeout. */
const BRIDGE_TIMEOUT_SEC = 60;

/** `bridge(<dial string>)` on an answered leg: dials B with A as originator, bridges when B answers. */
export function bridgeApp(ctx: SwitchContext, a: Channel, app: CurrentApp): void {
  executeStarted(ctx, a, app, false);
  a.bridgeApp = app;
  setCallState(ctx, a, 'RING_WAIT');
  const parsed = parseOriginate(`${app.arg} &park()`);
  if (!parsed) {
    bridgeFailed(ctx, a, app, 'INVALID_URL');
    return;
  }
  const vars = new Map(parsed.variables);
  dial(ctx, {
    uuid: vars.get('origination_uuid'), endpoint: parsed.endpoint, variables: parsed.variables,
    callerIdName: a.profile.callerIdName, callerIdNumber: a.profile.callerIdNumber,
    timeoutSec: Number(vars.get('call_timeout') ?? vars.get('originate_timeout') ?? BRIDGE_TIMEOUT_SEC),
    originator: a,
  }, (b, outcome) => {
    if (!a.up) {
      if (b?.up) hangup(ctx, b, 'ORIGINATOR_CANCEL', 'cancelled');
      return;
    }
    if (outcome.answered && b) {
      answeredForA(ctx, a, b);
      link(ctx, a, b, 'app');
    } else bridgeFailed(ctx, a, app, outcome.answered ? 'NORMAL_CLEARING' : outcome.cause);
  });
}

/**
 * B never answered: the bridge app returns and hangs A up with B's cause, as mod_dptools does —
 * unless A has `continue_on_fail` true (or naming the cause), when A goes on with its next app.
 */
function bridgeFailed(ctx: SwitchContext, a: Channel, app: CurrentApp, cause: string): void {
  a.bridgeApp = undefined;
  a.vars.setAll([['originate_disposition', cause], ['DIALSTATUS', cause]]);
  executeCompleted(ctx, a, app);
  setCallState(ctx, a, 'ACTIVE');
  const continueOnFail = (a.vars.get('continue_on_fail') ?? '').split(',').map((c) => c.trim().toUpperCase());
  if (!continueOnFail.includes('TRUE') && !continueOnFail.includes(cause)) hangup(ctx, a, cause, 'local');
}

/** B answered: A learns its callee and peer, goes ACTIVE, and records the originate result. */
function answeredForA(ctx: SwitchContext, a: Channel, b: Channel): void {
  a.profile.calleeIdName = b.profile.destinationNumber;
  a.profile.calleeIdNumber = b.profile.destinationNumber;
  a.other = { type: 'originatee', profile: copyProfile(b.profile) };
  setCallState(ctx, a, 'ACTIVE');
  a.vars.setAll([
    ['originated_legs', `${b.uuid};Outbound Call;${b.profile.destinationNumber}`],
    ['switch_m_sdp', b.vars.get('switch_r_sdp') ?? ''], ['video_media_flow', 'inactive'], ['text_media_flow', 'inactive'],
    ['audio_media_flow', 'sendrecv'], ['originate_disposition', 'SUCCESS'], ['DIALSTATUS', 'SUCCESS'],
    ['originate_causes', `${b.uuid};NONE`], ['signal_bond', b.uuid],
  ]);
}

/**
 * The legs are joined: CHANNEL_BRIDGE on A, B exchanges media, then each gets its bridge variables
 * and a CALL_UPDATE naming the other. (`how`: the bridge app's B leg still has to take the call.)
 */
function link(ctx: SwitchContext, a: Channel, b: Channel, how: 'app' | 'uuid_bridge'): void {
  const now = nowMicros();
  a.times.bridged = now;
  b.times.bridged = now;
  a.profile.times.bridged = now;
  a.bridgedTo = b.uuid;
  b.bridgedTo = a.uuid;
  a.bridgeOwner = true;
  fire(ctx, 'CHANNEL_BRIDGE', a, { lead: [['Bridge-A-Unique-ID', a.uuid], ['Bridge-B-Unique-ID', b.uuid]] });
  setRunning(ctx, b, 'CS_EXCHANGE_MEDIA');
  if (how === 'app') b.vars.setAll([['endpoint_disposition', 'ANSWER'], ['call_uuid', a.uuid]]);
  b.vars.setAll(bridgeVars(a));
  callUpdate(ctx, b, a);
  a.vars.setAll(bridgeVars(b));
  callUpdate(ctx, a, b);
}

function bridgeVars(other: Channel): Array<[string, string]> {
  return [
    ['bridge_to', other.uuid], ['last_bridge_to', other.uuid], ['bridge_channel', other.name], ['bridge_uuid', other.uuid],
    ['signal_bond', other.uuid], ['last_sent_callee_id_name', sentCallee(other)], ['last_sent_callee_id_number', sentCallee(other)],
  ];
}

const sentCallee = (other: Channel): string => other.profile.callerIdNumber || other.profile.destinationNumber;

function callUpdate(ctx: SwitchContext, ch: Channel, other: Channel): void {
  fire(ctx, 'CALL_UPDATE/bridge', ch, {
    lead: [
      ['Direction', 'SEND'], ['Sent-Callee-ID-Name', other.profile.callerIdName || sentCallee(other)],
      ['Sent-Callee-ID-Number', sentCallee(other)], ['Bridged-To', other.uuid],
    ],
  });
}

/** Why uuid_bridge refused, as mod_commands prints it; undefined when the bridge goes ahead. */
export function uuidBridgeProblem(ctx: SwitchContext, aUuid: string, bUuid: string): string | undefined {
  const a = ctx.live.get(aUuid);
  const b = ctx.live.get(bUuid);
  if (!a?.up || !b?.up || aUuid === bUuid) return `-ERR Invalid uuid\n`;
  return undefined;
}

/**
 * uuid_bridge A B on two parked legs: both leave park, go through HIBERNATE/RESET/SOFT_EXECUTE,
 * run the uuid_bridge pseudo-application and are bridged with A as the bridge's A side.
 */
export function uuidBridge(ctx: SwitchContext, aUuid: string, bUuid: string): void {
  const a = ctx.live.get(aUuid);
  const b = ctx.live.get(bUuid);
  if (!a?.up || !b?.up) return;
  const aProfile = copyProfile(a.profile);
  const bProfile = copyProfile(b.profile);
  transfer(ctx, b, a, aProfile, false);
  transfer(ctx, a, b, bProfile, true);
  setRunning(ctx, a, 'CS_SOFT_EXECUTE');
  setRunning(ctx, b, 'CS_SOFT_EXECUTE');
  a.vars.unset('uuid_bridge');
  fire(ctx, 'CHANNEL_EXECUTE/uuid_bridge', a, { trail: [['Application', 'uuid_bridge'], ['Application-Data', b.uuid]] });
  b.vars.set('call_uuid', b.vars.get('call_uuid') ?? b.uuid);
  fire(ctx, 'CHANNEL_EXECUTE/uuid_bridge_b', b, { trail: [['Application', 'uuid_bridge'], ['Application-Data', a.uuid]] });
  link(ctx, a, b, 'uuid_bridge');
}

/**
 * A uuid_bridge transfers each leg out of whatever it ran (switch_ivr_uuid_bridge): a new caller
 * profile, the peer as Other-Leg (as it was before its own transfer), park ends.
 */
function transfer(ctx: SwitchContext, ch: Channel, other: Channel, otherProfile: CallerProfile, isA: boolean): void {
  const now = nowMicros();
  const p = ch.profile;
  ch.vars.setAll([
    ...(isA ? [['uuid_bridge', other.uuid] as [string, string]] : []),
    ['bridge_channel', other.name], ['bridge_uuid', other.uuid], ['signal_bond', other.uuid],
    ['original_destination_number', p.destinationNumber], ['original_caller_id_name', p.callerIdName],
    ['original_caller_id_number', p.callerIdNumber],
    ['transfer_history', `${Math.floor(now / 1_000_000)}:${ch.uuid}:uuid_br:${other.uuid}`],
    ['transfer_source', `${Math.floor(now / 1_000_000)}:${ch.uuid}:uuid_br:${other.uuid}`],
  ]);
  ch.profile = { ...p, logicalDirection: 'inbound', transferSource: ch.vars.get('transfer_source') ?? '', profileIndex: p.profileIndex + 1, times: { ...p.times, profileCreated: now } };
  ch.other = { type: 'originatee', profile: otherProfile };
  ch.state = 'CS_HIBERNATE';
  unpark(ctx, ch);
  setRunning(ctx, ch, 'CS_HIBERNATE');
  setRunning(ctx, ch, 'CS_RESET');
}
