/**
 * The message channels (e-mail, XMPP, SMS) behind one interface: what the intakes receive, what
 * replies, status messages, alerts and IM call offers send. Shared by intake/, notify/, inbound/
 * and alerts/; the implementations live beside this file.
 */

export type ChannelKind = 'email' | 'xmpp' | 'sms';

/**
 * An address on a channel, normalised: e-mail lower-cased (`ada@example.com`), XMPP the bare JID
 * (`ada@im.example.com`, the resource in `resource`), SMS E.164 (`+12025550101`).
 */
export interface ChannelAddress {
  channel: ChannelKind;
  address: string;
  /** XMPP only: the resource a message came from or should go to. */
  resource?: string;
}

/** Where a conversation continues: e-mail threading headers, or an XMPP thread id. */
export interface ThreadRef {
  /** E-mail: the Message-ID replied to (`<…@…>`); XMPP: the `<thread>` of the chat, if any. */
  messageId?: string;
  /** E-mail: the References chain, oldest first, including `messageId`. */
  references?: string[];
  /** E-mail: the subject replied to (a reply is `Re: <subject>`). */
  subject?: string;
}

/** A message received on a channel whose sender the channel has authenticated. */
export interface InboundMessage {
  /** The channel's id of the message (Message-ID, stanza id, SMPP message id), for deduplication. */
  id: string;
  from: ChannelAddress;
  /** The address it was sent to (Crossline's mailbox, bot JID, short code). */
  to: ChannelAddress;
  /** E-mail subject, if any. */
  subject?: string;
  /** Plain text: HTML converted, quoted replies and signatures removed. */
  text: string;
  receivedAt: Date;
  thread?: ThreadRef;
}

export interface OutboundAttachment {
  filename: string;
  contentType: string;
  /** Read from this path when the message is sent (large recordings are not kept in Redis). */
  path: string;
}

/**
 * A question the recipient may answer with a button where the client can: on XMPP an XEP-0004 data
 * form (`type="form"`) in the same message as the text; other channels send the text alone, which
 * always says how to answer in plain words.
 */
export interface OutboundForm {
  /** The form's FORM_TYPE, e.g. `urn:crossline:call-offer`. */
  type: string;
  /** Echoed back in the submission (hidden field `ref`): what the answer is about. */
  ref: string;
  title: string;
  instructions?: string;
  /** Label of the one list-single field, `answer`. */
  label: string;
  options: Array<{ value: string; label: string }>;
}

/** A submitted form (XMPP: an XEP-0004 `type="submit"` data form), as the channel received it. */
export interface FormSubmission {
  /** The stanza id, or one made up when the client sent none. */
  id: string;
  from: ChannelAddress;
  /** FORM_TYPE of the submission. */
  type: string;
  /** Each field's first value, by `var` (FORM_TYPE left out). */
  fields: Record<string, string>;
}

/** A message to send. `dedupKey` makes sending idempotent: one key is sent at most once. */
export interface OutboundMessage {
  to: ChannelAddress;
  subject?: string;
  text: string;
  html?: string;
  thread?: ThreadRef;
  attachments?: OutboundAttachment[];
  /** A question answered with a button where the client can (see {@link OutboundForm}). */
  form?: OutboundForm;
  /** e.g. `callback:<id>:status:<n>`, `reply:<inbound id>`, `alert:<attempt id>:<address>`. */
  dedupKey: string;
}

/** What a channel reports back: the channel's own id of the sent message. */
export interface SentMessage {
  channel: ChannelKind;
  messageId: string;
}

/** One channel: sends to its addresses, hands what it receives to the handler. */
export interface Channel {
  readonly kind: ChannelKind;
  send(message: OutboundMessage): Promise<SentMessage>;
}

/**
 * What the channels deliver inbound messages to (the messaging intake, the IM offer of an inbound
 * call). Returns the replies to send; the channel layer sends them (once each, by `dedupKey`).
 * Throwing means "not handled"; unauthenticated senders never reach a handler.
 */
export interface MessageHandler {
  handle(message: InboundMessage): Promise<OutboundMessage[]>;
}

/** Sends through the right channel, queued with retries; the port the domain uses. */
export interface MessageSender {
  /** Queues `message`; resolves once it is durably queued (not sent). Duplicate `dedupKey`s are dropped. */
  enqueue(message: OutboundMessage): Promise<void>;
}

/**
 * Who asked for a callback over a channel, and where its status messages go (stored on the
 * callback as `requester`). The notifier sends there "calling Ada now", "you are connected", …
 */
export interface Requester {
  /** The directory's id of the user who asked. */
  userId: string;
  address: ChannelAddress;
  /** The conversation the request came in (e-mail thread, XMPP thread), so outcomes are replies in it. */
  thread?: ThreadRef;
  /** IANA time zone times are told in ("I will try again at 15:10"). @defaultValue 'UTC' */
  timeZone?: string;
}

/** How far the directory trusts an address a message came from. */
export type SenderStanding =
  /** A user's address that has been verified: may ask for calls, and is accepted on rosters. */
  | 'verified'
  /** A user's address not yet verified: its messages reach the handler (to answer a verification code). */
  | 'unverified'
  /** No user has it: dropped without a reply (no backscatter), logged and counted. */
  | 'unknown';

/** What the channels ask the directory before a message reaches a handler or a roster. */
export interface SenderDirectory {
  standing(address: ChannelAddress): Promise<SenderStanding>;
}
