import { resolve as resolvePath } from 'node:path';
import { createHash } from 'node:crypto';
import Ajv from 'ajv';
import ipaddr from 'ipaddr.js';
import { parseSwitchList } from '../switches/addresses.js';

/** One entry of ALLOWED_SIP_DOMAINS: a host SIP URIs may name, optionally with the one port allowed. */
export interface SipDomainRule {
  /** Lower-case host name or dotted-quad IPv4 address. */
  host: string;
  /** `*.example.com`: any subdomain of `host` (not `host` itself, and never an IP address). */
  subdomains: boolean;
  /** Only this port; undefined allows any. */
  port?: number;
}

/** One caller id an API key may present: an E.164 number, or every number under an E.164 prefix. */
export interface CallerIdRule {
  /** `+12025550100`, or `+1202555` when `prefix`. */
  number: string;
  prefix: boolean;
}

/** Caller ids per API key id ({@link apiKeyId}); the entry `*` applies to every key. */
export type CallerIdPolicy = Readonly<Record<string, readonly CallerIdRule[]>>;

/**
 * The stable id of an API key: the first 16 hex digits of its SHA-256. It is what the store keeps
 * as a callback's owner, what logs show, and how CALLER_IDS names a key without repeating it.
 */
export function apiKeyId(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 16);
}

/** E-mail and XMPP channels and intake. */
export interface MessagingConfig {
  /** Crossline's own mailbox: the From of its e-mail (EMAIL_ADDRESS). @defaultValue 'crossline@localhost' */
  emailAddress: string;
  /** SMTP intake on (SMTP_ENABLED). @defaultValue true */
  smtpEnabled: boolean;
  /**
   * SMTP intake port (SMTP_PORT); undefined: 2525, and a port already in use there only logs a
   * warning (a second local instance), where an explicit port in use stops the boot. @defaultValue undefined (2525)
   */
  smtpPort: number | undefined;
  /** SMTP intake address (SMTP_HOST). @defaultValue '127.0.0.1' */
  smtpHost: string;
  /** Largest e-mail accepted, bytes (SMTP_MAX_BYTES; also POST /v1/inbound/email). @defaultValue 10485760 */
  smtpMaxBytes: number;
  /** Recipients per e-mail (SMTP_MAX_RECIPIENTS). @defaultValue 10 */
  smtpMaxRecipients: number;
  /** PEM key and certificate for STARTTLS (SMTP_TLS_KEY, SMTP_TLS_CERT); both or neither. @defaultValue undefined */
  smtpTlsKey: string | undefined;
  smtpTlsCert: string | undefined;
  /**
   * SMTP clients (IP addresses) whose mail counts as authenticated without DKIM/SPF, like an MTA's
   * own networks (SMTP_TRUSTED_CLIENTS): your inbound mail server once it has checked DMARC, or
   * 127.0.0.1 to try Crossline locally. @defaultValue [] (every message is checked)
   */
  smtpTrustedClients: string[];
  /** Outbound e-mail relay, `smtp://user:pass@host:587` (SMTP_RELAY_URL); unset: the local outbox. @defaultValue undefined */
  smtpRelayUrl: string | undefined;
  /** XMPP server of the bot, `xmpp://host:5222` or `xmpps://host:5223` (XMPP_URL); unset: IM off. @defaultValue undefined */
  xmppUrl: string | undefined;
  /** The bot's JID and password (XMPP_JID, XMPP_PASSWORD). @defaultValue undefined */
  xmppJid: string | undefined;
  xmppPassword: string | undefined;
  /**
   * Messages one address may send per minute before the channels drop them unread, with one notice
   * (INTAKE_FLOOD_PER_MINUTE); the conversation's own, lower limit is MESSAGES_PER_SENDER_PER_MINUTE. @defaultValue 60
   */
  floodPerMinute: number;
  /** Send attempts per outbound message (MESSAGE_MAX_ATTEMPTS). @defaultValue 8 */
  messageMaxAttempts: number;
  /** Text messages over SMPP (SMPP_URL and the SMPP_* keys); undefined: SMS off. @defaultValue undefined */
  sms: SmsConfig | undefined;
}

/** The SMS channel's SMSC account (src/channels/sms). */
export interface SmsConfig {
  /** From SMPP_URL `smpp://system_id:password@host:port` (`ssmpp://`: TLS). Never logged. */
  host: string;
  /** @defaultValue 2775 (smpp), 3550 (ssmpp) */
  port: number;
  tls: boolean;
  systemId: string;
  password: string;
  /** SMPP_SYSTEM_TYPE. @defaultValue '' */
  systemType: string;
  /** SMPP_SOURCE_ADDR: the number, short code or alphanumeric sender id messages come from (required with SMPP_URL). */
  sourceAddr: string;
  /** SMPP_SOURCE_TON / SMPP_SOURCE_NPI. @defaultValue from the address: +E.164 1/1, short code 3/0, alphanumeric 5/0 */
  sourceTon: number;
  sourceNpi: number;
  /** submit_sm per second across all processes (SMPP_RATE_PER_SECOND). @defaultValue 10 */
  ratePerSecond: number;
  /** Parts one message may take; longer texts are cut (SMPP_MAX_PARTS). @defaultValue 6 */
  maxParts: number;
  /** How long parts are joined: 'udh' (header in the message) or 'sar' (TLVs; the SMSC builds the header) (SMPP_CONCAT). @defaultValue 'udh' */
  concat: 'udh' | 'sar';
  /** enquire_link interval, s (SMPP_ENQUIRE_LINK_SEC). @defaultValue 30 */
  enquireLinkSec: number;
}

/**
 * Crossline's configuration: read once from the environment at boot, validated, frozen and
 * passed in. Nothing below `src/config` reads `process.env`.
 */
