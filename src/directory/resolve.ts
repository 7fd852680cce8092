import Fuse from 'fuse.js';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { parseNumber } from '../callbacks/request.js';
import { CrosslineError } from '../errors.js';
import { isSipUri } from '../telephony/grammar.js';
import type { Person, PhoneLabel } from './types.js';

/** Something Crossline can dial: an E.164 number or a SIP URI, and whose it is. */
export interface Choice {
  endpoint: { number: string } | { sipUri: string };
  /** Who it reaches, when the directory knows (used for announcements, after the grammar check). */
  name?: string;
  personId?: string;
  /** How the endpoint is shown in a reply: "Ada Lovelace (mobile, +1 202-555-0101)". */
  label: string;
}

export type Resolution =
  | { kind: 'one'; choice: Choice }
  /** More than one fits, or the only fit was a guess (a misspelt name): the sender picks by number. */
  | { kind: 'choices'; choices: Choice[] }
  | { kind: 'none'; reason: string };

/** Words for phone labels as people write them. */
const LABEL_WORDS: ReadonlyArray<[RegExp, PhoneLabel]> = [
  [/^(mobile|mobil|cell|cellphone|cell phone|cellular|handy|iphone|android)$/, 'mobile'],
  [/^(work|office|desk|business|job|the office)$/, 'work'],
  [/^(home|house|landline|land line|place)$/, 'home'],
  [/^(other)$/, 'other'],
];

