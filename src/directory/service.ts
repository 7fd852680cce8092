import { IANAZone } from 'luxon';
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import type { Logger } from 'pino';
import { normaliseText, parseNumber } from '../callbacks/request.js';
import type { ChannelAddress, MessageSender, SenderStanding } from '../channels/types.js';
import { CrosslineError, type ErrorCode } from '../errors.js';
import { isSipUri } from '../telephony/grammar.js';
import type { VerificationCodes } from './codes.js';
import { addressesOf, DirectoryConflict, type DirectoryStore } from './store.js';
import {
  PHONE_LABELS,
  type AddressEntry,
  type Directory,
  type PendingVerification,
  type Person,
  type PersonInput,
  type PersonKind,
  type PersonPage,
  type PhoneEntry,
  type SenderMatch,
  type User,
  type VerifyOutcome,
} from './types.js';

/** Names of people: letters, marks, digits, spaces, `.`, `'` and `-` (apostrophes are common in names). */
const PERSON_NAME = /^[\p{L}\p{M}\p{N} .'-]{1,64}$/u;
const LOGIN_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
// Deliberately narrower than RFC 5321/6122: what people use, nothing that needs quoting.
const EMAIL = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;
const BARE_JID = /^[a-z0-9._~+-]{1,256}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const MAX_ALIASES = 20;
const MAX_ADDRESSES = 10;

export interface DirectoryServiceDeps {
  store: DirectoryStore;
  codes: VerificationCodes;
  /** Sends the code; read at each send (the channels module may start after this one). Undefined: no channel. */
  sender: () => MessageSender | undefined;
  /** Codes sent to one address per hour before VERIFICATION_RATE_LIMITED. */
  sendLimit: { consume(key: string): Promise<void> };
  defaultRegion: string;
  clock: () => Date;
  newId: () => string;
  logger: Logger;
}

const invalid = (code: ErrorCode, path: string, message: string): CrosslineError => new CrosslineError(code, undefined, [{ path, message }]);
const notFound = (kind: PersonKind): CrosslineError => new CrosslineError(kind === 'user' ? 'USER_NOT_FOUND' : 'CONTACT_NOT_FOUND');

/** Normalises a channel address as the channels do: e-mail and JIDs lower-cased (a JID bare), phone numbers E.164. */
export function normaliseAddress(address: ChannelAddress): ChannelAddress {
  const text = address.address.trim().toLowerCase();
  if (address.channel === 'sms') {
    // A phone number as the SMS channel names senders: E.164 ("+1 202 555 0101" → "+12025550101").
    const parsed = /^\+[0-9 ().-]{6,32}$/.test(text) ? parsePhoneNumberFromString(text) : undefined;
    return { channel: 'sms', address: parsed?.isValid() ? parsed.number : text };
  }
  return { channel: address.channel, address: address.channel === 'xmpp' ? (text.split('/')[0] ?? '') : text };
}

function personName(text: string, path: string): string {
  const normal = normaliseText(text.trim());
  if (normal === undefined || !PERSON_NAME.test(normal) || normal.trim() !== normal) {
    throw invalid('INVALID_NAME', path, 'letters, digits, spaces, ".", "\'" and "-" only, at most 64, no invisible characters');
  }
  return normal;
}

function uniqueList<T>(items: T[], key: (t: T) => string, path: string): T[] {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) throw invalid('VALIDATION_FAILED', `${path}/${i}`, 'listed twice');
    seen.add(k);
  });
  return items;
}

function addresses(list: string[] | undefined, pattern: RegExp, path: string, keep: AddressEntry[]): AddressEntry[] {
  const items = (list ?? []).map((raw, i) => {
    const address = raw.trim().toLowerCase();
    if (address.length > 320 || !pattern.test(address)) throw invalid('INVALID_ADDRESS', `${path}/${i}`, path === '/emails' ? 'not an e-mail address' : 'not a bare JID (user@domain, no resource)');
    const previous = keep.find((k) => k.address === address);
    return previous?.verifiedAt !== undefined ? { address, verifiedAt: previous.verifiedAt } : { address };
  });
  if (items.length > MAX_ADDRESSES) throw invalid('VALIDATION_FAILED', path, `at most ${MAX_ADDRESSES}`);
  return uniqueList(items, (a) => a.address, path);
}

