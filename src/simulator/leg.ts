import { randomUUID } from 'node:crypto';
/**
 * The life of one leg as a sequence of FreeSWITCH events: creation, ringing, answer, application
 * execution, hangup, reporting and destruction. Each function fires the events the traces show for
 * that step, in order, and updates the channel's state and variables the way the real switch does.
 */
import { copyProfile, emptyTimes, type CallerProfile } from './caller-profile.js';
import { cdrVars } from './cdr.js';
import { Channel, type CallState, type CurrentApp, type RunningState } from './channel.js';
import { callStateLead, channelEvent, type ChannelEventParts } from './channel-events.js';
import type { SwitchContext } from './context.js';
import type { Header } from './event.js';
import {
  answerVars, cancelVars, createVars, dialogVars, refusedVars, remoteByeCompletedVars, remoteByeVars, rtpStatsVars,
  type SipPeer,
} from './sofia-vars.js';
import { nowMicros } from './switch-core.js';

type Pairs = Array<[string, string]>;

export function fire(ctx: SwitchContext, site: string, ch: Channel, parts?: ChannelEventParts): void {
  ctx.fire(channelEvent(ctx.factory, site, ch, parts));
}

/** CHANNEL_STATE: the state machine now runs `running` (and the requested state is `state`). */
export function setRunning(ctx: SwitchContext, ch: Channel, running: RunningState, state: RunningState = running): void {
  ch.running = running;
  ch.state = state;
  fire(ctx, 'CHANNEL_STATE', ch);
}

export function setCallState(ctx: SwitchContext, ch: Channel, next: CallState): void {
  const previous = ch.callState;
  ch.callState = next;
  fire(ctx, 'CHANNEL_CALLSTATE', ch, { lead: callStateLead(previous, next) });
}

export interface OutboundLegSpec {
  uuid: string;
  name: string;
  destination: string;
  peer: SipPeer;
  /** {…}[…] variables from the originate or bridge string. */
  originateVars: Pairs;
  callerIdName: string;
  callerIdNumber: string;
  /** For a bridge's B leg: its A leg. */
  originator?: Channel;
}

/** CHANNEL_OUTGOING … CS_CONSUME_MEDIA: the leg exists and its INVITE is on the way. */
export function createOutboundLeg(ctx: SwitchContext, spec: OutboundLegSpec): Channel {
  const ch = new Channel(spec.uuid, spec.name, 'outbound', outboundProfile(spec), spec.destination);
  ch.sipPeer = spec.peer;
  if (spec.originator) ch.other = { type: 'originator', profile: copyProfile(spec.originator.profile) };
  ctx.live.set(ch.uuid, ch);
  ctx.all.push(ch);
  // mod_loopback creates the leg under a UUID of its own, then renames it to origination_uuid (p-callcenter).
  if (spec.peer.profile === 'loopback') fire(ctx, 'CHANNEL_UUID', ch, { lead: [['Old-Unique-ID', randomUUID()]] });
  fire(ctx, 'CHANNEL_OUTGOING', ch);
  if (spec.originator) ch.vars.set('call_uuid', spec.originator.uuid);
  setRunning(ctx, ch, 'CS_INIT');
  ch.state = 'CS_ROUTING';
  ch.vars.setAll(createVars(ch, spec.peer, ctx.nextSessionId(), spec.originateVars, spec.originator));
  fire(ctx, 'CHANNEL_CREATE', ch);
  fire(ctx, 'CHANNEL_ORIGINATE', ch);
  setRunning(ctx, ch, 'CS_ROUTING');
  setRunning(ctx, ch, 'CS_CONSUME_MEDIA');
  return ch;
}

function outboundProfile(spec: OutboundLegSpec): CallerProfile {
  const now = nowMicros();
  return {
    direction: 'outbound', logicalDirection: 'outbound', username: '', dialplan: '',
    callerIdName: spec.callerIdName, callerIdNumber: spec.callerIdNumber,
    origCallerIdName: spec.originator ? '' : spec.callerIdName,
    origCallerIdNumber: spec.originator?.profile.origCallerIdNumber ?? spec.callerIdNumber,
    calleeIdName: 'Outbound Call', calleeIdNumber: spec.peer.user,
    networkAddr: spec.originator?.profile.networkAddr ?? '',
    ani: spec.originator?.profile.ani ?? spec.callerIdNumber,
    destinationNumber: spec.peer.user, uniqueId: spec.uuid, source: 'src/switch_ivr_originate.c',
    transferSource: '', context: 'default', channelName: spec.name, profileIndex: 1, times: emptyTimes(now),
  };
}

