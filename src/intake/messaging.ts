import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { normaliseText, parseNumber } from '../callbacks/request.js';
import type { CallbackInput, CallbackService } from '../callbacks/ports.js';
import type { Callback, Requester } from '../callbacks/types.js';
import type { ChannelAddress, InboundMessage, MessageHandler, OutboundMessage } from '../channels/types.js';
import { formatNumber, regionOf, resolveCallee, type Choice } from '../directory/resolve.js';
import type { Directory, User, VerifyOutcome } from '../directory/types.js';
import { CrosslineError } from '../errors.js';
import { isDisplayName, isSpeakableText } from '../telephony/grammar.js';
import { parseMessage, type CallerSpec, type Command, type LineSpec } from './commands/grammar.js';
import { describeTime } from './commands/time.js';
import type { ConversationState, ConversationStore, PendingChoice } from './conversation.js';

/** Per-sender limit: `allowed`, or refused with whether this is the first refusal of the window. */
export interface SenderLimit {
  consume(key: string): Promise<{ allowed: true } | { allowed: false; firstRefusal: boolean; retryInSec: number }>;
}

/** A call-alert registration as the messaging intake shows it. */
export interface AlertRegistration {
  kind: 'callee' | 'caller';
  line: string;
  targets: string[];
  recipients: ChannelAddress[];
  verified: boolean;
  verifiedBy?: 'code' | 'operator';
}

/**
 * The call-attempt alerts a user manages by message (seed 000, claim 12); src/alerts implements it
 * with the rules of its REST registration (verified recipients, per-user limit, proof of the line).
 */
export interface AlertRegistrations {
  watch(owner: string, userId: string, line: string, to: ChannelAddress): Promise<{ interest: AlertRegistration; created: boolean }>;
  unwatch(owner: string, userId: string, line?: string): Promise<AlertRegistration[]>;
  of(owner: string, userId: string): Promise<AlertRegistration[]>;
  /** Calls the line and speaks a code, or (`via: 'sms'`) texts it. */
  sendCodeFor(owner: string, userId: string, line: string, via?: 'call' | 'sms'): Promise<AlertRegistration | undefined>;
  verifyCode(owner: string, userId: string, code: string): Promise<AlertRegistration | 'none' | 'wrong'>;
}

export interface MessagingDeps {
  directory: Directory;
  /** Call-alert registrations (read per message: the alerts module starts after the directory). */
  alerts?: () => AlertRegistrations | undefined;
  /** The callback domain (read per message: the API role provides it). */
  callbacks: () => CallbackService | undefined;
  conversations: ConversationStore;
  senderLimit: SenderLimit;
  defaultRegion: string;
  maxScheduleDays: number;
  conversationTtlMinutes: number;
  clock: () => Date;
  logger: Logger;
  /** Counts what senders ask for and what became of the calls; no-op when absent. */
  metrics?: MessagingMetrics;
}

export interface MessagingMetrics {
  /** A message read as `command` (call, status, cancel, help, verify, choose, unknown; unknown-sender, rate-limited). */
  command(command: string): void;
  /** A call asked for by message: `accepted` or `refused` by the callback domain (toll-fraud policy, limits, schedule), or a numbered `choice-offered`. */
  call(outcome: 'accepted' | 'refused' | 'choice-offered'): void;
}

/** The counters of {@link MessagingMetrics} in a prom-client registry. */
export function messagingMetrics(registry: Registry): MessagingMetrics {
  const commands =
    (registry.getSingleMetric('crossline_messaging_commands_total') as Counter<'command'> | undefined) ??
    new Counter({ name: 'crossline_messaging_commands_total', help: 'Messages the messaging intake read, by command (unknown-sender and rate-limited: not read).', labelNames: ['command'], registers: [registry] });
  const calls =
    (registry.getSingleMetric('crossline_messaging_calls_total') as Counter<'outcome'> | undefined) ??
    new Counter({ name: 'crossline_messaging_calls_total', help: 'Calls asked for by message that reached the callback domain (accepted, refused) or a numbered choice (choice-offered).', labelNames: ['outcome'], registers: [registry] });
  return { command: (command) => commands.inc({ command }), call: (outcome) => calls.inc({ outcome }) };
}