/**
 * Turns input into a record. `previous` (on replace) keeps the verification of addresses that stay.
 * A user's e-mail addresses and JIDs start unverified; contacts' are never verified.
 */
export function buildPerson(kind: PersonKind, input: PersonInput, base: { id: string; owner: string; now: string; previous?: Person }, defaultRegion: string): Person {
  const { previous } = base;
  const region = input.region?.toUpperCase();
  if (region !== undefined && !isSupportedCountry(region as CountryCode)) throw invalid('VALIDATION_FAILED', '/region', 'not an ISO 3166 region with a numbering plan');
  const timeZone = input.timeZone ?? 'UTC';
  if (!IANAZone.isValidZone(timeZone)) throw invalid('INVALID_TIME_ZONE', '/timeZone', 'not an IANA time zone name, e.g. Europe/London');
  const loginName = input.loginName?.trim().toLowerCase();
  if (loginName !== undefined && !LOGIN_NAME.test(loginName)) throw invalid('VALIDATION_FAILED', '/loginName', 'lower-case letters, digits, ".", "_" and "-", at most 64');
  const aliases = (input.aliases ?? []).map((a, i) => personName(a, `/aliases/${i}`));
  if (aliases.length > MAX_ALIASES) throw invalid('VALIDATION_FAILED', '/aliases', `at most ${MAX_ALIASES}`);
  const readRegion = region ?? defaultRegion;
  const phones: PhoneEntry[] = (input.phones ?? []).map((p, i) => {
    const { e164 } = parseNumber(p.number, readRegion, `/phones/${i}/number`);
    const label = p.label ?? 'mobile';
    if (!PHONE_LABELS.includes(label)) throw invalid('VALIDATION_FAILED', `/phones/${i}/label`, `one of ${PHONE_LABELS.join(', ')}`);
    const kept = previous?.phones.find((x) => x.number === e164)?.verifiedAt;
    return { number: e164, label, default: p.default === true, ...(kept !== undefined && kind === 'user' ? { verifiedAt: kept } : {}) };
  });
  if (phones.length > MAX_ADDRESSES) throw invalid('VALIDATION_FAILED', '/phones', `at most ${MAX_ADDRESSES}`);
  uniqueList(phones, (p) => p.number, '/phones');
  const defaults = phones.filter((p) => p.default).length;
  if (defaults > 1) throw invalid('VALIDATION_FAILED', '/phones', 'only one phone may be the default');
  if (defaults === 0 && phones[0]) phones[0].default = true;
  const sipUris = (input.sipUris ?? []).map((u, i) => {
    if (!isSipUri(u)) throw invalid('INVALID_SIP_URI', `/sipUris/${i}`, 'not a sip: or sips: URI of the form user@host[:port]');
    return u;
  });
  if (sipUris.length > MAX_ADDRESSES) throw invalid('VALIDATION_FAILED', '/sipUris', `at most ${MAX_ADDRESSES}`);
  uniqueList(sipUris, (u) => u.toLowerCase(), '/sipUris');
  const keepVerified = (list: AddressEntry[] | undefined): AddressEntry[] => (kind === 'user' ? (list ?? []) : []);
  return {
    ...(previous ?? {}),
    id: base.id,
    kind,
    owner: base.owner,
    displayName: personName(input.displayName, '/displayName'),
    aliases: uniqueList(aliases, (a) => a.toLowerCase(), '/aliases'),
    ...(loginName !== undefined ? { loginName } : { loginName: undefined }),
    emails: addresses(input.emails, EMAIL, '/emails', keepVerified(previous?.emails)),
    jids: addresses(input.jids, BARE_JID, '/jids', keepVerified(previous?.jids)),
    phones,
    sipUris,
    timeZone,
    ...(region !== undefined ? { region } : { region: undefined }),
    createdAt: previous?.createdAt ?? base.now,
    updatedAt: base.now,
    revision: (previous?.revision ?? -1) + 1,
  };
}

