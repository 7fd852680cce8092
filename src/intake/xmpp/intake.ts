import type { Logger } from 'pino';
import type { ChatMessage, XmppChannel } from '../../channels/xmpp/channel.js';
import type { InboundMessage } from '../../channels/types.js';
import type { MessageIntake } from '../messages.js';

export interface XmppIntakeOptions {
  channel: Pick<XmppChannel, 'onChat'>;
  messages: MessageIntake;
  /** A body longer than this gets "too long" and is not handled. @defaultValue 1000 */
  maxChars?: number;
  /** Messages of one JID waiting their turn; more are dropped (a flood). @defaultValue 20 */
  maxPendingPerSender?: number;
  /**
   * Asked first for each chat: true when another capability took it (a reply to an IM call offer,
   * "1" / "9 2"), which then does not reach the conversation. @defaultValue none
   */
  claim?: (chat: ChatMessage) => Promise<boolean>;
  logger: Logger;
}

/** The channel-neutral message of a chat message; its thread is the chat's `<thread>`. */
export function chatToInbound(chat: ChatMessage): InboundMessage {
  return {
    id: `${chat.from.address}/${chat.id}`,
    from: chat.from,
    to: chat.to,
    text: chat.body.trim(),
    receivedAt: chat.receivedAt,
    ...(chat.thread ? { thread: { messageId: chat.thread } } : {}),
  };
}

/**
 * IM intake: chat messages to the bot go to the conversation, one at a time per JID (a person's
 * commands are answered in the order sent), and what it answers goes back on XMPP, to the resource
 * that wrote, in the same thread. Returns the function that detaches it.
 */
export function attachXmppIntake(options: XmppIntakeOptions): () => void {
  const { messages, logger } = options;
  const maxChars = options.maxChars ?? 1000;
  const maxPending = options.maxPendingPerSender ?? 20;
  const queues = new Map<string, { pending: number; tail: Promise<void> }>();

  const handle = async (chat: ChatMessage): Promise<void> => {
    const inbound = chatToInbound(chat);
    if (chat.receivedLength > maxChars) {
      messages.dropped('xmpp', 'too-large', { from: chat.from.address, length: chat.receivedLength });
      await messages.notice(inbound, `Your message is too long (${chat.receivedLength} characters). Send a short command, like "call Ada" or "help".`, 'too-long');
      return;
    }
    if (inbound.text === '') return;
    if (options.claim !== undefined && (await options.claim(chat))) return;
    await messages.accept(inbound);
  };

  return options.channel.onChat((chat) => {
    const key = chat.from.address;
    const queue = queues.get(key) ?? { pending: 0, tail: Promise.resolve() };
    if (queue.pending >= maxPending) {
      messages.dropped('xmpp', 'rate-limited', { from: key, pending: queue.pending, why: 'flood' });
      return;
    }
    queue.pending += 1;
    queues.set(key, queue);
    queue.tail = queue.tail
      .then(() => handle(chat))
      .catch((err: unknown) => logger.warn({ err, from: key }, 'chat message not handled'))
      .finally(() => {
        queue.pending -= 1;
        if (queue.pending === 0) queues.delete(key);
      });
  });
}