export interface Config {
  /** HTTP listen port. @defaultValue 8080 */
  port: number;
  /** HTTP listen address. @defaultValue '0.0.0.0' */
  host: string;
  /** API keys accepted as `Authorization: Bearer <key>`. Empty only in the embedded default, which makes one. */
  apiKeys: string[];
  /**
   * Redis URL: one node `redis://host:6379` (`rediss://` for TLS), or a Redis Cluster
   * `redis+cluster://[user:password@]host:port,host:port` (seed nodes; `rediss+cluster://` for TLS).
   * undefined means "use 127.0.0.1:6379 if it answers, else spawn redis-server". @defaultValue undefined
   */
  redisUrl: string | undefined;
  /** Prefix of every Redis key and BullMQ queue. @defaultValue 'crossline' */
  keyPrefix: string;
  /**
   * FreeSWITCH inbound ESL, `esl://:password@host:port`, or a pool of switches: a comma-separated
   * list, each optionally named (`esl://:pw@fs1:8021#fs1`); undefined starts the in-process
   * simulator. @defaultValue undefined
   */
  eslUrl: string | undefined;
  /**
   * Switch ids (a URL's `#name`, else `host_port`) drained at boot: no new legs go there, its live
   * calls finish (DRAINED_SWITCHES). @defaultValue []
   */
  drainedSwitches: string[];
  /**
   * How long a switch of the pool may be unreachable before its attempts that have not bridged are
   * failed (retryable) and retried on another switch, ms (SWITCH_LOST_AFTER_MS). @defaultValue 10000
   */
  switchLostAfterMs: number;
  /** Timeout of one ESL api/bgapi acknowledgement, ms. @defaultValue 5000 */
  eslApiTimeoutMs: number;
  /**
   * The switch's originate budget, shared by every worker through Redis (src/switches): each limit
   * is tightened by what the switch reports (the smaller applies).
   */
  switchBudget: {
    /** Sessions the switch may create per second; FreeSWITCH's `sessions-per-second`. @defaultValue 30 */
    maxSessionsPerSecond: number;
    /** Sessions up at once; FreeSWITCH's `max-sessions`. @defaultValue 1000 */
    maxSessions: number;
    /** Sessions one leg takes on the switch: 2 when the far end is a phone on the same switch (the test switch). @defaultValue 1 */
    sessionsPerLeg: number;
    /** No new leg while this process's ESL reply time (p90, ms) is above this. @defaultValue 1000 */
    slowReplyMs: number;
    /** No new leg while the switch reports less idle CPU (%) than this; 0: no check. @defaultValue 0 */
    minIdleCpu: number;
  };
  /** Region for national-format numbers (ISO 3166 alpha-2). @defaultValue 'US' */
  defaultRegion: string;
  /** Countries destinations may be in. @defaultValue [defaultRegion] */
  allowedCountries: string[];
  /** E.164 prefixes (with '+') always refused, checked before the allow rules. @defaultValue [] */
  deniedPrefixes: string[];
  /** E.164 prefixes allowed even outside allowedCountries. @defaultValue [] */
  allowedPrefixes: string[];
  /**
   * Hosts SIP URIs may name: `example.com`, `*.example.com`, an IPv4 address, each with an
   * optional `:port`. IP addresses are only reachable when listed here. @defaultValue [] (SIP refused)
   */
  allowedSipDomains: SipDomainRule[];
  /** FreeSWITCH gateway that numbers are dialled through: sofia/gateway/<gateway>/<number>. @defaultValue 'default' */
  dialGateway: string;
  /** Number format handed to the gateway: 'e164' (+12025550100) or 'digits' (12025550100). @defaultValue 'e164' */
  dialNumberFormat: 'e164' | 'digits';
  /** Sofia profile SIP URIs are dialled through: sofia/<profile>/<uri>. @defaultValue 'external' */
  sipProfile: string;
  /**
   * Caller ids each API key may put in `callerId`, by key id: `CALLER_IDS="<key id>=+12025550100,+1202555*;*=+18005550100"`
   * (`*` after digits: a prefix; key id `*`: every key). A key with no entry may present none. @defaultValue {}
   */
  callerIds: CallerIdPolicy;
  /** Caller id presented when a request gives none (E.164). @defaultValue undefined (switch default) */
  defaultCallerId: string | undefined;
  /** Ring timeout when the request gives none, s. @defaultValue 30 */
  defaultRingTimeoutSec: number;
  /** Attempts when the request gives no retry policy. @defaultValue 3 */
  defaultMaxAttempts: number;
  /** Delay between attempts when the request gives none, s. @defaultValue 60 */
  defaultRetryDelaySec: number;
  /** How far ahead a callback may be scheduled, days. @defaultValue 30 */
  maxScheduleDays: number;
  /** TTS engine and voice for announcements (FreeSWITCH `speak` app). @defaultValue 'flite', 'kal' */
  ttsEngine: string;
  ttsVoice: string;
  /** What the callee hears when the caller never answers. */
  callerNoAnswerMessage: string;
  /** What the caller hears when the callee cannot be reached (caller-first order). */
  calleeUnavailableMessage: string;
  /**
   * Keep-your-place: what the agent who picked a kept place up hears while the caller rings;
   * `{caller}` becomes the caller's name. @defaultValue 'Connecting you to {caller}.'
   */
  agentConnectingMessage: string;
  /** Shared secret that signs webhooks (HMAC-SHA256). Generated at boot when unset, and logged as such. */
  webhookSecret: string | undefined;
  /** Allow webhook URLs that resolve to loopback/private/link-local addresses. @defaultValue false */
  webhookAllowPrivate: boolean;
  /** Webhook HTTP timeout, ms. @defaultValue 5000 */
  webhookTimeoutMs: number;
  /** Webhook delivery attempts. @defaultValue 8 */
  webhookMaxAttempts: number;
  /** Requests per minute per API key. @defaultValue 120 */
  rateLimitPerMinute: number;
  /** Callbacks accepted per destination (number or SIP URI, either leg) per hour, across API keys. @defaultValue 10 */
  destinationCallbacksPerHour: number;
  /** Unfinished callbacks per destination at once, across API keys. @defaultValue 2 */
  destinationMaxActive: number;
  /** Destinations the two limits above skip: E.164 prefixes and SIP URIs (your own lines). @defaultValue [] */
  destinationLimitExempt: string[];
  /** Callbacks accepted per API key per day. @defaultValue 5000 */
  keyCallbacksPerDay: number;
  /** Failed authentications per minute per client address before the address is refused. @defaultValue 20 */
  authFailuresPerMinute: number;
  /**
   * Which proxies to believe about the client address (Express `trust proxy`): false, a hop count,
   * or addresses/CIDRs. The address is what failed authentications are counted by. @defaultValue false
   */
  trustProxy: boolean | number | string[];
  /**
   * Bearer token of the operator's endpoints: GET /metrics, and the details of GET /readyz.
   * Unset: /metrics is refused and /readyz shows the status only. @defaultValue undefined
   */
  opsToken: string | undefined;
  /**
   * `user:password` the switch's mod_json_cdr sends as HTTP Basic credentials to
   * `POST /v1/switch/cdr` (its `cred` parameter, word for word). Unset: the endpoint is off (404).
   * @defaultValue undefined
   */
  cdrCredentials: string | undefined;
  /** CDR posts per minute the switch may make (counted per CDR user, across API processes). @defaultValue 60000 */
  cdrRateLimitPerMinute: number;
  /** How long a client may take to send the request headers, ms. @defaultValue 10000 */
  httpHeadersTimeoutMs: number;
  /** How long a client may take to send the whole request, ms (a stalled upload is cut off). @defaultValue 30000 */
  httpRequestTimeoutMs: number;
  /** How long a callback is kept once completed, failed or canceled, days. @defaultValue 30 */
  callbackRetentionDays: number;
  /** How long idempotency keys are kept, s. @defaultValue 86400 */
  idempotencyTtlSec: number;
  /** Concurrent callbacks one worker process drives. @defaultValue 50 */
  workerConcurrency: number;
  /** BullMQ job lock, ms: how soon a crashed worker's callback is taken over. @defaultValue 30000 */
  jobLockMs: number;
  /**
   * How often a bridged call's sleeping job wakes to ask the switch whether both parties are still
   * on (it records an end no worker heard), ms. @defaultValue 30000
   */
  callEndReconcileMs: number;
  /**
   * A maxWaitSeconds callback held for an agent looks at its call center's queue again after at
   * least / at most this long, ms (sooner as the expected wait nears what the caller accepts).
   * @defaultValue 5000 / 60000
   */
  agentWaitRecheckMinMs: number;
  agentWaitRecheckMaxMs: number;
  /**
   * Longest a callback is held for an agent before it fails (ALLOTTED_TIMEOUT), minutes; also the
   * longest a kept place waits in its queue without an agent. @defaultValue 240
   */
  agentWaitMaxHoldMinutes: number;
  /**
   * Keep-your-place: how often a place waiting in its queue is looked at, ms (an agent picking it up
   * wakes it at once; this catches what was not heard). @defaultValue 15000
   */
  keepPlaceRecheckMs: number;
  /** Keep-your-place: how long the queue has to take the call-center leg once it answered, ms. @defaultValue 10000 */
  keepPlaceJoinTimeoutMs: number;
  /** Handle time a call-center queue's expected wait assumes before Crossline has seen a call end, s. @defaultValue 300 */
  queueDefaultHandleSeconds: number;
  /** How long a call center's HTTP queue provider has to answer, ms. @defaultValue 3000 */
  queueProviderTimeoutMs: number;
  /** Simulator time scale for the embedded default (0.1 = ten times faster). @defaultValue 1 */
  simulatorTimeScale: number;
  /** Calls to IM users (src/inbound): the outbound-socket server, media files and links, limits. */
  inbound: InboundConfig;
  /** Messaging (e-mail and IM intake, status messages): see src/channels and src/intake. */
  messaging: MessagingConfig;
  /**
   * Signs the widget's proof-of-work challenges and live-status tokens; every API process must
   * share it. undefined: one is generated per process (fine for one process). @defaultValue undefined
   */
  widgetSecret: string | undefined;
  /** How hard the widget's proof-of-work is: the largest number a visitor's browser may have to try. @defaultValue 50000 */
  widgetChallengeMaxNumber: number;
  /** Widget submissions accepted per client address per hour, across sites. @defaultValue 10 */
  widgetPerIpPerHour: number;
  /** Widget submissions accepted per visitor number per day, across sites and addresses. @defaultValue 3 */
  widgetPerNumberPerDay: number;
  /** How long a widget's live-status token may be used, seconds. @defaultValue 3600 */
  widgetStatusTokenTtlSec: number;
  /** Serve /demo with a demo site (on by default only with the embedded simulator). @defaultValue 'auto' */
  widgetDemo: 'auto' | 'on' | 'off';
  /** pino level. @defaultValue 'info' */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Messages one sender may send the messaging intake per minute; more get one "slow down" reply, then silence. @defaultValue 10 */
  messagesPerSenderPerMinute: number;
  /** How long a messaging conversation (pending choice, last callback) is kept after its last message, minutes. @defaultValue 60 */
  conversationTtlMinutes: number;
  /** How long a verification code is valid, minutes. @defaultValue 15 */
  verificationCodeTtlMinutes: number;
  /** Wrong answers to one verification code before it is void. @defaultValue 5 */
  verificationMaxAttempts: number;
}

