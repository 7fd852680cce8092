/**
 * mod_json_cdr's delivery, as its process_cdr does it: one POST per leg to `<url>?uuid=<uuid>`
 * with libcurl's headers (`user-agent: freeswitch-json/1.0`, `accept: *\/*`, and — because
 * disable-100-continue replaces the module's header list — libcurl's default
 * `content-type: application/x-www-form-urlencoded` over a raw JSON body), HTTP Basic from `cred`;
 * any 2xx ends it, anything else (or no answer) is tried again `retries` times, `delay` apart, and
 * then given up (the real module writes the record to its err-log-dir).
 */
import http from 'node:http';
import https from 'node:https';
import type { SimClock } from './clock.js';

export interface CdrPostOptions {
  /** mod_json_cdr's `url`. */
  url: string;
  /** mod_json_cdr's `cred`: `user:password`, sent as HTTP Basic. @defaultValue none (no Authorization) */
  credentials?: string;
  /** Retries after the first attempt (`retries`). @defaultValue 2 */
  retries?: number;
  /** Simulated ms between attempts (`delay` is in seconds on the switch). @defaultValue 5000 */
  delayMs?: number;
}

/** What became of one leg's CDR. */
export interface CdrDelivery {
  uuid: string;
  /** `pending` while attempts remain; `delivered` on a 2xx; `failed` once every attempt failed. */
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** HTTP status of the latest attempt; 0 when the connection failed. */
  lastStatus: number;
  /** The JSON text posted. */
  body: string;
}

/** The newest deliveries kept for tests and the embedded default. */
const MAX_DELIVERIES = 2_000;

export class CdrPoster {
  private readonly deliveries: CdrDelivery[] = [];
  private readonly inFlight = new Set<http.ClientRequest>();
  private readonly timers = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: CdrPostOptions, private readonly clock: SimClock) {}

  /** Sends the CDR of leg `uuid`; returns at once (the attempts run in the background). */
  post(uuid: string, body: string): void {
    if (this.closed) return;
    const delivery: CdrDelivery = { uuid, state: 'pending', attempts: 0, lastStatus: 0, body };
    this.deliveries.push(delivery);
    if (this.deliveries.length > MAX_DELIVERIES) this.deliveries.splice(0, this.deliveries.length - MAX_DELIVERIES);
    this.attempt(delivery);
  }

  list(): CdrDelivery[] {
    return this.deliveries.map((d) => ({ ...d }));
  }

  /** Stops: no new attempt, in-flight requests aborted (the real module posts nothing once shutting down). */
  close(): void {
    this.closed = true;
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    for (const req of this.inFlight) req.destroy();
    this.inFlight.clear();
  }

  private attempt(delivery: CdrDelivery): void {
    if (this.closed) return;
    delivery.attempts += 1;
    const target = new URL(this.options.url);
    target.searchParams.set('uuid', delivery.uuid);
    const headers: Record<string, string> = { host: target.host };
    if (this.options.credentials !== undefined) headers.authorization = `Basic ${Buffer.from(this.options.credentials).toString('base64')}`;
    headers['user-agent'] = 'freeswitch-json/1.0';
    headers.accept = '*/*';
    headers['content-length'] = String(Buffer.byteLength(delivery.body));
    headers['content-type'] = 'application/x-www-form-urlencoded';
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(target, { method: 'POST', headers, agent: false });
    req.removeHeader('connection'); // libcurl sends none: HTTP/1.1 keep-alive by default
    this.inFlight.add(req);
    let settled = false;
    const done = (status: number): void => {
      if (settled) return;
      settled = true;
      this.inFlight.delete(req);
      delivery.lastStatus = status;
      if (status >= 200 && status < 300) {
        delivery.state = 'delivered';
        return;
      }
      if (this.closed) return;
      if (delivery.attempts > (this.options.retries ?? 2)) {
        delivery.state = 'failed';
        return;
      }
      const cancel = this.clock.after(this.options.delayMs ?? 5000, () => {
        this.timers.delete(cancel);
        this.attempt(delivery);
      });
      this.timers.add(cancel);
    };
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
      res.on('error', () => done(res.statusCode ?? 0));
    });
    req.on('error', () => done(0));
    req.end(delivery.body);
  }
}
