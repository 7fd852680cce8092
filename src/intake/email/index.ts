/** E-mail intake: SMTP server and HTTP door, sender authenticity (mailauth), MIME parsing (mailparser). */
export { createSenderAuthenticator } from './authenticity.js';
export type { AuthenticityInput, AuthenticityVerdict, DnsResolver, SenderAuthenticator, SenderAuthenticatorOptions } from './authenticity.js';
export { MAX_TEXT_CHARS, parseEmail, toInboundMessage, visibleText } from './parse.js';
export type { ParsedEmail } from './parse.js';
export { createEmailIntake } from './intake.js';
export type { EmailEnvelope, EmailIntake, EmailIntakeOptions } from './intake.js';
export { startSmtpIntake } from './smtp.js';
export type { SmtpIntake, SmtpIntakeOptions } from './smtp.js';
export { inboundEmailRoutes, outboxRoutes } from './routes.js';
