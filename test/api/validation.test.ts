import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import request from 'supertest';
import { testRedisUrl } from '../support/redis.js';
import { auth, startApp, validBody } from './helpers.js';

const redisUrl = testRedisUrl();

type Body = Record<string, unknown>;

/** Sets a value at a JSON pointer of a fresh valid body (creating objects on the way). */
function withValue(pointer: string, value: unknown, base: Body = validBody()): Body {
  const body = structuredClone(base);
  const parts = pointer.slice(1).split('/');
  let node: Record<string, unknown> = body;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1) ?? ''] = value;
  return body;
}

/** Characters that mean something to the dial string, ESL or a shell: none may pass the schema. */
const INJECTIONS: Array<[string, string]> = [
  ['semicolon', ';'],
  ['newline', '\n'],
  ['carriage return', '\r\n'],
  ['ampersand', '&'],
  ['braces', '{}'],
  ['caret pair', '^^'],
  ['double quote', '"'],
  ['pipe', '|'],
  ['dollar', '$'],
  ['backslash', '\\'],
  ['backtick', '`'],
  ['tab', '\t'],
  ['NUL', '\u0000'],
  ['angle bracket', '<'],
];

/** Characters that are legitimate in some fields (names, spoken text) and refused everywhere else. */
const SOMETIMES: Array<[string, string]> = [
  ['inner space', ' '],
  ['apostrophe', "'"],
  ['comma', ','],
];

/** Each field that may reach the switch, a valid value for it, and which of SOMETIMES it allows (mirroring src/telephony/grammar.ts). */
const FIELDS: Array<{ pointer: string; valid: string; allows: string[]; base?: Body }> = [
  { pointer: '/caller/number', valid: '+12025550123', allows: [] },
  { pointer: '/callee/number', valid: '2025550100', allows: [] },
  { pointer: '/callee/sipUri', valid: 'sip:bob@example.com', allows: [], base: { caller: { number: '+12025550123' }, callee: {} } },
  { pointer: '/caller/sipUri', valid: 'sips:alice@10.0.0.1:5061', allows: [], base: { caller: {}, callee: { number: '+12025550100' } } },
  { pointer: '/callee/dtmf', valid: 'ww12#', allows: [] },
  { pointer: '/caller/name', valid: 'Alice', allows: [' '] },
  { pointer: '/callee/name', valid: 'Bob', allows: [' '] },
  { pointer: '/announce/callee', valid: 'Connecting you now', allows: [' ', "'", ','] },
  { pointer: '/announce/caller', valid: 'Hello', allows: [' ', "'", ','] },
  { pointer: '/callerId', valid: '+12025550199', allows: [] },
];

