/**
 * Strict grammars for every value that may reach an ESL command. Anything outside them is refused
 * before it is queued (400 at the API) and again by the dial-string builder (defence in depth).
 * They are deliberately narrower than the RFCs: no escapes, no parameters, no headers.
 */

/** E.164: '+', country code, up to 15 digits in all. */
export const E164 = /^\+[1-9][0-9]{6,14}$/;

/**
 * SIP URI: sip: or sips:, a user part of unreserved characters, '@', a host name or IPv4 address,
 * an optional port. No ';' parameters, no '?' headers, no '%' escapes, no spaces.
 */
export const SIP_URI =
  /^sips?:[A-Za-z0-9._~+-]{1,64}@(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?|(?:[0-9]{1,3}\.){3}[0-9]{1,3})(?::[0-9]{1,5})?$/;

/**
 * DTMF as FreeSWITCH sends it: digits, * #, A-D, and w / W pauses (0.5 s / 1 s). No spaces: the
 * digits are one argument of `uuid_send_dtmf`, and a space would split it.
 */
export const DTMF = /^[0-9*#A-DwW]{1,64}$/;

/** A display name for caller id: letters, marks, digits, spaces, '.', '-'. */
export const DISPLAY_NAME = /^[\p{L}\p{M}\p{N} .-]{1,64}$/u;

/** Text spoken by TTS: letters, digits, spaces and plain punctuation; no '|', no line breaks. */
export const SPEAKABLE_TEXT = /^[\p{L}\p{M}\p{N} .,:!?'()-]{1,500}$/u;

/**
 * A prompt spoken inside `play_and_get_digits` (press-1 confirmation): SPEAKABLE_TEXT without `'`,
 * because the prompt is one single-quoted argument of a space-separated list.
 */
export const CONFIRM_PROMPT = /^[\p{L}\p{M}\p{N} .,:!?()-]{1,200}$/u;

/** A value sent as DTMF at run time (an account number): digits only, at most 32. */
export const IVR_VALUE = /^[0-9]{1,32}$/;

/** The name of a run-time value, as IVR steps refer to it: `accountNumber`. */
export const IVR_VALUE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;

/**
 * A sound the switch plays: a relative or absolute file path of plain characters, or a
 * `tone_stream://` we built ourselves. No `{}` (per-file variables), no `$` (variable expansion),
 * no `..`, no spaces.
 */
export const SOUND_PATH = /^(?:(?!.*\.\.)[A-Za-z0-9_./-]{1,255}|tone_stream:\/\/[A-Za-z0-9%(),;=.+-]{1,200}|silence_stream:\/\/[0-9]{1,6})$/;

/** Our own identifiers (callback ids, leg UUIDs) are lower-case UUIDs. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isE164 = (s: string): boolean => E164.test(s);
export const isSipUri = (s: string): boolean => s.length <= 256 && SIP_URI.test(s);
export const isDtmf = (s: string): boolean => DTMF.test(s) && s.trim() === s;
export const isDisplayName = (s: string): boolean => DISPLAY_NAME.test(s) && s.trim() === s;
export const isSpeakableText = (s: string): boolean => SPEAKABLE_TEXT.test(s) && s.trim() === s;
export const isConfirmPrompt = (s: string): boolean => CONFIRM_PROMPT.test(s) && s.trim() === s;
export const isIvrValue = (s: string): boolean => IVR_VALUE.test(s);
export const isIvrValueName = (s: string): boolean => IVR_VALUE_NAME.test(s);
export const isSoundPath = (s: string): boolean => SOUND_PATH.test(s);
export const isUuid = (s: string): boolean => UUID.test(s);

/**
 * A registered SIP user's address-of-record as `sofia_contact` takes it: `user@domain`, user of
 * letters, digits and `._+-` (no escapes, parameters or spaces), domain a host name or IPv4 address.
 */
export const SIP_AOR = /^[A-Za-z0-9._+-]{1,64}@(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The address-of-record of `sip:user@host[:port][;params]` (lower-cased host, port and parameters dropped), or undefined. */
export function sipAorOf(uri: string): string | undefined {
  const m = /^sips?:([^@;?\s]{1,64})@([^:;?\s]{1,253})(?::[0-9]{1,5})?(?:;[^\s]*)?$/i.exec(uri.trim());
  if (!m?.[1] || !m[2]) return undefined;
  const aor = `${m[1]}@${m[2].toLowerCase()}`;
  return SIP_AOR.test(aor) ? aor : undefined;
}

