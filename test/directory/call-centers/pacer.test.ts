import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisCallCenterPacer, retryDelay } from '../../../src/directory/call-centers/pacer.js';
import { createRedis, type Redis } from '../../../src/store/index.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';

const LEASE = 60_000;

describe('call-center pacing over Redis', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  const pacer = (options: { windowMs?: number; lateGraceMs?: number } = {}): RedisCallCenterPacer => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    return new RedisCallCenterPacer(redis, prefix, options);
  };
  before(async () => {
    redis = createRedis(await testRedisUrl());
  });
  after(async () => {
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    await redis.quit();
  });

  it('at most maxInProgress hold a slot; a release lets the next one in; asking again while holding renews', async () => {
    const p = pacer();
    const pacing = { maxInProgress: 2, originatesPerMinute: 100 };
    assert.equal((await p.acquire('o', 'acme', 'a', pacing, LEASE)).granted, true);
    assert.equal((await p.acquire('o', 'acme', 'b', pacing, LEASE)).granted, true);
    const c = await p.acquire('o', 'acme', 'c', pacing, LEASE);
    assert.equal(c.granted, false);
    assert.equal(!c.granted && c.reason, 'CALL_CENTER_IN_PROGRESS_LIMIT');
    assert.equal((await p.acquire('o', 'acme', 'a', pacing, LEASE)).granted, true, 'a holder asking again keeps its slot');
    assert.equal(await p.inProgress('o', 'acme'), 2);
    await p.release('o', 'acme', 'a');
    assert.equal((await p.acquire('o', 'acme', 'c', pacing, LEASE)).granted, true);
    // another center, or another owner's center of the same name, is paced apart
    assert.equal((await p.acquire('o', 'other', 'x', pacing, LEASE)).granted, true);
    assert.equal((await p.acquire('o2', 'acme', 'y', pacing, LEASE)).granted, true);
  });

  it('keeps waiters in the order they came: the longest waiting are told to ask again soonest', async () => {
    const p = pacer();
    const pacing = { maxInProgress: 1, originatesPerMinute: 100 };
    await p.acquire('o', 'acme', 'a', pacing, LEASE);
    const waiters = [];
    for (let i = 0; i < 40; i += 1) waiters.push(await p.acquire('o', 'acme', `w${i}`, pacing, LEASE));
    const ahead = waiters.map((w) => (w.granted ? -1 : w.ahead));
    assert.deepEqual(ahead, Array.from({ length: 40 }, (_, i) => i));
    const first = waiters[0];
    const last = waiters[39];
    assert.ok(first && !first.granted && last && !last.granted && first.retryInMs < last.retryInMs, 'the head asks again sooner');
    // asking again keeps the place
    const again = await p.acquire('o', 'acme', 'w5', pacing, LEASE);
    assert.equal(!again.granted && again.ahead, 5);
    await p.release('o', 'acme', 'a');
    assert.equal((await p.acquire('o', 'acme', 'w0', pacing, LEASE)).granted, true);
    const moved = await p.acquire('o', 'acme', 'w5', pacing, LEASE);
    assert.equal(!moved.granted && moved.ahead, 4, 'one fewer ahead once the head got its slot');
  });

  it('starts at most originatesPerMinute in any window, and says when the next may start', async () => {
    const p = pacer({ windowMs: 600 });
    const pacing = { maxInProgress: 100, originatesPerMinute: 3 };
    const started = Date.now();
    for (const id of ['a', 'b', 'c']) assert.equal((await p.acquire('o', 'acme', id, pacing, LEASE)).granted, true);
    const d = await p.acquire('o', 'acme', 'd', pacing, LEASE);
    assert.equal(!d.granted && d.reason, 'CALL_CENTER_ORIGINATE_RATE');
    assert.ok(!d.granted && d.retryInMs > 300 && d.retryInMs <= 700, JSON.stringify(d));
    for (;;) {
      const again = await p.acquire('o', 'acme', 'd', pacing, LEASE);
      if (again.granted) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(Date.now() - started >= 590, 'not before the first start left the window');
  });

  it('a slot whose holder died lapses with its lease; a waiter that never comes back loses its place', async () => {
    const p = pacer({ lateGraceMs: -15_000 + 200 });
    const pacing = { maxInProgress: 1, originatesPerMinute: 100 };
    await p.acquire('o', 'acme', 'dead', pacing, 150);
    await p.acquire('o', 'acme', 'gone', pacing, LEASE); // waits, then is canceled and never asks again
    await p.acquire('o', 'acme', 'next', pacing, LEASE);
    await new Promise((r) => setTimeout(r, 300));
    // the lease of `dead` lapsed; `gone` was due back 200 ms after it asked and lost its place
    assert.equal((await p.acquire('o', 'acme', 'next', pacing, LEASE)).granted, true);
  });

  it('never grants more than maxInProgress under concurrent asks', async () => {
    const p = pacer();
    const pacing = { maxInProgress: 5, originatesPerMinute: 1000 };
    const decisions = await Promise.all(Array.from({ length: 60 }, (_, i) => p.acquire('o', 'acme', `cb${i}`, pacing, LEASE)));
    assert.equal(decisions.filter((d) => d.granted).length, 5);
    assert.equal(await p.inProgress('o', 'acme'), 5);
  });

  it('names the longest-waiting waiter still expected back, so a freed slot can wake it at once', async () => {
    const p = pacer({ lateGraceMs: 0 });
    const pacing = { maxInProgress: 1, originatesPerMinute: 100 };
    assert.equal(await p.nextInLine('o', 'acme'), undefined, 'nobody waits');
    assert.equal((await p.acquire('o', 'acme', 'holder', pacing, LEASE)).granted, true);
    assert.equal((await p.acquire('o', 'acme', 'first', pacing, LEASE)).granted, false);
    assert.equal((await p.acquire('o', 'acme', 'second', pacing, LEASE)).granted, false);
    assert.equal(await p.nextInLine('o', 'acme'), 'first');
    await p.release('o', 'acme', 'holder');
    assert.equal((await p.acquire('o', 'acme', 'first', pacing, LEASE)).granted, true);
    assert.equal(await p.nextInLine('o', 'acme'), 'second', 'the one let in leaves the line');
    await p.release('o', 'acme', 'second');
    assert.equal(await p.nextInLine('o', 'acme'), undefined, 'a canceled waiter leaves the line');
  });

  it('waiters far back in line ask less often than the head', () => {
    const pacing = { maxInProgress: 10, originatesPerMinute: 600 };
    const head = retryDelay('CALL_CENTER_IN_PROGRESS_LIMIT', 0, 0, pacing);
    const back = retryDelay('CALL_CENTER_IN_PROGRESS_LIMIT', 500, 0, pacing);
    assert.ok(head <= 250 && back >= 10_000, `${head} ${back}`);
  });
});