export interface InboundConfig {
  /** INBOUND_SOCKET_PORT: where FreeSWITCH's `socket <host:port> async full` connects; undefined: no inbound calls. @defaultValue undefined */
  socketPort: number | undefined;
  /** INBOUND_SOCKET_HOST. @defaultValue '127.0.0.1' */
  socketHost: string;
  /** MEDIA_DIR: where the switch writes voicemails and faxes and Crossline serves them (same host or a shared mount). @defaultValue 'var/media' (absolute from the working directory) */
  mediaDir: string;
  /** MEDIA_URL_SECRET: signs voicemail links (≥ 32 characters); required with INBOUND_SOCKET_PORT. */
  mediaUrlSecret: string | undefined;
  /** PUBLIC_BASE_URL: the API's address as users reach it, for links. @defaultValue `http://127.0.0.1:<PORT>` */
  publicBaseUrl: string;
  /** MEDIA_LINK_TTL_SEC: how long a voicemail link works. @defaultValue 604800 (7 days) */
  mediaLinkTtlSec: number;
  /** VOICEMAIL_MAX_SEC: longest voicemail. @defaultValue 180 */
  voicemailMaxSec: number;
  /** INBOUND_CALLS_PER_NUMBER_PER_MINUTE: more calls to one number get busy. @defaultValue 60 */
  callsPerNumberPerMinute: number;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
    HOST: { type: 'string', minLength: 1, default: '0.0.0.0' },
    API_KEYS: { type: 'string', default: '' },
    REDIS_URL: { type: 'string', pattern: '^(rediss?://.+|rediss?\\+cluster://([^@/,]*@)?[A-Za-z0-9.-]+:[0-9]{1,5}(,[A-Za-z0-9.-]+:[0-9]{1,5})*/?)$' },
    KEY_PREFIX: { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,31}$', default: 'crossline' },
    ESL_URL: { type: 'string', pattern: '^esl://' },
    DRAINED_SWITCHES: { type: 'string', default: '' },
    SWITCH_LOST_AFTER_MS: { type: 'integer', minimum: 1000, maximum: 600000, default: 10000 },
    ESL_API_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 120000, default: 5000 },
    SWITCH_MAX_SPS: { type: 'integer', minimum: 1, maximum: 100000, default: 30 },
    SWITCH_MAX_SESSIONS: { type: 'integer', minimum: 1, maximum: 1000000, default: 1000 },
    SWITCH_SESSIONS_PER_LEG: { type: 'integer', minimum: 1, maximum: 4, default: 1 },
    SWITCH_SLOW_REPLY_MS: { type: 'integer', minimum: 10, maximum: 120000, default: 1000 },
    SWITCH_MIN_IDLE_CPU: { type: 'number', minimum: 0, maximum: 100, default: 0 },
    DEFAULT_REGION: { type: 'string', pattern: '^[A-Z]{2}$', default: 'US' },
    ALLOWED_COUNTRIES: { type: 'string', pattern: '^([A-Z]{2}(,[A-Z]{2})*)?$' },
    DENIED_PREFIXES: { type: 'string', pattern: '^(\\+[0-9]{1,15}(,\\+[0-9]{1,15})*)?$', default: '' },
    ALLOWED_PREFIXES: { type: 'string', pattern: '^(\\+[0-9]{1,15}(,\\+[0-9]{1,15})*)?$', default: '' },
    ALLOWED_SIP_DOMAINS: { type: 'string', pattern: '^[A-Za-z0-9*.:, -]*$', default: '' },
    DIAL_GATEWAY: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$', default: 'default' },
    DIAL_NUMBER_FORMAT: { enum: ['e164', 'digits'], default: 'e164' },
    SIP_PROFILE: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$', default: 'external' },
    CALLER_IDS: { type: 'string', pattern: '^[0-9a-f*=+,; ]*$', default: '' },
    DEFAULT_CALLER_ID: { type: 'string', pattern: '^\\+[1-9][0-9]{6,14}$' },
    DEFAULT_RING_TIMEOUT: { type: 'integer', minimum: 5, maximum: 120, default: 30 },
    DEFAULT_MAX_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 10, default: 3 },
    DEFAULT_RETRY_DELAY: { type: 'integer', minimum: 0, maximum: 86400, default: 60 },
    MAX_SCHEDULE_DAYS: { type: 'integer', minimum: 1, maximum: 366, default: 30 },
    INBOUND_SOCKET_PORT: { type: 'integer', minimum: 0, maximum: 65535 },
    INBOUND_SOCKET_HOST: { type: 'string', pattern: '^[A-Za-z0-9.:-]{1,255}$', default: '127.0.0.1' },
    MEDIA_DIR: { type: 'string', minLength: 1, default: 'var/media' },
    MEDIA_URL_SECRET: { type: 'string', minLength: 32 },
    PUBLIC_BASE_URL: { type: 'string', pattern: '^https?://[^\\s]+$' },
    MEDIA_LINK_TTL_SEC: { type: 'integer', minimum: 60, maximum: 2592000, default: 604800 },
    VOICEMAIL_MAX_SEC: { type: 'integer', minimum: 10, maximum: 3600, default: 180 },
    INBOUND_CALLS_PER_NUMBER_PER_MINUTE: { type: 'integer', minimum: 1, maximum: 100000, default: 60 },
    TTS_ENGINE: { type: 'string', pattern: '^[a-z0-9_]{1,32}$', default: 'flite' },
    TTS_VOICE: { type: 'string', pattern: '^[a-z0-9_]{1,32}$', default: 'kal' },
    CALLER_NO_ANSWER_MESSAGE: {
      type: 'string',
      pattern: "^[A-Za-z0-9 .,'?!-]{1,200}$",
      default: 'Sorry, the person who asked for this call did not answer. We will try again later. Goodbye.',
    },
    AGENT_CONNECTING_MESSAGE: { type: 'string', pattern: "^[A-Za-z0-9 .,'?!{}-]{1,200}$", default: 'Connecting you to {caller}.' },
    CALLEE_UNAVAILABLE_MESSAGE: {
      type: 'string',
      pattern: "^[A-Za-z0-9 .,'?!-]{1,200}$",
      default: 'Sorry, the person you asked to be connected to could not be reached. We will try again later. Goodbye.',
    },
    WEBHOOK_SECRET: { type: 'string', minLength: 16 },
    WEBHOOK_ALLOW_PRIVATE: { enum: ['true', 'false', '1', '0'], default: 'false' },
    WEBHOOK_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 60000, default: 5000 },
    WEBHOOK_MAX_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 30, default: 8 },
    RATE_LIMIT_PER_MINUTE: { type: 'integer', minimum: 1, maximum: 1000000, default: 120 },
    DESTINATION_CALLBACKS_PER_HOUR: { type: 'integer', minimum: 1, maximum: 1000000, default: 10 },
    DESTINATION_MAX_ACTIVE: { type: 'integer', minimum: 1, maximum: 100000, default: 2 },
    DESTINATION_LIMIT_EXEMPT: {
      type: 'string',
      pattern: '^((\\+[0-9]{1,15}|sips?:[A-Za-z0-9._~+-]{1,64}@[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?)(, ?(\\+[0-9]{1,15}|sips?:[A-Za-z0-9._~+-]{1,64}@[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?))*)?$',
      default: '',
    },
    KEY_CALLBACKS_PER_DAY: { type: 'integer', minimum: 1, maximum: 100000000, default: 5000 },
    AUTH_FAILURES_PER_MINUTE: { type: 'integer', minimum: 1, maximum: 100000, default: 20 },
    TRUST_PROXY: { type: 'string', pattern: '^(true|false|[0-9]{1,2}|([0-9A-Fa-f.:/]+|loopback|linklocal|uniquelocal)(, ?([0-9A-Fa-f.:/]+|loopback|linklocal|uniquelocal))*)$', default: 'false' },
    OPS_TOKEN: { type: 'string', pattern: '^[!-~]{16,256}$' },
    CDR_CREDENTIALS: { type: 'string', pattern: '^[A-Za-z0-9._~-]{1,64}:[!-~]{16,256}$' },
    CDR_RATE_LIMIT_PER_MINUTE: { type: 'integer', minimum: 1, maximum: 10000000, default: 60000 },
    HTTP_HEADERS_TIMEOUT_MS: { type: 'integer', minimum: 1000, maximum: 600000, default: 10000 },
    HTTP_REQUEST_TIMEOUT_MS: { type: 'integer', minimum: 1000, maximum: 3600000, default: 30000 },
    CALLBACK_RETENTION_DAYS: { type: 'integer', minimum: 1, maximum: 3650, default: 30 },
    IDEMPOTENCY_TTL: { type: 'integer', minimum: 60, maximum: 604800, default: 86400 },
    WORKER_CONCURRENCY: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
    JOB_LOCK_MS: { type: 'integer', minimum: 1000, maximum: 600000, default: 30000 },
    CALL_END_RECONCILE_MS: { type: 'integer', minimum: 50, maximum: 3600000, default: 30000 },
    AGENT_WAIT_RECHECK_MIN_MS: { type: 'integer', minimum: 50, maximum: 600000, default: 5000 },
    AGENT_WAIT_RECHECK_MAX_MS: { type: 'integer', minimum: 50, maximum: 3600000, default: 60000 },
    AGENT_WAIT_MAX_HOLD_MINUTES: { type: 'integer', minimum: 1, maximum: 1440, default: 240 },
    KEEP_PLACE_RECHECK_MS: { type: 'integer', minimum: 100, maximum: 600000, default: 15000 },
    KEEP_PLACE_JOIN_TIMEOUT_MS: { type: 'integer', minimum: 500, maximum: 120000, default: 10000 },
    QUEUE_DEFAULT_HANDLE_SECONDS: { type: 'integer', minimum: 1, maximum: 86400, default: 300 },
    QUEUE_PROVIDER_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 30000, default: 3000 },
    SIMULATOR_TIME_SCALE: { type: 'number', exclusiveMinimum: 0, maximum: 100, default: 1 },
    EMAIL_ADDRESS: { type: 'string', pattern: '^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}$', default: 'crossline@localhost' },
    SMTP_ENABLED: { enum: ['true', 'false', '1', '0'], default: 'true' },
    SMTP_PORT: { type: 'integer', minimum: 0, maximum: 65535 },
    SMTP_HOST: { type: 'string', minLength: 1, default: '127.0.0.1' },
    SMTP_MAX_BYTES: { type: 'integer', minimum: 1024, maximum: 104857600, default: 10485760 },
    SMTP_MAX_RECIPIENTS: { type: 'integer', minimum: 1, maximum: 1000, default: 10 },
    SMTP_TLS_KEY: { type: 'string', minLength: 1 },
    SMTP_TLS_CERT: { type: 'string', minLength: 1 },
    SMTP_RELAY_URL: { type: 'string', pattern: '^smtps?://' },
    SMTP_TRUSTED_CLIENTS: { type: 'string', pattern: '^[0-9A-Fa-f.:, ]*$', default: '' },
    XMPP_URL: { type: 'string', pattern: '^xmpps?://[^/]+$' },
    XMPP_JID: { type: 'string', pattern: '^[^@/\\s]{1,64}@[A-Za-z0-9.-]{1,253}$' },
    XMPP_PASSWORD: { type: 'string', minLength: 1 },
    INTAKE_FLOOD_PER_MINUTE: { type: 'integer', minimum: 1, maximum: 100000, default: 60 },
    MESSAGE_MAX_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 30, default: 8 },
    SMPP_URL: { type: 'string', pattern: '^s?smpp://[^:@/\\s]{1,64}:[^@/\\s]{1,64}@[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?/?$' },
    SMPP_SYSTEM_TYPE: { type: 'string', pattern: '^[A-Za-z0-9_-]{0,12}$', default: '' },
    SMPP_SOURCE_ADDR: { type: 'string', pattern: '^(\\+[1-9][0-9]{6,14}|[0-9]{3,8}|[A-Za-z0-9][A-Za-z0-9 ._-]{0,10})$' },
    SMPP_SOURCE_TON: { type: 'integer', minimum: 0, maximum: 6 },
    SMPP_SOURCE_NPI: { type: 'integer', minimum: 0, maximum: 18 },
    SMPP_RATE_PER_SECOND: { type: 'integer', minimum: 1, maximum: 10000, default: 10 },
    SMPP_MAX_PARTS: { type: 'integer', minimum: 1, maximum: 255, default: 6 },
    SMPP_CONCAT: { enum: ['udh', 'sar'], default: 'udh' },
    SMPP_ENQUIRE_LINK_SEC: { type: 'integer', minimum: 5, maximum: 3600, default: 30 },
    WIDGET_SECRET: { type: 'string', pattern: '^[!-~]{16,256}$' },
    WIDGET_CHALLENGE_MAX_NUMBER: { type: 'integer', minimum: 1000, maximum: 10000000, default: 50000 },
    WIDGET_PER_IP_PER_HOUR: { type: 'integer', minimum: 1, maximum: 1000000, default: 10 },
    WIDGET_PER_NUMBER_PER_DAY: { type: 'integer', minimum: 1, maximum: 1000000, default: 3 },
    WIDGET_STATUS_TOKEN_TTL: { type: 'integer', minimum: 60, maximum: 86400, default: 3600 },
    WIDGET_DEMO: { enum: ['auto', 'on', 'off'], default: 'auto' },
    LOG_LEVEL: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
    MESSAGES_PER_SENDER_PER_MINUTE: { type: 'integer', minimum: 1, maximum: 10000, default: 10 },
    CONVERSATION_TTL_MINUTES: { type: 'integer', minimum: 1, maximum: 10080, default: 60 },
    VERIFICATION_CODE_TTL_MINUTES: { type: 'integer', minimum: 1, maximum: 1440, default: 15 },
    VERIFICATION_MAX_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 20, default: 5 },
  },
} as const;

