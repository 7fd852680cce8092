/**
 * Hanging a leg up, in the order the traces show: CHANNEL_HANGUP at once (so the API event and job
 * result of uuid_kill come right after it), then — a moment later — whatever the leg was doing ends
 * (unpark, unbridge, interrupted playback), the reporting states, and destruction. A bridged peer
 * goes down with it.
 */
import { interruptApp } from './apps.js';
import type { Channel } from './channel.js';
import type { SwitchContext } from './context.js';
import {
  destroy, executeCompleted, fire, markHangup, remoteByeDone, report, unpark, type HangupOrigin,
} from './leg.js';

export interface HangupOptions {
  /** Run the teardown now instead of on the next turn (close(): the sockets are about to go). */
  sync?: boolean;
  /** Fired right after CHANNEL_HANGUP (sendmsg's PRIVATE_COMMAND). */
  afterHangupEvent?: () => void;
}

/** Hangs `ch` up; a no-op for a leg that is already down. */
export function hangup(ctx: SwitchContext, ch: Channel, cause: string, origin: HangupOrigin, options: HangupOptions = {}): void {
  if (!ch.up) return;
  const peer = ch.bridgedTo ? ctx.live.get(ch.bridgedTo) : undefined;
  if (peer && ch.bridgeOwner) ch.vars.set('last_bridge_role', 'originator');
  if (peer && !ch.bridgeOwner) {
    ch.vars.unset('bridge_to');
    ch.vars.set('last_bridge_hangup_cause', cause);
  }
  markHangup(ctx, ch, cause, origin);
  options.afterHangupEvent?.();
  ch.settle({ answered: false, cause });
  const run = (): void => teardown(ctx, ch, origin, peer);
  if (options.sync) run();
  else ctx.clock.after(0, run);
}

function teardown(ctx: SwitchContext, ch: Channel, origin: HangupOrigin, peer: Channel | undefined): void {
  // An app that reads media (wait_for_silence) notices the hangup once the BYE is answered (r-wait-for-silence).
  if (!(peer && ch.bridgedTo === peer.uuid)) remoteByeDone(ch, origin);
  interruptApp(ch);
  stopDialling(ctx, ch);
  if (peer && ch.bridgedTo === peer.uuid) {
    if (ch.bridgeOwner) ownerDown(ctx, ch, peer, origin);
    else peerDown(ctx, ch, peer, origin);
    return;
  }
  unpark(ctx, ch);
  report(ctx, ch, origin);
  release(ctx, ch);
}

/** An A leg that hangs up while its bridge app still rings B: B is cancelled, the app returns. */
function stopDialling(ctx: SwitchContext, a: Channel): void {
  const app = a.bridgeApp;
  if (!app || a.bridgedTo) return;
  a.bridgeApp = undefined;
  for (const b of [...ctx.live.values()]) {
    if (b.phase === 'ringing' && b.other?.type === 'originator' && b.other.profile.uniqueId === a.uuid) {
      hangup(ctx, b, 'ORIGINATOR_CANCEL', 'cancelled', { sync: true });
    }
  }
  executeCompleted(ctx, a, app);
}

/** CHANNEL_DESTROY now, or when a lingering outbound socket lets go. */
function release(ctx: SwitchContext, ch: Channel): void {
  const hold = ch.lingerHold;
  ch.lingerHold = undefined;
  if (hold) hold(() => destroy(ctx, ch));
  else destroy(ctx, ch);
}

/** The bridge's A side hung up: B goes down, then A unbridges and reports. */
function ownerDown(ctx: SwitchContext, a: Channel, b: Channel, origin: HangupOrigin): void {
  const cause = a.hangupCause ?? 'NORMAL_CLEARING';
  // B may have hung up in the same turn: then its own teardown, already due, reports and releases it.
  const takesPeerDown = b.up;
  if (b.up) {
    b.vars.unset('bridge_to');
    b.vars.set('last_bridge_hangup_cause', cause);
    markHangup(ctx, b, cause, 'local');
    report(ctx, b, 'local');
  }
  unbridge(ctx, a, b, cause);
  remoteByeDone(a, origin);
  report(ctx, a, origin);
  release(ctx, a);
  if (takesPeerDown) releasePeer(ctx, b, cause);
}

/** The B side is destroyed last, once its bridge is over on both sides. */
function releasePeer(ctx: SwitchContext, b: Channel, cause: string): void {
  b.vars.setAll([['bridge_hangup_cause', cause], ['call_uuid', b.uuid]]);
  release(ctx, b);
}

/** The bridge's B side hung up: A unbridges, its bridge ends, and it hangs up too. */
function peerDown(ctx: SwitchContext, b: Channel, a: Channel, origin: HangupOrigin): void {
  const cause = b.hangupCause ?? 'NORMAL_CLEARING';
  // A may have hung up in the same turn: then its own teardown, already due, reports and releases it.
  const takesPeerDown = a.up;
  unbridge(ctx, a, b, cause);
  if (takesPeerDown) markHangup(ctx, a, cause, 'local');
  remoteByeDone(b, origin);
  report(ctx, b, origin);
  if (takesPeerDown) report(ctx, a, 'local');
  releasePeer(ctx, b, cause);
  if (takesPeerDown) release(ctx, a);
}

function unbridge(ctx: SwitchContext, a: Channel, b: Channel, cause: string): void {
  a.vars.unset('bridge_to');
  a.vars.set('bridge_hangup_cause', cause);
  a.bridgedTo = undefined;
  b.bridgedTo = undefined;
  fire(ctx, 'CHANNEL_UNBRIDGE', a, { lead: [['Bridge-A-Unique-ID', a.uuid], ['Bridge-B-Unique-ID', b.uuid]] });
  const app = a.bridgeApp;
  a.bridgeApp = undefined;
  if (app) executeCompleted(ctx, a, app);
}
