/**
 * Dialplan applications a leg can run (from originate's `&app()` or `sendmsg … call-command:
 * execute`): playback, speak, send_dtmf, answer, hangup, set, sleep, park, bridge. Apps sent while another runs
 * wait in a per-leg queue, as in FreeSWITCH.
 */
import type { Channel, CurrentApp } from './channel.js';
import type { SwitchContext } from './context.js';
import type { Header } from './event.js';
import { bridgeApp } from './bridge.js';
import { queueDtmf } from './dtmf.js';
import { hangup } from './hangup.js';
import { executeCompleted, executeStarted, fire, markAnswered, park, setCallState } from './leg.js';
import { ackVars, inboundAnswerVars } from './sofia-vars.js';
import { playAndGetDigits, recordApp, rxfaxApp } from './ivr-apps.js';
import { waitForSilenceApp } from './silence.js';
import { confirmDigitsApp } from './confirm-digits.js';
import { hasFarEnd, heardByFarEnd } from './far-end.js';

export interface AppRequest extends CurrentApp {
  viaSendmsg: boolean;
  /** sendmsg with `event-lock: true`: PRIVATE_COMMAND comes after the app completes. */
  eventLock: boolean;
  /** The sendmsg command as headers, copied into PRIVATE_COMMAND. */
  command: readonly Header[] | undefined;
  /** Called when the app has completed (not when it was interrupted by a hangup). */
  onDone?: () => void;
}

interface Running {
  request: AppRequest;
  /** The leg hung up: stop without running what is queued (playback still reports its stop). */
  interrupted: () => void;
  /** uuid_break: stop now, complete normally, go on with the queue. */
  broken: () => void;
}

const running = new WeakMap<Channel, Running>();
const queues = new WeakMap<Channel, AppRequest[]>();

/** Runs the app now, or after the ones already queued on this leg. */
export function execute(ctx: SwitchContext, ch: Channel, request: AppRequest): void {
  const queue = queues.get(ch) ?? [];
  queues.set(ch, queue);
  queue.push(request);
  if (!running.has(ch)) runNext(ctx, ch);
}

function runNext(ctx: SwitchContext, ch: Channel): void {
  const request = queues.get(ch)?.shift();
  if (!request || !ch.up) return;
  if (request.viaSendmsg && !request.eventLock) privateCommand(ctx, ch, request);
  const finish = (response?: string): void => {
    running.delete(ch);
    executeCompleted(ctx, ch, request, response);
    if (request.viaSendmsg) {
      ch.vars.unset('current_loop');
      ch.vars.unset('total_loops');
      if (request.eventLock) privateCommand(ctx, ch, request);
    }
    request.onDone?.();
    runNext(ctx, ch);
  };
  startApp(ctx, ch, request, finish);
}

function privateCommand(ctx: SwitchContext, ch: Channel, request: AppRequest): void {
  if (request.command) fire(ctx, 'PRIVATE_COMMAND', ch, { first: request.command });
}

type Finish = (response?: string) => void;

function startApp(ctx: SwitchContext, ch: Channel, request: AppRequest, finish: Finish): void {
  switch (request.name) {
    case 'playback':
      heardByFarEnd(ctx, ch, request.name, request.arg);
      return playback(ctx, ch, request, finish);
    case 'speak':
      heardByFarEnd(ctx, ch, request.name, request.arg);
      // Without its TTS module FreeSWITCH logs "Invalid TTS module" and returns at once, like a success.
      return timed(ctx, ch, request, ctx.media.canSpeak(request.arg) ? spokenMs(ctx, request.arg) : 0, finish);
    case 'send_dtmf':
      // Only queues the digits: the app completes before the first one is out (n-send-dtmf-app).
      timed(ctx, ch, request, 0, finish);
      return queueDtmf(ctx, ch, request.arg);
    case 'sleep':
      return timed(ctx, ch, request, Number.parseInt(request.arg, 10) || 0, finish);
    case 'answer':
      return answerApp(ctx, ch, request, finish);
    case 'hangup':
      executeStarted(ctx, ch, request, request.viaSendmsg);
      return hangup(ctx, ch, request.arg || 'NORMAL_CLEARING', 'local');
    case 'park':
      if (!ch.parked) park(ctx, ch, request);
      return;
    case 'bridge':
      return bridgeApp(ctx, ch, request);
    case 'play_and_get_digits':
      // On a leg Crossline dialled, the phone's far end answers (press 1); on an inbound call, the scripted caller.
      if (hasFarEnd(ch)) return confirmDigitsApp(ctx, ch, request, finish, (stop) => ownRunning(ch, request, stop));
      return playAndGetDigits(ctx, ch, request, (ms, response, onDone) => timed(ctx, ch, request, ms, (r) => {
        onDone?.();
        finish(r);
      }, response));
    case 'record':
      return recordApp(ctx, ch, request, finish, (stop) => ownRunning(ch, request, stop));
    case 'rxfax':
      return rxfaxApp(ctx, ch, request, finish, (stop) => ownRunning(ch, request, stop));
    case 'wait_for_silence':
      return waitForSilenceApp(ctx, ch, request, finish, (stop) => ownRunning(ch, request, stop));
    case 'set':
    case 'export':
      setVariable(ch, request.arg);
      return timed(ctx, ch, request, 0, finish);
    default:
      return timed(ctx, ch, request, 0, finish);
  }
}

function setVariable(ch: Channel, arg: string): void {
  const eq = arg.indexOf('=');
  if (eq > 0) ch.vars.set(arg.slice(0, eq), arg.slice(eq + 1));
}

/** An app with its own timers: a hangup or uuid_break calls `stop` (which completes it). */
function ownRunning(ch: Channel, request: AppRequest, stop: (how: 'hangup' | 'break') => void): void {
  running.set(ch, { request, interrupted: () => stop('hangup'), broken: () => stop('break') });
}

