import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiKeyOwner } from '../../src/api/index.js';
import { assertDestinationAllowed, type FraudPolicy } from '../../src/callbacks/index.js';
import { assertCallerIdAllowed, numberReadings } from '../../src/callbacks/fraud.js';
import { apiKeyId, ConfigError, loadConfig, parseCallerIds, parseSipDomains } from '../../src/config/index.js';
import { CrosslineError, type ErrorCode } from '../../src/errors.js';

const policy: FraudPolicy = {
  allowedCountries: ['US'],
  deniedPrefixes: [],
  allowedPrefixes: [],
  allowedSipDomains: parseSipDomains(['pbx.example.com', '*.voip.example.net', '127.0.0.1:15090', '192.0.2.10']),
  defaultRegion: 'US',
};

const sip = (uri: string): { kind: 'sip'; uri: string } => ({ kind: 'sip', uri });

function refused(uri: string, code: ErrorCode, p: FraudPolicy = policy): void {
  assert.throws(
    () => assertDestinationAllowed(sip(uri), p, '/callee'),
    (err: unknown) => {
      assert.ok(err instanceof CrosslineError, String(err));
      assert.equal(err.code, code, `${uri}: ${err.message}`);
      assert.equal(err.status, 422);
      assert.equal(err.details[0]?.path, '/callee/sipUri');
      return true;
    },
    uri,
  );
}

const allowed = (uri: string, p: FraudPolicy = policy): void => assert.doesNotThrow(() => assertDestinationAllowed(sip(uri), p, '/callee'), uri);

describe('the SIP destination policy', () => {
  it('refuses every SIP URI when no SIP domain is allowed', () => {
    refused('sip:alice@pbx.example.com', 'SIP_DOMAIN_NOT_ALLOWED', { ...policy, allowedSipDomains: [] });
  });

  it('allows a listed host, any case, and subdomains of a wildcard entry but not the bare domain', () => {
    allowed('sip:alice@pbx.example.com');
    allowed('sips:alice@PBX.Example.com:5061');
    allowed('sip:1000@eu.voip.example.net');
    refused('sip:1000@voip.example.net', 'SIP_DOMAIN_NOT_ALLOWED');
    refused('sip:alice@example.com', 'SIP_DOMAIN_NOT_ALLOWED');
    refused('sip:alice@pbx.example.com.attacker.org', 'SIP_DOMAIN_NOT_ALLOWED');
    refused('sip:alice@evilpbx.example.com', 'SIP_DOMAIN_NOT_ALLOWED');
  });

  it('refuses IP literals, private, loopback and link-local alike, unless the address is listed', () => {
    for (const host of ['203.0.113.5', '127.0.0.1:5080', '169.254.169.254', '10.0.0.5', '192.168.1.1', '0.0.0.0', '8.8.8.8']) {
      refused(`sip:x@${host}`, 'SIP_DOMAIN_NOT_ALLOWED');
    }
    allowed('sip:1000@127.0.0.1:15090');
    allowed('sip:1000@192.0.2.10:5060');
  });

  it('holds a listed address to its port', () => {
    refused('sip:1000@127.0.0.1', 'SIP_DOMAIN_NOT_ALLOWED');
    refused('sip:1000@127.0.0.1:5080', 'SIP_DOMAIN_NOT_ALLOWED');
  });

  it('refuses the other ways of writing an address a resolver accepts (127.1, decimal, hex)', () => {
    for (const host of ['127.1', '2130706433', '0x7f.0.0.1', '0177.0.0.1', '127.0.1']) refused(`sip:x@${host}`, 'SIP_DOMAIN_NOT_ALLOWED');
  });

  it('checks a user part that is a telephone number against the number rules', () => {
    refused('sip:+19005551234@pbx.example.com', 'PREMIUM_RATE_DENIED');
    refused('sip:19005551234@pbx.example.com', 'PREMIUM_RATE_DENIED');
    refused('sip:9005551234@pbx.example.com', 'PREMIUM_RATE_DENIED');
    refused('sip:+1-900-555-1234@pbx.example.com', 'PREMIUM_RATE_DENIED');
    refused('sip:+33612345678@pbx.example.com', 'DESTINATION_NOT_ALLOWED');
    refused('sip:0033612345678@pbx.example.com', 'DESTINATION_NOT_ALLOWED');
    refused('sip:01133612345678@pbx.example.com', 'DESTINATION_NOT_ALLOWED');
    refused('sip:+12025550990@pbx.example.com', 'DESTINATION_NOT_ALLOWED', { ...policy, deniedPrefixes: ['+1202555099'] });
  });

  it('lets extensions, names and allowed numbers through on an allowed host', () => {
    allowed('sip:1000@pbx.example.com');
    allowed('sip:alice.smith@pbx.example.com');
    allowed('sip:+12025550100@pbx.example.com');
    allowed('sip:2025550100@pbx.example.com');
  });

  it('reads a digit string in every way a gateway could', () => {
    assert.deepEqual(numberReadings('2025550100', 'US'), ['+12025550100']);
    assert.deepEqual(numberReadings('1000', 'US'), []);
    assert.deepEqual(numberReadings('alice', 'US'), []);
    assert.ok(numberReadings('0033612345678', 'US').includes('+33612345678'));
  });
});

