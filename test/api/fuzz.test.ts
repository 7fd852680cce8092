import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type supertest from 'supertest';
import { loadOpenApi } from '../../src/api/openapi.js';
import { ERROR_CATALOGUE } from '../../src/errors.js';
import { API_KEY, startHarness, type Harness } from '../support/harness.js';
import { cancelUnfinished } from './helpers.js';

/**
 * A few thousand random and mutated requests through the real API, domain and store: every answer
 * is a 2xx or a 4xx in the error envelope with a catalogued code, never a 5xx. Seeded, so a
 * failure can be replayed: FUZZ_SEED=<seed> FUZZ_RUNS=<n> node --import tsx --test test/api/fuzz.test.ts
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

class Fuzzer {
  constructor(private readonly random: () => number) {}

  int = (n: number): number => Math.floor(this.random() * n);
  pick = <T>(items: readonly T[]): T => items[this.int(items.length)] as T;
  chance = (p: number): boolean => this.random() < p;

  private static readonly PIECES = [
    ';', '\n', '\r\n', '&', '{', '}', '^^', '|', ',', '$', '${x}', '`', '"', "'", '\\', '\u0000', '\t', '%', '%0A', '%ZZ', '<', '>',
    '\u3164', '\u200B', '\u202E', '\uFEFF', '\uFFFD', '\uD800', 'Ａ', '\u0301', '😀', ' ', '+', '@', ':', '/', '#', '*', 'w', 'W',
    'sip:', 'sips:', '@127.0.0.1', '@pbx.example.com', '+1900', '+1202555010', '+33', '0x7f', '..', '__proto__', 'constructor',
  ];

  string(): string {
    switch (this.int(5)) {
      case 0:
        return Array.from({ length: this.int(12) }, () => this.pick(Fuzzer.PIECES)).join('');
      case 1:
        return String.fromCodePoint(...Array.from({ length: this.int(20) }, () => this.int(0x2ffff)));
      case 2:
        return 'x'.repeat(this.pick([0, 1, 64, 65, 255, 256, 501, 5000, 20_000]));
      case 3:
        return `+${this.int(10 ** 15)}`;
      default:
        return this.pick(['', ' ', 'null', 'true', '0', '-1', '2030-01-15T15:00:00+01:00', '2030-13-45T99:99:99Z', 'https://127.0.0.1/', 'sip:a@b.c']);
    }
  }

  value(depth = 0): Json {
    switch (this.int(depth > 2 ? 5 : 7)) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, -1, 1, 4, 5, 120, 121, 1.5, 1e21, -1e21, Number.MAX_SAFE_INTEGER, 2 ** 53 + 1, 86_401]);
      case 3:
      case 4:
        return this.string();
      case 5:
        return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
      default: {
        const obj: { [key: string]: Json } = {};
        for (let i = this.int(4); i > 0; i--) obj[this.pick(['number', 'sipUri', 'name', 'dtmf', 'x', '__proto__', 'caller'])] = this.value(depth + 1);
        return obj;
      }
    }
  }

  /** A valid body with one to three mutations: a value replaced, a field dropped, a field added. */
  mutate(base: { [key: string]: Json }): Json {
    const body = structuredClone(base);
    for (let n = 1 + this.int(3); n > 0; n--) {
      const paths = leafPaths(body);
      const path = this.pick(paths);
      const parent = path.slice(0, -1).reduce<{ [key: string]: Json }>((node, key) => node[key] as { [key: string]: Json }, body);
      const key = path[path.length - 1] as string;
      const op = this.int(3);
      if (op === 0) parent[key] = this.value();
      else if (op === 1) delete parent[key];
      else parent[this.pick(['extra', 'number', 'sipUri', 'name', 'dtmf', 'callee', 'caller', 'webhook', '$ref'])] = this.value();
    }
    return body;
  }

  /** JSON text broken on purpose: truncated, a byte flipped, stray bytes, or not JSON at all. */
  brokenText(base: Json): Buffer {
    const text = Buffer.from(JSON.stringify(base), 'utf8');
    switch (this.int(4)) {
      case 0:
        return text.subarray(0, this.int(text.length));
      case 1: {
        const copy = Buffer.from(text);
        copy[this.int(copy.length)] = this.int(256);
        return copy;
      }
      case 2:
        return Buffer.concat([text.subarray(0, this.int(text.length)), Buffer.from([0xc0, 0xff, 0xfe, 0x80]), text]);
      default:
        return Buffer.from(this.pick(['[', '{"a":', '\u0000', 'null', '"x"', '1e999999', '[[[[[[[[[[', '{"caller":{"number":"+12025550100"}}garbage']), 'utf8');
    }
  }
}