/** An app that just takes time (speak, sleep, set…) and then answers `response` (default: none). */
function timed(ctx: SwitchContext, ch: Channel, request: AppRequest, ms: number, finish: Finish, response?: string): void {
  executeStarted(ctx, ch, request, request.viaSendmsg);
  const cancel = ctx.clock.after(ms, () => finish(response));
  running.set(ch, {
    request,
    interrupted: () => {
      cancel();
      executeCompleted(ctx, ch, request, response);
    },
    broken: () => {
      cancel();
      finish(response);
    },
  });
  ch.own(cancel);
}

/** playback: PLAYBACK_START, the file's duration, PLAYBACK_STOP, then "FILE PLAYED". */
function playback(ctx: SwitchContext, ch: Channel, request: AppRequest, finish: Finish): void {
  // A missing file: no PLAYBACK_START/STOP, an immediate FILE NOT FOUND (o-app-failures).
  if (!ctx.media.fileExists(request.arg)) return timed(ctx, ch, request, 0, finish, 'FILE NOT FOUND');
  executeStarted(ctx, ch, request, request.viaSendmsg);
  const file: Header[] = [['Playback-File-Type', fileType(request.arg)], ['Playback-File-Path', request.arg]];
  fire(ctx, 'PLAYBACK_START', ch, { trail: file });
  const started = performance.now();
  const stop = (status: 'done' | 'break'): void => {
    const ms = Math.round((performance.now() - started) / ctx.clock.timeScale);
    ch.vars.setAll([
      ['playback_last_offset_pos', String(ms * 8)], ['playback_seconds', String(Math.floor(ms / 1000))],
      ['playback_ms', String(ms)], ['playback_samples', String(ms * 8)],
    ]);
    fire(ctx, 'PLAYBACK_STOP', ch, { trail: [...file, ['Playback-Status', status]] });
  };
  const ms = playbackMs(request.arg);
  const cancel = Number.isFinite(ms)
    ? ctx.clock.after(ms, () => {
        stop('done');
        finish('FILE PLAYED');
      })
    : () => undefined;
  running.set(ch, {
    request,
    interrupted: () => {
      cancel();
      stop('done');
      executeCompleted(ctx, ch, request, 'PLAYBACK ERROR');
    },
    broken: () => {
      cancel();
      stop('break');
      finish('FILE PLAYED');
    },
  });
  ch.own(cancel);
}

/** answer on an inbound leg (outbound-socket mode): 200 OK, ACTIVE, and the caller's ACK after. */
function answerApp(ctx: SwitchContext, ch: Channel, request: AppRequest, finish: Finish): void {
  executeStarted(ctx, ch, request, request.viaSendmsg);
  if (ch.phase !== 'ringing' || ch.direction !== 'inbound') return finish();
  ch.hasMedia = true;
  ch.vars.setAll(inboundAnswerVars(ch));
  markAnswered(ch);
  fire(ctx, 'CHANNEL_ANSWER', ch);
  setCallState(ctx, ch, 'ACTIVE');
  ch.vars.set('endpoint_disposition', 'ANSWER');
  finish();
  ch.own(ctx.clock.after(0, () => ch.vars.setAll(ackVars(ch))));
}

/** A hangup stops the running app: playback still reports PLAYBACK_STOP and its completion. */
export function interruptApp(ch: Channel): void {
  const current = running.get(ch);
  queues.delete(ch);
  if (!current) return;
  running.delete(ch);
  current.interrupted();
}

/** uuid_break: the running app stops and completes; with `all`, what is queued is dropped too. */
export function breakApp(ch: Channel, all: boolean): void {
  if (all) queues.delete(ch);
  running.get(ch)?.broken();
}

function fileType(path: string): string {
  const scheme = /^([a-z_]+):\/\//.exec(path);
  if (scheme?.[1]) return scheme[1];
  const ext = /\.([A-Za-z0-9]+)$/.exec(path);
  return ext?.[1] ?? 'file';
}

/** How long a playback lasts: tone_stream segments × loops, silence_stream://N, else one second. */
export function playbackMs(path: string): number {
  if (path.startsWith('tone_stream://')) {
    const loops = /loops=(-?\d+)/.exec(path);
    const count = loops?.[1] ? Number.parseInt(loops[1], 10) : 1;
    if (count < 0) return Number.POSITIVE_INFINITY;
    let total = 0;
    for (const m of path.matchAll(/%\((\d+),(\d+)/g)) total += Number(m[1]) + Number(m[2]);
    return total * count;
  }
  const silence = /^silence_stream:\/\/(-?\d+)/.exec(path);
  if (silence?.[1]) {
    const ms = Number.parseInt(silence[1], 10);
    return ms < 0 ? Number.POSITIVE_INFINITY : ms;
  }
  if (path.startsWith('say:')) return speakMs(path.slice(4));
  return 1000;
}

/**
 * Real milliseconds a working speak lasts at least, whatever the time scale: a client tells a speak
 * that said nothing by its returning within a few ms (o-app-failures), so a fast simulator must not
 * look like a switch without TTS.
 */
const SPEAK_MIN_REAL_MS = 20;

/** How long a working speak lasts, simulated ms. */
function spokenMs(ctx: SwitchContext, arg: string): number {
  return Math.max(speakMs(arg), SPEAK_MIN_REAL_MS / ctx.clock.timeScale);
}

/** TTS takes about 60 ms per character of `engine|voice|text`, at least half a second. */
export function speakMs(arg: string): number {
  const text = arg.split('|').pop() ?? arg;
  return Math.max(500, text.length * 60);
}