/** The first SIP response arrived: dialog variables, and the profile learns the callee. */
function establishDialog(ch: Channel, peer: SipPeer): void {
  if (ch.dialog) return;
  ch.dialog = true;
  ch.vars.setAll(dialogVars(peer, ch.profile.callerIdName));
  ch.profile.calleeIdName = peer.user;
  ch.profile.networkAddr = '127.0.0.1';
}

/** 180 Ringing: CHANNEL_PROGRESS, then the call state goes RINGING. */
export function ring(ctx: SwitchContext, ch: Channel, peer: SipPeer): void {
  establishDialog(ch, peer);
  const now = nowMicros();
  ch.profile.times.progress = now;
  ch.times.progress = now;
  fire(ctx, 'CHANNEL_PROGRESS', ch);
  setCallState(ctx, ch, 'RINGING');
}

/**
 * 200 OK: codecs, CHANNEL_ANSWER, ACTIVE, then — for a leg of its own, not a bridge's B leg —
 * the caller-id flip (CALL_UPDATE).
 */
export function answer(ctx: SwitchContext, ch: Channel, peer: SipPeer): void {
  const bLeg = ch.other?.type === 'originator';
  establishDialog(ch, peer);
  negotiateCodecs(ctx, ch);
  ch.vars.setAll(answerVars(ch, '127.0.0.1', bLeg));
  markAnswered(ch);
  fire(ctx, 'CHANNEL_ANSWER', ch);
  setCallState(ctx, ch, 'ACTIVE');
  if (!bLeg) flipCallerId(ctx, ch);
}

/** The two CODEC events (read, then write codec set), with their odd lower-case trailing headers. */
export function negotiateCodecs(ctx: SwitchContext, ch: Channel): void {
  ch.codecs = true;
  ch.hasMedia = true;
  fire(ctx, 'CODEC/read', ch, { trail: [['channel-read-codec-name', 'PCMU'], ['channel-read-codec-rate', '8000'], ['channel-read-codec-bit-rate', '64000']] });
  fire(ctx, 'CODEC/write', ch, { trail: [['Channel-Write-Codec-Name', 'PCMU'], ['Channel-Write-Codec-Rate', '8000'], ['Channel-Write-codec-bit-rate', '64000']] });
}

export function markAnswered(ch: Channel): void {
  ch.answerState = 'answered';
  ch.profile.times.answered = nowMicros();
  ch.moveTo('answered');
}

/** An answered outbound leg now presents the callee as its caller id (switch_channel_flip_cid). */
export function flipCallerId(ctx: SwitchContext, ch: Channel): void {
  const p = ch.profile;
  ch.vars.setAll([['endpoint_disposition', 'ANSWER'], ['pre_transfer_caller_id_number', p.callerIdNumber], ['channel_cid_flipped', 'yes']]);
  const callerNumber = p.callerIdNumber;
  p.callerIdName = p.destinationNumber;
  p.callerIdNumber = p.destinationNumber;
  p.calleeIdName = '';
  p.calleeIdNumber = callerNumber;
  ch.hitDialplan = true;
  fire(ctx, 'CALL_UPDATE', ch, { lead: [['Direction', 'RECV']] });
}

/** The leg starts running applications (after answer, or in the dialplan). */
export function beginExecute(ctx: SwitchContext, ch: Channel): void {
  ch.vars.set('call_uuid', ch.vars.get('call_uuid') ?? ch.uuid);
  setRunning(ctx, ch, 'CS_EXECUTE');
}

const appTrail = (app: CurrentApp, extra: readonly Header[] = []): Header[] => [
  ['Application', app.name],
  ...(app.arg ? [['Application-Data', app.arg] as const] : []),
  ...extra,
  ['Application-UUID', app.uuid],
];

/**
 * CHANNEL_EXECUTE, with the variable shuffle around it seen in the traces: loop counters first for
 * an app sent by sendmsg, the current application (and its data) set again once the event is out.
 */
export function executeStarted(ctx: SwitchContext, ch: Channel, app: CurrentApp, viaSendmsg: boolean): void {
  if (viaSendmsg) ch.vars.setAll([['current_loop', '1'], ['total_loops', '1']]);
  ch.vars.set('current_application', app.name);
  if (app.arg) ch.vars.set('current_application_data', app.arg);
  else ch.vars.unset('current_application_data');
  ch.vars.unset('current_application_response');
  ch.lastApp = { name: app.name, arg: app.arg };
  ch.appLog.push({ name: app.name, arg: app.arg, stamp: nowMicros() });
  ch.app = app;
  fire(ctx, 'CHANNEL_EXECUTE', ch, { trail: appTrail(app) });
  if (app.arg) ch.vars.set('current_application_data', app.arg);
  ch.vars.set('current_application', app.name);
}

