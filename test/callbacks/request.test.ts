import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCallbackInput, type RequestPolicy } from '../../src/callbacks/index.js';
import { CrosslineError, type ErrorCode } from '../../src/errors.js';

const policy: RequestPolicy = {
  defaultRegion: 'US',
  defaultRingTimeoutSec: 30,
  defaultMaxAttempts: 3,
  defaultRetryDelaySec: 60,
  maxScheduleDays: 30,
  fraud: {
    allowedCountries: ['US'],
    deniedPrefixes: ['+1202555099'],
    allowedPrefixes: [],
    allowedSipDomains: [{ host: 'example.com', subdomains: false }],
    defaultRegion: 'US',
  },
  callerIds: {},
};
const now = new Date('2026-11-22T12:00:00Z');
const base = { caller: { number: '+12025550100' }, callee: { number: '+12025550101' } };

function rejects(input: Parameters<typeof parseCallbackInput>[0], code: ErrorCode, path?: string, p: RequestPolicy = policy): void {
  assert.throws(
    () => parseCallbackInput(input, p, now),
    (err: unknown) => {
      assert.ok(err instanceof CrosslineError, String(err));
      assert.equal(err.code, code);
      if (path !== undefined) assert.equal(err.details[0]?.path, path);
      return true;
    },
  );
}

describe('parsing a callback request', () => {
  it('normalises a national number to E.164 with the default region and fills the defaults', () => {
    const r = parseCallbackInput({ caller: { number: '(202) 555-0100' }, callee: { sipUri: 'sip:alice@example.com', name: 'Alice' } }, policy, now);
    assert.deepEqual(r.caller.endpoint, { kind: 'number', e164: '+12025550100', country: 'US' });
    assert.deepEqual(r.callee.endpoint, { kind: 'sip', uri: 'sip:alice@example.com' });
    assert.equal(r.callee.name, 'Alice');
    assert.equal(r.ringTimeoutSec, 30);
    assert.deepEqual(r.retry, { maxAttempts: 3, delaySeconds: 60 });
    assert.equal(r.order, 'callee-first');
    assert.equal(r.at, undefined);
  });

  it('keeps dtmf, announcements, caller id, webhook, order and a future time', () => {
    const r = parseCallbackInput(
      {
        ...base,
        callee: { number: '+12025550170', dtmf: '1w2W#*' },
        announce: { callee: "Connecting you to Bob's desk.", caller: 'Hello!' },
        callerId: '202-555-0111',
        webhook: 'https://hooks.example.com/x',
        order: 'caller-first',
        at: '2026-11-22T15:00:00+01:00',
        ringTimeout: 20,
        retry: { maxAttempts: 5, delaySeconds: 0 },
      },
      policy,
      now,
    );
    assert.equal(r.callee.dtmf, '1w2W#*');
    assert.equal(r.callerId, '+12025550111');
    assert.equal(r.at, '2026-11-22T14:00:00.000Z');
    assert.equal(r.order, 'caller-first');
    assert.deepEqual(r.retry, { maxAttempts: 5, delaySeconds: 0 });
    assert.equal(r.announce.callee, "Connecting you to Bob's desk.");
  });

  it('treats a time a moment in the past as now, and refuses one long past, one without offset or too far ahead', () => {
    assert.equal(parseCallbackInput({ ...base, at: '2026-11-22T11:58:00Z' }, policy, now).at, undefined);
    rejects({ ...base, at: '2026-11-22T10:00:00Z' }, 'INVALID_SCHEDULE', '/at');
    rejects({ ...base, at: '2026-11-22T15:00:00' }, 'INVALID_SCHEDULE', '/at');
    rejects({ ...base, at: '2027-03-01T15:00:00Z' }, 'INVALID_SCHEDULE', '/at');
  });

  const injections = [';', ' ', '\n', '&', '{', '}', '^^', "'", '"', '|', ',', '\r', '`', '$', '%0A'];
  for (const bad of injections) {
    const shown = JSON.stringify(bad);
    it(`refuses ${shown} in a number, SIP URI, DTMF, name, announcement or caller id`, () => {
      // A space is how people write numbers; it never reaches the switch (the number is normalised to E.164).
      if (bad !== ' ') rejects({ ...base, callee: { number: `+1202555010${bad}1` } }, 'INVALID_NUMBER', '/callee/number');
      rejects({ ...base, callee: { sipUri: `sip:al${bad}ice@example.com` } }, 'INVALID_SIP_URI', '/callee/sipUri');
      rejects({ ...base, callee: { ...base.callee, dtmf: `12${bad}3` } }, 'INVALID_DTMF', '/callee/dtmf');
      if (bad !== ' ') rejects({ ...base, caller: { ...base.caller, name: `Bo${bad}b` } }, 'INVALID_NAME', '/caller/name');
      if (![' ', "'", ','].includes(bad)) rejects({ ...base, announce: { callee: `hi${bad}there` } }, 'INVALID_ANNOUNCEMENT', '/announce/callee');
      if (bad !== ' ') rejects({ ...base, callerId: `+1202555011${bad}1` }, 'INVALID_CALLER_ID', '/callerId');
    });
  }

  it('refuses a number written with spaces around an injection', () => {
    rejects({ ...base, callee: { number: '+12025550101 &park()' } }, 'INVALID_NUMBER', '/callee/number');
  });

  it('refuses a SIP URI with parameters or headers, and an endpoint with both or neither of number and sipUri', () => {
    rejects({ ...base, callee: { sipUri: 'sip:alice@example.com;transport=tcp' } }, 'INVALID_SIP_URI');
    rejects({ ...base, callee: { sipUri: 'sip:alice@example.com?X-Foo=bar' } }, 'INVALID_SIP_URI');
    rejects({ ...base, callee: { number: '+12025550101', sipUri: 'sip:a@b.c' } }, 'VALIDATION_FAILED', '/callee');
    rejects({ ...base, callee: {} }, 'VALIDATION_FAILED', '/callee');
  });

  it('refuses bounds the schema also enforces, for intakes other than REST', () => {
    rejects({ ...base, ringTimeout: 2 }, 'VALIDATION_FAILED', '/ringTimeout');
    rejects({ ...base, retry: { maxAttempts: 0 } }, 'VALIDATION_FAILED', '/retry/maxAttempts');
    rejects({ ...base, webhook: 'ftp://example.com/' }, 'INVALID_WEBHOOK_URL', '/webhook');
    rejects({ ...base, webhook: 'https://user:pw@example.com/' }, 'INVALID_WEBHOOK_URL', '/webhook');
  });

  it('refuses a maxWaitSeconds of 0, of a year or not whole, and keeps one in bounds', () => {
    rejects({ ...base, maxWaitSeconds: 0 }, 'INVALID_MAX_WAIT', '/maxWaitSeconds');
    rejects({ ...base, maxWaitSeconds: 365 * 86_400 }, 'INVALID_MAX_WAIT', '/maxWaitSeconds');
    rejects({ ...base, maxWaitSeconds: 90.5 }, 'INVALID_MAX_WAIT', '/maxWaitSeconds');
    assert.equal(parseCallbackInput({ ...base, maxWaitSeconds: 120 }, policy, now).maxWaitSec, 120);
  });
});

