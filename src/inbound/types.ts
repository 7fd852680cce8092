/**
 * Calls to a person wherever they are (seed 002): a user's inbound profile (the numbers that reach
 * them, an optional PIN, where a call goes by day and time), the IM offer of a call, and the
 * voicemails left for them. The profile extends a directory user (`userId`); the directory keeps
 * who they are, this keeps how calls reach them.
 */

import type { components } from '../api/contract.gen.js';

type Schemas = components['schemas'];

/** Where a call goes: an IM offer (then the device), a phone of the profile, the softphone, voicemail. */
export type RouteTarget = Schemas['RouteTarget'];
export const ROUTE_TARGETS: readonly RouteTarget[] = ['im', 'mobile', 'home', 'sip', 'voicemail'];

export type Weekday = Schemas['InboundScheduleRule']['days'][number];
export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** A route: where first, and where when that does not take the call (declined, no answer, offline). */
export type Route = Schemas['InboundRoute'];

/** Days and a time window in the user's time zone (`to` after `from`; `24:00` ends at midnight). */
export type ScheduleRule = Schemas['InboundScheduleRule'];

/** The phones of a profile: mobile and home (E.164), the softphone (a registered SIP user). */
export type Destinations = Schemas['InboundDestinations'];

/**
 * How a user is reached by phone, stored per user (the DIDs index it): the contract's
 * InboundProfile, plus the API key id the user belongs to, which the API never shows.
 */
export type InboundProfile = Schemas['InboundProfile'] & { owner: string };

/** What PUT accepts (shape checked by openapi.yaml, values by the profiles service). */
export type InboundProfileInput = Schemas['InboundProfileInput'];

/**
 * A voicemail (or fax) left for a user, as stored: the contract's Voicemail without its signed
 * URL (made per request), plus whose it is and the file's name in the media directory.
 */
export type Voicemail = Omit<Schemas['Voicemail'], 'url'> & { owner: string; userId: string; file: string };

/** Where a user is on IM right now, as the XMPP channel sees it. */
export interface ImPresence {
  /** True when the JID has an available resource that is not dnd / xa. */
  isReachable(jid: string): boolean;
  /** The resource to send a question with buttons to, when the user's client takes XEP-0004 forms (disco#info). */
  formResource?(jid: string): Promise<string | undefined>;
}

/** A form the user submitted from their IM client (XEP-0004 `submit`). */
export interface ImFormAnswer {
  id: string;
  /** Bare JID. */
  from: string;
  /** FORM_TYPE. */
  type: string;
  fields: Record<string, string>;
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
  /** Forms submitted by users (the buttons of a call offer). */
  onFormAnswer?(listener: (answer: ImFormAnswer) => void): () => void;
}