const HELP = [
  'I place calls for you: your phone rings once the person you asked for has answered.',
  '',
  '  call Ada                      call Ada (your default number rings)',
  '  call +1 202 555 0101          call a number',
  "  call Ada's mobile             one of Ada's numbers",
  '  call Ada from my work phone   ring your work phone instead',
  '  call Ada on +1 202 555 0102   ring that number of yours instead',
  '  call Ada tomorrow at 9am      call later (your time zone)',
  '  call Ada in 20 minutes',
  '  status                        how the last call is going',
  '  cancel                        cancel it',
  '  help                          this text',
  '  verify 123456                 answer a verification code sent to you',
  '',
  '  alert me when +1 202 555 0101 calls   be told here of every call to that line of yours',
  '  prove +1 202 555 0101         have the line called with a code that proves it is yours',
  '  prove +1 202 555 0101 by text the code as a text message instead',
  '  alerts                        the lines you are alerted of',
  '  alerts off                    stop them all (or: alerts off for +1 202 555 0101)',
  '',
  'When more than one person fits, I list them: reply with the number.',
].join('\n');

const PAST_TOLERANCE_MS = 60_000;

const STATUS_TEXT: Record<Callback['status'], (who: string, cb: Callback, tz: string) => string> = {
  scheduled: (who, cb, tz) => `Your call to ${who} is scheduled for ${cb.nextAttemptAt ? describeTime(new Date(cb.nextAttemptAt), tz) : 'later'}.`,
  queued: (who) => `Your call to ${who} is about to start.`,
  'waiting-for-agent': (who) => `${who} is busy; I will ring you when an agent is about to be free.`,
  'calling-callee': (who) => `Calling ${who} now; your phone rings when they answer.`,
  'callee-answered': (who) => `${who} answered; your phone is about to ring.`,
  'calling-caller': (who) => `${who} answered; your phone is ringing.`,
  bridged: (who) => `You are connected with ${who}.`,
  completed: (who) => `Your call with ${who} has ended.`,
  failed: (who, cb) => `Your call to ${who} failed${cb.failureCause ? `: ${cb.failureCause.toLowerCase().replace(/_/g, ' ')}` : ''}.`,
  canceled: (who) => `Your call to ${who} was canceled.`,
};

/** Why the domain refused a call, for a person. */
function refusal(err: CrosslineError): string {
  switch (err.code) {
    case 'DESTINATION_NOT_ALLOWED':
    case 'PREMIUM_RATE_DENIED':
    case 'SIP_DOMAIN_NOT_ALLOWED':
      return 'I may not call that destination: it is outside what this account is allowed to call.';
    case 'NUMBER_DO_NOT_CALL':
      return 'I may not call that number: it is on this account\'s do-not-call list.';
    case 'DESTINATION_RATE_LIMITED':
      return 'That number has been called too often recently; try again later.';
    case 'DAILY_QUOTA_EXCEEDED':
      return 'This account has used its calls for today; try again tomorrow.';
    case 'INVALID_SCHEDULE':
      return `I cannot call at that time: ${err.details[0]?.message ?? err.message}.`;
    case 'INVALID_NUMBER':
    case 'INVALID_SIP_URI':
      return 'That is not a number or address I can dial.';
    default:
      return `I could not place that call (${err.code}).`;
  }
}

const reSubject = (subject: string): string => (/^re:/i.test(subject.trim()) ? subject.trim() : `Re: ${subject.trim()}`);

/**
 * The messaging intake (claims 2, 5–10): what e-mail and IM hand authenticated messages to.
 * The sender is a user of the directory with that address verified; anything else gets no reply
 * (no backscatter), except the answer to a verification code sent to that very address. Calls go
 * through the CallbackService (toll-fraud policy, limits), with the sender's own number as the
 * caller leg and the sender as the requester, so status messages reach them in this conversation.
 */
export class MessagingIntake implements MessageHandler {
  constructor(private readonly deps: MessagingDeps) {}