/** Drops keys whose value is undefined (they must not reach the JSON or the view). */
function compact(person: Person): Person {
  return Object.fromEntries(Object.entries(person).filter(([, v]) => v !== undefined)) as unknown as Person;
}

const CONFLICT_RETRIES = 5;

/** Users and contacts over the Redis store, with verification of users' addresses. */
export class DirectoryService implements Directory {
  constructor(private readonly deps: DirectoryServiceDeps) {}

  async create(kind: PersonKind, input: PersonInput, owner: string): Promise<Person> {
    const now = this.deps.clock().toISOString();
    const person = compact(buildPerson(kind, input, { id: this.deps.newId(), owner, now }, this.deps.defaultRegion));
    await this.deps.store.write(undefined, person);
    this.deps.logger.info({ owner, kind, id: person.id }, 'directory record created');
    return person;
  }

  async get(kind: PersonKind, id: string, owner: string): Promise<Person> {
    const person = await this.deps.store.get(owner, kind, id);
    if (!person) throw notFound(kind);
    return person;
  }

  async replace(kind: PersonKind, id: string, input: PersonInput, owner: string): Promise<Person> {
    return this.change(kind, id, owner, (previous) => {
      const now = this.deps.clock().toISOString();
      return compact(buildPerson(kind, input, { id, owner, now, previous }, this.deps.defaultRegion));
    });
  }

  async remove(kind: PersonKind, id: string, owner: string): Promise<void> {
    for (let i = 0; ; i++) {
      const previous = await this.get(kind, id, owner);
      try {
        await this.deps.store.write(previous, undefined);
        this.deps.logger.info({ owner, kind, id }, 'directory record removed');
        return;
      } catch (err) {
        if (!(err instanceof DirectoryConflict) || i >= CONFLICT_RETRIES) throw this.storeError(err);
      }
    }
  }

  list(kind: PersonKind, owner: string, options: { limit: number; cursor?: string }): Promise<PersonPage> {
    return this.deps.store.list(owner, kind, options.limit, options.cursor);
  }

  async everyone(owner: string): Promise<Person[]> {
    const [users, contacts] = await Promise.all([this.deps.store.all(owner, 'user'), this.deps.store.all(owner, 'contact')]);
    return [...users, ...contacts];
  }

  async findUserByAddress(address: ChannelAddress): Promise<SenderMatch | undefined> {
    const normal = normaliseAddress(address);
    const holder = await this.deps.store.verifiedHolder(normal);
    if (!holder) return undefined;
    const user = await this.deps.store.get(holder.owner, 'user', holder.userId);
    // The claim and the record change together; a record without the address verified means a stale claim.
    if (!user || !addressesOf(user).some((a) => a.verified && a.address.channel === normal.channel && a.address.address === normal.address)) return undefined;
    return { owner: holder.owner, user: user as User };
  }

  async standing(address: ChannelAddress): Promise<SenderStanding> {
    if (await this.findUserByAddress(address)) return 'verified';
    const normal = normaliseAddress(address);
    const [known, pending] = await Promise.all([this.deps.store.knownHolders(normal), this.deps.codes.pendingFor(normal)]);
    return known.length > 0 || pending.length > 0 ? 'unverified' : 'unknown';
  }

