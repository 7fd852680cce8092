/**
 * IM replies to call offers: a chat from a JID that is the IM address of a user with a live offer,
 * reading `1`, `9`, `1 2`, `9 2`. Anything else is not ours (the messaging intake gets it). A reply
 * from any other JID never settles an offer: offers are looked up by the sender's bare JID only.
 */
import type { MessageSender } from '../channels/types.js';
import type { OfferBoard } from './offers.js';
import type { ProfileStore } from './profiles.js';
import type { ImChat } from './types.js';

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
    const sender = this.sender();
    let text: string;
    if ('error' in outcome) {
      text = `No call ${chat.body.trim().split(/\s+/)[1] ?? ''} is waiting. Waiting: ${outcome.live.map((o) => `${o.number} (${o.callerNumber})`).join(', ')}.`;
    } else if (!outcome.won) {
      text = `The call from ${outcome.offer.callerNumber} was already ${outcome.answer === 'gone' ? 'hung up by the caller' : outcome.answer === 'timeout' ? 'sent on (no reply in time)' : 'answered'}.`;
    } else {
      text = outcome.answer === 'accept' ? `Connecting the call from ${outcome.offer.callerNumber} to you.` : `The call from ${outcome.offer.callerNumber} goes to voicemail.`;
    }
    await sender?.enqueue({ to: { channel: 'xmpp', address: jid }, text, dedupKey: `offer-reply:${chat.id}` });
    return true;
  }
}