  async handle(message: InboundMessage): Promise<OutboundMessage[]> {
    const { deps } = this;
    const from = { ...message.from, address: message.from.address.trim().toLowerCase() };
    const log = deps.logger.child({ channel: from.channel, messageId: message.id });
    const claim = await deps.conversations.claim(from, message.id);
    if (claim === 'in-progress') {
      log.info('message already being handled; not handled twice');
      return [];
    }
    if (typeof claim === 'object') return JSON.parse(claim.replies) as OutboundMessage[];
    try {
      const texts = await this.answer(message, log);
      const replies = texts.map((text, i): OutboundMessage => ({
        to: message.from,
        // e-mail replies carry a subject ("Re: …"); chat replies none
        ...(from.channel === 'email' ? { subject: reSubject(message.subject ?? 'Crossline') } : {}),
        text,
        ...(message.thread ? { thread: message.thread } : {}),
        dedupKey: `reply:${message.id}:${from.channel}:${from.address}${i === 0 ? '' : `:${i}`}`,
      }));
      await deps.conversations.remember(from, message.id, JSON.stringify(replies));
      return replies;
    } catch (err) {
      // Not handled: forget the claim so the channel's retry is handled afresh.
      await deps.conversations.forget(from, message.id).catch(() => undefined);
      throw err;
    }
  }

  /** The reply texts for one message (none: stay silent). */
  private async answer(message: InboundMessage, log: Logger): Promise<string[]> {
    const { deps } = this;
    const limit = await deps.senderLimit.consume(`${message.from.channel}:${message.from.address.toLowerCase()}`);
    if (!limit.allowed) {
      log.warn({ firstRefusal: limit.firstRefusal }, 'sender over its message limit');
      deps.metrics?.command('rate-limited');
      return limit.firstRefusal ? [`You are sending messages faster than I can take them. I will read your messages again in ${limit.retryInSec} seconds.`] : [];
    }
    const sender = await deps.directory.findUserByAddress(message.from);
    if (!sender) {
      // Only the answer to a code sent to this address is taken from an unverified sender.
      const command = parseMessage(message, { now: deps.clock(), timeZone: 'UTC' });
      if (command.kind === 'verify') {
        const outcome = await deps.directory.verifyFromChannel(message.from, command.code);
        if (!(outcome.ok === false && outcome.reason === 'no-pending')) return [this.verifyText(outcome)];
      }
      log.info({ outcome: 'unknown-sender' }, 'message from an address no user has verified; no reply');
      deps.metrics?.command('unknown-sender');
      return [];
    }
    const { owner, user } = sender;
    const ctx = { now: deps.clock(), timeZone: user.timeZone };
    const command = parseMessage(message, ctx);
    log.info({ owner, userId: user.id, command: command.kind }, 'message from a verified user');
    deps.metrics?.command(command.kind);
    const state = await deps.conversations.get(owner, user.id, message.from);
    switch (command.kind) {
      case 'help':
        return [HELP];
      case 'unknown':
        return [`Sorry, I did not understand that. I only understand a few English commands:\n\n${HELP}`];
      case 'verify': {
        const outcome = await deps.directory.verifyFromChannel(message.from, command.code);
        // No address of theirs waits for a code: it may be the code spoken to a line they registered.
        if (outcome.ok === false && outcome.reason === 'no-pending') {
          const line = await this.alertCode(owner, user, command.code);
          if (line !== undefined) return [line];
        }
        return [this.verifyText(outcome)];
      }
      case 'alert-on':
      case 'alert-off':
      case 'alert-list':
      case 'alert-code':
        return [await this.alert(owner, user, message.from, command)];
      case 'status':
        return [await this.status(owner, user, state)];
      case 'cancel':
        return [await this.cancel(owner, user, message, state)];
      case 'choose':
        return [await this.choose(owner, user, message, state, command.index)];
      case 'call':
        return [await this.call(owner, user, message, state, command)];
    }
  }

