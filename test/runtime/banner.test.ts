import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { bannerText } from '../../src/runtime/launch.js';
import { startHarness } from '../support/harness.js';

describe('what npm start prints for a newcomer', () => {
  it('lists what the capabilities serve: the demo page, the dashboard, the SMTP intake and the outbox', async (t) => {
    const h = await startHarness({ env: { WIDGET_DEMO: 'on', OPS_TOKEN: 'ops-token-for-the-banner-test', SMTP_ENABLED: 'true', SMTP_PORT: '0' } });
    t.after(() => h.close());
    const base = h.runtime.apiUrl ?? '';
    const lines = h.runtime.moduleBanner;
    assert.ok(lines.some((l) => l.includes(`${base}/demo`)), lines.join('\n'));
    assert.ok(lines.some((l) => l.includes(`${base}/dashboard`)), lines.join('\n'));
    assert.ok(lines.some((l) => /SMTP on 127\.0\.0\.1:\d+ takes "call …" messages/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => l.includes(`${base}/v1/outbox`)), lines.join('\n'));
    assert.ok(!lines.join('\n').includes('ops-token-for-the-banner-test'), 'a configured token is never printed');
    // The page the line points at is there.
    assert.equal((await fetch(`${base}/demo`)).status, 200);
  });

  it('shows an operations token only when it generated one, beside the generated API key', () => {
    const config = loadConfig({});
    const runtime = {
      redis: { url: 'redis://127.0.0.1:6379', origin: 'local-default' as const, stop: async () => undefined },
      simulator: undefined,
      apiUrl: 'http://127.0.0.1:8080',
      webhookSecretGenerated: false,
      moduleBanner: ['  Dashboard http://127.0.0.1:8080/dashboard (sign in with the operations token)'],
    };
    const generated = bannerText(config, { api: true, workers: true }, runtime, 'dev_key', 'ops_generated');
    assert.match(generated, /Ops token ops_generated \(generated for this run/);
    assert.match(generated, /Dashboard http:\/\/127\.0\.0\.1:8080\/dashboard/);
    assert.doesNotMatch(bannerText(config, { api: true, workers: true }, runtime, undefined), /Ops token/);
  });
});