/** encodeURIComponent refuses lone surrogates; a client could not send them in a URL either. */
const wellFormed = (s: string): string => s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '');

/** What Node lets a client put in a header: no control characters, nothing above U+00FF. */
const headerSafe = (s: string): string => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '');

function leafPaths(value: Json, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  const inner = Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
  return prefix.length > 0 ? [prefix, ...inner] : inner;
}

const inADay = new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
const BASES: Array<{ [key: string]: Json }> = [
  { caller: { number: '+12025550123' }, callee: { number: '+12025550100' }, at: inADay },
  {
    caller: { sipUri: 'sip:alice@pbx.example.com', name: 'Alice' },
    callee: { number: '2025550170', name: 'Acme', dtmf: '1w2#' },
    announce: { callee: 'Connecting you now.', caller: "It's Acme." },
    retry: { maxAttempts: 2, delaySeconds: 60 },
    ringTimeout: 20,
    callerId: '+12025550101',
    webhook: 'https://93.184.216.34/hook',
    order: 'caller-first',
    at: inADay,
  },
];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=utf-7',
  'application/json; charset=',
  'application/json;;;',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/vnd.api+json',
  '',
];

const isErrorBody = loadOpenApi().schema('/components/schemas/Error');

describe('fuzzing the API', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      env: {
        ALLOWED_SIP_DOMAINS: 'pbx.example.com',
        CALLER_IDS: '*=+1202555010*',
        WEBHOOK_ALLOW_PRIVATE: 'false',
        DESTINATION_CALLBACKS_PER_HOUR: '1000000',
        DESTINATION_MAX_ACTIVE: '100000',
        KEY_CALLBACKS_PER_DAY: '10000000',
      },
    });
  });
  after(async () => {
    await cancelUnfinished(h);
    await h.close();
  });

  test(`${RUNS} random and mutated requests (seed ${SEED}) are all answered 2xx or 4xx with a catalogued code, never 5xx`, async () => {
    const fuzz = new Fuzzer(prng(SEED));
    const problems: string[] = [];

    for (let run = 0; run < RUNS; run++) {
      const kind = fuzz.int(10);
      let req: supertest.Test;
      let label: string;
      if (kind < 6) {
        const body = fuzz.mutate(fuzz.pick(BASES));
        label = `POST ${JSON.stringify(body).slice(0, 300)}`;
        req = h.api().post('/v1/callbacks').set('Content-Type', 'application/json').send(JSON.stringify(body));
        if (fuzz.chance(0.2)) req = req.set('Idempotency-Key', headerSafe(fuzz.string()));
      } else if (kind < 8) {
        const type = fuzz.pick(CONTENT_TYPES);
        const raw = fuzz.chance(0.5) ? fuzz.brokenText(fuzz.pick(BASES)) : Buffer.from(JSON.stringify(fuzz.value()), 'utf8');
        label = `POST (${type}) ${raw.toString('latin1').slice(0, 300)}`;
        req = h.api().post('/v1/callbacks').set('Content-Type', type).send(raw);
      } else if (kind < 9) {
        const id = encodeURIComponent(wellFormed(fuzz.string())).replace(/%25/g, fuzz.chance(0.5) ? '%' : '%25');
        label = `GET/DELETE /v1/callbacks/${id}`;
        req = fuzz.chance(0.5) ? h.api().get(`/v1/callbacks/${id}`) : h.api().delete(`/v1/callbacks/${id}`);
      } else {
        const query = ['status', 'limit', 'cursor', 'x'].map((k) => `${k}=${encodeURIComponent(wellFormed(fuzz.string()))}`).filter(() => fuzz.chance(0.6));
        label = `GET /v1/callbacks?${query.join('&')}`;
        req = h.api().get(`/v1/callbacks?${query.join('&')}`);
      }
      if (fuzz.chance(0.03)) req = req.set('Authorization', headerSafe(`Bearer ${API_KEY}${fuzz.string()}`));

      const res = await req;
      const code = (res.body as { error?: { code?: string } }).error?.code;
      const catalogued = code !== undefined && code in ERROR_CATALOGUE && ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE].status === res.status;
      const ok = (res.status >= 200 && res.status < 300) || (res.status >= 400 && res.status < 500 && catalogued && isErrorBody(res.body));
      if (!ok) problems.push(`#${run} ${label.slice(0, 200)} → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    }

    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} of ${RUNS} answers broke the contract (seed ${SEED})`);
  });
});
