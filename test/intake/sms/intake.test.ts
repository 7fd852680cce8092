import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import type { ChannelKind, InboundMessage } from '../../../src/channels/types.js';
import type { SmsListener } from '../../../src/channels/sms/index.js';
import { attachSmsIntake } from '../../../src/intake/sms/index.js';
import type { IntakeOutcome, MessageIntake } from '../../../src/intake/messages.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';

/** A MessageIntake that records what reaches it and answers `outcome` (or throws it). */
class RecordingIntake implements MessageIntake {
  readonly accepted: InboundMessage[] = [];
  readonly drops: Array<{ outcome: IntakeOutcome; fields: Record<string, unknown> }> = [];
  readonly notices: string[] = [];
  next: IntakeOutcome | Error = 'handled';
  async accept(message: InboundMessage): Promise<IntakeOutcome> {
    if (this.next instanceof Error) throw this.next;
    this.accepted.push(message);
    return this.next;
  }
  dropped(_channel: ChannelKind, outcome: IntakeOutcome, fields: Record<string, unknown>): void {
    this.drops.push({ outcome, fields });
  }
  async notice(_message: InboundMessage, text: string): Promise<boolean> {
    this.notices.push(text);
    return true;
  }
}

async function setup(t: TestContext): Promise<{ deliver: (text: string, from?: string) => Promise<void>; intake: RecordingIntake }> {
  const redis = new Redis(await testRedisUrl(), { maxRetriesPerRequest: 1 });
  const prefix = uniquePrefix();
  const intake = new RecordingIntake();
  let listener: SmsListener | undefined;
  attachSmsIntake({ channel: { onMessage: (l) => ((listener = l), () => undefined) }, messages: intake, redis, keyBase: `${prefix}:sms`, logger: pino({ level: 'silent' }) });
  t.after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
  let n = 0;
  const deliver = (text: string, from = '+12025550123'): Promise<void> =>
    listener!({ id: `sms-${n++}`, from: { channel: 'sms', address: from }, to: { channel: 'sms', address: '+12025550199' }, text, receivedAt: new Date() });
  return { deliver, intake };
}

describe('the SMS intake', () => {
  test('a text reaches the conversation trimmed; the same text again within the window is the SMSC redelivering it, not a second request', async (t) => {
    const { deliver, intake } = await setup(t);
    await deliver('  call Ada  ');
    await deliver('call Ada');
    await deliver('call Ada', '+12025550124');
    assert.deepEqual(intake.accepted.map((m) => [m.from.address, m.text]), [['+12025550123', 'call Ada'], ['+12025550124', 'call Ada']]);
    assert.equal(intake.drops[0]?.outcome, 'duplicate');
  });

  test('a text that could not be handled is refused to the SMSC (it delivers it again), and that delivery is handled', async (t) => {
    const { deliver, intake } = await setup(t);
    intake.next = new Error('store down');
    await assert.rejects(deliver('status'), /store down/);
    intake.next = 'no-handler';
    await assert.rejects(deliver('status'), /not running/);
    intake.next = 'handled';
    await deliver('status');
    assert.equal(intake.accepted.filter((m) => m.text === 'status').length, 2);
  });

  test('an over-long text gets a "too long" notice and is not handled', async (t) => {
    const { deliver, intake } = await setup(t);
    await deliver('x'.repeat(1500));
    assert.equal(intake.accepted.length, 0);
    assert.match(intake.notices[0] ?? '', /too long \(1500 characters\)/);
  });
});
