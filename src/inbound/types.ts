/**
 * Calls to a person wherever they are (seed 002): a user's inbound profile (the numbers that reach
 * them, an optional PIN, where a call goes by day and time), the IM offer of a call, and the
 * voicemails left for them. The profile extends a directory user (`userId`); the directory keeps
 * who they are, this keeps how calls reach them.
 */

/** Where a call goes: an IM offer (then the device), a phone of the profile, the softphone, voicemail. */
export type RouteTarget = 'im' | 'mobile' | 'home' | 'sip' | 'voicemail';
export const ROUTE_TARGETS: readonly RouteTarget[] = ['im', 'mobile', 'home', 'sip', 'voicemail'];

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** A route: where first, and where when that does not take the call (declined, no answer, offline). */
export interface Route {
  target: RouteTarget;
  /** @defaultValue 'voicemail' */
  alternate?: RouteTarget;
}

/** Days and a time window in the user's time zone (`to` after `from`; `24:00` ends at midnight). */
export interface ScheduleRule extends Route {
  days: Weekday[];
  /** `HH:MM`, 24-hour. */
  from: string;
  /** `HH:MM`, 24-hour, after `from`. */
  to: string;
}

export interface Destinations {
  /** E.164. */
  mobile?: string;
  /** E.164. */
  home?: string;
  /** The user's softphone (a registered SIP user), `sip:ada@pbx.example.com`. */
  sip?: string;
}

/** How a user is reached by phone. Stored per user; the DIDs index it. */
export interface InboundProfile {
  userId: string;
  /** API key id the user belongs to. */
  owner: string;
  /** The name callers hear: "to talk to <alias> press 1". */
  alias: string;
  /** Whether a PIN is set (the hash never leaves the store). */
  hasPin: boolean;
  /** The numbers (E.164) that reach this user; a number several users share needs their PINs. */
  dids: string[];
  /** Bare JID the IM offer and voicemail links go to (a verified JID of the user). */
  imAddress?: string;
  /** Where voicemails go when the user is not online (a verified e-mail of the user). */
  email?: string;
  destinations: Destinations;
  /** IANA time zone of the schedule. */
  timeZone: string;
  schedule: ScheduleRule[];
  /** When no rule matches. */
  default: Route;
  /** How long an IM offer (or a phone) rings before the alternate, s. @defaultValue 25 */
  ringSeconds: number;
  createdAt: string;
  updatedAt: string;
  revision: number;
}

/** What PUT accepts (shape checked by openapi.yaml, values by the profiles service). */
export interface InboundProfileInput {
  alias: string;
  /** 4-8 digits; `null` removes it; absent keeps the current one. */
  pin?: string | null;
  dids: string[];
  imAddress?: string;
  email?: string;
  destinations?: Destinations;
  timeZone?: string;
  schedule?: ScheduleRule[];
  default?: Route;
  ringSeconds?: number;
}

/** A voicemail (or fax) left for a user. */
export interface Voicemail {
  id: string;
  owner: string;
  userId: string;
  kind: 'voice' | 'fax';
  /** Caller's number as presented (E.164 when it parses), and name when the network gave one. */
  callerNumber: string;
  callerName?: string;
  /** The number dialled. */
  did: string;
  receivedAt: string;
  /** Recording length, ms (voice); pages (fax). */
  durationMs: number;
  pages?: number;
  /** The file's name in the media directory. */
  file: string;
  contentType: string;
  sizeBytes: number;
  heard: boolean;
  /** How it was delivered, once. */
  delivery?: { channel: 'xmpp' | 'email'; at: string };
}

/** Where a user is on IM right now, as the XMPP channel sees it. */
export interface ImPresence {
  /** True when the JID has an available resource that is not dnd / xa. */
  isReachable(jid: string): boolean;
}

/** A chat message from a JID, as the XMPP channel receives it. */
export interface ImChat {
  id: string;
  /** Bare JID. */
  from: string;
  body: string;
}

/** The XMPP side the IM offer needs: presence and the chat messages users send. */
export interface ImLink extends ImPresence {
  onChat(listener: (chat: ImChat) => void): () => void;
}