async function expectRefused(app: Parameters<typeof request>[0], body: Body, path: string, label: string): Promise<void> {
  const res = await request(app).post('/v1/callbacks').set(auth).send(body);
  assert.equal(res.status, 400, `${label}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.error.code, 'VALIDATION_FAILED', label);
  assert.ok(
    res.body.error.details.some((d: { path: string }) => d.path === path),
    `${label}: expected a detail at ${path}, got ${JSON.stringify(res.body.error.details)}`,
  );
}

describe('injection attempts are refused at the edge', () => {
  for (const field of FIELDS) {
    test(`every dial-string or ESL metacharacter in ${field.pointer} is 400 and the domain is never called`, async (t) => {
      const { app, service } = await startApp(t, redisUrl);
      const base = field.base ?? validBody();

      for (const [name, chars] of INJECTIONS) {
        await expectRefused(app, withValue(field.pointer, `${field.valid}${chars}x`, base), field.pointer, `${name} in ${field.pointer}`);
      }
      for (const [name, chars] of SOMETIMES.filter(([, c]) => !field.allows.includes(c))) {
        await expectRefused(app, withValue(field.pointer, `${field.valid.slice(0, 3)}${chars}${field.valid.slice(3)}`, base), field.pointer, `${name} in ${field.pointer}`);
      }
      await expectRefused(app, withValue(field.pointer, `${field.valid}\nuuid_kill all`, base), field.pointer, 'newline command');
      await expectRefused(app, withValue(field.pointer, ` ${field.valid}`, base), field.pointer, 'leading space');
      await expectRefused(app, withValue(field.pointer, `${field.valid} `, base), field.pointer, 'trailing space');
      await expectRefused(app, withValue(field.pointer, '', base), field.pointer, 'empty');
      await expectRefused(app, withValue(field.pointer, 12025550100, base), field.pointer, 'not a string');

      assert.equal(service.callsTo('create').length, 0);
    });
  }

  test('SIP URIs with parameters, headers, escapes or a bad host are 400', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const bad = [
      'sip:bob@example.com;transport=tcp',
      'sip:bob@example.com?Subject=hi',
      'sip:b%40b@example.com',
      'sip:bob@-example.com',
      'sip:@example.com',
      'tel:+12025550100',
      'http://example.com',
      'sip:bob@example.com:5060:1',
      `sip:${'a'.repeat(65)}@example.com`,
      `sip:bob@${'a'.repeat(60)}.${'b'.repeat(200)}.com`,
    ];
    for (const uri of bad) await expectRefused(app, { caller: { number: '+12025550123' }, callee: { sipUri: uri } }, '/callee/sipUri', uri);
    assert.equal(service.callsTo('create').length, 0);
  });

  test('numbers with punctuation, letters or a bad E.164 form are 400', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    for (const number of ['(202) 555-0100', '202-555-0100', '202.555.0100', '+0123456789', '+1', '12', '+1202555010012345', '1-800-FLOWERS', '++12025550100']) {
      await expectRefused(app, withValue('/callee/number', number), '/callee/number', number);
    }
    assert.equal(service.callsTo('create').length, 0);
  });

  test('a national-format caller id is 400: it must be E.164', async (t) => {
    const { app } = await startApp(t, redisUrl);
    await expectRefused(app, withValue('/callerId', '2025550199'), '/callerId', 'national caller id');
  });
});

describe('the request schema', () => {
  test('legitimate values pass: national digits, sips with port, pauses and A-D, accented names, apostrophes in announcements', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const bodies: Body[] = [
      { caller: { number: '2025550123', name: 'Zoë Ölund-Smith' }, callee: { number: '02079460000', name: 'J. R. Doe' } },
      { caller: { sipUri: 'sips:alice.smith+1@pbx-1.example.co.uk:5061' }, callee: { sipUri: 'sip:1000@192.168.1.10', dtmf: 'wW0123456789*#ABCD' } },
      { ...validBody(), announce: { callee: "Hi, it's Alice (from work): please hold!", caller: 'Connecting you to Bob - one moment?' } },
      { ...validBody(), ringTimeout: 5, retry: { maxAttempts: 10, delaySeconds: 0 }, order: 'callee-first' },
      { ...validBody(), ringTimeout: 120, retry: { maxAttempts: 1, delaySeconds: 86400 }, at: '2030-01-15T15:00:00Z' },
      { ...validBody(), webhook: 'http://hooks.example.com:8080/cb?x=1', at: '2030-01-15T15:00:00.123+05:30' },
    ];
    for (const body of bodies) {
      const res = await request(app).post('/v1/callbacks').set(auth).send(body);
      assert.equal(res.status, 202, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
    }
    assert.equal(service.callsTo('create').length, bodies.length);
  });

  test('both number and sipUri, or neither, is 400 "exactly one"', async (t) => {
    const { app, service } = await startApp(t, redisUrl);

    const both = await request(app)
      .post('/v1/callbacks')
      .set(auth)
      .send({ caller: { number: '+12025550123', sipUri: 'sip:alice@example.com' }, callee: { number: '+12025550100' } });
    const neither = await request(app).post('/v1/callbacks').set(auth).send({ caller: { number: '+12025550123' }, callee: { name: 'Bob' } });

    assert.equal(both.status, 400);
    assert.deepEqual(both.body.error.details, [{ path: '/caller', message: 'must have exactly one of number and sipUri' }]);
    assert.equal(neither.status, 400);
    assert.deepEqual(neither.body.error.details, [{ path: '/callee', message: 'must have exactly one of number, sipUri and callCenter' }]);
    assert.equal(service.callsTo('create').length, 0);
  });

  test('every rule of the schema is enforced, each with the pointer of the offending value', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const cases: Array<[string, Body, string]> = [
      ['no caller', { callee: { number: '+12025550100' } }, '/caller'],
      ['no callee', { caller: { number: '+12025550100' } }, '/callee'],
      ['unknown top-level property', { ...validBody(), priority: 'high' }, '/priority'],
      ['unknown caller property', withValue('/caller/email', 'a@example.com'), '/caller/email'],
      ['dtmf on the caller', withValue('/caller/dtmf', '1'), '/caller/dtmf'],
      ['dtmf too long', withValue('/callee/dtmf', '1'.repeat(65)), '/callee/dtmf'],
      ['dtmf with E', withValue('/callee/dtmf', '12E'), '/callee/dtmf'],
      ['name too long', withValue('/caller/name', 'a'.repeat(65)), '/caller/name'],
      ['announcement too long', withValue('/announce/callee', 'a'.repeat(501)), '/announce/callee'],
      ['announcement with a semicolon', withValue('/announce/callee', 'Hello; bye'), '/announce/callee'],
      ['unknown announce party', withValue('/announce/agent', 'hi'), '/announce/agent'],
      ['ringTimeout below 5', { ...validBody(), ringTimeout: 4 }, '/ringTimeout'],
      ['ringTimeout above 120', { ...validBody(), ringTimeout: 121 }, '/ringTimeout'],
      ['ringTimeout not an integer', { ...validBody(), ringTimeout: 30.5 }, '/ringTimeout'],
      ['ringTimeout as a string', { ...validBody(), ringTimeout: '30' }, '/ringTimeout'],
      ['maxAttempts 0', withValue('/retry/maxAttempts', 0), '/retry/maxAttempts'],
      ['maxAttempts 11', withValue('/retry/maxAttempts', 11), '/retry/maxAttempts'],
      ['delaySeconds negative', withValue('/retry/delaySeconds', -1), '/retry/delaySeconds'],
      ['delaySeconds over a day', withValue('/retry/delaySeconds', 86401), '/retry/delaySeconds'],
      ['unknown retry property', withValue('/retry/backoff', 'exponential'), '/retry/backoff'],
      ['at without an offset', { ...validBody(), at: '2030-01-15T15:00:00' }, '/at'],
      ['at as a date only', { ...validBody(), at: '2030-01-15' }, '/at'],
      ['at, an impossible date', { ...validBody(), at: '2030-02-30T15:00:00Z' }, '/at'],
      ['at in words', { ...validBody(), at: 'tomorrow at 3pm' }, '/at'],
      ['at with a lower-case t and z', { ...validBody(), at: '2030-01-15t15:00:00z' }, '/at'],
      ['at with an offset without colon', { ...validBody(), at: '2030-01-15T15:00:00+0100' }, '/at'],
      ['caller is a number', { caller: 1, callee: { number: '+12025550100' } }, '/caller'],
      ['webhook not http', { ...validBody(), webhook: 'ftp://example.com/x' }, '/webhook'],
      ['webhook javascript:', { ...validBody(), webhook: 'javascript:alert(1)' }, '/webhook'],
      ['webhook relative', { ...validBody(), webhook: '/hooks' }, '/webhook'],
      ['webhook with a space', { ...validBody(), webhook: 'https://example.com/a b' }, '/webhook'],
      ['order unknown', { ...validBody(), order: 'parallel' }, '/order'],
      ['body is an array', [validBody()] as unknown as Body, '/'],
    ];
    for (const [label, body, path] of cases) await expectRefused(app, body, path, label);
    assert.equal(service.callsTo('create').length, 0);
  });

  test('a value of the wrong type gets one detail, not one per rule', async (t) => {
    const { app } = await startApp(t, redisUrl);

    const res = await request(app).post('/v1/callbacks').set(auth).send({ caller: 'alice', callee: { number: ['+12025550100'] } });

    assert.deepEqual(res.body.error.details, [
      { path: '/caller', message: 'must be object' },
      { path: '/callee/number', message: 'must be an E.164 number (+12025550100) or national digits (2025550100), without spaces or punctuation' },
    ]);
  });

  test('all problems are reported at once', async (t) => {
    const { app } = await startApp(t, redisUrl);

    const res = await request(app)
      .post('/v1/callbacks')
      .set(auth)
      .send({ caller: { number: 'x' }, callee: { number: '+12025550100', dtmf: 'x' }, ringTimeout: 1 });

    assert.deepEqual(
      res.body.error.details.map((d: { path: string }) => d.path).sort(),
      ['/callee/dtmf', '/caller/number', '/ringTimeout'],
    );
  });
});

describe('the request body', () => {
  test('a body over 16 kB is 413 PAYLOAD_TOO_LARGE', async (t) => {
    const { app, service } = await startApp(t, redisUrl);

    const res = await request(app)
      .post('/v1/callbacks')
      .set(auth)
      .send({ ...validBody(), padding: 'x'.repeat(17 * 1024) });

    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(service.callsTo('create').length, 0);
  });

  test('a body that is not application/json is 415 UNSUPPORTED_MEDIA_TYPE', async (t) => {
    const { app } = await startApp(t, redisUrl);

    const form = await request(app).post('/v1/callbacks').set(auth).type('form').send('caller=1&callee=2');
    const text = await request(app).post('/v1/callbacks').set(auth).set('Content-Type', 'text/plain').send(JSON.stringify(validBody()));
    const latin1 = await request(app).post('/v1/callbacks').set(auth).set('Content-Type', 'application/json; charset=iso-8859-1').send(JSON.stringify(validBody()));

    for (const res of [form, text, latin1]) {
      assert.equal(res.status, 415);
      assert.equal(res.body.error.code, 'UNSUPPORTED_MEDIA_TYPE');
    }
  });

  test('malformed JSON is 400 MALFORMED_JSON', async (t) => {
    const { app } = await startApp(t, redisUrl);

    for (const raw of ['{"caller": {', '{caller: 1}', '"just a string"', 'null']) {
      const res = await request(app).post('/v1/callbacks').set(auth).set('Content-Type', 'application/json').send(raw);
      assert.equal(res.status, 400, raw);
      assert.equal(res.body.error.code, 'MALFORMED_JSON', raw);
    }
  });

  test('no body at all is 400 VALIDATION_FAILED', async (t) => {
    const { app } = await startApp(t, redisUrl);

    const res = await request(app).post('/v1/callbacks').set(auth);

    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'VALIDATION_FAILED');
  });
});
