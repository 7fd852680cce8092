/**
 * One simulated call leg: its FreeSWITCH state (running state, call state, answer state, caller
 * profile, variables) and an explicit life-cycle state machine that refuses impossible moves.
 */
import type { CallerProfile } from './caller-profile.js';
import type { SipPeer } from './sofia-vars.js';
import { VariableList } from './variables.js';

/** switch_channel_state_t, in enum order (the index is Channel-State-Number). */
export const RUNNING_STATES = [
  'CS_NEW', 'CS_INIT', 'CS_ROUTING', 'CS_SOFT_EXECUTE', 'CS_EXECUTE', 'CS_EXCHANGE_MEDIA', 'CS_PARK',
  'CS_CONSUME_MEDIA', 'CS_HIBERNATE', 'CS_RESET', 'CS_HANGUP', 'CS_REPORTING', 'CS_DESTROY', 'CS_NONE',
] as const;
export type RunningState = (typeof RUNNING_STATES)[number];

/** switch_channel_callstate_t, in enum order (the index is Channel-Call-State-Number). */
export const CALL_STATES = ['DOWN', 'DIALING', 'RINGING', 'EARLY', 'ACTIVE', 'HELD', 'RING_WAIT', 'HANGUP', 'UNHELD'] as const;
export type CallState = (typeof CALL_STATES)[number];

export type AnswerState = 'ringing' | 'early' | 'answered' | 'hangup';

/** The leg's life as tests see it. */
export type Phase = 'ringing' | 'answered' | 'hungup' | 'destroyed';

const ALLOWED: Record<Phase, readonly Phase[]> = {
  ringing: ['answered', 'hungup'],
  answered: ['hungup'],
  hungup: ['destroyed'],
  destroyed: [],
};

export class IllegalTransition extends Error {
  constructor(uuid: string, from: Phase, to: Phase) {
    super(`channel ${uuid}: cannot go from ${from} to ${to}`);
    this.name = 'IllegalTransition';
  }
}

export interface CurrentApp {
  name: string;
  arg: string;
  /** Application-UUID: the client's Event-UUID, or one we made. */
  uuid: string;
}

export type Outcome = { answered: true } | { answered: false; cause: string };

export class Channel {
  phase: Phase = 'ringing';
  /** Channel-State: the state the state machine is running. */
  running: RunningState = 'CS_NONE';
  /** Channel-State-Number: the state most recently requested (it runs ahead of `running`). */
  state: RunningState = 'CS_INIT';
  callState: CallState = 'DOWN';
  answerState: AnswerState = 'ringing';
  hitDialplan = false;
  /** A leg created by the network (outbound-socket mode) has no caller profile until it is routed. */
  profileVisible = true;
  hangupCause: string | undefined;
  /** Set by the CODEC events: from then on the basic data carries the read and write codecs. */
  codecs = false;
  /** The read codec while an app reads raw audio (wait_for_silence: L16); undefined = the negotiated one. */
  readCodec: { name: string; rate: string; bitRate: string } | undefined;
  other: { type: 'originator' | 'originatee'; profile: CallerProfile } | undefined;
  bridgedTo: string | undefined;
  parked = false;
  /** The application running now (park, bridge, playback…), if any. */
  app: CurrentApp | undefined;
  /** The park app stays "running" underneath a sendmsg-executed app. */
  parkApp: CurrentApp | undefined;
  hasMedia = false;
  readonly vars = new VariableList();
  readonly dtmf: Array<{ digit: string; atMs: number }> = [];
  /** The far end of an outbound leg (for its SIP variables). */
  sipPeer: SipPeer | undefined;
  /** The SIP dialog is up (first 18x/200 seen): its variables are set and the profile knows the callee. */
  dialog = false;
  /** µs times for the CDR; 0 = did not happen. */
  readonly times = { bridged: 0, progress: 0 };
  lastApp: { name: string; arg: string } | undefined;
  /** Every application the leg ran, with its µs start: the CDR's app_log. */
  readonly appLog: Array<{ name: string; arg: string; stamp: number }> = [];
  /** The bridge's A side fires CHANNEL_BRIDGE/UNBRIDGE; `bridgeApp` is set when it came from the bridge app. */
  bridgeOwner = false;
  bridgeApp: CurrentApp | undefined;
  /** Called once: when an outbound leg answers, or when it ends before answering. */
  onOutcome: ((outcome: Outcome) => void) | undefined;
  /** Outbound socket with `linger`: CHANNEL_DESTROY waits until the client closes the socket. */
  lingerHold: ((destroyNow: () => void) => void) | undefined;
  private readonly pending = new Set<() => void>();

  constructor(
    readonly uuid: string,
    readonly name: string,
    readonly direction: 'inbound' | 'outbound',
    public profile: CallerProfile,
    /** The dial string this leg was created from (its public `destination`). */
    readonly destination: string,
  ) {}

  /** Keeps the cancel function of work that must not run once the leg has hung up. */
  own(cancel: () => void): void {
    this.pending.add(cancel);
  }

  cancelPending(): void {
    for (const cancel of this.pending) cancel();
    this.pending.clear();
  }

  /** Reports the outcome once (originate and bridge wait for it). */
  settle(outcome: Outcome): void {
    const callback = this.onOutcome;
    this.onOutcome = undefined;
    callback?.(outcome);
  }

  moveTo(to: Phase): void {
    if (!ALLOWED[this.phase].includes(to)) throw new IllegalTransition(this.uuid, this.phase, to);
    this.phase = to;
  }

  get up(): boolean {
    return this.phase === 'ringing' || this.phase === 'answered';
  }

  stateNumber(): number {
    return RUNNING_STATES.indexOf(this.state);
  }
}
