/**
 * The error catalogue: every error Crossline reports has one stable code, listed here once with
 * its HTTP status and whether a job that hits it may be retried. `openapi.yaml` documents each
 * code; a test fails when one is missing there.
 */
export const ERROR_CATALOGUE = {
  VALIDATION_FAILED: { status: 400, retryable: false, message: 'The request does not match the schema.' },
  INVALID_NUMBER: { status: 400, retryable: false, message: 'The phone number is not a valid number.' },
  INVALID_SIP_URI: { status: 400, retryable: false, message: 'The SIP URI is not allowed by the SIP URI grammar.' },
  INVALID_DTMF: { status: 400, retryable: false, message: 'The DTMF sequence may only contain 0-9 * # A-D and w/W pauses.' },
  INVALID_IVR: { status: 400, retryable: false, message: 'The IVR sequence is not valid: too many steps, a pause or limit out of range, or a value that is not given.' },
  INVALID_IVR_VALUE: { status: 400, retryable: false, message: 'A run-time IVR value must be digits only (at most 32), under a plain name.' },
  INVALID_ANNOUNCEMENT: { status: 400, retryable: false, message: 'The announcement text contains characters that cannot be spoken safely.' },
  INVALID_CALLER_ID: { status: 400, retryable: false, message: 'The caller id must be a valid phone number.' },
  INVALID_NAME: { status: 400, retryable: false, message: 'The display name contains characters that are not allowed.' },
  INVALID_WEBHOOK_URL: { status: 400, retryable: false, message: 'The webhook URL must be an absolute http(s) URL.' },
  INVALID_QUEUE: { status: 400, retryable: false, message: 'A mod_callcenter queue name is name@domain: letters, digits and ._- only.' },
  INVALID_MAX_WAIT: { status: 400, retryable: false, message: 'maxWaitSeconds must be a whole number of seconds between 30 and 86400.' },
  INVALID_SCHEDULE: { status: 400, retryable: false, message: 'The scheduled time must be an ISO 8601 time with an offset, in the future and within the scheduling horizon.' },
  MALFORMED_JSON: { status: 400, retryable: false, message: 'The request body is not valid JSON.' },
  MALFORMED_REQUEST: { status: 400, retryable: false, message: 'The request is not valid HTTP.' },
  REQUEST_TIMEOUT: { status: 408, retryable: true, message: 'The request was not received in time.' },
  HEADERS_TOO_LARGE: { status: 431, retryable: false, message: 'The request line and headers are too large.' },
  UNAUTHENTICATED: { status: 401, retryable: false, message: 'A valid API key is required: Authorization: Bearer <key>.' },
  CALLBACK_NOT_FOUND: { status: 404, retryable: false, message: 'No callback with this id.' },
  CALL_CENTER_NOT_FOUND: { status: 404, retryable: false, message: 'No call center with this name or alias for this API key.' },
  CALL_CENTER_ROUTE_NOT_FOUND: { status: 422, retryable: false, message: 'The call center has no route with this name.' },
  CALL_CENTER_EXISTS: { status: 409, retryable: false, message: 'The name or an alias already names a call center of this API key.' },
  TOO_MANY_CALL_CENTERS: { status: 422, retryable: false, message: 'This API key has as many call centers as it may keep.' },
  CALL_CENTER_CLOSED: { status: 422, retryable: false, message: 'The call center is closed at that time (or outside the caller window); details give the next opening.' },
  CALLBACK_STARTED: { status: 409, retryable: false, message: 'The callback has started; it can no longer be rescheduled.' },
  INVALID_HOURS: { status: 400, retryable: false, message: 'The business hours are not valid.' },
  INVALID_TIME_ZONE: { status: 400, retryable: false, message: 'The time zone is not an IANA time zone.' },
  SWITCH_NOT_FOUND: { status: 404, retryable: false, message: 'No switch with this id in ESL_URL.' },
  ROUTE_NOT_FOUND: { status: 404, retryable: false, message: 'No such route.' },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false, message: 'This route does not support this method.' },
  CALLBACK_FINISHED: { status: 409, retryable: false, message: 'The callback has already finished.' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, retryable: false, message: 'This Idempotency-Key was used with a different request body.' },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, retryable: false, message: 'A request with this Idempotency-Key is still being processed.' },
  INVALID_IDEMPOTENCY_KEY: { status: 400, retryable: false, message: 'The Idempotency-Key must be 1-255 printable ASCII characters.' },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, message: 'The request body must be application/json.' },
  DESTINATION_NOT_ALLOWED: { status: 422, retryable: false, message: 'The destination is not allowed by the toll-fraud policy.' },
  PREMIUM_RATE_DENIED: { status: 422, retryable: false, message: 'Premium-rate and shared-cost numbers cannot be called.' },
  CALLER_ID_NOT_ALLOWED: { status: 422, retryable: false, message: 'This API key may not present this caller id.' },
  SIP_DOMAIN_NOT_ALLOWED: { status: 422, retryable: false, message: 'The SIP URI names a host that is not in the allowed SIP domains.' },
  WEBHOOK_URL_NOT_ALLOWED: { status: 422, retryable: false, message: 'The webhook URL resolves to an address that is not allowed.' },
  RATE_LIMITED: { status: 429, retryable: true, message: 'Too many requests; retry later.' },
  DESTINATION_RATE_LIMITED: { status: 429, retryable: true, message: 'Too many callbacks to this destination; retry later.' },
  DAILY_QUOTA_EXCEEDED: { status: 429, retryable: true, message: 'This API key has used its callbacks for today.' },
  QUEUE_PROVIDER_FAILED: { status: 502, retryable: true, message: 'The call center\'s queue provider did not give a usable answer.' },
  SWITCH_UNAVAILABLE: { status: 503, retryable: true, message: 'The telephone switch is not reachable.' },
  SWITCH_TIMEOUT: { status: 503, retryable: true, message: 'The telephone switch did not answer in time.' },
  SWITCH_COMMAND_FAILED: { status: 502, retryable: true, message: 'The telephone switch refused a command.' },
  STORE_UNAVAILABLE: { status: 503, retryable: true, message: 'The data store is not reachable.' },
  PROFILE_NOT_FOUND: { status: 404, retryable: false, message: 'This user has no inbound profile.' },
  VOICEMAIL_NOT_FOUND: { status: 404, retryable: false, message: 'No voicemail with this id for this user.' },
  MEDIA_LINK_INVALID: { status: 404, retryable: false, message: 'The media link is invalid or has expired.' },
  NUMBER_TAKEN: { status: 409, retryable: false, message: 'This number already reaches a user of another account.' },
  PIN_REQUIRED: { status: 422, retryable: false, message: 'A number shared by several users needs a PIN on each of them.' },
  PIN_CONFLICT: { status: 409, retryable: false, message: 'Another user on a shared number has the same PIN.' },
  INTEREST_NOT_FOUND: { status: 404, retryable: false, message: 'No call-alert registration with this id.' },
  INVALID_INTEREST: { status: 400, retryable: false, message: 'The call-alert registration is not valid.' },
  TOO_MANY_INTERESTS: { status: 409, retryable: false, message: 'This user keeps as many call-alert registrations as one user may.' },
  LINE_CODE_INVALID: { status: 422, retryable: false, message: 'The code is wrong or has expired: ask for a new one.' },
  SMS_NOT_FOUND: { status: 404, retryable: false, message: 'No text message with this id (they are kept 7 days).' },
  INVALID_PROFILE: { status: 400, retryable: false, message: 'The inbound profile is not valid.' },
  SITE_NOT_FOUND: { status: 404, retryable: false, message: 'No site with this id or key.' },
  SITE_DISABLED: { status: 403, retryable: false, message: 'This site does not take callback requests at the moment.' },
  ORIGIN_NOT_ALLOWED: { status: 403, retryable: false, message: 'This page is not allowed to use this site key.' },
  CHALLENGE_FAILED: { status: 403, retryable: false, message: 'The proof-of-work is missing, wrong or expired; fetch a new challenge.' },
  CHALLENGE_REPLAYED: { status: 409, retryable: false, message: 'This proof-of-work was already used; fetch a new challenge.' },
  STATUS_TOKEN_INVALID: { status: 401, retryable: false, message: 'The status token is missing, wrong or expired.' },
  NUMBER_DO_NOT_CALL: { status: 422, retryable: false, message: 'This number is on the do-not-call list.' },
  OUTSIDE_BUSINESS_HOURS: { status: 422, retryable: false, message: 'The requested time is outside the business hours of the site.' },
  VISITOR_RATE_LIMITED: { status: 429, retryable: true, message: 'Too many callback requests from this address or for this number; retry later.' },
  SITE_DAILY_CAP_REACHED: { status: 429, retryable: true, message: 'This site has taken all its callback requests for today.' },
  INTERNAL: { status: 500, retryable: false, message: 'An internal error occurred.' },
  USER_NOT_FOUND: { status: 404, retryable: false, message: 'No user with this id.' },
  CONTACT_NOT_FOUND: { status: 404, retryable: false, message: 'No contact with this id.' },
  INVALID_ADDRESS: { status: 400, retryable: false, message: 'The e-mail address or XMPP address is not valid.' },
  LOGIN_NAME_TAKEN: { status: 409, retryable: false, message: 'Another record of this API key has this login name.' },
  DIRECTORY_FULL: { status: 409, retryable: false, message: 'This API key has as many users or contacts as it may have.' },
  ADDRESS_TAKEN: { status: 409, retryable: false, message: 'The address is verified for another user.' },
  ADDRESS_ALREADY_VERIFIED: { status: 409, retryable: false, message: 'The address is already verified.' },
  ADDRESS_NOT_ON_USER: { status: 422, retryable: false, message: 'The user has no such address.' },
  VERIFICATION_FAILED: { status: 422, retryable: false, message: 'The verification code is wrong, expired or used up.' },
  VERIFICATION_RATE_LIMITED: { status: 429, retryable: true, message: 'Too many verification codes sent to this address; retry later.' },
  VERIFICATION_UNAVAILABLE: { status: 503, retryable: true, message: 'No channel can deliver a verification code to this address now.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ErrorDetail {
  /** JSON pointer (or field path) of the offending input, when there is one. */
  path?: string;
  message: string;
  /** The names that do exist, when a name was not found (call centers, routes). */
  known?: string[];
  /** When a closed call center (or the caller's window) next opens, ISO 8601 UTC. */
  nextOpenAt?: string;
}

/** Base class for every error Crossline raises on purpose. */
export class CrosslineError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: ErrorDetail[];
  /** For 429s: seconds until a retry may succeed, sent as Retry-After. */
  readonly retryAfterSec: number | undefined;

  constructor(code: ErrorCode, message?: string, details: ErrorDetail[] = [], options?: { cause?: unknown; retryAfterSec?: number }) {
    super(message ?? ERROR_CATALOGUE[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CrosslineError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.retryable = ERROR_CATALOGUE[code].retryable;
    this.details = details;
    this.retryAfterSec = options?.retryAfterSec;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export function isCrosslineError(err: unknown): err is CrosslineError {
  return err instanceof CrosslineError;
}
