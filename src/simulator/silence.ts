/**
 * `wait_for_silence <thresh> <silence_hits> <listen_hits> <timeout_ms>` as FreeSWITCH 1.10.12 runs
 * it (switch_ivr_wait_for_silence; timings and events of shared/esl-traces r-wait-for-silence):
 * 20 ms frames of what the far end sends (far-end.ts); more than `listen_hits` frames of sound in
 * all, then `silence_hits` quiet frames in a row, then 25 frames more (0.5 s); the timeout counts
 * from the start and is checked first on every frame. The read codec goes to L16 while it runs (a
 * CODEC event at each end). It answers only in variables (timeout, listenhits, silence_hits);
 * a hangup ends it with none set. Application-Response stays `_none_`.
 */
import type { Channel, CurrentApp } from './channel.js';
import type { SwitchContext } from './context.js';
import { loudAt, onSoundChange } from './far-end.js';
import { executeStarted, fire } from './leg.js';

const FRAME_MS = 20;
/** Frames read after the silence was found, before the app returns. */
const COUNTDOWN_FRAMES = 25;
/** The energy of a frame of the far end's sound (a tone or a voice at a normal level). */
const SOUND_ENERGY = 2000;
/** Without a timeout the app could run for ever; the simulator looks this far ahead. */
const HORIZON_FRAMES = 180_000;

type Finish = (response?: string) => void;
/** Registers how a hangup ('hangup') or uuid_break ('break') stops the app. */
type Own = (stop: (how: 'hangup' | 'break') => void) => void;

interface Outcome {
  /** Frames from the start until it returns. */
  frames: number;
  variables: Array<[string, string]>;
}

/** What the app will answer, frame by frame from `startedAt` (simulated elapsed ms). */
function analyse(ch: Channel, startedAt: number, thresh: number, silenceHits: number, listenHits: number, timeoutMs: number): Outcome | undefined {
  let sampleFrames = timeoutMs > 0 ? Math.ceil(timeoutMs / FRAME_MS) : 0;
  let listening = 0;
  let hits = silenceHits;
  let countdown = 0;
  for (let frame = 1; frame <= HORIZON_FRAMES; frame++) {
    if (timeoutMs > 0 && --sampleFrames <= 0) {
      return { frames: frame, variables: [['wait_for_silence_timeout', 'true'], ['wait_for_silence_listenhits', String(listening)], ['wait_for_silence_silence_hits', String(hits)]] };
    }
    if (countdown > 0) {
      if (--countdown === 0) {
        return { frames: frame, variables: [['wait_for_silence_timeout', 'false'], ['wait_for_silence_listenhits', String(listening)], ['wait_for_silence_silence_hits', '0']] };
      }
      continue;
    }
    const energy = loudAt(ch, startedAt + (frame - 0.5) * FRAME_MS) ? SOUND_ENERGY : 0;
    if (energy >= thresh) listening++;
    if (listening > listenHits && energy < thresh) {
      if (--hits === 0) countdown = COUNTDOWN_FRAMES;
    } else {
      hits = silenceHits;
    }
  }
  return undefined;
}

/**
 * Sets the read codec (L16 while the app reads raw audio, then the negotiated one back): the
 * switch sets read_codec and read_rate again each time, so they move to the end of the variables.
 */
function setReadCodec(ctx: SwitchContext, ch: Channel, raw: boolean): void {
  const original = ch.vars.get('original_read_codec') ?? 'PCMU';
  for (const [name, value] of [['read_codec', raw ? 'L16' : original], ['read_rate', ch.vars.get('read_rate')]] as const) {
    if (value === undefined) continue;
    ch.vars.unset(name);
    ch.vars.set(name, value);
  }
  ch.readCodec = raw ? { name: 'L16', rate: '8000', bitRate: '128000' } : undefined;
  const [name, rate, bitRate] = raw ? ['L16', '8000', '128000'] : ['PCMU', '8000', '64000'];
  fire(ctx, 'CODEC/set_read', ch, { trail: [['channel-read-codec-name', name], ['channel-read-codec-rate', rate], ['channel-read-codec-bit-rate', bitRate]] });
}

export function waitForSilenceApp(ctx: SwitchContext, ch: Channel, request: CurrentApp & { viaSendmsg: boolean }, finish: Finish, own: Own): void {
  const [thresh = 200, silenceHits = 15, listenHits = 10, timeoutMs = 0] = request.arg.trim().split(/\s+/).map((n) => Number.parseInt(n, 10) || 0);
  executeStarted(ctx, ch, request, request.viaSendmsg);
  setReadCodec(ctx, ch, true);
  const startedAt = ctx.clock.simulatedElapsed();
  let done = false;
  let cancel = (): void => undefined;
  const plan = (): void => {
    cancel();
    const outcome = analyse(ch, startedAt, thresh, Math.max(1, silenceHits), listenHits, timeoutMs);
    if (!outcome) return;
    const dueIn = startedAt + outcome.frames * FRAME_MS - ctx.clock.simulatedElapsed();
    cancel = ctx.clock.after(dueIn, () => complete(outcome.variables));
    ch.own(cancel);
  };
  // A prompt that starts while it listens (an IVR's next menu) changes what it will hear.
  const unsubscribe = onSoundChange(ch, plan);
  const complete = (variables: Array<[string, string]> | undefined): void => {
    if (done) return;
    done = true;
    cancel();
    unsubscribe();
    if (variables) ch.vars.setAll(variables);
    setReadCodec(ctx, ch, false);
    finish();
  };
  own(() => complete(undefined));
  plan();
}
