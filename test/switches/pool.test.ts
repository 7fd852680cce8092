import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { parseSwitchList, SwitchPool, type PoolMember, type SwitchDrains } from '../../src/switches/index.js';
import type { OriginateBudget } from '../../src/switches/index.js';

/** A member whose connection and budget say only what pick() reads. */
function member(id: string, connected: boolean, free: number, downSinceMs = 0): PoolMember {
  const since = new Date(Date.now() - downSinceMs).toISOString();
  return {
    id,
    telephony: { status: () => (connected ? { connected, since } : { connected, since }), load: () => undefined } as unknown as PoolMember['telephony'],
    budget: { freeSessions: async () => free, release: async () => undefined } as unknown as OriginateBudget,
  };
}
const drains = (ids: string[]): SwitchDrains => ({ drained: async () => new Set(ids) }) as unknown as SwitchDrains;

describe('the pool of switches', () => {
  it('reads ESL_URL as a list of switches, each named by its #name or its host and port', () => {
    const list = parseSwitchList('esl://:a@10.0.0.1:8021#fs1, esl://:b@10.0.0.2:8022');
    assert.deepEqual(list.map((s) => [s.id, s.host, s.port, s.password]), [['fs1', '10.0.0.1', 8021, 'a'], ['10.0.0.2_8022', '10.0.0.2', 8022, 'b']]);
    assert.throws(() => parseSwitchList('esl://:a@h:1#x,esl://:b@g:2#x'), /listed twice/);
    assert.throws(() => parseSwitchList('esl://:a@h:1#bad name'), /Invalid switch name/);
  });

  it('refuses at boot a DRAINED_SWITCHES id that ESL_URL does not list, and a malformed list', () => {
    const env = { ESL_URL: 'esl://:a@h:8021#fs1,esl://:a@g:8021#fs2', API_KEYS: 'k-0123456789abcdef' };
    assert.deepEqual(loadConfig({ ...env, DRAINED_SWITCHES: 'fs2' }).drainedSwitches, ['fs2']);
    assert.throws(() => loadConfig({ ...env, DRAINED_SWITCHES: 'fs3' }), ConfigError);
    assert.throws(() => loadConfig({ ...env, ESL_URL: 'esl://:a@h:8021,http://h:8021' }), ConfigError);
  });

  it('picks the connected, undrained switch with the most free room; none when there is none', async () => {
    const members = [member('a', true, 10), member('b', true, 30), member('c', false, 100), member('d', true, 50)];
    assert.equal(await new SwitchPool(members, drains(['d'])).pick(), 'b');
    assert.equal(await new SwitchPool(members, drains([])).pick(), 'd');
    assert.equal(await new SwitchPool([member('c', false, 100)], drains([])).pick(), undefined);
  });

  it('counts a switch lost once it has been unreachable past the grace, or when it is not in the pool', () => {
    const pool = new SwitchPool([member('up', true, 1), member('blip', false, 1, 500), member('gone', false, 1, 5000)], drains([]), 2000);
    assert.deepEqual(['up', 'blip', 'gone', 'unknown'].map((id) => pool.isLost(id)), [false, false, true, true]);
  });
});