  /** What an alert command does, as a reply. */
  private async alert(owner: string, user: User, from: ChannelAddress, command: Extract<Command, { kind: 'alert-on' | 'alert-off' | 'alert-list' | 'alert-code' }>): Promise<string> {
    const alerts = this.deps.alerts?.();
    if (alerts === undefined) return 'Call alerts are not available on this service.';
    const address = { channel: from.channel, address: from.address.toLowerCase() };
    try {
      switch (command.kind) {
        case 'alert-list': {
          const mine = await alerts.of(owner, user.id);
          if (mine.length === 0) return 'You have no call alerts. Send "alert me when +1 202 555 0101 calls" (your line\'s number) to set one up.';
          return `Your call alerts:\n${mine.map((i) => `  ${describeAlert(i)}`).join('\n')}`;
        }
        case 'alert-off': {
          const line = command.line === undefined ? undefined : this.lineOf(user, command.line);
          if (typeof line === 'object') return line.refusal;
          const gone = await alerts.unwatch(owner, user.id, line);
          if (gone.length === 0) return line === undefined ? 'You had no call alerts; nothing changed.' : `You had no call alerts for ${formatNumber(line)}; nothing changed.`;
          return `Call alerts off: ${[...new Set(gone.map((i) => formatNumber(i.line)))].join(', ')}.`;
        }
        case 'alert-on': {
          const line = this.lineOf(user, command.line);
          if (typeof line === 'object') return line.refusal;
          const { interest, created } = await alerts.watch(owner, user.id, line, address);
          const shown = formatNumber(interest.line);
          if (interest.verified) return created ? `Call alerts on for ${shown}: I will tell you here of every call to it.` : `Call alerts for ${shown} are on; they reach you here too.`;
          return `${created ? 'Registered' : 'Already registered'}: I will tell you here of every call to ${shown} once the line is proven yours. Send "prove ${shown}" and I will call it with a six-digit code to send back (or an operator approves it).`;
        }
        case 'alert-code': {
          const line = this.lineOf(user, command.line);
          if (typeof line === 'object') return line.refusal;
          const pending = await alerts.sendCodeFor(owner, user.id, line, command.via ?? 'call');
          if (pending === undefined) return `You have no call alert waiting for proof on ${formatNumber(line)}. Send "alert me when ${formatNumber(line)} calls" first, or "alerts" to see yours.`;
          return command.via === 'sms'
            ? `I texted a six-digit code to ${formatNumber(pending.line)}. Send it back here as "verify" and the code.`
            : `I called ${formatNumber(pending.line)} and said a six-digit code. Send it back here as "verify" and the code.`;
        }
      }
    } catch (err) {
      // The code cannot go out now: said so, not retried as if the message had not been read.
      if (err instanceof CrosslineError && (err.code === 'VERIFICATION_UNAVAILABLE' || err.code === 'SWITCH_UNAVAILABLE')) {
        this.deps.logger.warn({ owner, userId: user.id, code: err.code }, 'alert code not sent');
        return err.code === 'VERIFICATION_UNAVAILABLE' ? 'I cannot send text messages here. Send "prove" and the number, and I will call the line with the code instead.' : 'I cannot call the line right now; try "prove" again in a few minutes.';
      }
      if (err instanceof CrosslineError && err.status < 500) {
        this.deps.logger.info({ owner, userId: user.id, code: err.code }, 'alert command refused');
        switch (err.code) {
          case 'TOO_MANY_INTERESTS':
            return 'You have as many call alerts as one person may keep. Send "alerts" to see them and "alerts off for" a number to remove one.';
          case 'SWITCH_COMMAND_FAILED':
            return `I could not reach the line: ${err.message}`;
          case 'VERIFICATION_RATE_LIMITED':
            return 'A code was texted to that line less than a minute ago; wait a minute before asking for another.';
          default:
            return `I could not do that: ${err.details[0]?.message ?? err.message}`;
        }
      }
      throw err;
    }
  }

  /** The code spoken to a line, typed back: the reply, or undefined when no line of theirs waits for one. */
  private async alertCode(owner: string, user: User, code: string): Promise<string | undefined> {
    const alerts = this.deps.alerts?.();
    if (alerts === undefined) return undefined;
    const outcome = await alerts.verifyCode(owner, user.id, code);
    if (outcome === 'none') return undefined;
    if (outcome === 'wrong') return 'That is not the code I said on your line. Check it, or send "prove" and the number for a new one.';
    return `Thank you: ${formatNumber(outcome.line)} is proven yours. Call alerts for it are on.`;
  }

