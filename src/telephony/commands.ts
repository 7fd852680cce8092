/**
 * The ESL commands Crossline sends besides `originate`, each built from re-validated values only.
 * Like the dial-string builder, these throw CrosslineError before anything reaches the socket.
 */
import { CrosslineError, type ErrorCode } from '../errors.js';
import { assertSafeCommand } from './dial-string.js';
import { isConfirmPrompt, isDtmf, isSoundPath, isSpeakableText, isUuid } from './grammar.js';
import { HANGUP_CAUSES, type Announcement, type DigitsRequest, type HangupCause, type SilenceParams } from './types.js';

/** TTS engine and voice names (same rule as the config schema). */
const TTS_NAME = /^[a-z0-9_]{1,32}$/;

const CAUSES: ReadonlySet<string> = new Set(HANGUP_CAUSES);

function refuse(code: ErrorCode, message: string): never {
  throw new CrosslineError(code, message, [{ message }]);
}

/** Throws INTERNAL unless `uuid` is one of our lower-case UUIDs (they are never user input). */
export function checkUuid(uuid: string): string {
  if (!isUuid(uuid)) refuse('INTERNAL', 'A channel UUID must be a lower-case UUID.');
  return uuid;
}

/** `uuid_kill <uuid> [cause]`; UNKNOWN is ours, not the switch's, so it is left out (the switch then uses NORMAL_CLEARING). */
export function killCommand(uuid: string, cause?: HangupCause): string {
  checkUuid(uuid);
  if (cause !== undefined && !CAUSES.has(cause)) refuse('INTERNAL', 'Unknown hangup cause.');
  return cause === undefined || cause === 'UNKNOWN' ? `uuid_kill ${uuid}` : `uuid_kill ${uuid} ${cause}`;
}

/** `uuid_send_dtmf <uuid> <digits>`; digits with w / W pauses, no spaces, no `@duration`. */
export function sendDtmfCommand(uuid: string, digits: string): string {
  checkUuid(uuid);
  if (!isDtmf(digits)) refuse('INVALID_DTMF', 'The DTMF sequence may only contain 0-9 * # A-D w W.');
  const command = `uuid_send_dtmf ${uuid} ${digits}`;
  assertSafeCommand(command);
  return command;
}

/** `uuid_bridge <a> <b>`. */
export function bridgeCommand(uuidA: string, uuidB: string): string {
  checkUuid(uuidA);
  checkUuid(uuidB);
  if (uuidA === uuidB) refuse('INTERNAL', 'Cannot bridge a leg to itself.');
  return `uuid_bridge ${uuidA} ${uuidB}`;
}

/** `uuid_exists <uuid>`. */
export function existsCommand(uuid: string): string {
  return `uuid_exists ${checkUuid(uuid)}`;
}

/** `uuid_break <uuid> all`: stops what the leg is playing. */
export function breakCommand(uuid: string): string {
  return `uuid_break ${checkUuid(uuid)} all`;
}

export interface TtsOptions {
  /** FreeSWITCH TTS module, e.g. `flite`. */
  engine: string;
  voice: string;
}

/** The headers of a `sendmsg <uuid>` that executes `speak` or `playback` on a leg, tagged with `eventUuid`. */
export function playMessage(
  uuid: string,
  announcement: Announcement,
  tts: TtsOptions,
  eventUuid: string,
): { command: string; headers: Record<string, string> } {
  checkUuid(uuid);
  checkUuid(eventUuid);
  let app: string;
  let arg: string;
  if (announcement.kind === 'speak') {
    if (!isSpeakableText(announcement.text)) {
      refuse('INVALID_ANNOUNCEMENT', 'The announcement text contains characters that cannot be spoken safely.');
    }
    if (!TTS_NAME.test(tts.engine) || !TTS_NAME.test(tts.voice)) refuse('INTERNAL', 'The configured TTS engine or voice is not a valid name.');
    app = 'speak';
    arg = `${tts.engine}|${tts.voice}|${announcement.text}`;
  } else if (announcement.kind === 'file') {
    if (!isSoundPath(announcement.path)) refuse('INVALID_ANNOUNCEMENT', 'The sound path is not allowed.');
    app = 'playback';
    arg = announcement.path;
  } else {
    return refuse('INVALID_ANNOUNCEMENT', 'Unknown announcement kind.');
  }
  assertSafeCommand(arg);
  return {
    command: `sendmsg ${uuid}`,
    headers: {
      'call-command': 'execute',
      'execute-app-name': app,
      'execute-app-arg': arg,
      'event-lock': 'true',
      'Event-UUID': eventUuid,
    },
  };
}

