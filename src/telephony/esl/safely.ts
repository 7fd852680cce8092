import type { Logger } from 'pino';

/** Debug logging only: the ESL modules report state through events and return values. */
export type EslLogger = Pick<Logger, 'debug' | 'warn'>;

/** Runs a listener or cleanup; what it throws is logged, not passed on. */
export type SafeCall = (fn: () => void) => void;

/**
 * Listeners run inside the socket's data handler (the frame parser): one that throws must not
 * break the parser, nor keep the listeners after it from running.
 */
export function safeCaller(logger: EslLogger | undefined): SafeCall {
  return (fn) => {
    try {
      fn();
    } catch (error) {
      logger?.warn({ err: error }, 'telephony listener threw');
    }
  };
}
