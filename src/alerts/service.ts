/**
 * Registering interest (claims 12, 13): a verified user of the owner registers a line and where
 * alerts go; nothing is sent for the line until its ownership is proven, by a six-digit code the
 * switch speaks to the line (POST …/code, then …/verify), or by an operator's flag.
 */
import type { ChannelAddress, MessageSender } from '../channels/types.js';
import { CrosslineError } from '../errors.js';
import type { Telephony } from '../telephony/types.js';
import { randomUUID } from 'node:crypto';
import { lineOf } from './detector.js';
import type { InterestRegistry } from './registry.js';
import type { Interest, InterestInput } from './types.js';

export interface UserAddresses {
  exists: boolean;
  /** Verified addresses of the user (e-mail, JID, SMS numbers): the only allowed recipients besides the lines' own. */
  verified: ChannelAddress[];
}

export interface AlertServiceDeps {
  registry: InterestRegistry;
  user: (owner: string, userId: string) => Promise<UserAddresses>;
  telephony: () => Telephony | undefined;
  /** Caller id the code call presents. */
  callerId?: string;
  /** Texts the code instead (`via: 'sms'`); undefined when no SMS channel is configured. */
  sms?: () => MessageSender | undefined;
}

/** One texted code per registration per minute: a line is not flooded, nor the account billed for it. */
const TEXT_CODE_WINDOW_SEC = 60;

/** Registrations one user may keep (REST and message commands alike). */
export const MAX_INTERESTS_PER_USER = 25;

const invalid = (message: string, path: string): never => {
  throw new CrosslineError('INVALID_INTEREST', message, [{ path, message }]);
};

export class AlertService {
  constructor(private readonly deps: AlertServiceDeps) {}

  async register(input: InterestInput, owner: string): Promise<Interest> {
    const user = await this.deps.user(owner, input.userId);
    if (!user.exists) invalid('No user with this id.', 'userId');
    const line = lineOf(input.line) ?? invalid('Not a valid phone number in international form.', 'line');
    const targets = (input.targets ?? []).map((t, i) => lineOf(t) ?? invalid('Not a valid phone number.', `targets/${i}`));
    if (input.kind === 'caller' && targets.length === 0) invalid('A caller registration names the lines whose failed calls are reported.', 'targets');
    if (input.kind === 'callee' && targets.length > 0) invalid('Only a caller registration has targets.', 'targets');
    if (input.recipients.length === 0) invalid('At least one recipient.', 'recipients');
    input.recipients.forEach((r, i) => {
      const address = r.channel === 'sms' ? (lineOf(r.address) ?? '') : r.address.toLowerCase();
      const known = user.verified.some((v) => v.channel === r.channel && v.address === address);
      // A caller's list may name the lines they call (their SMS numbers); anything else must be the user's own verified address.
      const aTarget = input.kind === 'caller' && r.channel === 'sms' && targets.includes(lineOf(r.address) ?? '');
      if (!known && !aTarget) invalid('Recipients must be verified addresses of the user (or, for a caller, the SMS numbers of the target lines).', `recipients/${i}`);
    });
    const recipients = input.recipients.map((r) => ({ channel: r.channel, address: r.channel === 'sms' ? (lineOf(r.address) as string) : r.address.toLowerCase() }));
    if ((await this.of(owner, input.userId)).length >= MAX_INTERESTS_PER_USER) throw new CrosslineError('TOO_MANY_INTERESTS');
    return this.deps.registry.create({ userId: input.userId, kind: input.kind, line, targets, recipients }, owner);
  }

  /**
   * Calls the line and speaks a new code, or (`via: 'sms'`, a mobile line) texts it; the line's
   * owner types it back with verify.
   */
  async sendCode(id: string, owner: string, via: 'call' | 'sms' = 'call'): Promise<{ calledLine: string; via: 'call' | 'sms' }> {
    const interest = await this.deps.registry.getFor(id, owner);
    if (via === 'sms') {
      const sender = this.deps.sms?.();
      if (sender === undefined) throw new CrosslineError('VERIFICATION_UNAVAILABLE', 'No SMS channel is configured (SMPP_URL): ask for the code by call.');
      if (!(await this.deps.registry.mayText(interest, TEXT_CODE_WINDOW_SEC))) throw new CrosslineError('VERIFICATION_RATE_LIMITED', undefined, [], { retryAfterSec: TEXT_CODE_WINDOW_SEC });
      const code = await this.deps.registry.issueCode(interest);
      await sender.enqueue({
        to: { channel: 'sms', address: interest.line },
        text: `Your Crossline code for call alerts on this line is ${code}. It expires in 15 minutes. If you did not ask for it, ignore this message.`,
        dedupKey: `alert-code:${interest.id}:${Date.now()}`,
      });
      return { calledLine: interest.line, via: 'sms' };
    }
    const telephony = this.deps.telephony();
    if (telephony === undefined) throw new CrosslineError('SWITCH_UNAVAILABLE');
    const code = await this.deps.registry.issueCode(interest);
    const uuid = randomUUID();
    const result = await telephony.dial({
      uuid, endpoint: { kind: 'number', e164: interest.line, country: 'ZZ' }, ringTimeoutSec: 45,
      ...(this.deps.callerId !== undefined ? { callerIdNumber: this.deps.callerId } : {}), tags: { alert_interest: interest.id },
    });
    if (result.outcome !== 'answered') throw new CrosslineError('SWITCH_COMMAND_FAILED', `The line did not answer (${result.cause}).`);
    const spoken = code.split('').join(' ');
    await telephony.play(uuid, { kind: 'speak', text: `Your Crossline code is ${spoken}. Again: ${spoken}.` });
    await telephony.hangup(uuid);
    return { calledLine: interest.line, via: 'call' };
  }

