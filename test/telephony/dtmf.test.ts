import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dtmfPlayoutMs, dtmfSchedule } from '../../src/telephony/dtmf.js';

describe('the DTMF play-out model', () => {
  it('takes 0.42 s per digit, 0.5 s per w and 1 s per W', () => {
    assert.equal(dtmfPlayoutMs('1w2W3#'), 4 * 420 + 500 + 1000);
    assert.equal(dtmfPlayoutMs('123456789#'), 4200);
    assert.equal(dtmfPlayoutMs(''), 0);
  });

  it('puts each digit where the n-send-dtmf-app capture heard it: gaps of 0.92 s after w, 1.42 s after W, 0.42 s otherwise', () => {
    const at = dtmfSchedule('1w2W3#');
    assert.deepEqual(at.map((d) => d.digit), ['1', '2', '3', '#']);
    assert.deepEqual(at.slice(1).map((d, i) => d.atMs - (at[i]?.atMs ?? 0)), [920, 1420, 420]);
  });

  it('ends after the last digit has been heard, never before', () => {
    for (const digits of ['1', '1w2W3W4#', 'WW12', '*#A']) {
      const last = dtmfSchedule(digits).at(-1)?.atMs ?? 0;
      assert.ok(dtmfPlayoutMs(digits) > last, digits);
    }
  });
});
