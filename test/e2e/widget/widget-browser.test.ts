import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { buildWeb } from '../../../src/web/build.js';
import { browserUnavailable, launchBrowser, type Browser } from '../../support/browser.js';
import { startHarness, type Harness } from '../../support/harness.js';

/**
 * Where the screenshots go: a scratch folder, so a test run leaves the tree as it was; with
 * UPDATE_SCREENSHOTS=1 the committed set the README links to (test/e2e/widget/screenshots).
 */
const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? path.join(__dirname, 'screenshots') : mkdtempSync(path.join(tmpdir(), 'crossline-screenshots-'));
const OPS = 'ops-token-browser-0123456789';
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const skip = browserUnavailable();

/** A host page on an origin of its own, under a strict CSP that lets in Crossline's script only. */
function hostServer(crossline: string, key: () => string, lang = 'en'): Promise<{ origin: string; close(): void }> {
  const server = http.createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Content-Security-Policy', `default-src 'none'; script-src ${crossline}; connect-src ${crossline}; style-src 'none'; img-src 'none'; base-uri 'none'; form-action 'none'`);
    res.end(`<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>Shop</title></head><body><main><h1>Example shop</h1>
<p>Questions? We call you back.</p>
<script src="${crossline}/widget.js" data-site="${key()}" async></script></main></body></html>`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ origin: `http://localhost:${(server.address() as AddressInfo).port}`, close: () => server.close() })));
}

async function statusText(page: Page): Promise<string> {
  return (await page.locator('crossline-callback').getByRole('status').textContent()) ?? '';
}

