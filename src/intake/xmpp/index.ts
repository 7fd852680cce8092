/** IM intake: chat messages to the XMPP bot → the conversation → replies in the same chat. */
export { attachXmppIntake, chatToInbound } from './intake.js';
export type { XmppIntakeOptions } from './intake.js';
