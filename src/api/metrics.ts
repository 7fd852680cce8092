import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RequestHandler } from 'express';
import { contextOf } from './context.js';
import type { SwitchAdmin, SwitchStatusView } from './routes/switches.js';

type Labels = 'method' | 'route' | 'status';

export interface HttpMetrics {
  registry: Registry;
  /** Counts and times every request, labelled with the openapi.yaml path template (bounded cardinality). */
  middleware: RequestHandler;
  /** GET /metrics. */
  handler: RequestHandler;
}

/**
 * HTTP metrics on `registry`. Without one, a registry of the app's own is made and the Node.js
 * default metrics are collected on it; a registry passed in is expected to have them already.
 */
export function httpMetrics(registry?: Registry): HttpMetrics {
  const register = registry ?? new Registry();
  if (!registry) collectDefaultMetrics({ register });
  const existing = <T>(name: string): T | undefined => register.getSingleMetric(name) as T | undefined;
  const requests =
    existing<Counter<Labels>>('crossline_http_requests_total') ??
    new Counter<Labels>({ name: 'crossline_http_requests_total', help: 'HTTP requests handled.', labelNames: ['method', 'route', 'status'], registers: [register] });
  const duration =
    existing<Histogram<Labels>>('crossline_http_request_duration_seconds') ??
    new Histogram<Labels>({
      name: 'crossline_http_request_duration_seconds',
      help: 'Time from request to response finished.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [register],
    });

  return {
    registry: register,
    middleware: (req, res, next) => {
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        const labels = { method: req.method, route: contextOf(res).route, status: String(res.statusCode) };
        requests.inc(labels);
        duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      });
      next();
    },
    handler: async (_req, res) => {
      const text = await register.metrics();
      res.setHeader('Content-Type', register.contentType);
      res.send(text);
    },
  };
}

/**
 * One gauge per switch fact, labelled `switch` (its id): connected (1/0), drained (1/0), sessions
 * up, and room left in its originate budget. Read from the switches at each scrape.
 */
export function switchMetrics(register: Registry, switches: SwitchAdmin): void {
  if (register.getSingleMetric('crossline_switch_connected')) return;
  // prom-client collects the gauges at once: each reads the switches itself.
  const gauge = (name: string, help: string, value: (v: SwitchStatusView) => number | undefined): void => {
    const g: Gauge<'switch'> = new Gauge<'switch'>({
      name,
      help,
      labelNames: ['switch'],
      registers: [register],
      collect: async () => {
        g.reset();
        for (const v of await switches.list().catch((): SwitchStatusView[] => [])) {
          const n = value(v);
          if (n !== undefined) g.set({ switch: v.id }, n);
        }
      },
    });
  };
  gauge('crossline_switch_connected', 'Whether a worker is connected to the switch (1) or none is (0).', (v) => (v.connected ? 1 : 0));
  gauge('crossline_switch_drained', 'Whether the switch is drained: no new legs go there (1).', (v) => (v.drained ? 1 : 0));
  gauge('crossline_switch_sessions', 'Sessions up on the switch, as it last reported.', (v) => v.sessions);
  gauge('crossline_switch_free_sessions', 'Sessions the switch originate budget has room for now.', (v) => v.freeSessions);
}
