/**
 * `/demo` as a newcomer meets it: Crossline started by its real entry point (src/main.ts, what
 * `npm start` runs after the build) with nothing configured — no REDIS_URL, no ESL_URL, no API key —
 * so the embedded defaults run (the local Redis, the embedded switch simulator, a generated key and
 * the demo site); Chromium opens /demo, the visitor types +1 202 555 0101 and sees "Connected".
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { buildWeb } from '../../../src/web/build.js';
import { browserUnavailable, launchBrowser, type Browser } from '../../support/browser.js';
import { uniquePrefix } from '../../support/redis.js';

const ROOT = path.join(__dirname, '..', '..', '..');
const skip = browserUnavailable();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

describe('npm start serves /demo, and the call goes through', { skip }, () => {
  let child: ChildProcess | undefined;
  let browser: Browser | undefined;
  let output = '';
  let base = '';
  // its own key prefix: the local Redis on 6379 is shared with other runs
  const prefix = uniquePrefix();

  before(async () => {
    await buildWeb();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // nothing of the caller's environment that would configure Crossline, only what a shell has
    // (and the SMTP intake off: its default port is shared by everyone on this machine)
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), HOST: '127.0.0.1', KEY_PREFIX: prefix, LOG_LEVEL: 'warn', SMTP_ENABLED: 'false' };
    child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`Crossline exited with ${child.exitCode}:\n${output}`);
      const ready = await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false);
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`Crossline not ready in 30 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, lazyConnect: true });
    try {
      await redis.connect();
      for (const pattern of [`${prefix}*`, `{${prefix}*`]) {
        const keys = await redis.keys(pattern);
        if (keys.length > 0) await redis.del(...keys);
      }
    } finally {
      redis.disconnect();
    }
  });

  test('the banner names the demo, and a visitor on /demo types +1 202 555 0101 and sees Connected', async () => {
    assert.match(output, new RegExp(`${base.replace(/[.:/]/g, '\\$&')}/demo`), `the banner points at /demo:\n${output}`);
    assert.ok(browser);
    const page = await browser.context.newPage();
    const res = await page.goto(`${base}/demo`);
    assert.equal(res?.status(), 200);
    assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    const widget = page.locator('crossline-callback');
    await widget.getByLabel('Your phone number').fill('+1 202 555 0101');
    await widget.getByLabel(/I agree/).check();
    await widget.getByRole('button', { name: 'Call me' }).click();
    await widget.getByRole('status').getByText('Connected', { exact: true }).waitFor({ timeout: 20_000 });
    await page.close();
  });
});
