export { MessagingIntake, messagingMetrics, type MessagingDeps, type MessagingMetrics, type SenderLimit } from './messaging.js';
export { ConversationStore, type ConversationState, type PendingChoice } from './conversation.js';
export { parseMessage, parseLine, normaliseLine, type Command, type CallerSpec, type ParseContext } from './commands/grammar.js';
export { findTime, describeTime, type FoundTime, type TimeProblem } from './commands/time.js';
