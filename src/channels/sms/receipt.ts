/**
 * SMPP delivery receipts (deliver_sm with esm_class "MC delivery receipt"): the message id and
 * final state come from the v3.4 TLVs `receipted_message_id` and `message_state` when the SMSC
 * sends them, else from the receipt text of SMPP 3.4 Appendix B:
 * `id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:…`.
 */

/** The receipt states of Appendix B (the `stat:` words), and what they mean for a part. */
export type ReceiptStat = 'DELIVRD' | 'EXPIRED' | 'DELETED' | 'UNDELIV' | 'ACCEPTD' | 'UNKNOWN' | 'REJECTD' | 'ENROUTE';

export type PartState = 'submitted' | 'enroute' | 'delivered' | 'undeliverable';

export interface Receipt {
  /** The SMSC's message id the receipt is about (as submit_sm_resp gave it). */
  messageId: string;
  stat: ReceiptStat;
  state: PartState;
  /** `err:` or the network_error_code TLV, when present. */
  error?: string;
  /** `done date:` when readable. */
  doneAt?: Date;
}

/** message_state TLV values (SMPP 3.4 §5.3.2.35) to the receipt words. */
const MESSAGE_STATE: Record<number, ReceiptStat> = {
  1: 'ENROUTE', 2: 'DELIVRD', 3: 'EXPIRED', 4: 'DELETED', 5: 'UNDELIV', 6: 'ACCEPTD', 7: 'UNKNOWN', 8: 'REJECTD',
};

const STATE_OF: Record<ReceiptStat, PartState> = {
  DELIVRD: 'delivered',
  ACCEPTD: 'enroute',
  ENROUTE: 'enroute',
  UNKNOWN: 'enroute',
  EXPIRED: 'undeliverable',
  DELETED: 'undeliverable',
  UNDELIV: 'undeliverable',
  REJECTD: 'undeliverable',
};

const isStat = (s: string): s is ReceiptStat => s in STATE_OF;

/** YYMMDDhhmm[ss] (the receipt's dates, UTC by convention) to a Date. */
function receiptDate(text: string | undefined): Date | undefined {
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$/.exec(text ?? '');
  if (!m) return undefined;
  const [, yy, mo, dd, hh, mi, ss] = m;
  const date = new Date(Date.UTC(2000 + Number(yy), Number(mo) - 1, Number(dd), Number(hh), Number(mi), Number(ss ?? '0')));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * Reads a receipt from the deliver_sm's TLVs and text; undefined when neither names a message id
 * and a known state.
 */
export function parseReceipt(fields: { receiptedMessageId?: string; messageState?: number; networkErrorCode?: Buffer; text: string }): Receipt | undefined {
  const text = fields.text;
  const word = (key: string): string | undefined => new RegExp(`(?:^|\\s)${key}:(\\S*)`, 'i').exec(text)?.[1];
  const id = (fields.receiptedMessageId ?? '').trim() || word('id');
  const statWord = fields.messageState !== undefined ? MESSAGE_STATE[fields.messageState] : word('stat')?.toUpperCase();
  if (id === undefined || id === '' || statWord === undefined || !isStat(statWord)) return undefined;
  const network = fields.networkErrorCode && fields.networkErrorCode.length >= 3 ? `${fields.networkErrorCode[0]}:${fields.networkErrorCode.readUInt16BE(1)}` : undefined;
  const err = word('err');
  const error = network ?? (err !== undefined && !/^0+$/.test(err) ? err : undefined);
  const doneAt = receiptDate(/done date:(\d{10,12})/i.exec(text)?.[1]);
  return { messageId: id, stat: statWord, state: STATE_OF[statWord], ...(error !== undefined ? { error } : {}), ...(doneAt ? { doneAt } : {}) };
}

/**
 * The other spellings of an SMSC message id: many SMSCs answer submit_sm with a hex id and put it
 * in the receipt text as decimal (or the reverse).
 */
export function idVariants(id: string): string[] {
  const variants = new Set<string>([id]);
  if (/^[0-9]{1,20}$/.test(id)) {
    const hex = BigInt(id).toString(16);
    variants.add(hex).add(hex.toUpperCase());
  }
  if (/^[0-9a-f]{1,16}$/i.test(id)) variants.add(BigInt(`0x${id}`).toString(10)).add(id.toLowerCase()).add(id.toUpperCase());
  return [...variants];
}
