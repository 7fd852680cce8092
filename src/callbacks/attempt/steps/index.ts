/** The call steps (verbs) an attempt runs on a leg, each a unit over a StepContext. */
export type { StepContext } from './context.js';
export { sendDigits } from './send-digits.js';
export { waitForPrompt } from './wait-for-prompt.js';
export { walkIvr } from './walk-ivr.js';
export { detectMachine, type MachineVerdict } from './detect-machine.js';
export { confirmParty, type ConfirmOutcome } from './confirm-party.js';
export { leaveMessage } from './leave-message.js';
export { holdPlace, keepsPlace, queueEndpointOf, type KeepPlaceConfig, type PlaceOutcome } from './hold-place.js';
