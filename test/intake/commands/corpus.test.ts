import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DateTime } from 'luxon';
import { parseMessage } from '../../../src/intake/commands/grammar.js';
import { CORPUS } from '../../fixtures/command-corpus.js';

const ctx = { now: new Date('2026-12-07T14:00:00Z'), timeZone: 'Europe/London' };

describe('the command grammar over the phrase corpus', () => {
  test('the corpus holds at least 100 phrasings', () => {
    assert.ok(CORPUS.length >= 100, `${CORPUS.length}`);
  });

  for (const entry of CORPUS) {
    test(`${JSON.stringify(entry.text)}${entry.subject !== undefined ? ` (subject ${JSON.stringify(entry.subject)})` : ''} → ${JSON.stringify(entry.expect)}`, () => {
      const command = parseMessage({ text: entry.text, ...(entry.subject !== undefined ? { subject: entry.subject } : {}) }, ctx);
      const expect = entry.expect;
      assert.equal(command.kind, expect.kind, JSON.stringify(command));
      if (command.kind === 'call' && expect.kind === 'call') {
        assert.equal(command.who, expect.who);
        assert.deepEqual(command.from, expect.from);
        const when = command.when ? DateTime.fromJSDate(command.when.at).setZone(ctx.timeZone).toFormat('yyyy-LL-dd HH:mm') : undefined;
        assert.equal(when, expect.when);
        assert.equal(command.timeProblem?.problem, expect.timeProblem);
      } else if (command.kind === 'verify' && expect.kind === 'verify') {
        assert.equal(command.code, expect.code);
      } else if (command.kind === 'choose' && expect.kind === 'choose') {
        assert.equal(command.index, expect.index);
      } else if ((command.kind === 'alert-on' || command.kind === 'alert-code' || command.kind === 'alert-off') && 'line' in expect) {
        assert.deepEqual(command.line, expect.line);
        if (command.kind === 'alert-code' && expect.kind === 'alert-code') assert.equal(command.via, expect.via);
      } else if (command.kind === 'alert-off') {
        assert.equal(command.line, undefined);
      }
    });
  }
});
