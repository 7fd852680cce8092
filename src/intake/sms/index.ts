/** Text-message intake: MO messages from the SMSC → the conversation → replies by SMS. */
export { attachSmsIntake } from './intake.js';
export type { SmsIntakeOptions } from './intake.js';
