/**
 * An originate to `loopback/<ext>/<context>` whose extension runs `answer` + `callcenter <queue>`
 * (the test bundle's ext 7000 → support@default): the loopback-a leg (the originated UUID) answers
 * once its B leg has run `answer`, and the B leg joins the queue as a member (p-callcenter: the
 * member is `loopback/7000-b`, with the A leg's origination variables and `other_loopback_leg_uuid`).
 * The A leg hanging up takes the member out (an abandon while it waits, the end of its call with an
 * agent after).
 */
import { randomUUID } from 'node:crypto';
import type { Channel } from './channel.js';
import type { SwitchContext } from './context.js';
import type { QueueDialplan } from './callcenter.js';
import { fire, flipCallerId, markAnswered, setCallState } from './leg.js';

/** From the originate to the B leg's `answer` (and so A's CHANNEL_ANSWER), simulated ms. */
const ANSWER_MS = 20;
/** From the answer to member-queue-start (0.018 → 0.037 s in p-callcenter), simulated ms. */
const JOIN_MS = 20;

export function enterQueue(ctx: SwitchContext, queues: QueueDialplan, ch: Channel, queue: string, where: { extension: string; context: string; callerIdName: string; callerIdNumber: string; variables: ReadonlyArray<readonly [string, string]> }): void {
  const sessionUuid = randomUUID();
  let joined = false;
  ch.own(ctx.clock.after(ANSWER_MS, () => {
    if (ch.phase !== 'ringing') return;
    answerLoopback(ctx, ch);
    ch.own(ctx.clock.after(JOIN_MS, () => {
      if (ch.phase !== 'answered') return;
      const score = where.variables.find(([name]) => name === 'cc_base_score')?.[1];
      const baseScore = score !== undefined && /^-?\d{1,9}$/.test(score) ? Number(score) : 0;
      queues.join(queue, {
        cidNumber: where.callerIdNumber, cidName: where.callerIdName, baseScore, extension: where.extension, context: where.context,
        variables: [...where.variables, ['other_loopback_leg_uuid', ch.uuid], ['loopback_leg', 'B']],
      }, { sessionUuid });
      joined = true;
    }));
  }));
  // Run at the hangup (own() cancels are called then): the member leaves with its A leg.
  ch.own(() => {
    if (joined) queues.leave(sessionUuid);
  });
}

/**
 * The A leg answers when its B leg runs `answer`: no SIP dialog and no codec negotiation (no CODEC
 * events; loopback legs carry L16), then the caller id flip as any answered outbound leg
 * (p-callcenter: CHANNEL_ANSWER, CHANNEL_CALLSTATE, CALL_UPDATE).
 */
function answerLoopback(ctx: SwitchContext, ch: Channel): void {
  ch.codecs = true;
  ch.hasMedia = true;
  ch.readCodec = { name: 'L16', rate: '8000', bitRate: '128000' };
  ch.vars.setAll([['read_codec', 'L16'], ['read_rate', '8000'], ['write_codec', 'L16'], ['write_rate', '8000']]);
  markAnswered(ch);
  fire(ctx, 'CHANNEL_ANSWER', ch);
  setCallState(ctx, ch, 'ACTIVE');
  flipCallerId(ctx, ch);
  ch.settle({ answered: true });
}
