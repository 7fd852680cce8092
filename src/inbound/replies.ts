/**
 * IM replies to call offers: a chat from a JID that is the IM address of a user with a live offer,
 * reading `1`, `9`, `1 2`, `9 2`. Anything else is not ours (the messaging intake gets it). A reply
 * from any other JID never settles an offer: offers are looked up by the sender's bare JID only.
 */
import type { MessageSender } from '../channels/types.js';
import { OFFER_FORM_TYPE, type Offer, type OfferAnswer, type OfferBoard } from './offers.js';
import type { ProfileStore } from './profiles.js';
import type { ImChat, ImFormAnswer } from './types.js';

export class OfferReplies {
  constructor(
    private readonly profiles: ProfileStore,
    private readonly offers: OfferBoard,
    private readonly sender: () => MessageSender | undefined,
  ) {}

  /** True when the chat was a reply to an offer (and has been answered). */
  async handle(chat: ImChat): Promise<boolean> {
    const jid = chat.from.toLowerCase();
    const users = await this.profiles.byJid(jid);
    if (users.length === 0) return false;
    const outcome = await this.offers.reply(users, jid, chat.body);
    if (outcome === undefined) return false;
    const text = 'error' in outcome
      ? `No call ${chat.body.trim().split(/\s+/)[1] ?? ''} is waiting. Waiting: ${outcome.live.map((o) => `${o.number} (${o.callerNumber})`).join(', ')}.`
      : confirmation(outcome);
    await this.sender()?.enqueue({ to: { channel: 'xmpp', address: jid }, text, dedupKey: `offer-reply:${chat.id}` });
    return true;
  }

  /**
   * A button of an offer pressed (an XEP-0004 submission with the offer's FORM_TYPE): settles the
   * offer named by `ref` when it went to this JID. True when the form was an offer's.
   */
  async handleForm(form: ImFormAnswer): Promise<boolean> {
    if (form.type !== OFFER_FORM_TYPE) return false;
    const jid = form.from.toLowerCase();
    const answer = form.fields.answer === 'accept' ? 'accept' : form.fields.answer === 'voicemail' ? 'voicemail' : undefined;
    const outcome = answer === undefined ? undefined : await this.offers.answerById(form.fields.ref ?? '', jid, answer);
    // A JID that is no user's IM address gets no reply (no backscatter); the offer is untouched.
    if (outcome === undefined && (await this.profiles.byJid(jid)).length === 0) return true;
    const text = outcome === undefined ? 'That call is no longer waiting.' : confirmation(outcome);
    await this.sender()?.enqueue({ to: { channel: 'xmpp', address: jid }, text, dedupKey: `offer-form:${jid}:${form.id}` });
    return true;
  }
}

/** What the user is told after answering an offer. */
function confirmation(outcome: { offer: Offer; answer: OfferAnswer; won: boolean }): string {
  if (!outcome.won) return `The call from ${outcome.offer.callerNumber} was already ${outcome.answer === 'gone' ? 'hung up by the caller' : outcome.answer === 'timeout' ? 'sent on (no reply in time)' : 'answered'}.`;
  return outcome.answer === 'accept' ? `Connecting the call from ${outcome.offer.callerNumber} to you.` : `The call from ${outcome.offer.callerNumber} goes to voicemail.`;
}
