/**
 * The real FreeSWITCH posting CDRs to Crossline's endpoint. It needs a switch whose mod_json_cdr
 * `url` points at this test, which the CI switch's does not, so it runs only when told where:
 *
 *   FS_JSON_CDR_URL='http://crossline:cdr-secret-0123456789@127.0.0.1:47200/v1/switch/cdr' \
 *     ../shared/freeswitch/start.sh /opt/fs-cdr --esl-port 48021 --sip-port 45060 --phones-port 45090 \
 *     --rtp-start 46000 --rtp-end 46999 --socket-port 48084
 *   TEST_FREESWITCH_CDR_ESL_URL=esl://:ClueCon@127.0.0.1:48021 TEST_FREESWITCH_CDR_PORT=47200 \
 *     node --import tsx --test test/e2e/switch-cdr-freeswitch.test.ts
 *
 * start.sh passes no `cred`: the credentials travel in the URL's user part, which libcurl sends
 * as HTTP Basic, as mod_json_cdr's `cred` would.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createApp } from '../../src/api/index.js';
import { loadConfig } from '../../src/config/index.js';
import { LegFactsStore } from '../../src/store/leg-facts.js';
import { parseEslUrl } from '../../src/telephony/index.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { connectModesl } from '../simulator/modesl.js';
import { API_KEY, FakeCallbackService } from '../api/helpers.js';

const ESL_URL = process.env.TEST_FREESWITCH_CDR_ESL_URL;
const PORT = Number(process.env.TEST_FREESWITCH_CDR_PORT ?? '0');
const CREDENTIALS = process.env.TEST_FREESWITCH_CDR_CREDENTIALS ?? 'crossline:cdr-secret-0123456789';
const skip = ESL_URL === undefined || !(PORT > 0) ? 'TEST_FREESWITCH_CDR_ESL_URL / TEST_FREESWITCH_CDR_PORT not set (a switch posting CDRs to this test)' : false;

describe('FreeSWITCH 1.10 mod_json_cdr posting to POST /v1/switch/cdr', { skip }, () => {
  test('an answered leg that hangs up and a busy leg are reported, stored and read back through the port', { timeout: 60_000 }, async (t) => {
    const redis = new Redis(await testRedisUrl(), { maxRetriesPerRequest: 1 });
    await redis.ping();
    const config = loadConfig({}, { apiKeys: [API_KEY], keyPrefix: uniquePrefix(), cdrCredentials: CREDENTIALS });
    const legFacts = new LegFactsStore(redis, config.keyPrefix);
    const received: string[] = [];
    const app = createApp({
      config,
      callbacks: new FakeCallbackService(),
      redis,
      readiness: { switchStatus: () => ({ connected: true, since: new Date().toISOString() }) },
      logger: pino({ level: 'info' }, { write: (line: string) => void received.push(line) }),
      legFacts,
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(PORT, '127.0.0.1', () => resolve(s));
    });
    const esl = parseEslUrl(ESL_URL ?? '');
    const conn = await connectModesl(esl.host, esl.port, esl.password);
    t.after(async () => {
      conn.disconnect();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const keys = await redis.keys(`${config.keyPrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });
    const api = (command: string, args: string): Promise<string> => new Promise((resolve) => conn.api(command, args, (e) => resolve(e.getBody())));
    const loaded = await api('module_exists', 'mod_json_cdr');
    if (loaded.trim() !== 'true') assert.match(await api('load', 'mod_json_cdr'), /\+OK/);

    const callbackId = randomUUID();
    const answered = randomUUID();
    const busy = randomUUID();
    const tags = (uuid: string, role: string): string => `{origination_uuid=${uuid},ignore_early_media=true,crossline_callback_id=${callbackId},crossline_role=${role},crossline_attempt=1}`;
    assert.match(await api('originate', `${tags(answered, 'caller')}sofia/gateway/phones/+12025550191 &park()`), /^\+OK/);
    assert.match(await api('originate', `${tags(busy, 'callee')}sofia/gateway/phones/+12025550160 &park()`), /^-ERR USER_BUSY/);

    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && ((await legFacts.get(answered)) === undefined || (await legFacts.get(busy)) === undefined)) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const a = await legFacts.get(answered);
    assert.ok(a, `no CDR for the answered leg; the endpoint logged: ${received.join('')}`);
    assert.equal(a.callbackId, callbackId);
    assert.equal(a.role, 'caller');
    assert.equal(a.answered, true);
    assert.equal(a.bridged, false);
    assert.equal(a.hangupCause, 'NORMAL_CLEARING');
    assert.equal(a.hangupDisposition, 'recv_bye');
    assert.ok(a.billSec >= 1 && a.billSec <= 4, `billsec ${a.billSec}`);
    const b = await legFacts.get(busy);
    assert.ok(b, 'no CDR for the busy leg');
    assert.equal(b.answered, false);
    assert.equal(b.hangupCause, 'USER_BUSY');
  });
});
