/**
 * Inbound profiles in Redis: one JSON record per user (with the PIN hash), and per DID the set of
 * users it reaches. A profile and its DID index change in one transaction, watched on the profile
 * and on every DID it touches, so two writers never leave a DID pointing at a profile that lost it.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { CrosslineError, type ErrorCode } from '../errors.js';
import type { RedisClient } from '../store/index.js';
import { isE164, isSipUri } from '../telephony/grammar.js';
import { hashPin, PIN, pinMatches } from './pin.js';
import { isTime, isTimeZone, minutesOf } from './schedule.js';
import { ROUTE_TARGETS, WEEKDAYS, type InboundProfile, type InboundProfileInput, type Route, type ScheduleRule } from './types.js';

/** The stored record: the profile and its PIN hash. */
export interface StoredProfile extends InboundProfile {
  pinHash?: string;
}

/** What the profiles need of the directory: that the user exists and which addresses it verified. */
export interface UserFacts {
  exists: boolean;
  timeZone?: string;
  verifiedJids: string[];
  verifiedEmails: string[];
}

export type UserFactsSource = (owner: string, userId: string) => Promise<UserFacts>;

const ALIAS = /^[\p{L}\p{M}\p{N} .'-]{1,64}$/u;
const JID = /^[a-z0-9._%+-]{1,64}@[a-z0-9.-]{1,190}$/;
const EMAIL = /^[^\s@]{1,64}@[A-Za-z0-9.-]{1,190}$/;
const MAX_DIDS = 10;
const MAX_RULES = 50;

function invalid(message: string, path: string, code: ErrorCode = 'INVALID_PROFILE'): never {
  throw new CrosslineError(code, message, [{ path, message }]);
}

/** E.164 of a number as typed (a + and digits, spaces allowed), or a 400. */
function e164(text: string, path: string): string {
  const parsed = parsePhoneNumberFromString(text);
  const number = parsed?.isValid() ? parsed.number : undefined;
  if (number === undefined || !isE164(number)) invalid('Not a valid phone number in international form.', path, 'INVALID_NUMBER');
  return number;
}

export class ProfileStore {
  constructor(
    private readonly redis: RedisClient,
    /** `<prefix>:inbound`, tagged on a cluster so a profile and its DIDs share a slot. */
    private readonly base: string,
  ) {}

  private profileKey(owner: string, userId: string): string {
    return `${this.base}:profile:${owner}:${userId}`;
  }

  private didKey(did: string): string {
    return `${this.base}:did:${did}`;
  }

  private jidKey(jid: string): string {
    return `${this.base}:jid:${jid}`;
  }

  /** The users whose IM address `jid` is (bare, lower-case). */
  async byJid(jid: string): Promise<Array<{ owner: string; userId: string }>> {
    const members = await this.redis.smembers(this.jidKey(jid.toLowerCase()));
    return members.map((m) => {
      const [owner = '', userId = ''] = m.split('|');
      return { owner, userId };
    });
  }

  async get(owner: string, userId: string): Promise<StoredProfile | undefined> {
    const text = await this.redis.get(this.profileKey(owner, userId));
    return text === null ? undefined : (JSON.parse(text) as StoredProfile);
  }

  /** Every profile a DID reaches. */
  async byDid(did: string): Promise<StoredProfile[]> {
    const members = await this.redis.smembers(this.didKey(did));
    const profiles = await Promise.all(members.map((m) => {
      const [owner = '', userId = ''] = m.split('|');
      return this.get(owner, userId);
    }));
    return profiles.filter((p): p is StoredProfile => p !== undefined);
  }

  /**
   * Writes what `build` makes of the stored record (undefined deletes it), given the other users on
   * each of its DIDs. One Lua script applies it only if the record's revision and the members of
   * those DIDs are still what `build` saw; otherwise it runs again with the new state.
   */
  async write(
    owner: string,
    userId: string,
    build: (previous: StoredProfile | undefined, sharing: Map<string, StoredProfile[]>) => Promise<StoredProfile | undefined>,
  ): Promise<StoredProfile | undefined> {
    const key = this.profileKey(owner, userId);
    const member = `${owner}|${userId}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      const previous = await this.get(owner, userId);
      const draft = await build(previous, new Map());
      const sharing = new Map<string, StoredProfile[]>();
      const seen = new Map<string, string>();
      for (const did of draft?.dids ?? []) {
        const members = (await this.redis.smembers(this.didKey(did))).sort();
        seen.set(did, members.join(','));
        sharing.set(did, (await this.byDid(did)).filter((p) => !(p.owner === owner && p.userId === userId)));
      }
      const next = await build(previous, sharing);
      const removeDids = (previous?.dids ?? []).filter((d) => !next?.dids.includes(d));
      const checked = [...seen.entries()];
      const oldJid = previous?.imAddress !== undefined && previous.imAddress !== next?.imAddress ? previous.imAddress : undefined;
      const keys = [
        key,
        ...checked.map(([did]) => this.didKey(did)),
        ...removeDids.map((d) => this.didKey(d)),
        ...(next?.dids ?? []).map((d) => this.didKey(d)),
        oldJid !== undefined ? this.jidKey(oldJid) : key,
        next?.imAddress !== undefined ? this.jidKey(next.imAddress) : key,
      ];
      const args = [
        String(previous?.revision ?? 0), member, next === undefined ? '' : JSON.stringify(next),
        String(checked.length), String(removeDids.length), String(next?.dids.length ?? 0),
        oldJid !== undefined ? '1' : '0', next?.imAddress !== undefined ? '1' : '0',
        ...checked.map(([, members]) => members),
      ];
      const done = await this.redis.eval(WRITE_PROFILE, keys.length, ...keys, ...args);
      if (done === 1) return next;
    }
    throw new CrosslineError('STORE_UNAVAILABLE', 'The profile changed too often while being written; retry.');
  }
}

/**
 * KEYS: profile, checked DIDs…, removed DIDs…, new DIDs…, old JID index (or profile), new JID index (or profile).
 * ARGV: expected revision, member, JSON ('' deletes), #checked, #removed, #new, old jid?, new jid?, checked members….
 */
const WRITE_PROFILE = `
local current = redis.call('GET', KEYS[1])
local revision = 0
if current then revision = cjson.decode(current)['revision'] end
if tostring(revision) ~= ARGV[1] then return 0 end
local nChecked, nRemoved, nNew = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
for i = 1, nChecked do
  local members = redis.call('SMEMBERS', KEYS[1 + i])
  table.sort(members)
  if table.concat(members, ',') ~= ARGV[8 + i] then return 0 end
end
local at = 1 + nChecked
for i = 1, nRemoved do redis.call('SREM', KEYS[at + i], ARGV[2]) end
at = at + nRemoved
if ARGV[7] == '1' then redis.call('SREM', KEYS[at + nNew + 1], ARGV[2]) end
if ARGV[3] == '' then
  redis.call('DEL', KEYS[1])
  for i = 1, nNew do redis.call('SREM', KEYS[at + i], ARGV[2]) end
  if ARGV[8] == '1' then redis.call('SREM', KEYS[at + nNew + 2], ARGV[2]) end
  return 1
end
redis.call('SET', KEYS[1], ARGV[3])
for i = 1, nNew do redis.call('SADD', KEYS[at + i], ARGV[2]) end
if ARGV[8] == '1' then redis.call('SADD', KEYS[at + nNew + 2], ARGV[2]) end
return 1
`;

/** The public view: no PIN hash. */
export function toProfileView(stored: StoredProfile): InboundProfile {
  const { pinHash: _hash, ...view } = stored;
  return view;
}

export class ProfileService {
  constructor(
    private readonly store: ProfileStore,
    private readonly facts: UserFactsSource,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(owner: string, userId: string): Promise<InboundProfile> {
    const stored = await this.store.get(owner, userId);
    if (stored === undefined) throw new CrosslineError('PROFILE_NOT_FOUND');
    return toProfileView(stored);
  }

  async remove(owner: string, userId: string): Promise<void> {
    let found = false;
    await this.store.write(owner, userId, async (previous) => {
      found = previous !== undefined;
      return undefined;
    });
    if (!found) throw new CrosslineError('PROFILE_NOT_FOUND');
  }

  /** Creates or replaces the profile of a directory user. */
  async put(owner: string, userId: string, input: InboundProfileInput): Promise<InboundProfile> {
    const facts = await this.facts(owner, userId);
    if (!facts.exists) throw new CrosslineError('PROFILE_NOT_FOUND', 'No user with this id.');
    const clean = this.validate(input, facts);
    const newHash = typeof input.pin === 'string' ? await hashPin(input.pin) : undefined;
    const stored = await this.store.write(owner, userId, async (previous, sharing) => {
      const pinHash = input.pin === null ? undefined : (newHash ?? previous?.pinHash);
      for (const [did, others] of sharing) {
        if (others.some((o) => o.owner !== owner)) invalid(`${did} already reaches a user of another account.`, 'dids', 'NUMBER_TAKEN');
        if (others.length === 0) continue;
        if (pinHash === undefined || others.some((o) => o.pinHash === undefined)) {
          invalid(`${did} is shared with another user: every user on it needs a PIN.`, 'pin', 'PIN_REQUIRED');
        }
        if (typeof input.pin === 'string') {
          for (const other of others) {
            if (await pinMatches(input.pin, other.pinHash ?? '')) invalid(`Another user on ${did} has this PIN.`, 'pin', 'PIN_CONFLICT');
          }
        }
      }
      const at = this.now().toISOString();
      return {
        ...clean,
        userId,
        owner,
        hasPin: pinHash !== undefined,
        ...(pinHash !== undefined ? { pinHash } : {}),
        createdAt: previous?.createdAt ?? at,
        updatedAt: at,
        revision: (previous?.revision ?? 0) + 1,
      };
    });
    if (stored === undefined) throw new CrosslineError('INTERNAL');
    return toProfileView(stored);
  }

  private validate(input: InboundProfileInput, facts: UserFacts): Omit<InboundProfile, 'userId' | 'owner' | 'hasPin' | 'createdAt' | 'updatedAt' | 'revision'> {
    if (!ALIAS.test(input.alias) || input.alias.trim() !== input.alias) invalid('The alias may hold letters, digits, spaces and . \' - (1-64).', 'alias');
    if (typeof input.pin === 'string' && !PIN.test(input.pin)) invalid('The PIN must be 4 to 8 digits.', 'pin');
    if (input.dids.length === 0 || input.dids.length > MAX_DIDS) invalid(`1 to ${MAX_DIDS} numbers.`, 'dids');
    const dids = [...new Set(input.dids.map((d, i) => e164(d, `dids/${i}`)))];
    const imAddress = input.imAddress?.toLowerCase();
    if (imAddress !== undefined) {
      if (!JID.test(imAddress)) invalid('Not a bare JID.', 'imAddress');
      if (!facts.verifiedJids.includes(imAddress)) invalid('The IM address must be a verified JID of the user.', 'imAddress');
    }
    const email = input.email?.toLowerCase();
    if (email !== undefined) {
      if (!EMAIL.test(email)) invalid('Not an e-mail address.', 'email');
      if (!facts.verifiedEmails.includes(email)) invalid('The e-mail address must be a verified address of the user.', 'email');
    }
    const destinations = { ...input.destinations };
    if (destinations.mobile !== undefined) destinations.mobile = e164(destinations.mobile, 'destinations/mobile');
    if (destinations.home !== undefined) destinations.home = e164(destinations.home, 'destinations/home');
    if (destinations.sip !== undefined && !isSipUri(destinations.sip)) invalid('Not an allowed SIP URI.', 'destinations/sip', 'INVALID_SIP_URI');
    const timeZone = input.timeZone ?? facts.timeZone ?? 'UTC';
    if (!isTimeZone(timeZone)) invalid('Not an IANA time zone.', 'timeZone');
    const schedule = input.schedule ?? [];
    if (schedule.length > MAX_RULES) invalid(`At most ${MAX_RULES} rules.`, 'schedule');
    const route = input.default ?? { target: imAddress !== undefined ? 'im' : 'voicemail', alternate: 'voicemail' };
    const usable = (r: Route, path: string): void => {
      for (const [name, target] of [['target', r.target], ['alternate', r.alternate ?? 'voicemail']] as const) {
        if (!ROUTE_TARGETS.includes(target)) invalid('Unknown route target.', `${path}/${name}`);
        if (target === 'im' && imAddress === undefined) invalid('An IM route needs imAddress.', `${path}/${name}`);
        if ((target === 'mobile' || target === 'home' || target === 'sip') && destinations[target] === undefined) {
          invalid(`A ${target} route needs destinations.${target}.`, `${path}/${name}`);
        }
      }
      if (r.alternate === 'im') invalid('The alternate cannot be another IM offer.', `${path}/alternate`);
    };
    schedule.forEach((rule: ScheduleRule, i) => {
      if (rule.days.length === 0 || rule.days.some((d) => !WEEKDAYS.includes(d))) invalid('Days are mon…sun.', `schedule/${i}/days`);
      if (!isTime(rule.from) || !isTime(rule.to) || minutesOf(rule.to) <= minutesOf(rule.from)) invalid('from and to are HH:MM with to after from.', `schedule/${i}`);
      usable(rule, `schedule/${i}`);
    });
    usable(route, 'default');
    const ringSeconds = input.ringSeconds ?? 25;
    if (!Number.isInteger(ringSeconds) || ringSeconds < 5 || ringSeconds > 120) invalid('5 to 120 seconds.', 'ringSeconds');
    return {
      alias: input.alias,
      dids,
      ...(imAddress !== undefined ? { imAddress } : {}),
      ...(email !== undefined ? { email } : {}),
      destinations,
      timeZone,
      schedule: schedule.map((r) => ({ days: [...new Set(r.days)], from: r.from, to: r.to, target: r.target, alternate: r.alternate ?? 'voicemail' })),
      default: { target: route.target, alternate: route.alternate ?? 'voicemail' },
      ringSeconds,
    };
  }
}
