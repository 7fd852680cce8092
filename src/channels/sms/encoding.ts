import smpp from 'smpp';

/**
 * How a text travels as SMS: the GSM 03.38 default alphabet (7-bit, data_coding 0x00, sent to the
 * SMSC unpacked, one septet per octet, extension characters as ESC + code) when every character
 * is in it, else UCS-2 (data_coding 0x08, UTF-16BE). One message holds 160 septets or 70 UCS-2
 * units; a longer text is split into parts of 153 septets / 67 units (the concatenation header
 * takes 6 octets of the 140), never inside an escape sequence or a surrogate pair, and the phone
 * joins them again (UDH IEI 0x00, or the SMSC builds it from the sar_ TLVs).
 */

export type SmsEncoding = 'gsm7' | 'ucs2';

export const DATA_CODING: Record<SmsEncoding, number> = { gsm7: 0x00, ucs2: 0x08 };

const SINGLE_CAPACITY: Record<SmsEncoding, number> = { gsm7: 160, ucs2: 140 };
const PART_CAPACITY: Record<SmsEncoding, number> = { gsm7: 153, ucs2: 134 };

export interface EncodedSms {
  encoding: SmsEncoding;
  dataCoding: number;
  /** The octets of each part (no concatenation header). */
  parts: Buffer[];
  /** Characters of the text that were left out to stay within `maxParts` (0 when none). */
  droppedChars: number;
}

/** Whether every character of `text` is in the GSM 03.38 default alphabet or its extension table. */
export function isGsm7(text: string): boolean {
  return smpp.gsmCoder.GSM.charRegex.test(text);
}

/** The octets of one character (GSM: one or two septets, UCS-2: two or four octets). */
function encodeChar(ch: string, encoding: SmsEncoding): Buffer {
  return encoding === 'gsm7' ? smpp.gsmCoder.encode(ch, 0) : Buffer.from(ch, 'utf16le').swap16();
}

const ELLIPSIS = { gsm7: '...', ucs2: '…' } as const;

/**
 * Encodes `text` into at most `maxParts` parts. A text that does not fit is cut at a character
 * boundary and ends with an ellipsis (`droppedChars` tells how much went): a status message is
 * better cut than lost.
 */
export function encodeSms(text: string, maxParts: number): EncodedSms {
  const encoding: SmsEncoding = isGsm7(text) ? 'gsm7' : 'ucs2';
  const chars = [...text].map((ch) => encodeChar(ch, encoding));
  const total = chars.reduce((n, c) => n + c.length, 0);
  if (total <= SINGLE_CAPACITY[encoding]) {
    return { encoding, dataCoding: DATA_CODING[encoding], parts: [Buffer.concat(chars)], droppedChars: 0 };
  }
  const capacity = PART_CAPACITY[encoding];
  const parts: Buffer[][] = [[]];
  let used = 0;
  let kept = 0;
  for (const c of chars) {
    if (used + c.length > capacity) {
      if (parts.length === maxParts) break;
      parts.push([]);
      used = 0;
    }
    parts.at(-1)!.push(c);
    used += c.length;
    kept += 1;
  }
  if (kept < chars.length) {
    // Over maxParts: make room in the last part for the ellipsis.
    const ellipsis = [...ELLIPSIS[encoding]].map((ch) => encodeChar(ch, encoding));
    const need = ellipsis.reduce((n, c) => n + c.length, 0);
    const last = parts.at(-1)!;
    while (last.length > 0 && used + need > capacity) {
      used -= last.pop()!.length;
      kept -= 1;
    }
    last.push(...ellipsis);
  }
  return { encoding, dataCoding: DATA_CODING[encoding], parts: parts.map((p) => Buffer.concat(p)), droppedChars: chars.length - kept };
}

/** The concatenation header of part `seq` (1-based) of `total`, reference `ref` (IEI 0x00, 8-bit reference). */
export function concatUdh(ref: number, total: number, seq: number): Buffer {
  return Buffer.from([0x05, 0x00, 0x03, ref & 0xff, total, seq]);
}

/** Decodes GSM septets (unpacked) or UCS-2 octets back into text (the test SMSC and receipts use it). */
export function decodeSms(octets: Buffer, dataCoding: number): string {
  if ((dataCoding & 0x0f) === 0x08) return Buffer.from(octets).swap16().toString('utf16le');
  if (dataCoding === 0x03) return octets.toString('latin1');
  return smpp.gsmCoder.decode(octets, 0);
}