/** The headers of a `sendmsg <uuid>` that executes `app` with `arg`, tagged with `eventUuid` (event-lock). */
function executeMessage(uuid: string, app: string, arg: string, eventUuid: string): { command: string; headers: Record<string, string> } {
  checkUuid(uuid);
  checkUuid(eventUuid);
  assertSafeCommand(arg);
  return {
    command: `sendmsg ${uuid}`,
    headers: { 'call-command': 'execute', 'execute-app-name': app, 'execute-app-arg': arg, 'event-lock': 'true', 'Event-UUID': eventUuid },
  };
}

const isWhole = (n: number, min: number, max: number): boolean => Number.isInteger(n) && n >= min && n <= max;

/** `wait_for_silence <threshold> <silence_hits> <listen_hits> <timeout_ms>`: whole numbers in sane bounds only. */
export function waitForSilenceMessage(uuid: string, params: SilenceParams, eventUuid: string): { command: string; headers: Record<string, string> } {
  const { threshold, silenceHits, listenHits, timeoutMs } = params;
  if (!isWhole(threshold, 1, 32_767) || !isWhole(silenceHits, 1, 500) || !isWhole(listenHits, 0, 3_000) || !isWhole(timeoutMs, 100, 600_000)) {
    refuse('INTERNAL', 'wait_for_silence parameters out of range.');
  }
  return executeMessage(uuid, 'wait_for_silence', `${threshold} ${silenceHits} ${listenHits} ${timeoutMs}`, eventUuid);
}

/** The channel variable play_and_get_digits writes the digits to (read back from EXECUTE_COMPLETE). */
export const DIGITS_VARIABLE = 'crossline_digits';

/** What a digits regexp may be: anchored, digit classes and literals only (we build them; never user input). */
const DIGITS_REGEXP = /^\^[0-9*#[\]{},|-]{1,40}\$$/;

/**
 * `play_and_get_digits <min> <max> 1 <timeout> # 'say:<prompt>' silence_stream://250 crossline_digits <regexp> <timeout>`.
 * The prompt goes through FreeSWITCH's `say:` file (the channel's tts_engine / tts_voice), single
 * quoted: it is one argument of a space-separated list, so CONFIRM_PROMPT has no `'`.
 */
export function collectDigitsMessage(uuid: string, request: DigitsRequest, tts: TtsOptions, eventUuid: string): { command: string; headers: Record<string, string> } {
  if (!isConfirmPrompt(request.prompt)) refuse('INVALID_ANNOUNCEMENT', 'The prompt contains characters that cannot be spoken safely.');
  if (!TTS_NAME.test(tts.engine) || !TTS_NAME.test(tts.voice)) refuse('INTERNAL', 'The configured TTS engine or voice is not a valid name.');
  const { minDigits, maxDigits, timeoutMs, regexp } = request;
  if (!isWhole(minDigits, 1, 32) || !isWhole(maxDigits, minDigits, 32) || !isWhole(timeoutMs, 1_000, 120_000) || !DIGITS_REGEXP.test(regexp)) {
    refuse('INTERNAL', 'play_and_get_digits parameters out of range.');
  }
  const arg = `${minDigits} ${maxDigits} 1 ${timeoutMs} # 'say:${request.prompt}' silence_stream://250 ${DIGITS_VARIABLE} ${regexp} ${timeoutMs}`;
  return executeMessage(uuid, 'play_and_get_digits', arg, eventUuid);
}

/** `uuid_setvar <uuid> <name> <value>` for the TTS settings `say:` reads: names from config only. */
export function ttsSetupCommands(uuid: string, tts: TtsOptions): string[] {
  checkUuid(uuid);
  if (!TTS_NAME.test(tts.engine) || !TTS_NAME.test(tts.voice)) refuse('INTERNAL', 'The configured TTS engine or voice is not a valid name.');
  return [`uuid_setvar ${uuid} tts_engine ${tts.engine}`, `uuid_setvar ${uuid} tts_voice ${tts.voice}`];
}
