import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Router, type Request, type Response } from 'express';
import { ownerOf } from '../../api/context.js';
import { jsonBody } from '../../api/json-body.js';
import type { OpenApi } from '../../api/openapi.js';
import type { CallbackService, DoNotCallStore } from '../../callbacks/ports.js';
import { parseNumber } from '../../callbacks/request.js';
import { CrosslineError, isCrosslineError } from '../../errors.js';
import { uuidv7 } from '../../store/index.js';
import type { SiteStore } from '../../store/sites.js';
import type { WidgetIntake, WidgetSubmission } from './intake.js';
import { applySiteInput, newPublicKey, toSiteView, type Site, type SiteInput, type SitePolicy } from './sites.js';
import { visitorStatus, type StatusTokens, type VisitorStatus } from './status.js';
import type { SiteVolume } from './volume.js';

export interface SiteRoutesDeps {
  api: OpenApi;
  sites: SiteStore;
  policy: SitePolicy;
  volume: SiteVolume;
  maxSitesPerOwner?: number;
}

const isUuid = (s: string | undefined): s is string => s !== undefined && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s);

/** /v1/sites (API key door): an owner's sites. */
export function siteRoutes({ api, sites, policy, volume, maxSitesPerOwner = 100 }: SiteRoutesDeps): Router {
  const router = Router();
  const validateCreate = api.validateBody<SiteInput>('createSite');
  const validateUpdate = api.validateBody<SiteInput>('updateSite');
  const mine = async (req: Request, res: Response): Promise<Site> => {
    const id = String(req.params.id);
    const site = isUuid(id) ? await sites.get(id) : undefined;
    if (!site || site.owner !== ownerOf(res)) throw new CrosslineError('SITE_NOT_FOUND');
    return site;
  };

  router.post('/', ...jsonBody(), async (req, res) => {
    const owner = ownerOf(res);
    const input = validateCreate(req.body);
    if ((await sites.list(owner)).length >= maxSitesPerOwner) throw new CrosslineError('VALIDATION_FAILED', `An API key may have at most ${maxSitesPerOwner} sites.`);
    const fields = await applySiteInput(owner, undefined, input, policy);
    const now = new Date().toISOString();
    const site: Site = { id: uuidv7(), owner, publicKey: newPublicKey(), ...fields, createdAt: now, updatedAt: now };
    await sites.create(site);
    res.status(201).setHeader('Location', `/v1/sites/${site.id}`).json(toSiteView(site));
  });

  router.get('/', async (_req, res) => {
    res.json({ items: (await sites.list(ownerOf(res))).map(toSiteView) });
  });

  router.get('/:id', async (req, res) => {
    res.json(toSiteView(await mine(req, res)));
  });

  router.patch('/:id', ...jsonBody(), async (req, res) => {
    const site = await mine(req, res);
    const input = validateUpdate(req.body);
    const { id, owner, publicKey, createdAt } = site;
    const updated: Site = { id, owner, publicKey, createdAt, ...(await applySiteInput(owner, site, input, policy)), updatedAt: new Date().toISOString() };
    await sites.save(updated, site.publicKey);
    res.json(toSiteView(updated));
  });

  router.post('/:id/rotate-key', async (req, res) => {
    const site = await mine(req, res);
    const updated: Site = { ...site, publicKey: newPublicKey(), updatedAt: new Date().toISOString() };
    await sites.save(updated, site.publicKey);
    res.json(toSiteView(updated));
  });

  router.get('/:id/volume', async (req, res) => {
    const site = await mine(req, res);
    const now = Date.now();
    const counts = await volume.hourly(site.id, 24, now);
    const first = Math.floor(now / 3_600_000) - 23;
    res.json({ siteId: site.id, hours: counts.map((count, i) => ({ hour: new Date((first + i) * 3_600_000).toISOString(), count })) });
  });

  router.delete('/:id', async (req, res) => {
    await sites.remove(await mine(req, res));
    res.status(204).end();
  });
  return router;
}

/** /v1/admin/sites (operator's door): every site of every API key, with its hourly volume. */
export function adminSiteRoutes({ sites, volume, owners }: { sites: SiteStore; volume: SiteVolume; owners: () => readonly string[] }): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    const all = (await Promise.all(owners().map((owner) => sites.list(owner)))).flat();
    const items = await Promise.all(
      all.map(async (site) => ({ id: site.id, owner: site.owner, name: site.name, enabled: site.enabled, dailyCap: site.dailyCap, hourly: await volume.hourly(site.id, 24) })),
    );
    res.json({ items });
  });
  return router;
}

