/**
 * A third-party ACD that answers `GET <url>` with `{waiting, agentsAvailable, expectedWaitSeconds}`
 * (optionally `agentsBusy`, `oldestWaitSeconds`). The URL is the call center's, so it gets the
 * webhooks' SSRF rules: the address connected to must be public (checked in the socket's lookup,
 * so DNS rebinding cannot slip past), redirects are not followed, the answer must come within the
 * timeout and be small, and anything that is not that JSON is QUEUE_PROVIDER_FAILED.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { CrosslineError } from '../../errors.js';
import { hostOf, isAllowedAddress } from '../../notify/url-guard.js';
import type { QueueProvider, QueueSnapshot, QueueSource } from '../types.js';

export interface HttpQueueProviderOptions {
  /** The guarded lookup (src/notify/url-guard.ts createGuardedLookup) for host names. */
  lookup: net.LookupFunction;
  /** Whether an IP-literal host may be private (the lookup decides for names). @defaultValue false */
  allowPrivate?: boolean;
  /** Whole request, connect to last byte, ms. @defaultValue 3000 */
  timeoutMs?: number;
  /** Larger answers are refused. @defaultValue 16384 */
  maxBytes?: number;
}

const failed = (url: URL, why: string): CrosslineError =>
  new CrosslineError('QUEUE_PROVIDER_FAILED', `The queue provider at ${url.host} ${why}.`, [{ message: why }]);

const count = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 1_000_000;
const seconds = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 31 * 86400;

/** The provider's JSON, checked field by field; throws QUEUE_PROVIDER_FAILED. */
export function parseProviderAnswer(url: URL, text: string): QueueSnapshot {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw failed(url, 'answered something that is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw failed(url, 'answered JSON that is not an object');
  const o = body as Record<string, unknown>;
  if (!count(o.waiting)) throw failed(url, 'gave no valid `waiting` (a whole number ≥ 0)');
  if (!count(o.agentsAvailable)) throw failed(url, 'gave no valid `agentsAvailable` (a whole number ≥ 0)');
  if (o.expectedWaitSeconds !== undefined && o.expectedWaitSeconds !== null && !seconds(o.expectedWaitSeconds)) {
    throw failed(url, 'gave an `expectedWaitSeconds` that is not a number of seconds between 0 and 31 days');
  }
  if (o.agentsBusy !== undefined && !count(o.agentsBusy)) throw failed(url, 'gave an `agentsBusy` that is not a whole number ≥ 0');
  if (o.oldestWaitSeconds !== undefined && !seconds(o.oldestWaitSeconds)) throw failed(url, 'gave an `oldestWaitSeconds` that is not a number of seconds');
  return {
    waiting: o.waiting,
    agentsAvailable: o.agentsAvailable,
    ...(count(o.agentsBusy) ? { agentsBusy: o.agentsBusy } : {}),
    ...(seconds(o.oldestWaitSeconds) ? { oldestWaitSeconds: Math.round(o.oldestWaitSeconds) } : {}),
    ...(seconds(o.expectedWaitSeconds) ? { providerExpectedWaitSeconds: Math.round(o.expectedWaitSeconds) } : {}),
  };
}

export class HttpQueueProvider implements QueueProvider {
  private readonly timeoutMs: number;
  private readonly maxBytes: number;

  constructor(private readonly options: HttpQueueProviderOptions) {
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.maxBytes = options.maxBytes ?? 16384;
  }

  snapshot(source: QueueSource): Promise<QueueSnapshot | undefined> {
    if (source.type !== 'http') return Promise.resolve(undefined);
    let url: URL;
    try {
      url = new URL(source.url);
    } catch {
      return Promise.reject(new CrosslineError('QUEUE_PROVIDER_FAILED', 'The queue provider URL is not a URL.'));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(failed(url, 'is not http(s)'));
    // An IP literal is connected to without a lookup: checked here instead.
    const host = hostOf(url);
    if (net.isIP(host) !== 0 && !isAllowedAddress(host, this.options.allowPrivate ?? false)) {
      return Promise.reject(failed(url, 'resolves to an address that is not allowed (private, loopback or link-local)'));
    }
    const client = url.protocol === 'https:' ? https : http;
    return new Promise<QueueSnapshot>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const req = client.request(
        url,
        { method: 'GET', headers: { accept: 'application/json', 'user-agent': 'Crossline queue lookup' }, lookup: this.options.lookup },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 300 && status < 400) {
            res.resume();
            settle(() => reject(failed(url, `redirected (${status}); redirects are not followed`)));
            return;
          }
          if (status !== 200) {
            res.resume();
            settle(() => reject(failed(url, `answered HTTP ${status}`)));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.maxBytes) {
              req.destroy();
              settle(() => reject(failed(url, `answered more than ${this.maxBytes} bytes`)));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => settle(() => {
            try {
              resolve(parseProviderAnswer(url, Buffer.concat(chunks).toString('utf8')));
            } catch (err) {
              reject(err);
            }
          }));
          res.on('error', () => settle(() => reject(failed(url, 'broke off its answer'))));
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        settle(() => reject(failed(url, `did not answer within ${this.timeoutMs} ms`)));
      }, this.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        // The guarded lookup refuses private addresses with WEBHOOK_URL_NOT_ALLOWED.
        const why = err instanceof CrosslineError ? 'resolves to an address that is not allowed (private, loopback or link-local)' : `could not be reached (${err.code ?? 'error'})`;
        settle(() => reject(failed(url, why)));
      });
      req.end();
    });
  }
}
