/**
 * The floor: the same calls placed straight over ESL without Crossline, one
 * `bgapi originate {…}callee &bridge(caller)` each — the least any orchestrator must ask of the
 * switch to join two parties. The driver subscribes to BACKGROUND_JOB (to see an originate fail)
 * and CHANNEL_HANGUP_COMPLETE (to see the call end) and nothing else.
 */
import { randomUUID } from 'node:crypto';
import { SUBSCRIBED_EVENTS } from '../../src/telephony/index.js';
import { EslSession, type HangupInfo } from './esl-session.js';
import { paced, phone, unrefSleep } from './measure.js';

export interface CallPlan {
  count: number;
  ratePerSec: number;
  /** First test number of the callees (0 → +12025550100) and of the callers (90 → …0190). */
  calleeBlock: { first: number; size: number };
  callerBlock: { first: number; size: number };
  /** Ring timeout of each leg, s. */
  ringTimeoutSec: number;
  /** Subscribe the plain driver to Crossline's event list instead of the two events it needs (what do events cost the switch?). */
  crosslineEvents?: boolean;
}

export interface FloorCall {
  /** Date.now() when the originate was sent, when the callee answered (job +OK), when the A leg was gone. */
  start: number;
  answered?: number;
  end: number;
  ok: boolean;
  cause: string;
}

/** Places `plan.count` plain calls at the plan's rate and resolves when each has hung up. */
export async function runFloorCalls(url: string, plan: CallPlan): Promise<FloorCall[]> {
  const esl = await EslSession.connect(url);
  try {
    await esl.subscribe(plan.crosslineEvents ? [...SUBSCRIBED_EVENTS] : ['BACKGROUND_JOB', 'CHANNEL_HANGUP_COMPLETE']);
    const hangups = new Map<string, (info: HangupInfo) => void>();
    const stop = esl.onHangup((info) => hangups.get(info.uuid)?.(info));
    const results = await paced(plan.count, plan.ratePerSec, (i) => placeCall(esl, plan, i, hangups));
    stop();
    return results.map((r) => (r.status === 'fulfilled' ? r.value : { start: NaN, end: NaN, ok: false, cause: String(r.reason) }));
  } finally {
    esl.close();
  }
}

async function placeCall(esl: EslSession, plan: CallPlan, i: number, hangups: Map<string, (info: HangupInfo) => void>): Promise<FloorCall> {
  const uuid = randomUUID();
  const callee = phone(plan.calleeBlock.first, plan.calleeBlock.size, i);
  const caller = phone(plan.callerBlock.first, plan.callerBlock.size, i);
  // Registered before the originate is sent: a fast failure may hang up before bgapi's job returns.
  const ended = new Promise<HangupInfo>((resolve) => hangups.set(uuid, resolve));
  const start = Date.now();
  const vars = `{origination_uuid=${uuid},ignore_early_media=true,originate_timeout=${plan.ringTimeoutSec}}`;
  const bridge = `&bridge({ignore_early_media=true,originate_timeout=${plan.ringTimeoutSec}}sofia/gateway/phones/${caller})`;
  const job = await esl.bgapi(`originate ${vars}sofia/gateway/phones/${callee} ${bridge}`);
  const answered = Date.now();
  if (!job.startsWith('+OK')) {
    hangups.delete(uuid);
    return { start, end: answered, ok: false, cause: job.replace(/^-ERR\s*/, '') };
  }
  // A lost event must not hang the bench: give up on the call well after the phones' 2 s talk.
  const info = await Promise.race([ended, unrefSleep(plan.ringTimeoutSec * 1000 + 30_000).then(() => undefined)]);
  hangups.delete(uuid);
  if (!info) return { start, answered, end: NaN, ok: false, cause: 'no hangup seen' };
  return { start, answered, end: Date.now(), ok: info.bridged, cause: info.cause };
}
