/**
 * One inbound call, from the moment FreeSWITCH hands it over the outbound socket to its hangup
 * (seed 002, FIG. 7–9): find who the dialled number reaches (and the PIN when it reaches several,
 * or when the user set one: three tries, then a lockout and an alert to the user), "to talk to
 * <alias> press 1, otherwise press 9", then follow the schedule: an IM offer while the caller hears
 * ringback, a phone, the softphone or voicemail; a declined or unanswered offer, or a phone that
 * does not answer, goes to the route's alternate and at last to voicemail. Fax on request.
 */
import { randomUUID } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { Logger } from 'pino';
import type { MessageSender } from '../channels/types.js';
import type { RedisClient } from '../store/index.js';
import { buildDialString, buildVariableBlock, type DialStringOptions } from '../telephony/dial-string.js';
import type { OutboundCall } from '../telephony/esl/outbound-call.js';
import { isDisplayName, isE164, sipAorOf } from '../telephony/grammar.js';
import type { Endpoint, HangupCause } from '../telephony/types.js';
import { OFFER_FORM_TYPE, type OfferBoard } from './offers.js';
import { pinMatches } from './pin.js';
import type { ProfileStore, StoredProfile } from './profiles.js';
import { routeAt } from './schedule.js';
import type { ImPresence, RouteTarget } from './types.js';
import type { Voicemails } from './voicemail.js';

/** What the inbound IVR tells the alerts capability: a call reached a line (before anything else). */
export interface InboundAttempt {
  /** The switch's channel UUID. */
  uuid: string;
  callerNumber: string;
  callerName?: string;
  did: string;
  at: Date;
}

export interface InboundLimits {
  /** Wrong PINs per caller number in `pinWindowSec` before it is refused outright. @defaultValue 6 */
  pinFailuresPerCaller: number;
  /** Wrong PINs on one number in `pinWindowSec` before PIN entry there is locked. @defaultValue 20 */
  pinFailuresPerNumber: number;
  pinWindowSec: number;
  /** Calls one number takes per minute; more get a busy signal. @defaultValue 60 */
  callsPerNumberPerMinute: number;
  /** Longest voicemail, s. @defaultValue 180 */
  voicemailMaxSec: number;
  /** Seconds of silence that end a voicemail. @defaultValue 5 */
  voicemailSilenceSec: number;
}

export interface SessionDeps {
  profiles: ProfileStore;
  offers: OfferBoard;
  voicemails: Voicemails;
  redis: RedisClient;
  /** `<prefix>:inbound` */
  base: string;
  presence: () => ImPresence | undefined;
  sender: () => MessageSender | undefined;
  dial: DialStringOptions;
  limits: InboundLimits;
  logger: Logger;
  onAttempt?: (attempt: InboundAttempt) => void;
  now?: () => Date;
}

export type SessionOutcome =
  | 'not-in-service' | 'rate-limited' | 'pin-failed' | 'locked' | 'hung-up' | 'bridged' | 'voicemail' | 'fax' | 'no-message';

const BEEP = 'tone_stream://%(500,0,800)';
/** A recording with less speech than this is not a message. */
const MIN_MESSAGE_MS = 700;
const PROMPT_PAUSE = 'silence_stream://250';

