import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { widgetTextRoutes } from '../../src/intake/widget/routes.js';
import { buildWeb, widgetLanguages, type BuiltFile } from '../../src/web/build.js';
import { startApp } from '../api/helpers.js';
import { testRedisUrl } from '../support/redis.js';

/** The budget for what a page downloads to show the button (gzip), and the README's figure. */
const WIDGET_GZIP_BUDGET = 15_000;
const I18N = path.join(__dirname, '..', '..', 'src', 'web', 'widget', 'i18n');

const texts = (lang: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(I18N, `${lang}.json`), 'utf8')) as Record<string, unknown>;
const placeholders = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();

describe('the browser bundles', () => {
  let out = '';
  let built: BuiltFile[] = [];

  before(async () => {
    out = mkdtempSync(path.join(tmpdir(), 'crossline-web-'));
    built = await buildWeb(out);
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  test(`widget.js stays within ${WIDGET_GZIP_BUDGET} bytes gzip`, () => {
    const widget = built.find((f) => f.file === 'widget.js');
    assert.ok(widget, 'widget.js is built');
    assert.ok(widget.gzipBytes <= WIDGET_GZIP_BUDGET, `widget.js is ${widget.gzipBytes} bytes gzip, above ${WIDGET_GZIP_BUDGET}`);
  });

  test('widget.js works under a strict CSP: no eval, no Function constructor', () => {
    const code = readFileSync(path.join(out, 'widget.js'), 'utf8');
    assert.doesNotMatch(code, /\beval\(|new Function\(/);
  });

  test('every language has exactly the English keys, each a non-empty text with the same placeholders', () => {
    const en = texts('en');
    const langs = widgetLanguages();
    assert.ok(langs.includes('en') && langs.length >= 2, `languages: ${langs.join(', ')}`);
    for (const lang of langs) {
      const other = texts(lang);
      assert.deepEqual(Object.keys(other).sort(), Object.keys(en).sort(), `${lang}.json keys`);
      for (const [key, value] of Object.entries(other)) {
        assert.ok(typeof value === 'string' && value.trim() !== '', `${lang}.${key} is a text`);
        assert.deepEqual(placeholders(value), placeholders(String(en[key])), `${lang}.${key} placeholders`);
      }
    }
  });

  test('each language other than English is served as /widget/i18n/<lang>.json to any origin; nothing else is', async (t) => {
    const { app } = await startApp(t, testRedisUrl(), { mounts: [{ door: 'public', path: '/widget', router: widgetTextRoutes(out) }] });
    const de = await request(app).get('/widget/i18n/de.json');
    assert.equal(de.status, 200);
    assert.equal(de.headers['access-control-allow-origin'], '*');
    assert.match(de.headers['content-type'] ?? '', /^application\/json/);
    assert.deepEqual(de.body, texts('de'));
    for (const bad of ['en.json', 'xx.json', '..%2Fwidget.js', 'de.js', 'DE.json']) {
      const res = await request(app).get(`/widget/i18n/${bad}`);
      assert.equal(res.status, 404, bad);
      assert.equal(res.body.error.code, 'ROUTE_NOT_FOUND', bad);
    }
  });
});
