/**
 * Notifications about callbacks. Today: signed webhooks, delivered through their own BullMQ queue.
 * Receivers verify requests with {@link verifySignature}.
 */
export { SIGNATURE_HEADER, DEFAULT_SIGNATURE_TOLERANCE_SEC, signPayload, verifySignature, parseSignatureHeader } from './signature.js';
export type { ParsedSignature, VerifyOptions } from './signature.js';
export {
  MAX_WEBHOOK_URL_LENGTH,
  addressRange,
  isAllowedAddress,
  assertAllowedAddresses,
  parseWebhookUrl,
  createWebhookUrlGuard,
  createGuardedLookup,
} from './url-guard.js';
export type { HostResolver, LookupAll, WebhookUrlGuardOptions, GuardedLookupOptions } from './url-guard.js';
export { STATUS_CHANGED, buildStatusChangedEvent, eventIdFor } from './payload.js';
export type { WebhookEvent } from './payload.js';
export { WEBHOOK_QUEUE, WebhookDeliveryError, createWebhookNotifier, createWebhookWorker, webhookBackoff } from './webhooks.js';
export type { RedisConnection, WebhookJobData, WebhookNotifier, WebhookNotifierOptions, WebhookWorker, WebhookWorkerOptions } from './webhooks.js';
export { createRequesterNotifier, fanOutNotifier, statusText, tellTime, causeWords } from './requester.js';
export type { RequesterNotifierOptions } from './requester.js';
