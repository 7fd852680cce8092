import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { contextOf } from '../api/context.js';
import { markOperatorSession } from '../api/ops-auth.js';
import type { AuthFailureLimit } from '../api/rate-limit.js';
import type { OpenApi } from '../api/openapi.js';
import { toCallbackView } from '../callbacks/view.js';
import type { CallbackStatus } from '../callbacks/types.js';
import { CrosslineError } from '../errors.js';
import { dashboardPage, loginPage } from './pages.js';
import { cookieValue, SESSION_COOKIE, type OperatorSessions } from './session.js';
import type { CallCenterQueueView } from './call-centers.js';
import type { OperatorView } from './stats.js';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** Whether a state-changing request comes from this server's own pages. */
function sameOrigin(req: Request): boolean {
  const origin = req.get('origin');
  if (origin !== undefined) return origin === `${req.protocol}://${req.get('host') ?? ''}`;
  const site = req.get('sec-fetch-site');
  return site === undefined || site === 'same-origin' || site === 'none';
}

export interface DashboardDeps {
  sessions: OperatorSessions;
  opsToken: string;
  failures: AuthFailureLimit;
  assetsDir: string;
  /** Bull Board's router, mounted under /dashboard/queues behind the session. */
  queuesRouter?: RequestHandler;
}

/** The session of a request, or undefined. */
const sessionOf = (sessions: OperatorSessions, req: Request): string | undefined => sessions.verify(cookieValue(req.get('cookie'), SESSION_COOKIE));

/** /dashboard (public door; it authenticates by itself): login, the page, its assets, Bull Board. */
export function dashboardRoutes({ sessions, opsToken, failures, assetsDir, queuesRouter }: DashboardDeps): Router {
  const router = Router();
  const expected = createHash('sha256').update(opsToken).digest();
  // compared as SHA-256 digests, in constant time, like the operator's Bearer token
  const isOpsToken = (token: string): boolean => timingSafeEqual(expected, createHash('sha256').update(token).digest());
  const html = (res: Response, status: number, body: string): void => {
    res.status(status).setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.send(body);
  };
  const setCookie = (req: Request, res: Response, value: string, maxAgeSec: number): void => {
    res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSec}; HttpOnly; SameSite=Strict${req.secure ? '; Secure' : ''}`);
  };

  router.get('/', (req, res) => {
    const nonce = sessionOf(sessions, req);
    if (nonce === undefined) return html(res, 200, loginPage());
    html(res, 200, dashboardPage(sessions.csrfToken(nonce)));
  });

  router.post('/login', express.urlencoded({ extended: false, limit: '2kb' }), async (req, res) => {
    if (!sameOrigin(req)) throw new CrosslineError('UNAUTHENTICATED', 'Sign in from the dashboard page itself.');
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    await failures.check(address, res);
    const token = typeof req.body?.token === 'string' ? req.body.token : '';
    if (token === '' || !isOpsToken(token)) {
      await failures.record(address);
      contextOf(res).log.info('dashboard sign-in refused');
      return html(res, 401, loginPage('That is not the operator token.'));
    }
    const session = sessions.issue();
    setCookie(req, res, session.cookie, session.maxAgeSec);
    contextOf(res).log.info('dashboard sign-in');
    res.redirect(303, '/dashboard/');
  });

  router.post('/logout', express.urlencoded({ extended: false, limit: '2kb' }), (req, res) => {
    const nonce = sessionOf(sessions, req);
    if (nonce === undefined || !sameOrigin(req) || !sessions.checkCsrf(nonce, typeof req.body?.csrf === 'string' ? req.body.csrf : undefined)) {
      throw new CrosslineError('UNAUTHENTICATED', 'Not signed in, or the request did not come from the dashboard.');
    }
    setCookie(req, res, '', 0);
    res.redirect(303, '/dashboard/');
  });

  for (const file of ['dashboard.js', 'dashboard.css']) {
    router.get(`/assets/${file}`, (_req, res) => {
      const full = path.join(assetsDir, file);
      if (!existsSync(full)) throw new CrosslineError('INTERNAL', `${file} is not built: run npm run build.`);
      res.setHeader('Content-Type', file.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      res.setHeader('Cache-Control', 'no-cache');
      res.send(readFileSync(full));
    });
  }

  if (queuesRouter) {
    router.use(
      '/queues',
      (req, res, next) => {
        if (sessionOf(sessions, req) === undefined) return res.redirect(303, '/dashboard/');
        // Bull Board is mounted read-only: its few POSTs (none change jobs) still must come from here
        if (req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req)) return next(new CrosslineError('UNAUTHENTICATED'));
        next();
      },
      queuesRouter,
    );
  }
  return router;
}

/**
 * In front of /v1/admin (public door, before the operator's): a request with a valid dashboard
 * session counts as the operator's; one that changes state also needs the CSRF token in
 * X-CSRF-Token and this server's Origin. A request without the cookie goes on to the Bearer check.
 */
export function operatorSessionDoor(sessions: OperatorSessions): Router {
  const router = Router();
  router.use((req, res, next) => {
    const nonce = sessionOf(sessions, req);
    if (nonce === undefined) return next();
    const safe = req.method === 'GET' || req.method === 'HEAD';
    if (safe || (sameOrigin(req) && sessions.checkCsrf(nonce, req.get('x-csrf-token')))) markOperatorSession(res);
    next();
  });
  return router;
}

/** /v1/admin/call-centers (operator's door): every call center's queue and expected wait. */
export function adminCallCenterRoutes(view: CallCenterQueueView): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    res.json({ items: await view.list() });
  });
  return router;
}

/** /v1/admin/callbacks and /v1/admin/stats (operator's door). */
export function adminCallbackRoutes(api: OpenApi, view: OperatorView): { callbacks: Router; stats: Router } {
  const validateList = api.validateParameters<{ status?: CallbackStatus; owner?: string; limit: number }>('adminListCallbacks', 'query');
  const validateStats = api.validateParameters<{ hours: number }>('adminCallbackStats', 'query');
  const callbacks = Router();
  callbacks.get('/', async (req, res) => {
    const query = validateList({ ...(req.query as Record<string, unknown>) });
    const items = await view.recent(query);
    res.json({ items: items.map((c) => ({ owner: c.owner, callback: toCallbackView(c) })) });
  });
  const stats = Router();
  stats.get('/', async (req, res) => {
    const { hours } = validateStats({ ...(req.query as Record<string, unknown>) });
    res.json({ hours, buckets: await view.stats(hours) });
  });
  return { callbacks, stats };
}
