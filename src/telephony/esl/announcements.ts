/**
 * What an announcement's CHANNEL_EXECUTE_COMPLETE says about it. The switch reports a playback
 * that found no file, but a speak without its TTS engine completes like a success: only its
 * duration gives it away.
 */
import type { Announcement, PlayResult } from '../types.js';

export const PLAYED: PlayResult = { outcome: 'played' };
export const HUNG_UP: PlayResult = { outcome: 'hung-up' };

/**
 * A speak that completes within this (switch clock) said nothing: FreeSWITCH answers `_none_` for a
 * missing TTS engine too, but after about 1 ms instead of the length of the text (o-app-failures).
 */
const SPEAK_AT_ONCE_MS = 10;

export function playOutcome(kind: Announcement['kind'], response: string | undefined, tookMs: number | undefined): PlayResult {
  if (kind === 'file') {
    // FILE PLAYED when it played; FILE NOT FOUND and the like when it did not.
    return response === 'FILE PLAYED' ? PLAYED : { outcome: 'failed', reason: `playback answered ${response ?? 'nothing'}` };
  }
  if (tookMs !== undefined && tookMs < SPEAK_AT_ONCE_MS) {
    return { outcome: 'failed', reason: `speak returned after ${tookMs.toFixed(1)} ms without speaking (TTS engine or voice not available on the switch)` };
  }
  if (response !== undefined && /error|fail|invalid|not found/i.test(response)) return { outcome: 'failed', reason: `speak answered ${response}` };
  return PLAYED;
}
