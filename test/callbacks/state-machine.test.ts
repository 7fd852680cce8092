import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canTransition, IllegalTransitionError, isFinal, transition, type Callback } from '../../src/callbacks/index.js';
import { callbackFixture } from '../fixtures/callback.js';

const callback = (status: Callback['status']): Callback => callbackFixture({ status, timeline: [] });

describe('the callback state machine', () => {
  it('walks the callee-first happy path and records each step in the timeline', () => {
    const cb = callback('queued');
    const now = new Date('2026-11-22T12:00:01Z');
    for (const to of ['calling-callee', 'callee-answered', 'calling-caller', 'bridged', 'completed'] as const) {
      transition(cb, to, { event: 'bridged' }, now);
    }
    assert.equal(cb.status, 'completed');
    assert.deepEqual(cb.timeline.map((e) => e.status), ['calling-callee', 'callee-answered', 'calling-caller', 'bridged', 'completed']);
    assert.equal(cb.updatedAt, now.toISOString());
  });

  it('refuses to leave a final status and to skip answer supervision', () => {
    for (const s of ['completed', 'failed', 'canceled'] as const) {
      assert.ok(isFinal(s));
      assert.throws(() => transition(callback(s), 'queued', { event: 'queued' }, new Date()), IllegalTransitionError);
    }
    assert.equal(canTransition('calling-callee', 'bridged'), false);
    assert.equal(canTransition('queued', 'completed'), false);
  });

  it('lets a caller-first callback dial the callee after the caller', () => {
    assert.ok(canTransition('calling-caller', 'calling-callee'));
    assert.ok(canTransition('callee-answered', 'bridged'));
  });
});