describe('ALLOWED_SIP_DOMAINS', () => {
  it('parses host names, wildcards and addresses with optional ports', () => {
    assert.deepEqual(loadConfig({ ALLOWED_SIP_DOMAINS: 'PBX.example.com, *.example.net:5061,127.0.0.1:15090' }).allowedSipDomains, [
      { host: 'pbx.example.com', subdomains: false },
      { host: 'example.net', subdomains: true, port: 5061 },
      { host: '127.0.0.1', subdomains: false, port: 15090 },
    ]);
    assert.deepEqual(loadConfig({}).allowedSipDomains, []);
  });

  it('stops the start on an entry that is not a host, a wildcard domain or a plain IPv4 address', () => {
    for (const bad of ['*.127.0.0.1', '127.1', 'exa mple.com', 'a..b', 'host:0', 'host:70000', '*', '-x.com', 'x.com:']) {
      assert.throws(() => loadConfig({ ALLOWED_SIP_DOMAINS: bad }), ConfigError, bad);
    }
  });
});

describe('the caller id policy', () => {
  const keyA = apiKeyId('key-a');
  const keyB = apiKeyId('key-b');
  const callerIds = parseCallerIds(`${keyA}=+12025550111,+1415555*;*=+18005550100`, ['key-a', 'key-b']);

  function callerIdRefused(callerId: string, owner: string): void {
    assert.throws(
      () => assertCallerIdAllowed(callerId, owner, callerIds),
      (err: unknown) => err instanceof CrosslineError && err.code === 'CALLER_ID_NOT_ALLOWED' && err.status === 422 && err.details[0]?.path === '/callerId',
      `${callerId} for ${owner}`,
    );
  }

  it('lets a key present its own numbers, its prefixes and the numbers listed for every key', () => {
    for (const n of ['+12025550111', '+14155550123', '+18005550100']) assert.doesNotThrow(() => assertCallerIdAllowed(n, keyA, callerIds), n);
    assert.doesNotThrow(() => assertCallerIdAllowed('+18005550100', keyB, callerIds));
    assert.doesNotThrow(() => assertCallerIdAllowed(undefined, keyB, callerIds));
  });

  it("refuses another key's numbers, and any number when nothing is listed", () => {
    callerIdRefused('+12025550111', keyB);
    callerIdRefused('+14155550123', keyB);
    callerIdRefused('+12025550112', keyA);
    callerIdRefused('+447700900123', keyA);
    assert.throws(() => assertCallerIdAllowed('+12025550111', keyA, {}), CrosslineError);
  });

  it('reads CALLER_IDS at boot and stops on a malformed entry or an id no API key has', () => {
    assert.deepEqual(loadConfig({ API_KEYS: 'key-a', CALLER_IDS: `${keyA}=+12025550111, +1415*` }).callerIds, {
      [keyA]: [
        { number: '+12025550111', prefix: false },
        { number: '+1415', prefix: true },
      ],
    });
    assert.deepEqual(loadConfig({}).callerIds, {});
    for (const bad of [`${keyB}=+12025550111`, `${keyA}=12025550111`, `${keyA}=`, 'abc=+12025550111', `${keyA}=+1202*5`, `${keyA}=+1=+2`]) {
      assert.throws(() => loadConfig({ API_KEYS: 'key-a', CALLER_IDS: bad }), ConfigError, bad);
    }
  });

  it('names a key by the same id the API gives its owner', () => {
    assert.equal(apiKeyOwner('abc'), apiKeyId('abc'));
  });
});
