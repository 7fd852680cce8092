/**
 * The people of one owner (API key): users of Crossline, who may ask for calls by message, and
 * contacts, who can be called. A record is extensible: capabilities that build on it (profiles,
 * schedules) add optional fields; the store keeps the whole record as JSON.
 */
import type { ChannelAddress, SenderDirectory } from '../channels/types.js';

export type PersonKind = 'user' | 'contact';

export type PhoneLabel = 'mobile' | 'work' | 'home' | 'other';

export const PHONE_LABELS: readonly PhoneLabel[] = ['mobile', 'work', 'home', 'other'];

export interface PhoneEntry {
  /** E.164. */
  number: string;
  label: PhoneLabel;
  /** Exactly one phone of a record is the default (the first one when none is marked). */
  default: boolean;
  /** When a code sent by SMS to it was answered (only once an SMS channel exists). */
  verifiedAt?: string;
}

/** An e-mail address or bare JID of a record; a user's is trusted only once `verified`. */
export interface AddressEntry {
  /** Normalised: e-mail lower-cased, JID bare and lower-cased. */
  address: string;
  /** When it was verified (ISO 8601); absent while unverified. Contacts' addresses are never verified. */
  verifiedAt?: string;
}

export interface Person {
  id: string;
  kind: PersonKind;
  /** API key id the record belongs to. */
  owner: string;
  displayName: string;
  aliases: string[];
  /** Unique among the owner's records of the same kind (lower-cased). */
  loginName?: string;
  emails: AddressEntry[];
  jids: AddressEntry[];
  phones: PhoneEntry[];
  sipUris: string[];
  /** IANA time zone, e.g. Europe/London. */
  timeZone: string;
  /** ISO 3166 region numbers written without a country code are read in; else the default phone's, else DEFAULT_REGION. */
  region?: string;
  createdAt: string;
  updatedAt: string;
  revision: number;
}

export type User = Person & { kind: 'user' };
export type Contact = Person & { kind: 'contact' };

/** What POST/PUT accept (validated by openapi.yaml for shape, by the directory for values). */
export interface PersonInput {
  displayName: string;
  aliases?: string[];
  loginName?: string;
  emails?: string[];
  jids?: string[];
  phones?: Array<{ number: string; label?: PhoneLabel; default?: boolean }>;
  sipUris?: string[];
  timeZone?: string;
  region?: string;
}

export interface PersonPage {
  items: Person[];
  nextCursor?: string;
}

/** A verified sender, found across owners. */
export interface SenderMatch {
  owner: string;
  user: User;
}

/** What a verification code was sent for. */
export interface PendingVerification {
  owner: string;
  userId: string;
  address: ChannelAddress;
  expiresAt: string;
}

export type VerifyOutcome =
  | { ok: true; user: User }
  | { ok: false; reason: 'no-pending' | 'expired' | 'wrong-code' | 'too-many-attempts' | 'address-taken' };

/**
 * The directory port other capabilities use (`services.directory`; as `services.senderDirectory`
 * it answers the channels' `standing`). Every method but the address lookups and
 * {@link Directory.verifyFromChannel} is scoped to `owner`.
 */
export interface Directory extends SenderDirectory {
  create(kind: PersonKind, input: PersonInput, owner: string): Promise<Person>;
  get(kind: PersonKind, id: string, owner: string): Promise<Person>;
  replace(kind: PersonKind, id: string, input: PersonInput, owner: string): Promise<Person>;
  remove(kind: PersonKind, id: string, owner: string): Promise<void>;
  list(kind: PersonKind, owner: string, options: { limit: number; cursor?: string }): Promise<PersonPage>;
  /** Every user and contact of `owner` (for resolution). */
  everyone(owner: string): Promise<Person[]>;
  /**
   * The user a verified address belongs to, across owners: a verified e-mail address or JID
   * belongs to exactly one user of one owner (verification refuses an address another user holds).
   */
  findUserByAddress(address: ChannelAddress): Promise<SenderMatch | undefined>;
  /** Sends a code to an unverified address of a user. Throws USER_NOT_FOUND, ADDRESS_NOT_ON_USER, VERIFICATION_RATE_LIMITED. */
  startVerification(userId: string, address: ChannelAddress, owner: string): Promise<PendingVerification>;
  /** Checks a code given over REST. */
  confirmVerification(userId: string, address: ChannelAddress, code: string, owner: string): Promise<VerifyOutcome>;
  /** Checks a code sent back from the address itself ("verify 123456"). */
  verifyFromChannel(address: ChannelAddress, code: string): Promise<VerifyOutcome>;
}