/**
 * /v1/do-not-call (API key door): numbers the owner's callbacks never ring, whatever the intake
 * (REST, messages, the button); the callback domain checks them (callbacks/policies/do-not-call.ts).
 */
export function doNotCallRoutes({ list, defaultRegion }: { list: DoNotCallStore; defaultRegion: string }): Router {
  const router = Router();
  const numberOf = (req: Request): string => parseNumber(decodeURIComponent(String(req.params.number ?? '')), defaultRegion, 'path.number').e164;
  router.get('/', async (_req, res) => {
    res.json({ items: await list.list(ownerOf(res)) });
  });
  router.put('/:number', async (req, res) => {
    const number = numberOf(req);
    await list.add(ownerOf(res), number);
    res.json({ number });
  });
  router.delete('/:number', async (req, res) => {
    const number = numberOf(req);
    await list.remove(ownerOf(res), number);
    res.status(204).end();
  });
  return router;
}

export interface WidgetRoutesDeps {
  api: OpenApi;
  intake: WidgetIntake;
  sites: SiteStore;
  callbacks: CallbackService;
  tokens: StatusTokens;
  /** How often a live-status stream looks at its callback, ms. @defaultValue 500 */
  pollMs?: number;
  /** Comment lines that keep proxies from closing an idle stream, ms. @defaultValue 15000 */
  heartbeatMs?: number;
}

/**
 * The Origin of a request: the header, or this server's own origin for a same-origin GET (browsers
 * send no Origin there, and say so in Sec-Fetch-Site).
 */
export function requestOrigin(req: Request): string | undefined {
  const origin = req.get('origin');
  if (origin !== undefined && origin !== 'null') return origin;
  if (req.get('sec-fetch-site') === 'same-origin') return `${req.protocol}://${req.get('host') ?? ''}`;
  return undefined;
}

function allowOrigin(res: Response, origin: string): void {
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Vary', 'Origin');
}

/**
 * /v1/widget (public door): what the embedded button calls. Each route names its site key; CORS is
 * answered with the exact origin when the site allows it, and not at all otherwise (a refused
 * origin's error is readable by that page for GET /sites/{key} only, so the button can say why).
 */
export function widgetRoutes({ api, intake, sites, callbacks, tokens, pollMs = 500, heartbeatMs = 15_000 }: WidgetRoutesDeps): Router {
  const router = Router();
  const validateSubmit = api.validateBody<Omit<WidgetSubmission, 'site'>>('createWidgetCallback');

  router.options(['/sites/:key', '/sites/:key/*rest'], async (req, res) => {
    const origin = req.get('origin');
    const site = await intake.siteFor(String(req.params.key), origin).catch(() => undefined);
    if (!site || origin === undefined) {
      res.status(403).end();
      return;
    }
    allowOrigin(res, origin);
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  });

  router.get('/sites/:key', async (req, res) => {
    const origin = requestOrigin(req);
    try {
      const site = await intake.siteFor(String(req.params.key), origin);
      if (origin !== undefined) allowOrigin(res, origin);
      res.json(await intake.publicConfig(site));
    } catch (err) {
      // the page may read why it was refused (nothing about the site is in it)
      if (origin !== undefined && isCrosslineError(err)) allowOrigin(res, origin);
      throw err;
    }
  });

  router.get('/sites/:key/challenge', async (req, res) => {
    const origin = requestOrigin(req);
    const site = await intake.siteFor(String(req.params.key), origin);
    if (origin !== undefined) allowOrigin(res, origin);
    res.json(await intake.challenge(site));
  });

  router.post('/sites/:key/callbacks', ...jsonBody(), async (req, res) => {
    const origin = req.get('origin');
    const key = String(req.params.key);
    const site = await intake.siteFor(key, origin);
    if (origin !== undefined) allowOrigin(res, origin);
    const input = validateSubmit(req.body);
    const accepted = await intake.submit({ ...input, site: key }, { origin, ip: req.ip ?? req.socket.remoteAddress ?? 'unknown' });
    const events = `/v1/widget/sites/${encodeURIComponent(site.publicKey)}/callbacks/${accepted.id}/events?token=${encodeURIComponent(accepted.statusToken)}`;
    res.status(202).json({ id: accepted.id, status: visitorStatus(accepted.callback), statusToken: accepted.statusToken, statusTokenExpiresAt: accepted.statusTokenExpiresAt, events });
  });

  router.get('/sites/:key/callbacks/:id/events', async (req, res) => {
    const id = String(req.params.id);
    const origin = req.get('origin');
    if (!isUuid(id)) throw new CrosslineError('STATUS_TOKEN_INVALID');
    const { siteId, expiresMs } = tokens.verify(typeof req.query.token === 'string' ? req.query.token : undefined, id);
    const site = await sites.get(siteId);
    if (!site || site.publicKey !== req.params.key) throw new CrosslineError('STATUS_TOKEN_INVALID');
    // the token is the authority; a page of another origin still may not read the stream
    if (origin !== undefined) {
      if (!site.allowedOrigins.includes(origin)) throw new CrosslineError('ORIGIN_NOT_ALLOWED');
      allowOrigin(res, origin);
    }
    let callback = await callbacks.get(id, site.owner);
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write('retry: 3000\n\n');
    let last = '';
    let closed = false;
    req.on('close', () => {
      closed = true;
    });
    const send = (status: VisitorStatus): void => {
      const data = JSON.stringify(status);
      if (data === last) return;
      last = data;
      res.write(`event: status\ndata: ${data}\n\n`);
    };
    let lastBeat = Date.now();
    for (;;) {
      const status = visitorStatus(callback);
      send(status);
      if (status.final || closed || Date.now() >= expiresMs) break;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      if (closed) break;
      if (Date.now() - lastBeat >= heartbeatMs) {
        res.write(': keep-alive\n\n');
        lastBeat = Date.now();
      }
      try {
        callback = await callbacks.get(id, site.owner);
      } catch {
        // a store hiccup: the browser reconnects (retry) with the same token
        break;
      }
    }
    res.end();
  });
  return router;
}

