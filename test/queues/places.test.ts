/**
 * The queue-place watcher on its own: members tied to Crossline's legs from member-queue-start,
 * the job woken when an agent picks the member up (again if it was not asleep yet), standing read
 * from what was heard or from the member list.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { QueuePlaceWatcher } from '../../src/queues/index.js';
import type { QueueEvent, QueueStatus, QueueSwitch } from '../../src/telephony/index.js';

class FakeQueues implements QueueSwitch {
  status: QueueStatus = { members: [], agents: [] };
  private listener: ((event: QueueEvent) => void) | undefined;
  queueStatus(): Promise<QueueStatus> {
    return Promise.resolve(this.status);
  }
  onQueueEvent(listener: (event: QueueEvent) => void): () => void {
    this.listener = listener;
    return () => (this.listener = undefined);
  }
  emit(event: QueueEvent): void {
    this.listener?.(event);
  }
}

const LEG = '11111111-1111-4111-8111-111111111111';
const SESSION = '22222222-2222-4222-8222-222222222222';
const joined: QueueEvent = { type: 'member-joined', queue: 'support@default', memberUuid: 'm-1', sessionUuid: SESSION, at: 0, crosslineLeg: LEG, tags: { callback_id: 'cb-1', role: 'callee', attempt: '2' } };

describe('queue-place watcher', () => {
  it('ties a member to its leg (also for a leg asked about before the member joined), and wakes its job when an agent picks it up, again until the job was asleep', async () => {
    const queues = new FakeQueues();
    const wakes: string[] = [];
    const watcher = new QueuePlaceWatcher({
      switches: [{ queues }],
      // Not asleep at the first try (the job is between its look and its sleep), asleep at the second.
      wake: (id, attempt) => Promise.resolve(wakes.push(`${id}/${attempt}`) > 1),
      logger: pino({ level: 'silent' }),
    });
    watcher.start();
    try {
      const asked = watcher.memberOf(LEG, 2000, new AbortController().signal);
      queues.emit(joined);
      assert.deepEqual(await asked, { queue: 'support@default', sessionUuid: SESSION, memberUuid: 'm-1' });
      assert.deepEqual(await watcher.memberOf(LEG, 0, new AbortController().signal), { queue: 'support@default', sessionUuid: SESSION, memberUuid: 'm-1' });
      queues.status = { members: [{ uuid: 'm-1', sessionUuid: SESSION, cidNumber: '', cidName: '', joinedEpoch: 0, baseScore: 90, state: 'Waiting' }], agents: [] };
      assert.deepEqual(await watcher.standing({ queue: 'support@default', sessionUuid: SESSION, memberUuid: 'm-1' }), { state: 'waiting' });
      queues.emit({ type: 'agent-answered', queue: 'support@default', memberUuid: 'm-1', sessionUuid: SESSION, agent: '1000@default', agentUuid: 'a', at: 0, joinedAt: 0 });
      assert.deepEqual(await watcher.standing({ queue: 'support@default', sessionUuid: SESSION, memberUuid: 'm-1' }), { state: 'answered', agent: '1000@default' });
      const deadline = Date.now() + 2000;
      while (wakes.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(wakes, ['cb-1/2', 'cb-1/2']);
      await new Promise((r) => setTimeout(r, 1200));
      assert.equal(wakes.length, 2, 'no wake-up once the job was woken');
    } finally {
      watcher.stop();
    }
  });

  it('a leg the queue never takes is undefined after the timeout, and a member no longer listed is gone', async () => {
    const queues = new FakeQueues();
    const watcher = new QueuePlaceWatcher({ switches: [{ queues }], wake: () => Promise.resolve(true), logger: pino({ level: 'silent' }) });
    watcher.start();
    try {
      assert.equal(await watcher.memberOf('33333333-3333-4333-8333-333333333333', 50, new AbortController().signal), undefined);
      assert.deepEqual(await watcher.standing({ queue: 'support@default', sessionUuid: SESSION, memberUuid: 'm-1' }), { state: 'gone' });
    } finally {
      watcher.stop();
    }
  });
});