/** The phone label a word names ("cell" → mobile), if any; "phone"/"number" after it is ignored. */
export function labelOf(text: string): PhoneLabel | undefined {
  const word = text
    .toLowerCase()
    .replace(/\b(phone|number|line|no\.?|#)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return LABEL_WORDS.find(([re]) => re.test(word))?.[1];
}

/** Fuse score (0 exact … 1 anything) under which a name is offered as a possible match. */
const FUZZY_THRESHOLD = 0.35;

const EMAIL_LIKE = /^[^\s@]{1,64}@[^\s@]{1,253}$/;
/** Characters a written phone number is made of, with at least 3 digits. */
const NUMBER_LIKE = /^(?:tel:)?\+?[0-9 ().\-/]{3,32}$/;

/** Lower-case, accents off, punctuation as spaces: how names are compared. */
export const foldName = (text: string): string =>
  text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

export const formatNumber = (e164: string): string => parsePhoneNumberFromString(e164)?.formatInternational() ?? e164;

function choiceFor(person: Person, label: PhoneLabel | undefined): Choice | undefined {
  const phone = label === undefined ? (person.phones.find((p) => p.default) ?? person.phones[0]) : person.phones.find((p) => p.label === label);
  if (phone) return { endpoint: { number: phone.number }, name: person.displayName, personId: person.id, label: `${person.displayName} (${phone.label}, ${formatNumber(phone.number)})` };
  const sip = label === undefined ? person.sipUris[0] : undefined;
  if (sip) return { endpoint: { sipUri: sip }, name: person.displayName, personId: person.id, label: `${person.displayName} (${sip})` };
  return undefined;
}

/** Splits "Ada's mobile", "ada mobile", "Ada (work)" into the name and the phone label. */
export function splitLabel(text: string): { name: string; label?: PhoneLabel } {
  const t = text.trim();
  const patterns = [/^(.+?)[’']s?\s+(.+)$/u, /^(.+?)\s*\((.+)\)$/u, /^(.+?)\s+(?:at|on)\s+(?:her|his|their)?\s*(.+)$/u, /^(.+?)\s+(\S+(?:\s+(?:phone|number|line))?)$/u];
  for (const re of patterns) {
    const m = re.exec(t);
    if (!m?.[1] || !m[2]) continue;
    const label = labelOf(m[2]);
    if (label) return { name: m[1].trim(), label };
  }
  return { name: t };
}

export interface ResolveContext {
  /** ISO 3166 region national numbers are read in (the sender's). */
  region: string;
  /** The sender's owner's users and contacts. */
  people: Person[];
  /** The sender, never a callee candidate by name ("call me" is not a name). */
  selfId?: string;
  /** Choices offered at most. @defaultValue 5 */
  maxChoices?: number;
}

/**
 * What a message names → something dialable (claims 7–9): a number (read in the sender's region),
 * a SIP URI, an e-mail address or login name of someone in the directory, or a name or alias
 * (fuzzy-matched). Nothing is dialled on a guess: a misspelt name, or several people who fit, gives
 * numbered choices.
 */
export function resolveCallee(text: string, ctx: ResolveContext): Resolution {
  const max = ctx.maxChoices ?? 5;
  const raw = text.trim().replace(/^["'“”‘’<]+|["'“”‘’>]+$/gu, '');
  if (raw === '') return { kind: 'none', reason: 'Whom should I call? Send a name, a number or an address.' };
  const people = ctx.people.filter((p) => p.id !== ctx.selfId);

  if (/^sips?:/i.test(raw)) {
    if (!isSipUri(raw)) return { kind: 'none', reason: `${raw} is not a SIP address I can dial.` };
    const owner = people.find((p) => p.sipUris.some((u) => u.toLowerCase() === raw.toLowerCase()));
    return { kind: 'one', choice: { endpoint: { sipUri: raw }, ...(owner ? { name: owner.displayName, personId: owner.id } : {}), label: owner ? `${owner.displayName} (${raw})` : raw } };
  }

  if (EMAIL_LIKE.test(raw)) {
    const address = raw.toLowerCase().replace(/^mailto:/, '');
    const holders = people.filter((p) => p.emails.some((e) => e.address === address) || p.jids.some((j) => j.address === address));
    return fromPeople(holders, undefined, false, max, `I have nobody with the address ${address}.`);
  }

  if (NUMBER_LIKE.test(raw) && (raw.match(/[0-9]/g)?.length ?? 0) >= 3) {
    let e164: string;
    try {
      e164 = parseNumber(raw.replace(/^tel:/, '').replace(/\//g, ' '), ctx.region, '/callee', 'INVALID_NUMBER').e164;
    } catch (err) {
      if (err instanceof CrosslineError) return { kind: 'none', reason: `${raw} is not a phone number I can read (numbers without a country code are read as ${regionName(ctx.region)}).` };
      throw err;
    }
    const holders = people.filter((p) => p.phones.some((ph) => ph.number === e164));
    const holder = holders.length === 1 ? holders[0] : undefined;
    const phone = holder?.phones.find((ph) => ph.number === e164);
    return {
      kind: 'one',
      choice: {
        endpoint: { number: e164 },
        ...(holder ? { name: holder.displayName, personId: holder.id } : {}),
        label: holder && phone ? `${holder.displayName} (${phone.label}, ${formatNumber(e164)})` : formatNumber(e164),
      },
    };
  }

  const { name, label } = splitLabel(raw);
  const folded = foldName(name);
  if (folded === '') return { kind: 'none', reason: 'Whom should I call? Send a name, a number or an address.' };
  // Exact matches first, strongest kind first: a full name, alias or login name, then a first name.
  const full = people.filter((p) => [p.displayName, ...p.aliases, p.loginName ?? ''].map(foldName).includes(folded));
  if (full.length > 0) return fromPeople(full, label, false, max, `I have nobody called ${name}.`, name);
  const firstName = people.filter((p) => foldName(p.displayName).split(' ')[0] === folded);
  if (firstName.length > 0) return fromPeople(firstName, label, false, max, `I have nobody called ${name}.`, name);

  // Then near misses (typos), each of a person's names on its own so that one name that fits is enough.
  const names = people.flatMap((person) => [person.displayName, ...person.aliases, ...(person.loginName ? [person.loginName] : [])].map((n) => ({ person, name: foldName(n) })));
  const fuse = new Fuse(names, { keys: ['name'], includeScore: true, ignoreLocation: true, threshold: FUZZY_THRESHOLD });
  const fuzzy: Person[] = [];
  for (const hit of fuse.search(folded)) {
    if ((hit.score ?? 1) <= FUZZY_THRESHOLD && !fuzzy.includes(hit.item.person)) fuzzy.push(hit.item.person);
  }
  return fromPeople(fuzzy, label, true, max, `I have nobody called ${name}. Send "call" with a number, or ask whoever manages your account to add ${name} as a contact.`, name);
}

function fromPeople(people: Person[], label: PhoneLabel | undefined, guessed: boolean, max: number, noneReason: string, name?: string): Resolution {
  if (people.length === 0) return { kind: 'none', reason: noneReason };
  const choices = people.map((p) => choiceFor(p, label)).filter((c): c is Choice => c !== undefined);
  if (choices.length === 0) {
    const who = people.length === 1 && people[0] ? people[0].displayName : (name ?? 'them');
    return { kind: 'none', reason: label ? `${who} has no ${label} number.` : `${who} has no phone number or SIP address.` };
  }
  if (choices.length === 1 && !guessed && choices[0]) return { kind: 'one', choice: choices[0] };
  return { kind: 'choices', choices: choices.slice(0, max) };
}

const regionName = (region: string): string => {
  try {
    return new Intl.DisplayNames(['en'], { type: 'region' }).of(region) ?? region;
  } catch {
    return region;
  }
};

/** The region a person's national numbers are read in: their own, their default phone's country, else the server's. */
export function regionOf(person: Person, fallback: string): string {
  if (person.region) return person.region;
  const phone = person.phones.find((p) => p.default) ?? person.phones[0];
  const country = phone ? parsePhoneNumberFromString(phone.number)?.country : undefined;
  return country ?? (fallback as CountryCode);
}
