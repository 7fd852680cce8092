import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Logger } from 'pino';
import type { MessageSender, OutboundMessage } from '../../channels/types.js';
import { assertAllowedAddresses, createGuardedLookup, SIGNATURE_HEADER, signPayload } from '../../notify/index.js';
import type { RedisClient } from '../../store/index.js';
import type { Site } from './sites.js';

const HOUR_MS = 3_600_000;
/** Hours of counts kept: the baseline window and a day of history for the dashboard. */
const KEPT_HOURS = 48;
const BASELINE_HOURS = 24;

export interface VolumeAlertEvent {
  type: 'site.volume-jump';
  site: { id: string; name: string };
  /** Start of the hour, ISO 8601. */
  hour: string;
  count: number;
  /** Mean requests per hour over the 24 hours before. */
  baseline: number;
}

/** Sends an alert; the default POSTs it signed, through the SSRF-guarded lookup. */
export type AlertSender = (url: string, event: VolumeAlertEvent) => Promise<void>;

/** How a volume-jump alert goes out: the site's webhook, and its e-mail through the message queue. */
export interface VolumeAlertSenders {
  webhook: AlertSender;
  /** The channels' queued sender (runtime `Services.messageSender`); e-mail alerts need it. */
  messages?: MessageSender;
}

/** The alert e-mail: plain text, once per site, hour and address (its dedup key). */
export function volumeAlertMail(to: string, event: VolumeAlertEvent): OutboundMessage {
  const hour = event.hour.slice(0, 16).replace('T', ' ');
  return {
    to: { channel: 'email', address: to },
    subject: `Call-me-back requests jumped on ${event.site.name}`,
    text: [
      `${event.site.name} received ${event.count} call-me-back requests in the hour from ${hour} UTC, against a mean of ${event.baseline.toFixed(1)} an hour over the 24 hours before.`,
      '',
      'If this is not a campaign or an expected peak, the button may be abused: each request is a call on your account.',
      `To stop the button at once: PATCH /v1/sites/${event.site.id} with {"enabled": false}. To see the volume: GET /v1/sites/${event.site.id}/volume.`,
      '',
      `Site id: ${event.site.id}`,
    ].join('\n'),
    dedupKey: `site-volume:${event.site.id}:${event.hour}:${to}`,
  };
}

export function webhookAlertSender(secret: string, options: { allowPrivate: boolean; timeoutMs: number }): AlertSender {
  const lookup = createGuardedLookup({ allowPrivate: options.allowPrivate });
  return (raw, event) =>
    new Promise((resolve, reject) => {
      const url = new URL(raw);
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      if (net.isIP(host) !== 0) assertAllowedAddresses([host], options.allowPrivate);
      const body = JSON.stringify(event);
      const send = url.protocol === 'https:' ? https.request : http.request;
      const req = send(
        url,
        {
          method: 'POST',
          lookup,
          timeout: options.timeoutMs,
          headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)), [SIGNATURE_HEADER]: signPayload(secret, body, Math.floor(Date.now() / 1000)) },
        },
        (res) => {
          res.resume();
          res.on('end', () => ((res.statusCode ?? 500) < 300 ? resolve() : reject(new Error(`alert webhook answered ${res.statusCode}`))));
        },
      );
      req.on('timeout', () => req.destroy(new Error('alert webhook timed out')));
      req.on('error', reject);
      req.end(body);
    });
}

/**
 * Per-site hourly request counts (`<p>:wvol:<site>:<hour>`), and the volume-jump alert: an hour
 * whose count passes `factor` x the mean of the 24 hours before (and `minPerHour`) alerts once,
 * to the site's webhook and / or e-mail address.
 */
export class SiteVolume {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly senders: VolumeAlertSenders,
    private readonly logger: Logger,
  ) {}

  private key = (siteId: string, hour: number): string => `${this.prefix}:wvol:${siteId}:${hour}`;

  /** Counts one accepted request; alerts when the hour jumps. Never throws (the request is accepted). */
  async record(site: Site, now = Date.now()): Promise<void> {
    const hour = Math.floor(now / HOUR_MS);
    try {
      const count = await this.redis.incr(this.key(site.id, hour));
      if (count === 1) await this.redis.pexpire(this.key(site.id, hour), KEPT_HOURS * HOUR_MS);
      const alert = site.alert;
      if (!alert || count < alert.minPerHour) return;
      const before = await this.hourly(site.id, BASELINE_HOURS, now - HOUR_MS);
      const baseline = before.reduce((sum, n) => sum + n, 0) / BASELINE_HOURS;
      if (count <= alert.factor * baseline) return;
      const first = await this.redis.set(`${this.prefix}:walert:${site.id}:${hour}`, '1', 'PX', HOUR_MS, 'NX');
      if (first === null) return;
      const event: VolumeAlertEvent = { type: 'site.volume-jump', site: { id: site.id, name: site.name }, hour: new Date(hour * HOUR_MS).toISOString(), count, baseline };
      this.logger.warn({ siteId: site.id, count, baseline }, 'widget volume jump');
      if (alert.webhook !== undefined) {
        this.senders.webhook(alert.webhook, event).catch((err: unknown) => this.logger.warn({ err, siteId: site.id }, 'volume alert webhook not delivered'));
      }
      if (alert.email !== undefined) {
        const { messages } = this.senders;
        if (!messages) this.logger.warn({ siteId: site.id }, 'volume alert e-mail not sent: no message sender in this process');
        else await messages.enqueue(volumeAlertMail(alert.email, event)).catch((err: unknown) => this.logger.warn({ err, siteId: site.id }, 'volume alert e-mail not queued'));
      }
    } catch (err) {
      this.logger.warn({ err, siteId: site.id }, 'widget volume not counted');
    }
  }

  /** Counts of the `hours` hours ending with the one holding `until`, oldest first. */
  async hourly(siteId: string, hours: number, until = Date.now()): Promise<number[]> {
    const last = Math.floor(until / HOUR_MS);
    const keys = Array.from({ length: hours }, (_, i) => this.key(siteId, last - hours + 1 + i));
    // one GET each (sent together): on a Redis Cluster the hours of a site spread over slots
    const values = await Promise.all(keys.map((key) => this.redis.get(key)));
    return values.map((v) => Number(v ?? 0));
  }
}
