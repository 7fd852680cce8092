/**
 * The message channels: e-mail, XMPP and SMS (SMPP), one {@link Channel} interface, and the
 * queued {@link MessageSender} every capability sends through (once per `dedupKey`).
 */
export type * from './types.js';
export { ChannelSendError } from './errors.js';
export { MESSAGE_QUEUE, createMessageSender, createMessageWorker, messageBackoff, messageJobId, messageToken } from './sender.js';
export type { MessageJobData, MessageWorker, MessageWorkerOptions, QueuedMessageSender, QueuedMessageSenderOptions } from './sender.js';
export { createEmailChannel, replySubject } from './email/channel.js';
export type { EmailChannel, EmailChannelOptions } from './email/channel.js';
export { Outbox, OUTBOX_CAPACITY } from './email/outbox.js';
export type { OutboxEntry } from './email/outbox.js';
export { XmppChannel, bareJid } from './xmpp/channel.js';
export type { ChatMessage, PresenceChange, PresenceShow, ResourcePresence, XmppChannelOptions, XmppStatus } from './xmpp/channel.js';
export { SmsChannel, SmsLog, smsKeyBase } from './sms/index.js';
export type { SmsChannelOptions, SmsRecord, SmsStatus, SmsPart } from './sms/index.js';
