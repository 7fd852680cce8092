/**
 * Dialling one outbound leg (for originate and for the bridge app): create the channel, then let
 * the simulated phone at the other end ring, answer, refuse or stay silent until the timeout.
 */
import { randomUUID } from 'node:crypto';
import type { Channel, Outcome } from './channel.js';
import type { SwitchContext } from './context.js';
import { parseDialTarget } from './dial-string.js';
import { hangup } from './hangup.js';
import { answer, createOutboundLeg, ring } from './leg.js';
import type { Resolution } from './phone-plan.js';
import { startFarEnd, type FarEndScript } from './far-end.js';
import type { SipPeer } from './sofia-vars.js';
import { enterQueue } from './queue-leg.js';

/** How long the far end takes to send its first response, simulated ms. */
const RESPONSE_MS = 20;

export interface DialSpec {
  uuid: string | undefined;
  /** The endpoint part of the dial string, variables already removed. */
  endpoint: string;
  variables: Array<[string, string]>;
  callerIdName: string;
  callerIdNumber: string;
  timeoutSec: number;
  originator?: Channel;
}

export type DialCallback = (channel: Channel | undefined, outcome: Outcome) => void;

/** Starts the leg; `done` is called once, when it answers or fails. */
export function dial(ctx: SwitchContext, spec: DialSpec, done: DialCallback): void {
  // One destination per originate: of `a,b` (simultaneous) or `a|b` (in turn) only `a` is dialled.
  const target = parseDialTarget(spec.endpoint.split(/[,|]/)[0] ?? '');
  if (typeof target === 'string' || target.endpoint === 'error') {
    const cause = typeof target === 'string' ? target : target.cause;
    ctx.clock.after(0, () => done(undefined, { answered: false, cause }));
    return;
  }
  // Over the sessions-per-second budget or the session limit, the core creates no channel.
  if (ctx.capacity.admit()) {
    ctx.clock.after(0, () => done(undefined, { answered: false, cause: 'DESTINATION_OUT_OF_ORDER' }));
    return;
  }
  const isNumber = target.endpoint === 'loopback' || target.gateway !== undefined;
  const peer: SipPeer = target.endpoint === 'loopback'
    ? { profile: 'loopback', user: target.user, host: '127.0.0.1', port: '', fromUser: spec.callerIdNumber }
    : {
        profile: target.profile, user: target.user, host: target.host, port: target.port, fromUser: spec.callerIdNumber,
        ...(target.gateway === undefined ? {} : { gateway: target.gateway }),
      };
  const ch = createOutboundLeg(ctx, {
    uuid: spec.uuid ?? randomUUID(), name: target.channelName, destination: spec.endpoint, peer,
    originateVars: spec.variables, callerIdName: spec.callerIdName, callerIdNumber: spec.callerIdNumber,
    ...(spec.originator ? { originator: spec.originator } : {}),
  });
  ctx.capacity.created();
  ch.onOutcome = (outcome) => done(ch, outcome);
  const phoneOnSwitch = target.endpoint !== 'loopback' && ctx.capacity.phoneSessions;
  if (phoneOnSwitch && ctx.capacity.admit()) {
    // The phone's own session was refused: it answers 503.
    ch.own(ctx.clock.after(RESPONSE_MS, () => {
      if (ch.phase === 'ringing') hangup(ctx, ch, 'NORMAL_TEMPORARY_FAILURE', 'refused');
    }));
    return;
  }
  if (phoneOnSwitch) {
    ctx.nextSessionId();
    ctx.capacity.phoneUp(ch.uuid);
  }
  const queue = target.endpoint === 'loopback' ? ctx.queues?.queueAt(target.user, target.context) : undefined;
  if (target.endpoint === 'loopback' && queue !== undefined && ctx.queues) {
    const where = { extension: target.user, context: target.context, callerIdName: spec.callerIdName, callerIdNumber: spec.callerIdNumber, variables: spec.variables };
    enterQueue(ctx, ctx.queues, ch, queue, where);
    return;
  }
  const unallocated = target.endpoint === 'loopback' ? 'NO_ROUTE_DESTINATION' : 'UNALLOCATED_NUMBER';
  drivePhone(ctx, ch, peer, ctx.plan.resolve(target.user, isNumber), unallocated);
  ch.own(ctx.clock.after(spec.timeoutSec * 1000, () => {
    if (ch.phase === 'ringing') hangup(ctx, ch, 'NO_ANSWER', 'cancelled');
  }));
}

/** The far end picks up (also used by EslSimulator.answer()). */
export function answerNow(ctx: SwitchContext, ch: Channel): void {
  if (ch.phase !== 'ringing' || !ch.sipPeer) return;
  answer(ctx, ch, ch.sipPeer);
  ch.settle({ answered: true });
}

/** Plays the far end's part. Every step is a timer owned by the leg, so a hangup cancels the rest. */
function drivePhone(ctx: SwitchContext, ch: Channel, peer: SipPeer, phone: Resolution, unallocated: string): void {
  // A step only applies to the phase it was planned for: sim.answer() or a hangup may have moved on.
  const later = (ms: number, step: () => void, phase: 'ringing' | 'answered' = 'ringing'): void => {
    ch.own(ctx.clock.after(ms, () => {
      if (ch.phase === phase) step();
    }));
  };
  switch (phone.kind) {
    case 'answer':
    case 'collect-dtmf':
    case 'ivr-menu':
    case 'answering-machine':
    case 'person': {
      if (phone.afterMs > 0) later(RESPONSE_MS, () => ring(ctx, ch, peer));
      const answerAt = Math.max(RESPONSE_MS, phone.afterMs);
      later(answerAt, () => {
        answerNow(ctx, ch);
        startFarEnd(ctx, ch, farEndScript(phone), () => hangup(ctx, ch, 'NORMAL_CLEARING', 'remote'));
      });
      const hangupAfter = phone.kind === 'answer' ? phone.hangupAfterMs : undefined;
      if (hangupAfter !== undefined) later(answerAt + hangupAfter, () => hangup(ctx, ch, 'NORMAL_CLEARING', 'remote'), 'answered');
      return;
    }
    case 'no-answer':
      return later(RESPONSE_MS, () => ring(ctx, ch, peer));
    case 'busy':
      return later(RESPONSE_MS, () => hangup(ctx, ch, 'USER_BUSY', 'refused'));
    case 'fail':
      return later(RESPONSE_MS, () => hangup(ctx, ch, phone.cause, 'refused'));
    case 'unallocated':
      return later(RESPONSE_MS, () => hangup(ctx, ch, unallocated, 'refused'));
  }
}

/** What an answering phone sends back (far-end.ts). */
function farEndScript(phone: Extract<Resolution, { afterMs: number }>): FarEndScript {
  switch (phone.kind) {
    case 'ivr-menu':
      return { kind: 'ivr-menu', menus: phone.menus };
    case 'answering-machine':
      return { kind: 'answering-machine', greetingMs: phone.greetingMs, beepMs: phone.beepMs };
    case 'person':
      return { kind: 'person', helloMs: phone.helloMs, pressAfterMs: phone.pressAfterMs, ...(phone.presses !== undefined ? { presses: phone.presses } : {}) };
    case 'collect-dtmf':
      return { kind: 'silent' };
    case 'answer':
      // As on the test bundle: a 440 Hz tone, 1 s on and 4 s off; the short calls (0190–0199) are silent.
      return phone.hangupAfterMs === undefined ? { kind: 'tone-loop', onMs: 1000, offMs: 4000 } : { kind: 'silent' };
  }
}
