/** The telephony capability: the Telephony port, its grammars, and the FreeSWITCH ESL client. */
export * from './types.js';
export * from './grammar.js';
export * from './callcenter.js';
export {
  MAX_RING_TIMEOUT_SEC,
  ORIGINATE_VARIABLES,
  assertSafeCommand,
  buildDialString,
  buildOriginateArgs,
  buildVariableBlock,
  formatNumber,
  originateVariables,
  type DialStringOptions,
  type OriginateVariables,
} from './dial-string.js';
export { parseEslUrl, type EslAddress } from './esl/address.js';
export { SUBSCRIBED_EVENTS, type ChannelEvent } from './esl/events.js';
export { EslTelephony, connectTelephony, type EslTelephonyEvents, type EslTelephonyOptions } from './esl/telephony.js';
export { OutboundSocketServer, type OutboundSocketEvents, type OutboundSocketOptions } from './esl/outbound-socket.js';
export {
  OUTBOUND_APPS,
  OutboundCall,
  type DigitsPrompt,
  type DigitsResult,
  type ExecuteResult,
  type OutboundCallEvents,
} from './esl/outbound-call.js';
export { DTMF_DIGIT_MS, DTMF_LONG_PAUSE_MS, DTMF_SHORT_PAUSE_MS, dtmfPlayoutMs, dtmfSchedule } from './dtmf.js';