  /** The E.164 an alert command names: a number as written, or one of the sender's own phones. */
  private lineOf(user: User, spec: LineSpec): string | { refusal: string } {
    const mine = user.phones.map((p) => `${p.label} ${formatNumber(p.number)}`).join(', ');
    switch (spec.kind) {
      case 'number':
        try {
          return parseNumber(spec.text.replace(/^tel:/i, ''), regionOf(user, this.deps.defaultRegion), '/line').e164;
        } catch {
          return { refusal: `${spec.text} is not a phone number I can read. Write it in international form, like +1 202 555 0101.` };
        }
      case 'label': {
        const phone = user.phones.find((p) => p.label === spec.label);
        return phone ? phone.number : { refusal: `You have no ${spec.label} number saved${mine ? `. Your numbers: ${mine}` : ''}. Name the line by its number, like +1 202 555 0101.` };
      }
      case 'mine': {
        const phone = user.phones.find((p) => p.default) ?? user.phones[0];
        return phone ? phone.number : { refusal: 'I have no phone number of yours. Name the line by its number, like "alert me when +1 202 555 0101 calls".' };
      }
      case 'unknown':
        return { refusal: `Which line? Name it by its number, like "alert me when +1 202 555 0101 calls"${spec.text ? ` ("${spec.text.slice(0, 40)}" is not a number)` : ''}.` };
    }
  }

  private verifyText(outcome: VerifyOutcome): string {
    if (outcome.ok) return 'Thank you: this address is verified. Send "help" to see what I can do.';
    switch (outcome.reason) {
      case 'expired':
        return 'That code has expired; ask for a new one.';
      case 'too-many-attempts':
        return 'Too many wrong codes: that code is void. Ask for a new one.';
      case 'address-taken':
        return 'This address is already verified for another user.';
      case 'wrong-code':
        return 'That code is not right. Check it and send "verify" with the code again.';
      case 'no-pending':
        return 'There is no code waiting for this address (it may be verified already, or the code expired).';
    }
  }

  private async status(owner: string, user: User, state: ConversationState | undefined): Promise<string> {
    if (state?.pending) return `I am waiting for you to pick who to call:\n${this.listChoices(state.pending.choices)}`;
    if (!state?.lastCallbackId) return this.expired('There is no call in this conversation');
    const callbacks = this.callbacksOrThrow();
    try {
      const cb = await callbacks.get(state.lastCallbackId, owner);
      return STATUS_TEXT[cb.status](state.lastCalleeLabel ?? 'them', cb, user.timeZone);
    } catch (err) {
      if (err instanceof CrosslineError && err.code === 'CALLBACK_NOT_FOUND') return 'I no longer have that call on record.';
      throw err;
    }
  }

  private async cancel(owner: string, user: User, message: InboundMessage, state: ConversationState | undefined): Promise<string> {
    if (state?.pending) {
      const { pending: _dropped, ...rest } = state;
      await this.deps.conversations.put(owner, user.id, message.from, rest);
      return 'OK: I will not call anyone. Nothing was dialled.';
    }
    if (!state?.lastCallbackId) return this.expired('There is no call in this conversation to cancel');
    const callbacks = this.callbacksOrThrow();
    try {
      const cb = await callbacks.cancel(state.lastCallbackId, owner);
      return cb.status === 'canceled' ? `Canceled your call to ${state.lastCalleeLabel ?? 'them'}.` : `Canceling your call to ${state.lastCalleeLabel ?? 'them'}; the line is being hung up.`;
    } catch (err) {
      if (err instanceof CrosslineError && err.code === 'CALLBACK_FINISHED') return `Your call to ${state.lastCalleeLabel ?? 'them'} has already finished; there is nothing to cancel.`;
      if (err instanceof CrosslineError && err.code === 'CALLBACK_NOT_FOUND') return 'I no longer have that call on record.';
      throw err;
    }
  }

