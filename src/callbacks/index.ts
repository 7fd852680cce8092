export type * from './types.js';
export { FINAL_STATUSES } from './types.js';
export type {
  Admission,
  AttemptScheduler,
  CallbackInput,
  CallbackNotifier,
  CallbackPage,
  CallbackRepository,
  CallbackService,
  CancelSignal,
  CreateOptions,
  EndpointInput,
  GateDecision,
  IntakeLimits,
  ListQuery,
  OriginateGate,
  SwitchWaitReason,
  WebhookUrlGuard,
} from './ports.js';
export { RevisionConflictError } from './ports.js';
export { destinationKey, holdUntil, limitedDestinations, type LimitedDestination, type LimitPolicy } from './limits.js';
export { toCallbackView, type CallbackView } from './view.js';
export { parseCallbackInput, parseNumber, type RequestPolicy } from './request.js';
export { assertDestinationAllowed, type FraudPolicy } from './fraud.js';
export { canTransition, isFinal, transition, IllegalTransitionError } from './state-machine.js';
export { DefaultCallbackService, type CallbackServiceDeps } from './service.js';
export { runAttempt, abandonCallback, AttemptStillOpenError, type FlowDeps } from './flow.js';
export { CallEndRecorder, inConversation, settleConversation, type CallEndDeps, type ConversationState, type HeardEnd } from './call-end.js';
export { DONE, waitFor, type AttemptOutcome, type Wait, type WaitStep } from './wait.js';