const KNOWN_KEYS = Object.keys(schema.properties);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const list = (value: unknown): string[] =>
  typeof value === 'string' && value.length > 0 ? value.split(',').map((s) => s.trim()).filter(Boolean) : [];

const HOST_NAME = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** `host[:port]` or `*.domain[:port]`, as ALLOWED_SIP_DOMAINS lists them; throws ConfigError. */
export function parseSipDomains(entries: readonly string[]): SipDomainRule[] {
  return entries.map((entry) => {
    const match = /^(\*\.)?([^:]+)(?::([0-9]{1,5}))?$/.exec(entry.toLowerCase());
    const host = match?.[2] ?? '';
    const port = match?.[3] === undefined ? undefined : Number(match[3]);
    const isAddress = /^[0-9.]+$/.test(host);
    const valid =
      match !== null &&
      (isAddress ? ipaddr.IPv4.isValidFourPartDecimal(host) && match[1] === undefined : HOST_NAME.test(host)) &&
      (port === undefined || (port >= 1 && port <= 65535));
    if (match === null || !valid) throw new ConfigError([`ALLOWED_SIP_DOMAINS: "${entry}" is not host[:port], *.domain[:port] or an IPv4 address[:port]`]);
    return { host, subdomains: match[1] !== undefined, ...(port !== undefined ? { port } : {}) };
  });
}

