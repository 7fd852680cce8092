import type { Callback, IvrStep } from './types.js';

/** An IVR step as the request gave it (a value by its name: the digits are not shown). */
export type IvrStepView =
  | { waitForSilence: { timeoutMs: number; silenceMs: number; minSoundMs: number; threshold: number } }
  | { digits: string }
  | { pause: number }
  | { value: string };

const ivrStepView = (step: IvrStep): IvrStepView => {
  switch (step.kind) {
    case 'wait-for-silence':
      return { waitForSilence: { timeoutMs: step.timeoutMs, silenceMs: step.silenceMs, minSoundMs: step.minSoundMs, threshold: step.threshold } };
    case 'digits':
      return { digits: step.digits };
    case 'pause':
      return { pause: step.ms };
    case 'value':
      return { value: step.name };
  }
};

/** The public shape of a callback (API responses and webhook payloads), as openapi.yaml documents it. */
export interface CallbackView {
  id: string;
  status: Callback['status'];
  createdAt: string;
  updatedAt: string;
  nextAttemptAt?: string;
  failureCause?: string;
  request: {
    caller: { number?: string; sipUri?: string; name?: string };
    callee: { number?: string; sipUri?: string; name?: string; dtmf?: string; ivr?: IvrStepView[]; callCenter?: { name: string; route?: string; numbers: string[] } };
    at?: string;
    window?: { from: string; to: string; timeZone: string };
    ringTimeout: number;
    retry: { maxAttempts: number; delaySeconds: number };
    announce: { callee?: string; caller?: string };
    callerId?: string;
    webhook?: string;
    order: Callback['request']['order'];
    maxWaitSeconds?: number;
  };
  attempts: Array<{
    number: number;
    startedAt: string;
    endedAt?: string;
    legs: Array<{
      role: 'callee' | 'caller';
      endpoint: string;
      uuid: string;
      startedAt: string;
      answeredAt?: string;
      endedAt?: string;
      hangupCause?: string;
    }>;
  }>;
  timeline: Callback['timeline'];
}

const endpointView = (p: Callback['request']['caller']): { number?: string; sipUri?: string; name?: string } => ({
  ...(p.endpoint.kind === 'number' ? { number: p.endpoint.e164 } : { sipUri: p.endpoint.uri }),
  ...(p.name !== undefined ? { name: p.name } : {}),
});

export function toCallbackView(cb: Callback): CallbackView {
  const r = cb.request;
  return {
    id: cb.id,
    status: cb.status,
    createdAt: cb.createdAt,
    updatedAt: cb.updatedAt,
    ...(cb.nextAttemptAt !== undefined ? { nextAttemptAt: cb.nextAttemptAt } : {}),
    ...(cb.failureCause !== undefined ? { failureCause: cb.failureCause } : {}),
    request: {
      caller: endpointView(r.caller),
      callee: {
        ...endpointView(r.callee),
        ...(r.callee.dtmf !== undefined ? { dtmf: r.callee.dtmf } : {}),
        ...(r.callee.ivr !== undefined ? { ivr: r.callee.ivr.map(ivrStepView) } : {}),
        ...(r.callee.callCenter !== undefined ? { callCenter: r.callee.callCenter } : {}),
      },
      ...(r.at !== undefined ? { at: r.at } : {}),
      ...(r.window !== undefined ? { window: r.window } : {}),
      ringTimeout: r.ringTimeoutSec,
      retry: r.retry,
      announce: r.announce,
      ...(r.callerId !== undefined ? { callerId: r.callerId } : {}),
      ...(r.webhook !== undefined ? { webhook: r.webhook } : {}),
      order: r.order,
      ...(r.maxWaitSec !== undefined ? { maxWaitSeconds: r.maxWaitSec } : {}),
    },
    attempts: cb.attempts.map((a) => ({
      number: a.number,
      startedAt: a.startedAt,
      ...(a.endedAt !== undefined ? { endedAt: a.endedAt } : {}),
      legs: a.legs.map((l) => ({
        role: l.role,
        endpoint: l.endpoint,
        uuid: l.uuid,
        startedAt: l.startedAt,
        ...(l.answeredAt !== undefined ? { answeredAt: l.answeredAt } : {}),
        ...(l.endedAt !== undefined ? { endedAt: l.endedAt } : {}),
        ...(l.hangupCause !== undefined ? { hangupCause: l.hangupCause } : {}),
      })),
    })),
    timeline: cb.timeline,
  };
}
