import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadOpenApi, packageRoot } from '../../src/api/openapi.js';
import { toCallbackView } from '../../src/callbacks/view.js';
import type { CallbackStatus, TimelineEvent } from '../../src/callbacks/types.js';
import { ERROR_CATALOGUE } from '../../src/errors.js';
import { HANGUP_CAUSES } from '../../src/telephony/types.js';
import { callbackFixture } from './helpers.js';

const api = loadOpenApi();
const schemas = api.document.components.schemas;
const enumOf = (name: string): string[] => (schemas[name]?.enum as string[] | undefined) ?? [];

// Records keyed by the TypeScript unions: the compiler fails here when a member is added or removed.
const STATUSES: Record<CallbackStatus, true> = {
  scheduled: true, queued: true, 'waiting-for-agent': true, 'calling-callee': true, 'callee-answered': true, 'calling-caller': true,
  bridged: true, completed: true, failed: true, canceled: true,
};
const EVENTS: Record<TimelineEvent, true> = {
  created: true, scheduled: true, queued: true, 'attempt-started': true, 'leg-dialing': true, 'leg-answered': true,
  'waiting-for-switch': true, 'waiting-for-hours': true, 'waiting-for-pacing': true, rescheduled: true, 'leg-failed': true, 'leg-ended': true, 'announcement-played': true, 'announcement-failed': true, 'dtmf-started': true, 'dtmf-sent': true,
  'caller-no-answer-message-played': true,
  'ivr-prompt-ended': true, 'ivr-prompt-timeout': true, 'machine-detection': true, 'machine-message-left': true,
  'party-confirmed': true, 'party-not-confirmed': true,
  'waiting-for-agent': true, 'agent-near': true, 'queue-lookup-failed': true, 'queue-joined': true, 'agent-answered': true, 'queue-left': true,
  'announcement-started': true,
  'hangup-requested': true,
  'bridge-requested': true, bridged: true, 'attempt-failed': true, 'retry-scheduled': true,
  resumed: true, 'cancel-requested': true, completed: true, failed: true, canceled: true,
};

describe('openapi.yaml', () => {
  test('every code of the error catalogue is documented in the ErrorCode schema, and no other', () => {
    const documented = api.errorCodes();
    for (const code of Object.keys(ERROR_CATALOGUE)) assert.ok(documented.includes(code), `${code} is missing from openapi.yaml ErrorCode`);
    assert.deepEqual([...documented].sort(), Object.keys(ERROR_CATALOGUE).sort());
  });

  test('each documented error code states the HTTP status the catalogue gives it', () => {
    const descriptions = schemas.ErrorCode?.['x-enum-descriptions'] as string[];
    api.errorCodes().forEach((code, i) => {
      const status = ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE].status;
      assert.ok(descriptions[i]?.startsWith(`${status}: `), `${code}: "${descriptions[i]}" should start with "${status}: "`);
    });
  });

  test('the status, timeline event and hangup cause enums match the domain types', () => {
    assert.deepEqual(enumOf('CallbackStatus').sort(), Object.keys(STATUSES).sort());
    assert.deepEqual(enumOf('TimelineEvent').sort(), Object.keys(EVENTS).sort());
    assert.deepEqual(enumOf('HangupCause'), [...HANGUP_CAUSES]);
  });

  test('a callback view with attempts, legs and a timeline matches the Callback schema', () => {
    const validate = api.schema('/components/schemas/Callback');
    const view = toCallbackView(
      callbackFixture({
        status: 'completed',
        nextAttemptAt: '2030-01-15T20:05:00.000Z',
        failureCause: 'NO_ANSWER',
        request: {
          caller: { endpoint: { kind: 'sip', uri: 'sip:alice@example.com' }, name: 'Alice' },
          callee: { endpoint: { kind: 'number', e164: '+12025550100', country: 'US' }, dtmf: 'w1#' },
          at: '2030-01-15T20:00:00.000Z',
          ringTimeoutSec: 30,
          retry: { maxAttempts: 3, delaySeconds: 60 },
          announce: { callee: 'Hello there' },
          callerId: '+12025550199',
          webhook: 'https://example.com/hook',
          order: 'caller-first',
        },
        attempts: [
          {
            number: 1,
            startedAt: '2030-01-15T20:00:00.000Z',
            endedAt: '2030-01-15T20:01:00.000Z',
            legs: [
              { role: 'callee', endpoint: '+12025550100', uuid: randomUUID(), state: 'ended', startedAt: '2030-01-15T20:00:00.000Z', answeredAt: '2030-01-15T20:00:05.000Z', endedAt: '2030-01-15T20:01:00.000Z', hangupCause: 'NORMAL_CLEARING' },
            ],
          },
        ],
        timeline: [
          { at: '2030-01-15T20:00:00.000Z', event: 'leg-dialing', status: 'calling-callee', attempt: 1, role: 'callee', uuid: randomUUID() },
          { at: '2030-01-15T20:01:00.000Z', event: 'leg-ended', attempt: 1, role: 'callee', hangupCause: 'NORMAL_CLEARING', detail: 'hung up' },
        ],
      }),
    );

    assert.ok(validate(view), JSON.stringify(validate.errors));
  });

  test('the Error schema describes the error envelope the API sends', () => {
    const validate = api.schema('/components/schemas/Error');
    assert.ok(validate({ error: { code: 'INVALID_DTMF', message: 'x', details: [{ path: '/callee/dtmf', message: 'y' }], requestId: 'r' } }));
    assert.equal(validate({ error: { code: 'NOT_A_CODE', message: 'x', details: [], requestId: 'r' } }), false);
  });

  test('every operation has an operationId, and the /v1 ones declare the error responses they can give', () => {
    for (const [p, item] of Object.entries(api.document.paths)) {
      for (const method of ['get', 'post', 'delete'] as const) {
        const op = item[method];
        if (!op) continue;
        assert.ok(op.operationId, `${method} ${p}`);
        if (p.startsWith('/v1/')) {
          // a public operation (security: []) has no key to refuse, so it need not document a 401
          const statuses = Array.isArray(op.security) && op.security.length === 0 ? ['429', '500'] : ['401', '429', '500'];
          for (const status of statuses) assert.ok(op.responses?.[status], `${op.operationId} documents ${status}`);
        }
      }
    }
  });

  test('the document is found from the package root, wherever the code runs from', () => {
    assert.equal(packageRoot(path.join(packageRoot(), 'dist', 'src', 'api')), packageRoot());
    assert.equal(loadOpenApi(), api, 'loaded once');
  });
});
