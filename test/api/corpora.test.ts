import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadOpenApi } from '../../src/api/openapi.js';
import { ERROR_CATALOGUE } from '../../src/errors.js';
import { startHarness, type Harness } from '../support/harness.js';
import { cancelUnfinished } from './helpers.js';

/**
 * The hostile-input corpora of test/fixtures/corpora, each entry sent through the real API,
 * domain and store with a worker and the ESL simulator running: every one must be refused with its
 * status and code, and the switch must not hear a single command about it.
 */
interface Entry {
  name: string;
  /** Values replacing those of {@link BASE} at JSON pointers. */
  set?: Record<string, unknown>;
  /** A whole body instead. */
  body?: unknown;
  status: number;
  /** The code, when the corpus pins one; otherwise any catalogued code with that status. */
  code?: string;
}
interface Corpus {
  description: string;
  env?: Record<string, string>;
  entries: Entry[];
}

const DIR = path.join(__dirname, '..', 'fixtures', 'corpora');
const CORPORA = ['injection', 'fraud-numbers', 'fraud-sip', 'ssrf', 'identity'] as const;
const load = (name: string): Corpus => JSON.parse(fs.readFileSync(path.join(DIR, `${name}.json`), 'utf8')) as Corpus;

const BASE = { caller: { number: '+12025550123' }, callee: { number: '+12025550100' } };

function bodyOf(entry: Entry): unknown {
  if (entry.body !== undefined) return entry.body;
  const body: Record<string, unknown> = structuredClone(BASE);
  for (const [pointer, value] of Object.entries(entry.set ?? {})) {
    const parts = pointer.slice(1).split('/');
    let node = body;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts.at(-1) ?? ''] = value;
  }
  return body;
}

// What the switch would hear if a request got through: dialling or acting on a channel.
const CALL_COMMAND = /originate|uuid_|bridge|transfer|sendmsg/;

const isErrorBody = loadOpenApi().schema('/components/schemas/Error');

describe('hostile-input corpora through the real API', () => {
  let h: Harness;
  before(async () => {
    const env = Object.assign({}, ...CORPORA.map((name) => load(name).env ?? {})) as Record<string, string>;
    h = await startHarness({ env: { ...env, DESTINATION_CALLBACKS_PER_HOUR: '100000', DESTINATION_MAX_ACTIVE: '10000' } });
  });
  after(async () => {
    await cancelUnfinished(h);
    await h.close();
  });

  for (const name of CORPORA) {
    test(`every entry of ${name}.json is refused with its status and code, and the switch hears nothing`, async () => {
      const corpus = load(name);
      const heardBefore = h.sim.commands.length;
      const wrong: string[] = [];

      for (const entry of corpus.entries) {
        const res = await h.create(bodyOf(entry));
        const code = (res.body as { error?: { code?: string } }).error?.code;
        const catalogued = code !== undefined && code in ERROR_CATALOGUE && ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE].status === entry.status;
        if (res.status !== entry.status || !catalogued || (entry.code !== undefined && code !== entry.code) || !isErrorBody(res.body)) {
          wrong.push(`${entry.name}: expected ${entry.status} ${entry.code ?? ''}, got ${res.status} ${JSON.stringify(res.body)}`);
        }
      }
      assert.deepEqual(wrong, [], `${wrong.length} of ${corpus.entries.length} entries were not refused as expected`);

      await new Promise((r) => setTimeout(r, 200));
      const heard = h.sim.commands.slice(heardBefore).map((c) => c.text).filter((t) => CALL_COMMAND.test(t));
      assert.deepEqual(heard, []);
      assert.deepEqual((await h.api().get('/v1/callbacks?limit=1')).body.items, [], 'nothing was stored');
    });
  }

  test('a valid request on the same server is accepted and dialled (the corpora would have been seen)', async () => {
    const heardBefore = h.sim.originates().length;
    const res = await h.create({ caller: { number: '+12025550190', name: 'Ａｌｉｃｅ' }, callee: { number: '+12025550100' }, callerId: '+12025550101' });

    assert.equal(res.status, 202, JSON.stringify(res.body));
    const deadline = Date.now() + 5000;
    while (h.sim.originates().length === heardBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(h.sim.originates().length > heardBefore, 'the switch was asked to dial');
    // hung up by the after hook (cancelUnfinished): how the call ends is not this test's concern
  });
});
