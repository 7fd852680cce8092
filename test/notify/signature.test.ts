import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { parseSignatureHeader, signPayload, verifySignature } from '../../src/notify/index.js';

const secret = 'whsec_test_0123456789abcdef';
const body = JSON.stringify({ id: 'evt_1', type: 'callback.status_changed', data: { status: 'bridged' } });
const t = 1_718_000_000;

test('a signed body verifies with the same secret within the tolerance', () => {
  const header = signPayload(secret, body, t);

  assert.equal(verifySignature(secret, header, body, { now: t + 299 }), true);
  assert.equal(verifySignature(secret, header, Buffer.from(body), { now: t }), true);
});

test('the v1 value is the hex HMAC-SHA256 of "<t>.<body>", as a receiver in any language computes it', () => {
  const header = signPayload(secret, body, t);

  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  assert.equal(header, `t=${t},v1=${expected}`);
});

test('a tampered body does not verify', () => {
  const header = signPayload(secret, body, t);

  assert.equal(verifySignature(secret, header, body.replace('bridged', 'failed'), { now: t }), false);
  assert.equal(verifySignature(secret, header, `${body} `, { now: t }), false);
});

test('a signature made with another secret does not verify', () => {
  const header = signPayload('another-secret-0123456789', body, t);

  assert.equal(verifySignature(secret, header, body, { now: t }), false);
});

test('a timestamp older or newer than the tolerance is refused, even with a valid signature', () => {
  const header = signPayload(secret, body, t);

  assert.equal(verifySignature(secret, header, body, { now: t + 301 }), false);
  assert.equal(verifySignature(secret, header, body, { now: t - 301 }), false);
  assert.equal(verifySignature(secret, header, body, { now: t + 3600, toleranceSec: 3600 }), true);
});

test('a changed timestamp invalidates the signature', () => {
  const header = signPayload(secret, body, t).replace(`t=${t}`, `t=${t + 1}`);

  assert.equal(verifySignature(secret, header, body, { now: t }), false);
});

test('during a secret rotation the header carries one v1 per secret and either secret verifies it', () => {
  const header = signPayload(['old-secret-0123456789', 'new-secret-0123456789'], body, t);

  assert.equal(parseSignatureHeader(header)?.signatures.length, 2);
  assert.equal(verifySignature('old-secret-0123456789', header, body, { now: t }), true);
  assert.equal(verifySignature('new-secret-0123456789', header, body, { now: t }), true);
  assert.equal(verifySignature('third-secret-0123456789', header, body, { now: t }), false);
});

test('a receiver holding several secrets accepts a header signed with any of them', () => {
  const header = signPayload('new-secret-0123456789', body, t);

  assert.equal(verifySignature(['old-secret-0123456789', 'new-secret-0123456789'], header, body, { now: t }), true);
});

test('unknown schemes and extra v1 values that do not match are ignored', () => {
  const good = signPayload(secret, body, t);
  const header = `${good},v0=deadbeef,v1=${'0'.repeat(64)}`;

  assert.equal(verifySignature(secret, header, body, { now: t }), true);
});

test('missing, malformed and duplicated-timestamp headers are refused', () => {
  const v1 = signPayload(secret, body, t).split(',')[1];

  assert.equal(verifySignature(secret, undefined, body, { now: t }), false);
  assert.equal(verifySignature(secret, '', body, { now: t }), false);
  assert.equal(verifySignature(secret, `t=${t}`, body, { now: t }), false);
  assert.equal(verifySignature(secret, `${v1}`, body, { now: t }), false);
  assert.equal(verifySignature(secret, `t=abc,${v1}`, body, { now: t }), false);
  assert.equal(verifySignature(secret, `t=${t},t=${t},${v1}`, body, { now: t }), false);
  assert.equal(verifySignature(secret, `t=${t},v1=zz`, body, { now: t }), false);
});