  private expired(what: string): string {
    return `${what}: conversations are kept for ${this.deps.conversationTtlMinutes} minutes, and this one has expired or never started. Send "call" and a name or number to start again.`;
  }

  private async choose(owner: string, user: User, message: InboundMessage, state: ConversationState | undefined, index: number): Promise<string> {
    const pending = state?.pending;
    if (!pending) return this.expired(`There is no list to pick number ${index} from`);
    const choice = pending.choices[index - 1];
    if (!choice) return `Reply with a number from 1 to ${pending.choices.length}:\n${this.listChoices(pending.choices)}`;
    return this.place(owner, user, message, state, choice, pending.callerNumber, pending.at === undefined ? undefined : new Date(pending.at));
  }

  private listChoices(choices: Choice[]): string {
    return choices.map((c, i) => `${i + 1}  ${c.label}`).join('\n');
  }

  private async call(owner: string, user: User, message: InboundMessage, state: ConversationState | undefined, command: Extract<Command, { kind: 'call' }>): Promise<string> {
    const { deps } = this;
    const now = deps.clock();
    if (command.timeProblem) {
      return command.timeProblem.problem === 'no-hour'
        ? `At what time ${command.timeProblem.text}? For example "call ${command.who || 'Ada'} ${command.timeProblem.text} at 9am". Nothing was dialled.`
        : `I could not read the time "${command.timeProblem.text}". Write it like "at 15:30", "at 3pm" or "in 20 minutes". Nothing was dialled.`;
    }
    let at: Date | undefined;
    if (command.when) {
      const t = command.when.at.getTime();
      if (t < now.getTime() - PAST_TOLERANCE_MS) return `${describeTime(command.when.at, user.timeZone)} is in the past. Nothing was dialled.`;
      if (t > now.getTime() + deps.maxScheduleDays * 86_400_000) return `${describeTime(command.when.at, user.timeZone)} is more than ${deps.maxScheduleDays} days ahead; I can only schedule calls up to ${deps.maxScheduleDays} days ahead. Nothing was dialled.`;
      if (t > now.getTime()) at = command.when.at;
    }
    const caller = this.callerNumber(user, command.from, deps.defaultRegion);
    if ('refusal' in caller) return caller.refusal;
    if (/^(?:me|myself|my ?self)$/i.test(command.who.trim())) return 'Whom should I call? Your own phone rings once they answer: send "call" and their name or number.';
    const people = await deps.directory.everyone(owner);
    const resolution = resolveCallee(command.who, { region: regionOf(user, deps.defaultRegion), people, selfId: user.id });
    if (resolution.kind === 'none') return `${resolution.reason} Nothing was dialled.`;
    if (resolution.kind === 'choices') {
      const pending: PendingChoice = { choices: resolution.choices, callerNumber: caller.number, ...(at ? { at: at.toISOString() } : {}), offeredAt: now.toISOString() };
      await deps.conversations.put(owner, user.id, message.from, { ...state, pending });
      deps.metrics?.call('choice-offered');
      return `Which one do you mean?\n${this.listChoices(resolution.choices)}\nReply with the number (or "cancel"). Nothing is dialled until you do.`;
    }
    return this.place(owner, user, message, state, resolution.choice, caller.number, at);
  }

