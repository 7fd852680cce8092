import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { addressRange, createGuardedLookup, createWebhookUrlGuard } from '../../src/notify/index.js';
import { CrosslineError } from '../../src/errors.js';

const refusesWith = async (promise: Promise<unknown>, code: string): Promise<void> => {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CrosslineError, `expected a CrosslineError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
};

const guard = createWebhookUrlGuard({ allowPrivate: false });

const refused = [
  'http://127.0.0.1/hook',
  'http://127.1.2.3:8080/hook',
  'http://localhost/hook',
  'http://[::1]/hook',
  'http://10.1.2.3/hook',
  'http://172.16.0.1/hook',
  'http://172.31.255.254/hook',
  'http://192.168.1.10/hook',
  'http://169.254.169.254/latest/meta-data/',
  'http://[fd00::1]/hook',
  'http://[fe80::1]/hook',
  'http://[::ffff:127.0.0.1]/hook',
  'http://[::ffff:10.0.0.1]/hook',
  'http://[::127.0.0.1]/hook',
  'http://[64:ff9b::a9fe:a9fe]/hook',
  'http://[2002:7f00:1::]/hook',
  'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook',
  'http://0.0.0.0/hook',
  'http://[::]/hook',
  'http://100.64.0.1/hook',
  'http://224.0.0.1/hook',
  'http://255.255.255.255/hook',
  'http://240.0.0.1/hook',
  'http://192.0.2.1/hook',
  'http://2130706433/hook',
  'http://0x7f.1/hook',
];

for (const url of refused) {
  test(`the guard refuses ${url} as not allowed`, async () => {
    await refusesWith(guard(url), 'WEBHOOK_URL_NOT_ALLOWED');
  });
}

const malformed = [
  'ftp://example.com/hook',
  'file:///etc/passwd',
  'gopher://example.com/',
  'javascript:alert(1)',
  '/relative/path',
  'example.com/hook',
  'http://user:pass@example.com/hook',
  'https://token@example.com/hook',
  `https://example.com/${'a'.repeat(2100)}`,
];

for (const url of malformed) {
  test(`the guard refuses ${url.slice(0, 60)} as an invalid webhook URL`, async () => {
    await refusesWith(guard(url), 'INVALID_WEBHOOK_URL');
  });
}

test('the guard accepts a public address literal without sending it any traffic', async () => {
  await guard('https://93.184.216.34/hook');
  await guard('http://[2606:2800:220:1:248:1893:25c8:1946]:8443/hook?x=1');
});

test('the guard accepts a host whose every address is public', async () => {
  const g = createWebhookUrlGuard({ resolve: async () => ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'] });

  await g('https://hooks.example.com/crossline');
});

test('the guard refuses a host when any one of its addresses is private', async () => {
  const g = createWebhookUrlGuard({ resolve: async () => ['93.184.216.34', '10.0.0.7'] });

  await refusesWith(g('https://hooks.example.com/crossline'), 'WEBHOOK_URL_NOT_ALLOWED');
});

test('a host that does not resolve is an invalid webhook URL', async () => {
  const g = createWebhookUrlGuard({
    resolve: async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' });
    },
  });

  await refusesWith(g('https://nowhere.invalid/hook'), 'INVALID_WEBHOOK_URL');
});

test('with allowPrivate the guard accepts loopback and private addresses', async () => {
  const open = createWebhookUrlGuard({ allowPrivate: true });

  await open('http://127.0.0.1:3000/hook');
  await open('http://localhost:3000/hook');
  await open('http://10.1.2.3/hook');
  await open('http://[fd00::1]/hook');
});

test('with allowPrivate multicast, broadcast and unspecified addresses are still refused', async () => {
  const open = createWebhookUrlGuard({ allowPrivate: true });

  await refusesWith(open('http://224.0.0.1/hook'), 'WEBHOOK_URL_NOT_ALLOWED');
  await refusesWith(open('http://255.255.255.255/hook'), 'WEBHOOK_URL_NOT_ALLOWED');
  await refusesWith(open('http://0.0.0.0/hook'), 'WEBHOOK_URL_NOT_ALLOWED');
});

test('addresses are classified after unwrapping IPv4-mapped and NAT64 forms', () => {
  assert.equal(addressRange('::ffff:127.0.0.1'), 'loopback');
  assert.equal(addressRange('::ffff:93.184.216.34'), 'unicast');
  assert.equal(addressRange('64:ff9b::5db8:d822'), 'unicast');
  assert.equal(addressRange('64:ff9b::7f00:1'), 'loopback');
  assert.equal(addressRange('::7f00:1'), 'ipv4Compatible');
  assert.equal(addressRange('2002:7f00:1::'), '6to4');
  assert.equal(addressRange('not-an-ip'), 'invalid');
});

type Result = { err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number | undefined };

const callLookup = (lookup: ReturnType<typeof createGuardedLookup>, all: boolean): Promise<Result> =>
  new Promise((resolve) => lookup('rebind.example.com', { all }, (err, address, family) => resolve({ err, address, family })));

test('the guarded lookup refuses a host that now resolves to a loopback address (DNS rebinding)', async () => {
  const lookup = createGuardedLookup({
    lookup: (_host, _opts, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]),
  });

  for (const all of [false, true]) {
    const { err } = await callLookup(lookup, all);
    assert.ok(err instanceof CrosslineError);
    assert.equal(err.code, 'WEBHOOK_URL_NOT_ALLOWED');
  }
});

test('the guarded lookup hands public addresses to the connection in the form asked for', async () => {
  const addresses = [
    { address: '93.184.216.34', family: 4 },
    { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
  ];
  const lookup = createGuardedLookup({ lookup: (_host, _opts, cb) => cb(null, addresses) });

  assert.deepEqual(await callLookup(lookup, false), { err: null, address: '93.184.216.34', family: 4 });
  assert.deepEqual(await callLookup(lookup, true), { err: null, address: addresses, family: undefined });
});

test('the guarded lookup passes DNS errors through unchanged, so delivery retries them', async () => {
  const dnsError = Object.assign(new Error('getaddrinfo EAI_AGAIN rebind.example.com'), { code: 'EAI_AGAIN' });
  const lookup = createGuardedLookup({ lookup: (_host, _opts, cb) => cb(dnsError, []) });

  const { err } = await callLookup(lookup, true);
  assert.equal(err, dnsError);
});