/** A caller's number as presented: E.164 when it parses, else the digits, else `anonymous`. */
function callerNumberOf(raw: string | undefined): string {
  const text = (raw ?? '').trim();
  const parsed = parsePhoneNumberFromString(text.startsWith('+') ? text : `+${text}`);
  if (parsed?.isValid() && isE164(parsed.number)) return parsed.number;
  return /^[0-9*#+]{1,32}$/.test(text) ? text : 'anonymous';
}

export class InboundCallSession {
  readonly #call: OutboundCall;
  readonly #deps: SessionDeps;
  readonly #log: Logger;
  readonly #callerNumber: string;
  readonly #callerName: string | undefined;
  readonly #did: string | undefined;

  constructor(call: OutboundCall, deps: SessionDeps) {
    this.#call = call;
    this.#deps = deps;
    this.#callerNumber = callerNumberOf(call.from);
    const name = call.data['Caller-Caller-ID-Name'];
    this.#callerName = name !== undefined && name !== call.from && isDisplayName(name) ? name : undefined;
    const to = (call.to ?? '').trim();
    const did = parsePhoneNumberFromString(to.startsWith('+') ? to : `+${to}`);
    this.#did = did?.isValid() ? did.number : undefined;
    this.#log = deps.logger.child({ uuid: call.uuid, did: this.#did, caller: this.#callerNumber });
  }

  get #now(): Date {
    return this.#deps.now?.() ?? new Date();
  }

  /** Runs the call to its end; never throws (a failure hangs the call up). */
  async run(): Promise<SessionOutcome> {
    try {
      const outcome = await this.#run();
      this.#log.info({ outcome }, 'inbound call ended');
      if (this.#call.hangupCause === undefined) await this.#call.hangup('NORMAL_CLEARING').catch(() => undefined);
      return outcome;
    } catch (error) {
      this.#log.error({ err: error }, 'inbound call failed');
      if (this.#call.hangupCause === undefined) await this.#call.hangup('NORMAL_TEMPORARY_FAILURE').catch(() => this.#call.close());
      return 'hung-up';
    }
  }

  async #say(text: string): Promise<boolean> {
    return (await this.#call.play({ kind: 'speak', text })).outcome === 'completed';
  }

  /** One key (or `max` keys) after a spoken prompt; '' on no input, undefined on hangup. */
  async #ask(text: string, options: { max?: number; tries?: number; pattern?: string; timeoutMs?: number } = {}): Promise<string | undefined> {
    if (!(await this.#say(text))) return undefined;
    const result = await this.#call.playAndGetDigits({ prompt: PROMPT_PAUSE, min: 1, max: options.max ?? 1, tries: options.tries ?? 3, timeoutMs: options.timeoutMs ?? 5000 });
    if (result.outcome === 'hung-up') return undefined;
    if (options.pattern !== undefined && !new RegExp(`^(?:${options.pattern})$`).test(result.digits)) return '';
    return result.digits;
  }

  async #run(): Promise<SessionOutcome> {
    const { profiles, limits } = this.#deps;
    const did = this.#did;
    if (did !== undefined) this.#deps.onAttempt?.({ uuid: this.#call.uuid, callerNumber: this.#callerNumber, ...(this.#callerName !== undefined ? { callerName: this.#callerName } : {}), did, at: this.#now });
    const candidates = did === undefined ? [] : await profiles.byDid(did);
    if (candidates.length === 0) {
      await this.#call.hangup('UNALLOCATED_NUMBER');
      return 'not-in-service';
    }
    if (!(await this.#withinRate(did as string, limits.callsPerNumberPerMinute))) {
      await this.#call.hangup('USER_BUSY');
      return 'rate-limited';
    }
    if ((await this.#call.answer()).outcome === 'hung-up') return 'hung-up';
    const user = candidates.length === 1 && candidates[0]?.pinHash === undefined ? candidates[0] : await this.#identify(candidates, did as string);
    if (user === undefined || user === 'hung-up') return 'hung-up';
    if (user === 'locked' || user === 'failed') {
      await this.#say('Sorry, that PIN was not accepted. Goodbye.');
      return user === 'locked' ? 'locked' : 'pin-failed';
    }
    const choice = await this.#ask(`To talk to ${user.alias}, press 1. Otherwise, press 9.`, { pattern: '[19]' });
    if (choice === undefined) return 'hung-up';
    if (choice !== '1') return this.#messageOrFax(user);
    const route = routeAt(user, this.#now);
    this.#log.info({ userId: user.userId, route }, 'following the schedule');
    const first = await this.#reach(user, route.target);
    if (first !== 'not-taken') return first;
    if (route.alternate !== route.target && route.alternate !== 'voicemail') {
      const second = await this.#reach(user, route.alternate as RouteTarget);
      if (second !== 'not-taken') return second;
    }
    return this.#voicemail(user, `${user.alias} is not available.`);
  }

  async #withinRate(did: string, perMinute: number): Promise<boolean> {
    const key = `${this.#deps.base}:rate:${did}:${Math.floor(Date.now() / 60_000)}`;
    const count = await this.#deps.redis.incr(key);
    if (count === 1) await this.#deps.redis.expire(key, 120);
    return count <= perMinute;
  }

  /** PIN entry: three tries; failures count per caller and per number, and the users are told. */
  async #identify(candidates: StoredProfile[], did: string): Promise<StoredProfile | 'hung-up' | 'locked' | 'failed'> {
    const { redis, base, limits } = this.#deps;
    const callerKey = `${base}:pinfail:caller:${this.#callerNumber}`;
    const numberKey = `${base}:pinfail:did:${did}`;
    const locked = async (): Promise<boolean> => {
      const [byCaller, byNumber] = await Promise.all([redis.get(callerKey), redis.get(numberKey)]);
      return Number(byCaller ?? 0) >= limits.pinFailuresPerCaller || Number(byNumber ?? 0) >= limits.pinFailuresPerNumber;
    };
    if (await locked()) return 'locked';
    for (let attempt = 1; attempt <= 3; attempt++) {
      const pin = await this.#ask(attempt === 1 ? 'Please enter the PIN of the person you are calling, then press the pound key.' : 'That PIN was not recognised. Please try again.', { max: 8, tries: 1, timeoutMs: 8000 });
      if (pin === undefined) return 'hung-up';
      for (const candidate of candidates) {
        if (candidate.pinHash !== undefined && pin !== '' && (await pinMatches(pin, candidate.pinHash))) return candidate;
      }
      await redis.multi().incr(callerKey).expire(callerKey, limits.pinWindowSec).incr(numberKey).expire(numberKey, limits.pinWindowSec).exec();
      if (await locked()) break;
    }
    this.#alertPinFailures(candidates, did);
    return (await locked()) ? 'locked' : 'failed';
  }

  #alertPinFailures(users: StoredProfile[], did: string): void {
    const sender = this.#deps.sender();
    if (sender === undefined) return;
    const text = `Security: ${this.#callerNumber} entered a wrong PIN three times calling ${did} at ${this.#now.toISOString()}.`;
    for (const user of users) {
      const to = user.imAddress !== undefined ? { channel: 'xmpp' as const, address: user.imAddress } : user.email !== undefined ? { channel: 'email' as const, address: user.email } : undefined;
      if (to === undefined) continue;
      sender.enqueue({ to, subject: 'Wrong PINs on your number', text, dedupKey: `pin-alert:${this.#call.uuid}:${user.userId}` }).catch((error: unknown) => this.#log.warn({ err: error }, 'PIN alert not queued'));
    }
  }

  /** Tries one destination; 'not-taken' when it did not take the call and the caller is still there. */
  async #reach(user: StoredProfile, target: RouteTarget): Promise<SessionOutcome | 'not-taken'> {
    switch (target) {
      case 'voicemail':
        return this.#voicemail(user);
      case 'im':
        return this.#offer(user);
      case 'mobile':
      case 'home':
      case 'sip': {
        const endpoint = target === 'sip' ? await this.#softphone(user) : this.#endpoint(user, target);
        if (endpoint === undefined) return 'not-taken';
        if (!(await this.#say('Please hold while we connect your call.'))) return 'hung-up';
        return this.#bridge(user, endpoint);
      }
    }
  }

  #endpoint(user: StoredProfile, target: 'mobile' | 'home' | 'sip'): Endpoint | undefined {
    const value = user.destinations[target];
    if (value === undefined) return undefined;
    if (target === 'sip') return { kind: 'sip', uri: value };
    const parsed = parsePhoneNumberFromString(value);
    return { kind: 'number', e164: value, country: parsed?.country ?? 'ZZ' };
  }

  /**
   * The softphone of the profile when it is registered on the switch now (seed 002's "current
   * network address": presence plus the registered SIP device). Not registered: undefined, so the
   * schedule's next destination is tried; the switch unable to tell: the softphone, tried anyway.
   */
  async #softphone(user: StoredProfile): Promise<Endpoint | undefined> {
    const endpoint = this.#endpoint(user, 'sip');
    if (endpoint === undefined || endpoint.kind !== 'sip') return endpoint;
    const aor = sipAorOf(endpoint.uri);
    const registered = aor === undefined ? undefined : await this.#call.isRegistered(aor).catch((error: unknown) => {
      this.#log.warn({ err: error }, 'SIP registration check failed; trying the softphone anyway');
      return undefined;
    });
    if (registered === false) {
      this.#log.info({ userId: user.userId }, 'softphone not registered; next destination');
      return undefined;
    }
    return endpoint;
  }

  async #bridge(user: StoredProfile, endpoint: Endpoint): Promise<SessionOutcome | 'not-taken'> {
    const leg = randomUUID();
    const callerId = isE164(this.#callerNumber) ? { origination_caller_id_number: this.#callerNumber } : {};
    const block = buildVariableBlock({
      origination_uuid: leg, originate_timeout: user.ringSeconds, ignore_early_media: true, ...callerId,
      tags: { inbound: this.#call.uuid, user: user.userId.replace(/[^A-Za-z0-9._:@+-]/g, '').slice(0, 128) || 'user' },
      hangup_after_bridge: true, crossline: true,
    });
    const result = await this.#call.bridge(block, buildDialString(endpoint, this.#deps.dial));
    this.#log.info({ leg, result }, 'bridge ended');
    if (result.outcome === 'hung-up') return this.#call.hangupCause === undefined ? 'bridged' : 'hung-up';
    if (result.outcome === 'bridged') return 'bridged';
    return 'not-taken';
  }

  /** The IM offer: reachable on IM → offer, ringback until answered; accept → the user's device. */
  async #offer(user: StoredProfile): Promise<SessionOutcome | 'not-taken'> {
    const jid = user.imAddress;
    const sender = this.#deps.sender();
    if (jid === undefined || sender === undefined || this.#deps.presence()?.isReachable(jid) !== true) return 'not-taken';
    // Where an accepted call goes: the registered softphone, else a phone of the profile. None: no offer.
    const device = (await this.#softphone(user)) ?? this.#endpoint(user, 'mobile') ?? this.#endpoint(user, 'home');
    if (device === undefined) {
      this.#log.info({ userId: user.userId }, 'online on IM but no registered softphone or phone to take the call; no offer');
      return 'not-taken';
    }
    const offer = await this.#deps.offers.open({
      owner: user.owner, userId: user.userId, jid, callerNumber: this.#callerNumber, ...(this.#callerName !== undefined ? { callerName: this.#callerName } : {}),
    }, user.ringSeconds * 1000);
    const who = this.#callerName !== undefined ? `${this.#callerName} (${this.#callerNumber})` : this.#callerNumber;
    const replies = offer.number === 1 ? 'reply 1 to accept, 9 to send to voicemail' : `reply "1 ${offer.number}" to accept, "9 ${offer.number}" to send to voicemail`;
    // Buttons where the user's client takes XEP-0004 forms (asked by disco#info); the text says the same in words.
    const resource = await this.#deps.presence()?.formResource?.(jid).catch(() => undefined);
    await sender.enqueue({
      to: { channel: 'xmpp', address: jid, ...(resource !== undefined ? { resource } : {}) },
      text: `Incoming call from ${who} on ${this.#did ?? ''} — ${replies}.`,
      ...(resource !== undefined
        ? {
            form: {
              type: OFFER_FORM_TYPE, ref: offer.id, title: `Incoming call from ${who}`, instructions: `Take the call on ${this.#did ?? 'your number'}?`,
              label: 'Answer', options: [{ value: 'accept', label: 'Accept' }, { value: 'voicemail', label: 'Send to voicemail' }],
            },
          }
        : {}),
      dedupKey: `offer:${offer.id}`,
    });
    if ((await this.#call.ringReady()).outcome === 'hung-up') return 'hung-up';
    const ringback = this.#call.ringback();
    const answer = await this.#deps.offers.wait(offer, this.#call.ended);
    this.#log.info({ offerId: offer.id, answer }, 'IM offer answered');
    if (answer === 'gone') {
      await sender.enqueue({ to: { channel: 'xmpp', address: jid }, text: `Missed call from ${who}: the caller hung up.`, dedupKey: `offer:${offer.id}:gone` });
      return 'hung-up';
    }
    await this.#call.breakMedia().catch(() => undefined);
    await ringback;
    if (answer === 'accept') {
      const bridged = await this.#bridge(user, device);
      if (bridged !== 'not-taken') return bridged;
      await sender.enqueue({ to: { channel: 'xmpp', address: jid }, text: `Your device did not answer the call from ${who}; it goes to voicemail.`, dedupKey: `offer:${offer.id}:device` });
      return this.#voicemail(user, `${user.alias} could not be connected.`);
    }
    if (answer === 'timeout') {
      await sender.enqueue({ to: { channel: 'xmpp', address: jid }, text: `Missed call from ${who} (no reply).`, dedupKey: `offer:${offer.id}:timeout` });
      return 'not-taken';
    }
    return this.#voicemail(user);
  }

  /** Voicemail first, fax when the caller presses 2 (offered on 9 and when the caller says nothing). */
  async #messageOrFax(user: StoredProfile): Promise<SessionOutcome> {
    const pick = await this.#ask('To leave a message, press 1 or stay on the line. To send a fax, press 2.', { pattern: '[12]', tries: 1, timeoutMs: 3000 });
    if (pick === undefined) return 'hung-up';
    if (pick === '2') return this.#fax(user);
    return this.#voicemail(user);
  }

  async #voicemail(user: StoredProfile, preface?: string): Promise<SessionOutcome> {
    const { voicemails, limits } = this.#deps;
    if (!(await this.#say(`${preface ?? ''} Please leave a message for ${user.alias} after the tone.`.trim()))) return 'hung-up';
    if ((await this.#call.play({ kind: 'file', path: BEEP })).outcome === 'hung-up') return 'hung-up';
    const { id, path } = voicemails.allocate('voice');
    const receivedAt = this.#now.toISOString();
    const recorded = await this.#call.record({ path, maxSeconds: limits.voicemailMaxSec, silenceSeconds: limits.voicemailSilenceSec });
    if (recorded.outcome === 'hung-up') await this.#call.ended; // the switch closes the file as the record app unwinds
    else {
      // Only silence before the detector gave up: nothing was said, there is no message.
      if (recorded.endedBySilence && recorded.ms - limits.voicemailSilenceSec * 1000 < MIN_MESSAGE_MS) {
        await voicemails.discard(path);
        await this.#say('No message was recorded. Goodbye.');
        return 'no-message';
      }
      await this.#say('Thank you. Goodbye.');
    }
    const kept = await voicemails.keep({
      id, owner: user.owner, userId: user.userId, kind: 'voice', callerNumber: this.#callerNumber,
      ...(this.#callerName !== undefined ? { callerName: this.#callerName } : {}), did: this.#did ?? '', receivedAt, durationMs: recorded.ms, path,
    }, { alias: user.alias, ...(user.imAddress !== undefined ? { imAddress: user.imAddress } : {}), ...(user.email !== undefined ? { email: user.email } : {}), timeZone: user.timeZone });
    return kept === undefined ? 'no-message' : 'voicemail';
  }

  async #fax(user: StoredProfile): Promise<SessionOutcome> {
    const { voicemails } = this.#deps;
    if (!(await this.#say('Start your fax now.'))) return 'hung-up';
    const { id, path } = voicemails.allocate('fax');
    const receivedAt = this.#now.toISOString();
    const result = await this.#call.receiveFax(path);
    if (result.outcome !== 'received') {
      this.#log.warn({ result }, 'fax not received');
      return result.outcome === 'hung-up' ? 'hung-up' : 'no-message';
    }
    const kept = await voicemails.keep({
      id, owner: user.owner, userId: user.userId, kind: 'fax', callerNumber: this.#callerNumber, did: this.#did ?? '', receivedAt, durationMs: 0, pages: result.pages, path,
      ...(this.#callerName !== undefined ? { callerName: this.#callerName } : {}),
    }, { alias: user.alias, ...(user.email !== undefined ? { email: user.email } : {}), timeZone: user.timeZone });
    return kept === undefined ? 'no-message' : 'fax';
  }
}

export type { HangupCause };