/** CHANNEL_EXECUTE_COMPLETE; the Application-Response is the channel's current_application_response. */
export function executeCompleted(ctx: SwitchContext, ch: Channel, app: CurrentApp, response?: string): void {
  if (response !== undefined) ch.vars.set('current_application_response', response);
  const answer: Header = ['Application-Response', ch.vars.get('current_application_response') ?? '_none_'];
  fire(ctx, 'CHANNEL_EXECUTE_COMPLETE', ch, { trail: appTrail(app, [answer]) });
  if (ch.app === app) ch.app = undefined;
}

/** park: CHANNEL_EXECUTE then CHANNEL_PARK; the leg waits for commands. */
export function park(ctx: SwitchContext, ch: Channel, app: CurrentApp): void {
  executeStarted(ctx, ch, app, false);
  ch.parked = true;
  ch.parkApp = app;
  fire(ctx, 'CHANNEL_PARK', ch);
}

/** Leaving park (hangup, transfer, bridge): CHANNEL_UNPARK then the park app completes. */
export function unpark(ctx: SwitchContext, ch: Channel): void {
  const app = ch.parkApp;
  if (!ch.parked || !app) return;
  ch.parked = false;
  ch.parkApp = undefined;
  fire(ctx, 'CHANNEL_UNPARK', ch);
  executeCompleted(ctx, ch, app);
}

/** Who ended the call, which decides the SIP variables around the hangup. */
export type HangupOrigin = 'local' | 'remote' | 'refused' | 'cancelled';

/** Phase one of a hangup: CHANNEL_HANGUP, synchronously (the API event and job result come next). */
export function markHangup(ctx: SwitchContext, ch: Channel, cause: string, origin: HangupOrigin): void {
  ch.cancelPending();
  ch.hangupCause = cause;
  ch.answerState = 'hangup';
  ch.state = 'CS_HANGUP';
  ch.moveTo('hungup');
  if (origin === 'remote') ch.vars.setAll(remoteByeVars(cause));
  if (origin === 'refused') {
    ch.profile.networkAddr = '127.0.0.1';
    ch.vars.setAll(refusedVars(ch, cause));
  }
  fire(ctx, 'CHANNEL_HANGUP', ch);
}

/** Once the far end confirmed a remote BYE (FreeSWITCH sets these by CHANNEL_UNPARK). */
export function remoteByeDone(ch: Channel, origin: HangupOrigin): void {
  if (origin === 'remote') ch.vars.setAll(remoteByeCompletedVars());
}

/** CS_HANGUP … CHANNEL_HANGUP_COMPLETE. */
export function report(ctx: SwitchContext, ch: Channel, origin: HangupOrigin): void {
  setRunning(ctx, ch, 'CS_HANGUP');
  ch.profile.times.hangup = nowMicros();
  setCallState(ctx, ch, 'HANGUP');
  setRunning(ctx, ch, 'CS_REPORTING');
  const cause = ch.hangupCause ?? 'NORMAL_CLEARING';
  const end = ch.profile.times.hangup;
  ch.vars.setAll(cdrVars(ch, cause, {
    start: ch.profile.times.created, profileStart: ch.profile.times.profileCreated, answer: ch.profile.times.answered,
    bridge: ch.times.bridged, progress: ch.times.progress, end, lastApp: ch.lastApp?.name, lastArg: ch.lastApp?.arg,
  }));
  ch.vars.setAll(hangupTail(ch, origin, end));
  fire(ctx, 'CHANNEL_HANGUP_COMPLETE', ch, { lead: [['Hangup-Cause', cause]] });
}

function hangupTail(ch: Channel, origin: HangupOrigin, end: number): Pairs {
  const answered = ch.profile.times.answered;
  const rtp = ch.hasMedia ? rtpStatsVars((end - answered) / 1000) : [];
  if (origin === 'refused') return [];
  if (origin === 'remote') return rtp;
  if (origin === 'cancelled' || !answered) return cancelVars();
  return [['sip_hangup_disposition', 'send_bye'], ...rtp];
}

/** CHANNEL_DESTROY and the final CS_DESTROY; the UUID no longer exists. */
export function destroy(ctx: SwitchContext, ch: Channel): void {
  ch.state = 'CS_DESTROY';
  fire(ctx, 'CHANNEL_DESTROY', ch);
  setRunning(ctx, ch, 'CS_DESTROY');
  ch.moveTo('destroyed');
  ctx.live.delete(ch.uuid);
  ctx.legDestroyed?.(ch);
}