/** Where `npm run build` puts the browser bundles (dist/web), found from the package root. */
export function webAssetsDir(root: string): string {
  return path.join(root, 'dist', 'web');
}

/** A file any page may load (the button and its texts): cacheable, cross-origin. */
function sendPublicAsset(res: Response, file: string, contentType: string): void {
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', 'public, max-age=300');
  res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.send(readFileSync(file));
}

/** GET /widget.js: the embeddable button, cacheable, loadable from any page. */
export function widgetScriptRoutes(dir: string): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    const file = path.join(dir, 'widget.js');
    if (!existsSync(file)) throw new CrosslineError('INTERNAL', 'widget.js is not built: run npm run build.');
    sendPublicAsset(res, file, 'text/javascript; charset=utf-8');
  });
  return router;
}

/**
 * GET /widget/i18n/{lang}.json: the button's texts in a language other than English, fetched by
 * the button on a page in that language (a public, cacheable file like widget.js).
 */
export function widgetTextRoutes(dir: string): Router {
  const router = Router();
  router.get('/i18n/:file', (req, res) => {
    const lang = /^([a-z]{2,3})\.json$/.exec(String(req.params.file))?.[1];
    const file = lang === undefined ? undefined : path.join(dir, 'widget-i18n', `${lang}.json`);
    if (file === undefined || !existsSync(file)) throw new CrosslineError('ROUTE_NOT_FOUND');
    sendPublicAsset(res, file, 'application/json; charset=utf-8');
  });
  return router;
}

/** GET /demo: a page that embeds the button with the demo site, under a strict CSP. */
export function demoRoutes(demoKey: () => string | undefined): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    const key = demoKey();
    if (key === undefined) throw new CrosslineError('ROUTE_NOT_FOUND');
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Content-Security-Policy', "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    res.send(demoPage(key));
  });
  router.get('/demo.css', (_req, res) => {
    res.setHeader('Content-Type', 'text/css; charset=utf-8');
    res.send(DEMO_CSS);
  });
  return router;
}

const DEMO_CSS = `body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
code{background:#eef1f4;padding:.1rem .3rem;border-radius:3px}
crossline-callback{--crossline-accent:#0b5cad}`;

const demoPage = (key: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Crossline call-me-back demo</title>
<link rel="stylesheet" href="/demo/demo.css">
</head>
<body>
<main>
<h1>Call-me-back demo</h1>
<p>This page embeds the Crossline button with one line, against the built-in switch simulator.
Type the simulated number <code>+1 202 555 0101</code> (it answers) and watch the call go through.</p>
<script src="/widget.js" data-site="${key}" async></script>
</main>
</body>
</html>
`;