  async verify(id: string, code: string, owner: string): Promise<Interest> {
    const interest = await this.deps.registry.getFor(id, owner);
    if (interest.verified) return interest;
    if (!(await this.deps.registry.checkCode(interest, code))) throw new CrosslineError('LINE_CODE_INVALID');
    return this.deps.registry.markVerified(interest, 'code');
  }

  /** The operator vouches for the line (ops door). */
  async approve(id: string): Promise<Interest> {
    const interest = await this.deps.registry.get(id);
    if (interest === undefined) throw new CrosslineError('INTEREST_NOT_FOUND');
    return this.deps.registry.markVerified(interest, 'operator');
  }

  list(owner: string): Promise<Interest[]> {
    return this.deps.registry.list(owner);
  }

  /** One user's registrations, oldest first. */
  async of(owner: string, userId: string): Promise<Interest[]> {
    return (await this.deps.registry.list(owner)).filter((i) => i.userId === userId);
  }

  /**
   * "Alert me when <line> calls", by message: a callee registration of `line` for the address the
   * message came from, under the same rules as REST (the user's verified address, the per-user
   * limit, nothing sent until the line is proven). Asking again for a line already registered adds
   * the address to that registration instead of making a second one.
   */
  async watch(owner: string, userId: string, line: string, to: ChannelAddress): Promise<{ interest: Interest; created: boolean }> {
    const e164 = lineOf(line) ?? invalid('Not a valid phone number in international form.', 'line');
    const address = { channel: to.channel, address: to.address.toLowerCase() };
    const existing = (await this.of(owner, userId)).find((i) => i.kind === 'callee' && i.line === e164);
    if (existing === undefined) return { interest: await this.register({ userId, kind: 'callee', line: e164, recipients: [address] }, owner), created: true };
    if (existing.recipients.some((r) => r.channel === address.channel && r.address === address.address)) return { interest: existing, created: false };
    const user = await this.deps.user(owner, userId);
    if (!user.verified.some((v) => v.channel === address.channel && v.address === address.address)) invalid('Recipients must be verified addresses of the user.', 'recipients/0');
    const next = { ...existing, recipients: [...existing.recipients, address] };
    await this.deps.registry.update(next);
    return { interest: next, created: false };
  }

  /** Removes the user's registrations: all of them, or those of `line` (watched or calling). Returns what was removed. */
  async unwatch(owner: string, userId: string, line?: string): Promise<Interest[]> {
    const e164 = line === undefined ? undefined : (lineOf(line) ?? invalid('Not a valid phone number in international form.', 'line'));
    const gone = (await this.of(owner, userId)).filter((i) => e164 === undefined || i.line === e164);
    for (const interest of gone) await this.deps.registry.remove(interest);
    return gone;
  }

  /** Calls (or texts) the user's pending registration of `line` with a code; undefined when there is none pending. */
  async sendCodeFor(owner: string, userId: string, line: string, via: 'call' | 'sms' = 'call'): Promise<Interest | undefined> {
    const e164 = lineOf(line) ?? invalid('Not a valid phone number in international form.', 'line');
    const pending = (await this.of(owner, userId)).find((i) => i.line === e164 && !i.verified);
    if (pending === undefined) return undefined;
    await this.sendCode(pending.id, owner, via);
    return pending;
  }

  /**
   * A code typed back by message: proves the user's pending registration whose code it is.
   * 'none' when no code of theirs is outstanding; each wrong try counts against every outstanding code.
   */
  async verifyCode(owner: string, userId: string, code: string): Promise<Interest | 'none' | 'wrong'> {
    const outstanding: Interest[] = [];
    for (const interest of await this.of(owner, userId)) if (!interest.verified && (await this.deps.registry.hasCode(interest))) outstanding.push(interest);
    if (outstanding.length === 0) return 'none';
    for (const interest of outstanding) if (await this.deps.registry.checkCode(interest, code)) return this.deps.registry.markVerified(interest, 'code');
    return 'wrong';
  }

  async remove(id: string, owner: string): Promise<void> {
    await this.deps.registry.remove(await this.deps.registry.getFor(id, owner));
  }
}
