import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import request from 'supertest';
import { loadOpenApi } from '../../src/api/openapi.js';
import { testRedisUrl } from '../support/redis.js';
import { startApp } from './helpers.js';

const redisUrl = testRedisUrl();

/** `directive → sources` of a Content-Security-Policy header. */
function parseCsp(header: string): Map<string, string[]> {
  const directives = header.split(';').map((d) => d.trim().split(/\s+/));
  return new Map(directives.filter((d) => d[0]).map(([name = '', ...sources]) => [name, sources]));
}

/** The `src` of every script and the `href` of every stylesheet the page loads. */
function loadedUrls(html: string): { scripts: string[]; styles: string[] } {
  const scripts = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1] ?? '');
  const styles = [...html.matchAll(/<link\b[^>]*\brel="stylesheet"[^>]*\bhref="([^"]+)"/g)].map((m) => m[1] ?? '');
  return { scripts, styles };
}

describe('/docs', () => {
  test('the page loads Swagger UI and its start-up script from this server, with no inline script', async (t) => {
    const { app } = await startApp(t, redisUrl);

    const res = await request(app).get('/docs');

    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /^text\/html/);
    const { scripts, styles } = loadedUrls(res.text);
    assert.deepEqual(scripts, ['/docs/assets/swagger-ui-bundle.js', '/docs/assets/crossline-docs.js']);
    assert.deepEqual(styles, ['/docs/assets/swagger-ui.css', '/docs/assets/crossline-docs.css']);
    assert.equal((res.text.match(/<script\b/g) ?? []).length, scripts.length, 'every script has a src');
    assert.doesNotMatch(res.text, /\son[a-z]+=/i, 'no inline event handler');
    assert.doesNotMatch(res.text, /(src|href)="(https?:)?\/\//i, 'nothing is loaded from another origin');
    assert.match(res.text, /<div id="swagger-ui" data-spec-url="\/openapi.yaml">/);
  });

  test('the Content-Security-Policy allows scripts from this origin only, neither inline nor evaluated', async (t) => {
    const { app } = await startApp(t, redisUrl);

    const res = await request(app).get('/docs');

    const csp = parseCsp(res.headers['content-security-policy'] ?? '');
    assert.deepEqual(csp.get('default-src'), ["'none'"]);
    assert.deepEqual(csp.get('script-src'), ["'self'"]);
    assert.deepEqual(csp.get('connect-src'), ["'self'"], '"Try it out" may call this API and nothing else');
    assert.deepEqual(csp.get('frame-ancestors'), ["'none'"]);
    for (const [name, sources] of csp) {
      assert.ok(!sources.includes("'unsafe-inline'") && !sources.includes("'unsafe-eval'"), `${name} ${sources.join(' ')}`);
    }
  });

  test('every script and stylesheet the page references is served with its content type', async (t) => {
    const { app } = await startApp(t, redisUrl);
    const page = await request(app).get('/docs');
    const { scripts, styles } = loadedUrls(page.text);

    const served = await Promise.all([...scripts, ...styles].map(async (url) => ({ url, res: await request(app).get(url) })));

    for (const { url, res } of served) {
      assert.equal(res.status, 200, url);
      assert.match(res.headers['content-type'] ?? '', url.endsWith('.js') ? /^(application|text)\/javascript/ : /^text\/css/, url);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
      assert.ok(res.text.length > 0, `${url} is empty`);
    }
    const bundle = served.find((s) => s.url.endsWith('swagger-ui-bundle.js'));
    assert.ok(bundle && bundle.res.text.length > 500_000, 'the whole Swagger UI bundle is served');
    const icon = await request(app).get('/docs/assets/favicon-32x32.png');
    assert.equal(icon.status, 200);
    assert.equal(icon.headers['content-type'], 'image/png');
  });

  test('the start-up script points Swagger UI at the contract and sends it to no validator', async (t) => {
    const { app } = await startApp(t, redisUrl);

    const res = await request(app).get('/docs/assets/crossline-docs.js');

    assert.match(res.text, /SwaggerUIBundle\(/);
    assert.match(res.text, /url: root\.dataset\.specUrl/);
    assert.match(res.text, /validatorUrl: null/);
  });

  test('the page tells a newcomer to Authorize with the API key npm start printed, which the contract takes as a bearer token', async (t) => {
    const { app } = await startApp(t, redisUrl);

    const res = await request(app).get('/docs');

    assert.match(res.text, /Click <strong>Authorize<\/strong>, paste the API key that\s+<code>npm start<\/code> printed/);
    assert.match(res.text, /Try it out/);
    // Swagger UI's Authorize dialog asks for a bearer value because the contract declares one;
    // the only other scheme is the switch's own (HTTP Basic for POST /v1/switch/cdr).
    assert.deepEqual(loadOpenApi().document.components.securitySchemes, {
      bearerAuth: { type: 'http', scheme: 'bearer', description: "An API key from the server's `API_KEYS`." },
      switchBasicAuth: { type: 'http', scheme: 'basic', description: "The switch's credentials, `CDR_CREDENTIALS` (`user:password`, mod_json_cdr's `cred`)." },
    });
  });

  test('a file outside the asset list is 404, even when it exists in swagger-ui-dist or up the tree', async (t) => {
    const { app } = await startApp(t, redisUrl);

    for (const url of ['/docs/assets/index.html', '/docs/assets/swagger-initializer.js', '/docs/assets/..%2F..%2Fpackage.json', '/docs/assets/%2e%2e%2fpackage.json', '/docs/assets/constructor']) {
      const res = await request(app).get(url);
      assert.equal(res.status, 404, url);
      assert.equal(res.body.error.code, 'ROUTE_NOT_FOUND', url);
    }
  });
});
