import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { labelOf, regionOf, resolveCallee, splitLabel } from '../../src/directory/resolve.js';
import type { Person } from '../../src/directory/types.js';

let n = 0;
const person = (fields: Partial<Person> & { displayName: string }): Person => ({
  id: `p${++n}`,
  kind: 'contact',
  owner: 'o',
  aliases: [],
  emails: [],
  jids: [],
  phones: [],
  sipUris: [],
  timeZone: 'UTC',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  revision: 0,
  ...fields,
});

const lovelace = person({
  displayName: 'Ada Lovelace',
  aliases: ['Countess of Lovelace'],
  loginName: 'ada',
  emails: [{ address: 'ada@example.com' }],
  phones: [
    { number: '+12025550101', label: 'mobile', default: true },
    { number: '+12025550102', label: 'work', default: false },
  ],
  sipUris: ['sip:ada@pbx.example.com'],
});
const byron = person({ displayName: 'Ada Byron', phones: [{ number: '+12025550105', label: 'work', default: true }] });
const babbage = person({ displayName: 'Charles Babbage', sipUris: ['sip:charles@pbx.example.com'] });
const noPhone = person({ displayName: 'Zoe Quiet' });
const gb = person({ displayName: 'Jane Doe', phones: [{ number: '+442079460000', label: 'work', default: true }] });
const ctx = { region: 'US', people: [lovelace, byron, babbage, noPhone] };

const endpoint = (text: string, c = ctx): unknown => {
  const r = resolveCallee(text, c);
  return r.kind === 'one' ? r.choice.endpoint : r.kind;
};

describe('resolving what a message names to a dialable endpoint', () => {
  test('every form of the issue resolves to Ada Lovelace or her number', () => {
    assert.deepEqual(endpoint('+1 202 555 0101'), { number: '+12025550101' });
    assert.deepEqual(endpoint('(202) 555-0101'), { number: '+12025550101' });
    assert.deepEqual(endpoint('ada@example.com'), { number: '+12025550101' });
    assert.deepEqual(endpoint('ADA@Example.COM'), { number: '+12025550101' });
    assert.deepEqual(endpoint('Ada Lovelace'), { number: '+12025550101' });
    assert.deepEqual(endpoint('ada'), { number: '+12025550101' }, 'the login name is exact');
    assert.deepEqual(endpoint("Ada Lovelace's work phone"), { number: '+12025550102' });
    assert.deepEqual(endpoint('sip:ada@pbx.example.com'), { sipUri: 'sip:ada@pbx.example.com' });
    assert.deepEqual(endpoint('countess of lovelace'), { number: '+12025550101' }, 'an alias');
  });

  test('a number says whose it is when the directory knows', () => {
    const r = resolveCallee('202 555 0102', ctx);
    assert.equal(r.kind, 'one');
    assert.equal(r.kind === 'one' ? r.choice.label : '', 'Ada Lovelace (work, +1 202 555 0102)');
  });

  test('national numbers are read in the sender\'s region', () => {
    assert.deepEqual(endpoint('020 7946 0000', { region: 'GB', people: [gb] }), { number: '+442079460000' });
    assert.equal(endpoint('020 7946 0000', { region: 'US', people: [gb] }), 'none');
    assert.equal(regionOf(gb, 'US'), 'GB', 'a person\'s region follows their default phone');
  });

  test('two people with the first name Ada are a choice, in a stable order', () => {
    const r = resolveCallee('Ada', { ...ctx, people: [byron, babbage, { ...lovelace, loginName: 'lovelace' }] });
    assert.equal(r.kind, 'choices');
    assert.deepEqual(r.kind === 'choices' ? r.choices.map((c) => c.label) : [], ['Ada Byron (work, +1 202 555 0105)', 'Ada Lovelace (mobile, +1 202 555 0101)']);
  });

  test('a misspelt name is a choice even when only one person fits: nothing is dialled on a guess', () => {
    for (const text of ['Ada Lovelce', 'ada lovlace', 'Charls Babbage', 'babage']) {
      const r = resolveCallee(text, ctx);
      assert.equal(r.kind, 'choices', text);
    }
  });

  test('names matching nobody, people without the label asked for, and bad numbers say why', () => {
    const none = (text: string): string => {
      const r = resolveCallee(text, ctx);
      assert.equal(r.kind, 'none', text);
      return r.kind === 'none' ? r.reason : '';
    };
    assert.match(none('Zebedee'), /nobody called Zebedee/);
    assert.match(none("Ada Byron's mobile"), /Ada Byron has no mobile number/);
    assert.match(none('Zoe Quiet'), /has no phone number or SIP address/);
    assert.match(none('555 01'), /not a phone number I can read/);
    assert.match(none('sip:ada@pbx.example.com;transport=tcp'), /not a SIP address I can dial/);
    assert.match(none('nobody@example.com'), /nobody with the address/);
    assert.match(none(''), /Whom should I call/);
  });

  test('the sender is never a callee by name', () => {
    assert.equal(endpoint('Ada Lovelace', { ...ctx, selfId: lovelace.id } as typeof ctx & { selfId: string }), 'none');
  });

  test('labels are read as people write them', () => {
    assert.equal(labelOf('cell'), 'mobile');
    assert.equal(labelOf('cell phone'), 'mobile');
    assert.equal(labelOf('office line'), 'work');
    assert.equal(labelOf('landline'), 'home');
    assert.equal(labelOf('boat'), undefined);
    assert.deepEqual(splitLabel("Ada's mobile"), { name: 'Ada', label: 'mobile' });
    assert.deepEqual(splitLabel('Ada (work)'), { name: 'Ada', label: 'work' });
    assert.deepEqual(splitLabel('Ada on her cell'), { name: 'Ada', label: 'mobile' });
    assert.deepEqual(splitLabel('Ada Lovelace'), { name: 'Ada Lovelace' });
  });
});
