/** Text messages over SMPP: the channel, its SMSC link, the delivery log and the text encoding. */
import type { KeyPrefixes } from '../../store/index.js';

export { SmsChannel } from './channel.js';
export type { ConcatMode, SmsChannelOptions, SmsListener, SmsSource } from './channel.js';
export { SmppLink, LinkError } from './link.js';
export type { LinkStatus, SmppLinkOptions } from './link.js';
export { SmsLog } from './log.js';
export { smsAdminRoutes } from './routes.js';
export type { SmsPart, SmsRecord, SmsStatus } from './log.js';
export { encodeSms, isGsm7, concatUdh, decodeSms } from './encoding.js';
export type { EncodedSms, SmsEncoding } from './encoding.js';
export { parseReceipt, idVariants } from './receipt.js';
export type { PartState, Receipt, ReceiptStat } from './receipt.js';

/** The key base of the SMS log and reassembly: `<prefix>:sms`, hash-tagged on a Redis Cluster (its keys go in one MULTI). */
export function smsKeyBase(prefixes: KeyPrefixes): string {
  return prefixes.callbacks === prefixes.spread ? `${prefixes.spread}:sms` : `{${prefixes.spread}:sms}`;
}