  /** The caller leg: one of the sender's own numbers, never one the message makes up. */
  private callerNumber(user: User, spec: CallerSpec | undefined, fallbackRegion: string): { number: string } | { refusal: string } {
    const mine = user.phones.map((p) => `${p.label} ${formatNumber(p.number)}`).join(', ');
    if (user.phones.length === 0) return { refusal: 'I have no phone number of yours to ring. Ask whoever manages your account to add one. Nothing was dialled.' };
    if (spec === undefined) {
      const phone = user.phones.find((p) => p.default) ?? user.phones[0];
      return phone ? { number: phone.number } : { refusal: 'I have no phone number of yours to ring.' };
    }
    if (spec.kind === 'label') {
      const phone = user.phones.find((p) => p.label === spec.label);
      return phone ? { number: phone.number } : { refusal: `You have no ${spec.label} number saved. Your numbers: ${mine}. Nothing was dialled.` };
    }
    if (spec.kind === 'number') {
      let e164: string | undefined;
      try {
        e164 = parseNumber(spec.text.replace(/^tel:/i, ''), regionOf(user, fallbackRegion), '/caller').e164;
      } catch {
        e164 = undefined;
      }
      const phone = user.phones.find((p) => p.number === e164);
      return phone ? { number: phone.number } : { refusal: `I can only ring your own numbers (${mine}), and ${spec.text} is not one of them. Nothing was dialled.` };
    }
    return { refusal: `I do not know which of your phones "${spec.text}" is. Your numbers: ${mine}. Nothing was dialled.` };
  }

  private async place(owner: string, user: User, message: InboundMessage, state: ConversationState | undefined, choice: Choice, callerNumber: string, at: Date | undefined): Promise<string> {
    const { deps } = this;
    const callbacks = this.callbacksOrThrow();
    const calleeName = safeName(choice.name);
    const callerName = safeName(user.displayName);
    const input: CallbackInput = {
      caller: { number: callerNumber, ...(callerName ? { name: callerName } : {}) },
      callee: { ...choice.endpoint, ...(calleeName ? { name: calleeName } : {}) },
      ...(at ? { at: at.toISOString() } : {}),
      announce: {
        ...(speakable(calleeName ? `Connecting you to ${calleeName}.` : undefined) ? { caller: `Connecting you to ${calleeName}.` } : {}),
        ...(speakable(callerName ? `Please hold for ${callerName}.` : undefined) ? { callee: `Please hold for ${callerName}.` } : {}),
      },
    };
    const requester: Requester = { userId: user.id, address: message.from, ...(message.thread ? { thread: message.thread } : {}), timeZone: user.timeZone };
    let callback: Callback;
    try {
      callback = await callbacks.create(input, owner, { requester });
    } catch (err) {
      if (err instanceof CrosslineError && err.status < 500) {
        deps.logger.info({ owner, userId: user.id, code: err.code }, 'call asked by message refused');
        const { pending: _dropped, ...rest } = state ?? {};
        await deps.conversations.put(owner, user.id, message.from, rest);
        deps.metrics?.call('refused');
        return `${refusal(err)} Nothing was dialled.`;
      }
      throw err;
    }
    deps.metrics?.call('accepted');
    const calleeLabel = choice.name ?? choice.label;
    await deps.conversations.put(owner, user.id, message.from, { lastCallbackId: callback.id, lastCalleeLabel: calleeLabel });
    const yours = formatNumber(callerNumber);
    if (at) return `OK: I will call ${choice.label} on ${describeTime(at, user.timeZone)}; your phone (${yours}) rings once they answer. Send "status" or "cancel" any time.`;
    return `Calling ${choice.label} now; your phone (${yours}) rings once they answer. Send "status" or "cancel" any time.`;
  }

  private callbacksOrThrow(): CallbackService {
    const callbacks = this.deps.callbacks();
    if (!callbacks) throw new CrosslineError('STORE_UNAVAILABLE', 'The callback service is not running in this process.');
    return callbacks;
  }
}

/** One registration, for a person. */
function describeAlert(i: AlertRegistration): string {
  const where = [...new Set(i.recipients.map((r) => r.address))].join(', ');
  const what = i.kind === 'callee' ? `calls to ${formatNumber(i.line)}` : `failed calls from ${formatNumber(i.line)} to ${i.targets.map(formatNumber).join(', ')}`;
  return `${what} → ${where}${i.verified ? '' : ' (waiting for proof that the line is yours)'}`;
}

/** A name as the ESL grammar accepts it, or undefined: a name that fails is left out, never forced in. */
function safeName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const normal = normaliseText(name)?.replace(/'/g, '').replace(/\s+/g, ' ').trim();
  return normal !== undefined && isDisplayName(normal) ? normal : undefined;
}

const speakable = (text: string | undefined): boolean => text !== undefined && isSpeakableText(text);