/** Waits until the live region says `text`, keeping every distinct text it showed on the way. */
async function untilStatus(page: Page, text: RegExp, seen: string[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await statusText(page);
    if (now && seen.at(-1) !== now) seen.push(now);
    if (text.test(now)) return;
    if (Date.now() > deadline) throw new Error(`status never matched ${text}; saw ${JSON.stringify(seen)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function axeSerious(page: Page, include?: string): Promise<Array<{ id: string; impact: string; nodes: number }>> {
  // evaluated over the DevTools protocol: the page's CSP (no inline script) does not apply to it
  await page.evaluate(AXE);
  // a string, run in the page (this file is type-checked for Node, without the DOM's types)
  return page.evaluate(`(async () => {
    const result = await window.axe.run(${include === undefined ? 'document' : JSON.stringify(include)}, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, targets: v.nodes.slice(0, 3).map((n) => n.target) }));
  })()`);
}

async function focusedId(page: Page): Promise<string> {
  return page.evaluate(`(() => {
    const active = document.querySelector('crossline-callback')?.shadowRoot?.activeElement;
    return active ? active.tagName.toLowerCase() + '#' + active.id : 'document:' + (document.activeElement?.tagName ?? '');
  })()`);
}

describe('the call-me-back button and the dashboard in a real Chromium', { skip }, () => {
  let crossline: Harness;
  let browser: Browser;
  let siteKey = '';
  let host: { origin: string; close(): void };
  let stranger: { origin: string; close(): void };
  let germanHost: { origin: string; close(): void };
  let api = '';

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await buildWeb();
    // real time: each call step lasts about a second, long enough to see (and photograph) it
    crossline = await startHarness({
      timeScale: 1,
      env: { OPS_TOKEN: OPS, WIDGET_SECRET: 'widget-secret-browser-0123', WIDGET_CHALLENGE_MAX_NUMBER: '20000', DEFAULT_RETRY_DELAY: '600', DEFAULT_MAX_ATTEMPTS: '2', DESTINATION_LIMIT_EXEMPT: '+12025550100' },
    });
    api = crossline.runtime.apiUrl ?? '';
    host = await hostServer(api, () => siteKey);
    stranger = await hostServer(api, () => siteKey);
    germanHost = await hostServer(api, () => siteKey, 'de');
    const site = await crossline.api().post('/v1/sites').send({ name: 'Example Shop', allowedOrigins: [host.origin, germanHost.origin], target: { number: '+12025550100' } });
    assert.equal(site.status, 201, JSON.stringify(site.body));
    siteKey = site.body.publicKey;
    // a call center whose queue is the switch's mod_callcenter queue (the simulator's), and one without a queue
    await crossline.api().post('/v1/call-centers').send({ name: 'acme', numbers: ['+12025550103'], queue: { type: 'freeswitch', queue: 'support@default' } }).expect(201);
    await crossline.api().post('/v1/call-centers').send({ name: 'walk-in', numbers: ['+12025550104'] }).expect(201);
    browser = await launchBrowser();
  });

  after(async () => {
    const page = await crossline.api().get('/v1/callbacks?limit=100');
    for (const cb of page.body.items ?? []) if (!['completed', 'failed', 'canceled'].includes(cb.status)) await crossline.api().delete(`/v1/callbacks/${cb.id}`);
    await browser?.close();
    host?.close();
    stranger?.close();
    germanHost?.close();
    await crossline?.close();
  });

  test('a visitor on another origin fills the button in with the keyboard only, solves the challenge and watches the call connect', async () => {
    const page = await browser.context.newPage();
    const outside: string[] = [];
    page.on('request', (req) => {
      const origin = new URL(req.url()).origin;
      if (origin !== host.origin && origin !== api) outside.push(req.url());
    });
    const cspErrors: string[] = [];
    page.on('console', (msg) => {
      if (/Content Security Policy|Refused/.test(msg.text())) cspErrors.push(msg.text());
    });
    await page.goto(host.origin);
    const widget = page.locator('crossline-callback');
    await widget.getByLabel('Your phone number').waitFor();
    await page.screenshot({ path: path.join(SHOTS, '1-form.png') });

    // keyboard only: Tab through the fields in order
    await page.keyboard.press('Tab');
    assert.match(await focusedId(page), /^select#cl-country-/);
    await page.keyboard.press('Tab');
    assert.match(await focusedId(page), /^input#cl-phone-/);
    await page.keyboard.type('2025550101');
    assert.equal(await widget.getByLabel('Your phone number').inputValue(), '(202) 555-0101', 'formatted as typed');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Ada Lovelace');
    await page.keyboard.press('Tab');
    assert.match(await focusedId(page), /^input#cl-now-/);
    await page.keyboard.press('Tab');
    assert.match(await focusedId(page), /^input#cl-consent-/);
    // submitting without consent: the error is announced and focus goes to the checkbox
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await widget.getByText('Please agree to be called.').waitFor();
    assert.match(await focusedId(page), /^input#cl-consent-/);
    await page.screenshot({ path: path.join(SHOTS, '2-validation.png') });
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');

    const seen: string[] = [];
    await untilStatus(page, /We are calling Example Shop now/, seen);
    await page.screenshot({ path: path.join(SHOTS, '3-calling-site.png') });
    await untilStatus(page, /^Calling you/, seen);
    await page.screenshot({ path: path.join(SHOTS, '4-calling-you.png') });
    await untilStatus(page, /^Connected$/, seen);
    await page.screenshot({ path: path.join(SHOTS, '5-connected.png') });
    assert.deepEqual(seen.filter((s) => s !== 'One moment…'), ['We are calling Example Shop now…', 'Calling you…', 'Connected']);

    const list = await crossline.api().get('/v1/callbacks?limit=5');
    const placed = list.body.items[0];
    assert.equal(placed.status, 'bridged');
    assert.equal(placed.request.callee.number, '+12025550100');
    assert.equal(placed.request.caller.number, '+12025550101');
    assert.equal(placed.request.caller.name, 'Ada Lovelace');
    assert.deepEqual(outside, [], 'no third-party request');
    assert.deepEqual(cspErrors, [], 'nothing the strict CSP had to refuse');
    assert.deepEqual(await axeSerious(page), [], 'no serious accessibility violation');
    await page.close();
  });

  test('a visitor who does not answer is told when the next try is', async () => {
    const page = await browser.context.newPage();
    await page.goto(host.origin);
    const widget = page.locator('crossline-callback');
    await widget.getByLabel('Your phone number').fill('202 555 0150');
    await widget.getByLabel(/I agree/).check();
    await widget.getByRole('button', { name: 'Call me' }).click();
    const seen: string[] = [];
    await untilStatus(page, /^No answer — we will try again at .*\d\d:\d\d/, seen, 60_000);
    await page.screenshot({ path: path.join(SHOTS, '6-retrying.png') });
    await page.close();
  });

  test('a visitor who picks a time is told when they will be called', async () => {
    const page = await browser.context.newPage();
    await page.goto(host.origin);
    const widget = page.locator('crossline-callback');
    // a number that cannot be right is flagged as soon as they leave the field
    await widget.getByLabel('Your phone number').fill('202 555');
    await page.keyboard.press('Tab');
    await widget.getByText('Please enter a valid phone number.').waitFor();
    assert.equal(await widget.getByLabel('Your phone number').getAttribute('aria-invalid'), 'true');
    await widget.getByLabel('Your phone number').fill('202 555 0102');
    assert.equal(await widget.getByText('Please enter a valid phone number.').count(), 0, 'the error goes once they type');
    await widget.getByLabel('At a time of your choice').check();
    const slot = widget.getByLabel('Time', { exact: true });
    await slot.selectOption({ index: 1 });
    const at = await slot.inputValue();
    await widget.getByLabel(/I agree/).check();
    await widget.getByRole('button', { name: 'Call me' }).click();
    const seen: string[] = [];
    await untilStatus(page, /^Thank you! We will call you at .*\d\d:\d\d( [AP]M)?\.$/, seen);
    await page.screenshot({ path: path.join(SHOTS, '10-scheduled.png') });
    const placed = (await crossline.api().get('/v1/callbacks?limit=5')).body.items.find((cb: { request: { caller: { number: string } } }) => cb.request.caller.number === '+12025550102');
    assert.equal(placed?.status, 'scheduled');
    assert.equal(new Date(placed.request.at).getTime(), new Date(at).getTime(), 'the slot the visitor picked');
    await page.close();
  });

  test('a visitor whose number does not exist is told the call could not connect', async () => {
    const page = await browser.context.newPage();
    await page.goto(host.origin);
    const widget = page.locator('crossline-callback');
    // not in the simulator's phone plan: the switch answers UNALLOCATED_NUMBER, which no retry can help
    await widget.getByLabel('Your phone number').fill('202 555 0300');
    await widget.getByLabel(/I agree/).check();
    await widget.getByRole('button', { name: 'Call me' }).click();
    const seen: string[] = [];
    await untilStatus(page, /^Could not connect$/, seen);
    await widget.getByRole('button', { name: 'New request' }).waitFor();
    await page.screenshot({ path: path.join(SHOTS, '11-failed.png') });
    await page.close();
  });

  test('a page whose origin the site does not allow gets a friendly refusal and places no call', async () => {
    const before = (await crossline.api().get('/v1/callbacks?limit=100')).body.items.length;
    const page = await browser.context.newPage();
    await page.goto(stranger.origin);
    await page.locator('crossline-callback').getByText('This call-back button is not set up for this website.').waitFor();
    await page.screenshot({ path: path.join(SHOTS, '7-wrong-origin.png') });
    // the same request made by hand from that origin is refused by the server too
    const res = await fetch(`${api}/v1/widget/sites/${siteKey}/callbacks`, { method: 'POST', headers: { Origin: stranger.origin, 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'ORIGIN_NOT_ALLOWED');
    assert.equal((await crossline.api().get('/v1/callbacks?limit=100')).body.items.length, before);
    await page.close();
  });

  test('on a German page the button speaks German', async () => {
    const page = await browser.context.newPage();
    await page.goto(germanHost.origin);
    await page.locator('crossline-callback').getByLabel('Ihre Telefonnummer').waitFor();
    await page.screenshot({ path: path.join(SHOTS, '8-german.png') });
    assert.deepEqual(await axeSerious(page), []);
    await page.close();
  });

  test('the operator signs in to the dashboard and sees callbacks, outcomes, switches, call-center queues and sites; axe finds nothing serious', async () => {
    const page = await browser.context.newPage();
    const res = await page.goto(`${api}/dashboard/`);
    assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    await page.getByLabel(/Operator token/).fill('wrong-token-000000000');
    await page.keyboard.press('Enter');
    await page.getByText('That is not the operator token.').waitFor();
    await page.getByLabel(/Operator token/).fill(OPS);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Callbacks' }).waitFor();
    await page.locator('#callbacks-body td', { hasText: '+12025550101' }).first().waitFor();
    await page.locator('#chart-outcomes canvas').waitFor();
    await page.locator('#switches-body td', { hasText: 'yes' }).first().waitFor();
    await page.locator('#sites-body td', { hasText: 'Example Shop' }).waitFor();
    // per call center: the queue now and the expected wait (one agent on a long call, three callers in line)
    crossline.sim.addAgent({ name: '1000@default', queues: ['support@default'], answerAfterMs: 100, talkMs: 600_000, wrapUpSec: 0 });
    for (let i = 0; i < 4; i++) crossline.sim.joinQueue('support@default', { cidNumber: `+1202555014${i}`, cidName: `Customer ${i}` });
    const acme = page.locator('#call-centers-body tr', { hasText: 'acme' });
    await acme.locator('td', { hasText: /^3$/ }).waitFor({ timeout: 20_000 });
    const cells = await acme.locator('td').allTextContents();
    assert.deepEqual(cells.slice(2, 6), ['freeswitch', '3', '0', '1'], cells.join(' | '));
    assert.match(cells[7] ?? '', /^\d+ (s|min \d+ s)$/, 'an expected wait');
    assert.equal((await page.locator('#call-centers-body tr', { hasText: 'walk-in' }).locator('td').allTextContents())[2], 'none (hours only)');
    await page.locator('#callbacks-body tr', { hasText: '+12025550101' }).first().getByRole('button').click();
    await page.locator('#detail td', { hasText: 'bridged' }).first().waitFor();
    await page.screenshot({ path: path.join(SHOTS, '9-dashboard.png'), fullPage: true });
    assert.deepEqual(await axeSerious(page), [], 'no serious accessibility violation');

    // the session cookie is HttpOnly and SameSite=Strict; a cross-site write without the CSRF token is refused
    const cookies = await browser.context.cookies(api);
    const session = cookies.find((c) => c.name === 'crossline_ops');
    assert.ok(session?.httpOnly);
    assert.equal(session?.sameSite, 'Strict');
    const drain = await page.evaluate(`fetch('/v1/admin/switches/nope/drain', { method: 'POST' }).then((r) => r.status)`);
    assert.equal(drain, 401, 'a state change needs the CSRF token as well');
    const queues = await page.goto(`${api}/dashboard/queues/`);
    assert.equal(queues?.status(), 200);
    await page.close();
  });
});