  async startVerification(userId: string, address: ChannelAddress, owner: string): Promise<PendingVerification> {
    const normal = normaliseAddress(address);
    const user = await this.get('user', userId, owner);
    const entry = addressesOf(user).find((a) => a.address.channel === normal.channel && a.address.address === normal.address);
    if (!entry) throw invalid('ADDRESS_NOT_ON_USER', '/address', `user ${userId} has no ${normal.channel} address ${normal.address}`);
    if (entry.verified) throw new CrosslineError('ADDRESS_ALREADY_VERIFIED');
    const holder = await this.deps.store.verifiedHolder(normal);
    if (holder && (holder.owner !== owner || holder.userId !== userId)) throw new CrosslineError('ADDRESS_TAKEN');
    const sender = this.deps.sender();
    if (!sender) throw new CrosslineError('VERIFICATION_UNAVAILABLE');
    await this.deps.sendLimit.consume(`${normal.channel}:${normal.address}`);
    const { code, expiresAt } = await this.deps.codes.issue(owner, userId, normal, this.deps.clock());
    const minutes = Math.round((expiresAt.getTime() - this.deps.clock().getTime()) / 60_000);
    await sender.enqueue({
      to: normal,
      subject: 'Your Crossline verification code',
      text: [
        `Your Crossline verification code is ${code}.`,
        `Reply "verify ${code}" to this message, or give the code to whoever set up your account. It expires in ${minutes} minutes.`,
        'If you did not expect this, ignore it: nothing happens until the code is given.',
      ].join('\n\n'),
      dedupKey: `verify:${owner}:${userId}:${normal.channel}:${normal.address}:${expiresAt.getTime()}`,
    });
    this.deps.logger.info({ owner, userId, channel: normal.channel }, 'verification code sent');
    return { owner, userId, address: normal, expiresAt: expiresAt.toISOString() };
  }

  async confirmVerification(userId: string, address: ChannelAddress, code: string, owner: string): Promise<VerifyOutcome> {
    const normal = normaliseAddress(address);
    await this.get('user', userId, owner);
    return this.check(owner, userId, normal, code);
  }

  async verifyFromChannel(address: ChannelAddress, code: string): Promise<VerifyOutcome> {
    const normal = normaliseAddress(address);
    const pending = await this.deps.codes.pendingFor(normal);
    if (pending.length === 0) return { ok: false, reason: 'no-pending' };
    let last: VerifyOutcome = { ok: false, reason: 'no-pending' };
    for (const p of pending) {
      last = await this.check(p.owner, p.userId, normal, code);
      if (last.ok || last.reason !== 'no-pending') return last;
    }
    return last;
  }

  private async check(owner: string, userId: string, address: ChannelAddress, code: string): Promise<VerifyOutcome> {
    const result = await this.deps.codes.check(owner, userId, address, code.trim(), this.deps.clock());
    if (result !== 'ok') return { ok: false, reason: result };
    try {
      const user = await this.change('user', userId, owner, (previous) => {
        const at = this.deps.clock().toISOString();
        const mark = <T extends { address?: string; number?: string; verifiedAt?: string }>(list: T[], key: (t: T) => string | undefined): T[] =>
          list.map((e) => (key(e) === address.address ? { ...e, verifiedAt: e.verifiedAt ?? at } : e));
        return {
          ...previous,
          emails: address.channel === 'email' ? mark(previous.emails, (e) => e.address) : previous.emails,
          jids: address.channel === 'xmpp' ? mark(previous.jids, (e) => e.address) : previous.jids,
          phones: address.channel === 'sms' ? mark(previous.phones, (e) => e.number) : previous.phones,
          updatedAt: at,
          revision: previous.revision + 1,
        };
      });
      this.deps.logger.info({ owner, userId, channel: address.channel }, 'address verified');
      return { ok: true, user: user as User };
    } catch (err) {
      if (err instanceof CrosslineError && err.code === 'ADDRESS_TAKEN') return { ok: false, reason: 'address-taken' };
      if (err instanceof CrosslineError && err.code === 'USER_NOT_FOUND') return { ok: false, reason: 'no-pending' };
      throw err;
    }
  }

  /** Read-modify-write of one record, retried when another writer got there first. */
  private async change(kind: PersonKind, id: string, owner: string, update: (previous: Person) => Person): Promise<Person> {
    for (let i = 0; ; i++) {
      const previous = await this.get(kind, id, owner);
      const next = update(previous);
      try {
        await this.deps.store.write(previous, next);
        return next;
      } catch (err) {
        if (!(err instanceof DirectoryConflict) || i >= CONFLICT_RETRIES) throw this.storeError(err);
      }
    }
  }

  private storeError(err: unknown): unknown {
    return err instanceof DirectoryConflict ? new CrosslineError('STORE_UNAVAILABLE', 'The record kept changing; retry.', [], { cause: err }) : err;
  }
}