const CALLER_ID_ENTRY = /^\+[1-9][0-9]{0,14}\*$|^\+[1-9][0-9]{6,14}$/;

function parseTrustProxy(text: string): Config['trustProxy'] {
  if (text === 'true' || text === 'false') return text === 'true';
  return /^[0-9]+$/.test(text) ? Number(text) : list(text);
}

/**
 * `<key id>=<number>,<prefix>*;*=<number>` into a policy. A key id that no configured API key has
 * is refused (a typo would silently allow nothing); throws ConfigError.
 */
export function parseCallerIds(text: string, apiKeys: readonly string[]): CallerIdPolicy {
  const known = new Set(apiKeys.map(apiKeyId));
  const policy: Record<string, CallerIdRule[]> = {};
  const problems: string[] = [];
  for (const group of text.split(';').map((g) => g.trim()).filter(Boolean)) {
    const [owner = '', numbers = '', ...rest] = group.split('=').map((s) => s.trim());
    if (rest.length > 0 || !/^(\*|[0-9a-f]{16})$/.test(owner)) {
      problems.push(`CALLER_IDS: "${group}" is not <key id (16 hex digits) or *>=<numbers>`);
      continue;
    }
    if (owner !== '*' && apiKeys.length > 0 && !known.has(owner)) problems.push(`CALLER_IDS: ${owner} is not the id of any API_KEYS entry`);
    const rules = list(numbers).map((n): CallerIdRule | undefined =>
      CALLER_ID_ENTRY.test(n) ? { number: n.replace('*', ''), prefix: n.endsWith('*') } : undefined,
    );
    if (rules.length === 0 || rules.includes(undefined)) problems.push(`CALLER_IDS: "${numbers}" must be E.164 numbers or prefixes ending in *`);
    policy[owner] = [...(policy[owner] ?? []), ...rules.filter((r): r is CallerIdRule => r !== undefined)];
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(policy);
}

/** SMPP_URL and the SMPP_* keys; undefined when SMPP_URL is unset (SMS off). Throws ConfigError. */
function parseSmsConfig(v: Record<string, string | number | undefined>): SmsConfig | undefined {
  if (v.SMPP_URL === undefined) return undefined;
  if (v.SMPP_SOURCE_ADDR === undefined) throw new ConfigError(['SMPP_SOURCE_ADDR: required with SMPP_URL (the number or sender id text messages come from)']);
  const url = new URL(String(v.SMPP_URL));
  const tls = url.protocol === 'ssmpp:';
  const sourceAddr = String(v.SMPP_SOURCE_ADDR);
  // TON/NPI by the kind of address (SMPP 3.4 §5.2.5/5.2.6): international, network-specific short code, alphanumeric.
  const [ton, npi] = sourceAddr.startsWith('+') ? [1, 1] : /^[0-9]+$/.test(sourceAddr) ? [3, 0] : [5, 0];
  return {
    host: url.hostname,
    port: url.port === '' ? (tls ? 3550 : 2775) : Number(url.port),
    tls,
    systemId: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    systemType: String(v.SMPP_SYSTEM_TYPE),
    sourceAddr,
    sourceTon: v.SMPP_SOURCE_TON === undefined ? ton : Number(v.SMPP_SOURCE_TON),
    sourceNpi: v.SMPP_SOURCE_NPI === undefined ? npi : Number(v.SMPP_SOURCE_NPI),
    ratePerSecond: Number(v.SMPP_RATE_PER_SECOND),
    maxParts: Number(v.SMPP_MAX_PARTS),
    concat: v.SMPP_CONCAT === 'sar' ? 'sar' : 'udh',
    enquireLinkSec: Number(v.SMPP_ENQUIRE_LINK_SEC),
  };
}

/**
 * Reads the known keys from `env`, coerces, validates and freezes them.
 * Unknown keys are ignored (the environment holds much else); invalid ones throw {@link ConfigError}.
 */
export function loadConfig(env: Record<string, string | undefined>, overrides: Partial<Config> = {}): Readonly<Config> {
  const raw: Record<string, unknown> = {};
  for (const key of KNOWN_KEYS) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true });
  const validate = ajv.compile(schema);
  if (!validate(raw)) {
    throw new ConfigError((validate.errors ?? []).map((e) => `${e.instancePath.slice(1) || 'config'}: ${e.message ?? 'invalid'}`));
  }
  const v = raw as Record<string, string | number | undefined>;
  if (Number(v.HTTP_HEADERS_TIMEOUT_MS) > Number(v.HTTP_REQUEST_TIMEOUT_MS)) {
    throw new ConfigError(['HTTP_HEADERS_TIMEOUT_MS: must not be more than HTTP_REQUEST_TIMEOUT_MS']);
  }
  if (v.INBOUND_SOCKET_PORT !== undefined && v.MEDIA_URL_SECRET === undefined) {
    throw new ConfigError(['MEDIA_URL_SECRET: required with INBOUND_SOCKET_PORT (it signs the voicemail links)']);
  }
  const drainedSwitches = list(v.DRAINED_SWITCHES);
  if (v.ESL_URL !== undefined) {
    let ids: string[];
    try {
      ids = parseSwitchList(String(v.ESL_URL)).map((s) => s.id);
    } catch (err) {
      throw new ConfigError([`ESL_URL: ${(err as Error).message}`]);
    }
    const unknown = drainedSwitches.filter((id) => !ids.includes(id));
    if (unknown.length > 0) throw new ConfigError([`DRAINED_SWITCHES: not in ESL_URL: ${unknown.join(', ')} (switch ids: ${ids.join(', ')})`]);
  }
  if ((v.SMTP_TLS_KEY === undefined) !== (v.SMTP_TLS_CERT === undefined)) throw new ConfigError(['SMTP_TLS_KEY, SMTP_TLS_CERT: set both (STARTTLS) or neither']);
  if (v.XMPP_URL !== undefined && (v.XMPP_JID === undefined || v.XMPP_PASSWORD === undefined)) throw new ConfigError(['XMPP_URL: needs XMPP_JID and XMPP_PASSWORD']);
  // Two tiers for one sender: the conversation answers "slow down" at its limit, the channels drop
  // silently above the flood limit. A flood limit below the conversation's would skip the answer.
  if (Number(v.INTAKE_FLOOD_PER_MINUTE) < Number(v.MESSAGES_PER_SENDER_PER_MINUTE)) {
    throw new ConfigError(['INTAKE_FLOOD_PER_MINUTE: must not be less than MESSAGES_PER_SENDER_PER_MINUTE (the sender would be dropped before being asked to slow down)']);
  }
  const opt = (value: string | number | undefined): string | undefined => (value === undefined ? undefined : String(value));
  const sms = parseSmsConfig(v);
  const messaging: MessagingConfig = {
    emailAddress: String(v.EMAIL_ADDRESS).toLowerCase(),
    smtpEnabled: v.SMTP_ENABLED === 'true' || v.SMTP_ENABLED === '1',
    smtpPort: v.SMTP_PORT === undefined ? undefined : Number(v.SMTP_PORT),
    smtpHost: String(v.SMTP_HOST),
    smtpMaxBytes: Number(v.SMTP_MAX_BYTES),
    smtpMaxRecipients: Number(v.SMTP_MAX_RECIPIENTS),
    smtpTlsKey: opt(v.SMTP_TLS_KEY),
    smtpTlsCert: opt(v.SMTP_TLS_CERT),
    smtpRelayUrl: opt(v.SMTP_RELAY_URL),
    smtpTrustedClients: list(v.SMTP_TRUSTED_CLIENTS),
    xmppUrl: opt(v.XMPP_URL),
    xmppJid: opt(v.XMPP_JID),
    xmppPassword: opt(v.XMPP_PASSWORD),
    floodPerMinute: Number(v.INTAKE_FLOOD_PER_MINUTE),
    messageMaxAttempts: Number(v.MESSAGE_MAX_ATTEMPTS),
    sms,
  };
  const defaultRegion = String(v.DEFAULT_REGION);
  const allowedCountries = list(v.ALLOWED_COUNTRIES);
  const config: Config = {
    port: Number(v.PORT),
    host: String(v.HOST),
    apiKeys: list(v.API_KEYS),
    redisUrl: v.REDIS_URL === undefined ? undefined : String(v.REDIS_URL),
    keyPrefix: String(v.KEY_PREFIX),
    eslUrl: v.ESL_URL === undefined ? undefined : String(v.ESL_URL),
    drainedSwitches,
    switchLostAfterMs: Number(v.SWITCH_LOST_AFTER_MS),
    eslApiTimeoutMs: Number(v.ESL_API_TIMEOUT_MS),
    switchBudget: {
      maxSessionsPerSecond: Number(v.SWITCH_MAX_SPS),
      maxSessions: Number(v.SWITCH_MAX_SESSIONS),
      sessionsPerLeg: Number(v.SWITCH_SESSIONS_PER_LEG),
      slowReplyMs: Number(v.SWITCH_SLOW_REPLY_MS),
      minIdleCpu: Number(v.SWITCH_MIN_IDLE_CPU),
    },
    defaultRegion,
    allowedCountries: allowedCountries.length > 0 ? allowedCountries : [defaultRegion],
    deniedPrefixes: list(v.DENIED_PREFIXES),
    allowedPrefixes: list(v.ALLOWED_PREFIXES),
    allowedSipDomains: parseSipDomains(list(v.ALLOWED_SIP_DOMAINS)),
    dialGateway: String(v.DIAL_GATEWAY),
    dialNumberFormat: v.DIAL_NUMBER_FORMAT === 'digits' ? 'digits' : 'e164',
    sipProfile: String(v.SIP_PROFILE),
    callerIds: parseCallerIds(String(v.CALLER_IDS), list(v.API_KEYS)),
    defaultCallerId: v.DEFAULT_CALLER_ID === undefined ? undefined : String(v.DEFAULT_CALLER_ID),
    defaultRingTimeoutSec: Number(v.DEFAULT_RING_TIMEOUT),
    defaultMaxAttempts: Number(v.DEFAULT_MAX_ATTEMPTS),
    defaultRetryDelaySec: Number(v.DEFAULT_RETRY_DELAY),
    maxScheduleDays: Number(v.MAX_SCHEDULE_DAYS),
    ttsEngine: String(v.TTS_ENGINE),
    ttsVoice: String(v.TTS_VOICE),
    callerNoAnswerMessage: String(v.CALLER_NO_ANSWER_MESSAGE),
    agentConnectingMessage: String(v.AGENT_CONNECTING_MESSAGE),
    calleeUnavailableMessage: String(v.CALLEE_UNAVAILABLE_MESSAGE),
    webhookSecret: v.WEBHOOK_SECRET === undefined ? undefined : String(v.WEBHOOK_SECRET),
    webhookAllowPrivate: v.WEBHOOK_ALLOW_PRIVATE === 'true' || v.WEBHOOK_ALLOW_PRIVATE === '1',
    webhookTimeoutMs: Number(v.WEBHOOK_TIMEOUT_MS),
    webhookMaxAttempts: Number(v.WEBHOOK_MAX_ATTEMPTS),
    rateLimitPerMinute: Number(v.RATE_LIMIT_PER_MINUTE),
    destinationCallbacksPerHour: Number(v.DESTINATION_CALLBACKS_PER_HOUR),
    destinationMaxActive: Number(v.DESTINATION_MAX_ACTIVE),
    destinationLimitExempt: list(v.DESTINATION_LIMIT_EXEMPT),
    keyCallbacksPerDay: Number(v.KEY_CALLBACKS_PER_DAY),
    authFailuresPerMinute: Number(v.AUTH_FAILURES_PER_MINUTE),
    trustProxy: parseTrustProxy(String(v.TRUST_PROXY)),
    opsToken: v.OPS_TOKEN === undefined ? undefined : String(v.OPS_TOKEN),
    cdrCredentials: v.CDR_CREDENTIALS === undefined ? undefined : String(v.CDR_CREDENTIALS),
    cdrRateLimitPerMinute: Number(v.CDR_RATE_LIMIT_PER_MINUTE),
    httpHeadersTimeoutMs: Number(v.HTTP_HEADERS_TIMEOUT_MS),
    httpRequestTimeoutMs: Number(v.HTTP_REQUEST_TIMEOUT_MS),
    callbackRetentionDays: Number(v.CALLBACK_RETENTION_DAYS),
    idempotencyTtlSec: Number(v.IDEMPOTENCY_TTL),
    workerConcurrency: Number(v.WORKER_CONCURRENCY),
    jobLockMs: Number(v.JOB_LOCK_MS),
    callEndReconcileMs: Number(v.CALL_END_RECONCILE_MS),
    agentWaitRecheckMinMs: Number(v.AGENT_WAIT_RECHECK_MIN_MS),
    agentWaitRecheckMaxMs: Math.max(Number(v.AGENT_WAIT_RECHECK_MIN_MS), Number(v.AGENT_WAIT_RECHECK_MAX_MS)),
    agentWaitMaxHoldMinutes: Number(v.AGENT_WAIT_MAX_HOLD_MINUTES),
    keepPlaceRecheckMs: Number(v.KEEP_PLACE_RECHECK_MS),
    keepPlaceJoinTimeoutMs: Number(v.KEEP_PLACE_JOIN_TIMEOUT_MS),
    queueDefaultHandleSeconds: Number(v.QUEUE_DEFAULT_HANDLE_SECONDS),
    queueProviderTimeoutMs: Number(v.QUEUE_PROVIDER_TIMEOUT_MS),
    simulatorTimeScale: Number(v.SIMULATOR_TIME_SCALE),
    inbound: {
      socketPort: v.INBOUND_SOCKET_PORT === undefined ? undefined : Number(v.INBOUND_SOCKET_PORT),
      socketHost: String(v.INBOUND_SOCKET_HOST),
      mediaDir: resolvePath(String(v.MEDIA_DIR)),
      mediaUrlSecret: v.MEDIA_URL_SECRET === undefined ? undefined : String(v.MEDIA_URL_SECRET),
      publicBaseUrl: v.PUBLIC_BASE_URL === undefined ? `http://127.0.0.1:${Number(v.PORT)}` : String(v.PUBLIC_BASE_URL),
      mediaLinkTtlSec: Number(v.MEDIA_LINK_TTL_SEC),
      voicemailMaxSec: Number(v.VOICEMAIL_MAX_SEC),
      callsPerNumberPerMinute: Number(v.INBOUND_CALLS_PER_NUMBER_PER_MINUTE),
    },
    messaging,
    widgetSecret: v.WIDGET_SECRET === undefined ? undefined : String(v.WIDGET_SECRET),
    widgetChallengeMaxNumber: Number(v.WIDGET_CHALLENGE_MAX_NUMBER),
    widgetPerIpPerHour: Number(v.WIDGET_PER_IP_PER_HOUR),
    widgetPerNumberPerDay: Number(v.WIDGET_PER_NUMBER_PER_DAY),
    widgetStatusTokenTtlSec: Number(v.WIDGET_STATUS_TOKEN_TTL),
    widgetDemo: v.WIDGET_DEMO as Config['widgetDemo'],
    logLevel: v.LOG_LEVEL as Config['logLevel'],
    messagesPerSenderPerMinute: Number(v.MESSAGES_PER_SENDER_PER_MINUTE),
    conversationTtlMinutes: Number(v.CONVERSATION_TTL_MINUTES),
    verificationCodeTtlMinutes: Number(v.VERIFICATION_CODE_TTL_MINUTES),
    verificationMaxAttempts: Number(v.VERIFICATION_MAX_ATTEMPTS),
    ...overrides,
  };
  return Object.freeze(config);
}

/** The environment keys Crossline reads, for the README table and for `--help`. */
export const CONFIG_KEYS: readonly string[] = KNOWN_KEYS;