describe('the toll-fraud policy', () => {
  it('refuses premium-rate numbers on either leg', () => {
    rejects({ ...base, callee: { number: '+19005551234' } }, 'PREMIUM_RATE_DENIED', '/callee');
    rejects({ ...base, caller: { number: '+19005551234' } }, 'PREMIUM_RATE_DENIED', '/caller');
  });

  it('refuses numbers outside the allowed countries', () => {
    rejects({ ...base, callee: { number: '+33612345678' } }, 'DESTINATION_NOT_ALLOWED', '/callee');
    rejects({ ...base, caller: { number: '+448712345678' } }, 'PREMIUM_RATE_DENIED', '/caller');
  });

  it('refuses a denied prefix even inside an allowed country', () => {
    rejects({ ...base, callee: { number: '+12025550990' } }, 'DESTINATION_NOT_ALLOWED', '/callee');
  });

  it('allows a foreign number through an allowed prefix, and an allowed country', () => {
    const p = { ...policy, fraud: { ...policy.fraud, allowedPrefixes: ['+336'] } };
    assert.equal(parseCallbackInput({ ...base, callee: { number: '+33612345678' } }, p, now).callee.endpoint.kind, 'number');
    const fr = { ...policy, fraud: { ...policy.fraud, allowedCountries: ['US', 'FR'] } };
    assert.equal(parseCallbackInput({ ...base, callee: { number: '+33612345678' } }, fr, now).callee.endpoint.kind, 'number');
    rejects({ ...base, callee: { number: '+33612345678' } }, 'DESTINATION_NOT_ALLOWED', '/callee', { ...policy, fraud: { ...policy.fraud, allowedCountries: ['US', 'DE'] } });
  });
});

describe('display names and spoken text', () => {
  it('folds full-width and other compatibility look-alikes to plain letters (NFKC)', () => {
    const r = parseCallbackInput({ ...base, caller: { ...base.caller, name: 'Ａｃｍｅ Ｂａｎｋ' }, announce: { callee: 'Ｈｅｌｌｏ' } }, policy, now);
    assert.equal(r.caller.name, 'Acme Bank');
    assert.equal(r.announce.callee, 'Hello');
  });

  it('refuses invisible fillers, zero-width characters, bidi controls and stacked marks in a name', () => {
    for (const name of ['\u3164', 'Bob\u3164', 'Ali\u200Bce', 'Bob\u200D', 'Bank\u202Egro', 'A\u2066B', 'Z\u0301\u0302\u0303\u0304\u0305', 'Bob\uFE0F', 'a\u115Fb', 'x\uFFA0']) {
      rejects({ ...base, caller: { ...base.caller, name } }, 'INVALID_NAME', '/caller/name');
      rejects({ ...base, announce: { caller: `Hi ${name}` } }, 'INVALID_ANNOUNCEMENT', '/announce/caller');
    }
  });

  it('keeps names in other scripts, with the marks they need', () => {
    for (const name of ['Zoë Ångström', 'Nguyễn Văn A', 'محمد', '山田 太郎', 'Ольга']) {
      assert.equal(parseCallbackInput({ ...base, callee: { ...base.callee, name } }, policy, now).callee.name, name.normalize('NFKC'));
    }
  });
});
