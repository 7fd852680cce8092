/**
 * How long FreeSWITCH takes to play a DTMF string out. `uuid_send_dtmf` and the `send_dtmf` app
 * only queue the digits and return at once; the switch then plays them one by one and sends no
 * event per digit, and digits still queued when the leg hangs up are dropped without a trace
 * (shared/esl-traces m- and n-). So whoever must know that the digits have arrived waits out their
 * known duration.
 *
 * Measured on FreeSWITCH 1.10.12 with the default DTMF duration (captures m/n and a check against
 * the test switch): the first digit reaches the far end about 80 ms after the digits are queued,
 * each digit takes 0.42 s (tone plus gap), `w` adds 0.5 s and `W` 1 s.
 */

/** One digit's share of the play-out: its tone and the gap after it, ms. */
export const DTMF_DIGIT_MS = 420;
/** `w`: a half-second pause, ms. */
export const DTMF_SHORT_PAUSE_MS = 500;
/** `W`: a one-second pause, ms. */
export const DTMF_LONG_PAUSE_MS = 1000;
/** From queueing to the first digit at the far end, ms. */
export const DTMF_FIRST_DIGIT_DELAY_MS = 80;

/** How long one symbol of a DTMF string (digit, `w` or `W`) occupies the channel, ms. */
function symbolMs(symbol: string): number {
  if (symbol === 'w') return DTMF_SHORT_PAUSE_MS;
  if (symbol === 'W') return DTMF_LONG_PAUSE_MS;
  return DTMF_DIGIT_MS;
}

/**
 * When each digit of `digits` reaches the far end, in ms after the string was queued on an idle
 * channel (pauses are not listed; they only push later digits back).
 */
export function dtmfSchedule(digits: string): Array<{ digit: string; atMs: number }> {
  const out: Array<{ digit: string; atMs: number }> = [];
  let offset = DTMF_FIRST_DIGIT_DELAY_MS;
  for (const symbol of digits) {
    if (symbol !== 'w' && symbol !== 'W') out.push({ digit: symbol, atMs: offset });
    offset += symbolMs(symbol);
  }
  return out;
}

/**
 * How long after queueing `digits` (with `w`/`W` pauses) on an idle channel every digit and pause
 * has been played out, ms: 0.42 s per digit, 0.5 s per `w`, 1 s per `W`. It ends a little after
 * the last digit has been heard, never before.
 */
export function dtmfPlayoutMs(digits: string): number {
  let total = 0;
  for (const symbol of digits) total += symbolMs(symbol);
  return total;
}
