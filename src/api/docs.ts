import path from 'node:path';
import { Router, type RequestHandler } from 'express';
import { packageRoot, type OpenApi } from './openapi.js';

/**
 * GET /openapi.yaml: the contract as written. GET /docs: the contract rendered by Swagger UI, with
 * "Try it out" against this server. Everything the page loads is served from here (swagger-ui-dist
 * from node_modules, the start-up script from docs-assets/): the page works on a closed network,
 * and its Content-Security-Policy allows scripts from this origin only, none inline.
 */

const SPEC_PATH = '/openapi.yaml';
const ASSETS_PATH = '/docs/assets';

/** Swagger UI's published files. Resolved through package.json: its main module would load the browser bundle into Node. */
const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
/** Our own files for the page, kept as plain files (not strings in this module) so they read as what they are. */
const OWN_ASSETS_DIR = path.join(packageRoot(), 'src', 'api', 'docs-assets');

/** The only files served under /docs/assets: an allow-list, so no request can reach another file. */
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': SWAGGER_UI_DIR,
  'swagger-ui-bundle.js': SWAGGER_UI_DIR,
  'favicon-32x32.png': SWAGGER_UI_DIR,
  'crossline-docs.css': OWN_ASSETS_DIR,
  'crossline-docs.js': OWN_ASSETS_DIR,
};

/**
 * Scripts and styles from this origin only; `connect-src 'self'` lets "Try it out" call this API
 * and nothing else; `img-src data:` is for the icons inlined in Swagger UI's stylesheet.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** The page: how to try the API, then the element Swagger UI fills in with the title and the rest (crossline-docs.js starts it). */
export function renderDocsPage(api: OpenApi): string {
  const { title, version } = api.document.info;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} ${escapeHtml(version)}</title>
<link rel="stylesheet" href="${ASSETS_PATH}/swagger-ui.css">
<link rel="stylesheet" href="${ASSETS_PATH}/crossline-docs.css">
<link rel="icon" type="image/png" href="${ASSETS_PATH}/favicon-32x32.png">
</head>
<body>
<header class="crossline-try">
<p><strong>Try it from this page.</strong> Click <strong>Authorize</strong>, paste the API key that
<code>npm start</code> printed (or one of the server's <code>API_KEYS</code>) as the <em>bearer</em> value,
and close the dialog. Then open an operation, click <strong>Try it out</strong> and <strong>Execute</strong>:
the request goes to this server with <code>Authorization: Bearer &lt;key&gt;</code>, and the page shows
the response and the equivalent <code>curl</code>. The key stays in this page until you reload it.</p>
<p>With the embedded simulator, +1 202 555 0100–0149 answer after a second (see the README for the other
scripted numbers). The contract itself: <a href="${SPEC_PATH}">openapi.yaml</a>.</p>
</header>
<noscript><p class="crossline-try">This page needs JavaScript to show the operations; read
<a href="${SPEC_PATH}">openapi.yaml</a> instead.</p></noscript>
<div id="swagger-ui" data-spec-url="${SPEC_PATH}"></div>
<script src="${ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="${ASSETS_PATH}/crossline-docs.js"></script>
</body></html>
`;
}

function docsPage(api: OpenApi): RequestHandler {
  const html = renderDocsPage(api);
  return (_req, res) => {
    res.setHeader('Content-Security-Policy', DOCS_CSP);
    res.type('html').send(html);
  };
}

/** One of {@link ASSETS}, revalidated on each load (the names carry no version). Anything else falls through to the 404. */
const docsAsset: RequestHandler<{ name: string }> = (req, res, next) => {
  const name = req.params.name;
  const root = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (root === undefined) return next();
  res.setHeader('Cache-Control', 'no-cache');
  res.sendFile(name, { root, dotfiles: 'deny' }, (err) => {
    if (err) next(err);
  });
};

function openApiFile(api: OpenApi): RequestHandler {
  return (_req, res) => {
    res.type('application/yaml; charset=utf-8').send(api.text);
  };
}

/** GET /openapi.yaml, GET /docs and the page's assets. */
export function docsRoutes(api: OpenApi): Router {
  const router = Router();
  router.get(SPEC_PATH, openApiFile(api));
  router.get('/docs', docsPage(api));
  router.get(`${ASSETS_PATH}/:name`, docsAsset);
  return router;
}
