/**
 * A channel's failure to send, typed at the edge (SMTP reply codes, XMPP stream errors): whether a
 * later attempt may succeed, and how long to wait at least.
 */
export class ChannelSendError extends Error {
  constructor(
    message: string,
    /** 4xx SMTP replies, connection and timeout errors: true; 5xx replies, bad addresses: false. */
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ChannelSendError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
