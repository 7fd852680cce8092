import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Endpoint } from '../../src/callbacks/types.js';
import { CrosslineError, type ErrorCode } from '../../src/errors.js';
import { buildDialString, buildOriginateArgs, buildVariableBlock, originateVariables } from '../../src/telephony/dial-string.js';
import type { DialRequest } from '../../src/telephony/types.js';

const options = { gateway: 'carrier', numberFormat: 'e164', sipProfile: 'external' } as const;
const LEG = '0f8e2d4c-1b3a-4c5d-8e6f-7a8b9c0d1e2f';
const CALLBACK = '01937a52-6c1e-7d2f-8a3b-4c5d6e7f8091';

function request(overrides: Partial<DialRequest> = {}): DialRequest {
  return {
    uuid: LEG,
    endpoint: { kind: 'number', e164: '+12025550100', country: 'US' },
    callerIdNumber: '+12025550199',
    callerIdName: 'Crossline',
    ringTimeoutSec: 30,
    tags: { callback_id: CALLBACK, role: 'callee', attempt: '1' },
    ...overrides,
  };
}

function refusedWith(code: ErrorCode): (error: unknown) => boolean {
  return (error) => error instanceof CrosslineError && error.code === code;
}

const number = (e164: string): Endpoint => ({ kind: 'number', e164, country: 'US' });
const sip = (uri: string): Endpoint => ({ kind: 'sip', uri });

describe('dial-string builder', () => {
  it('builds a gateway dial string with the number in E.164 form', () => {
    assert.equal(buildDialString(number('+12025550100'), options), 'sofia/gateway/carrier/+12025550100');
  });

  it('builds a gateway dial string with bare digits when the number format is digits', () => {
    assert.equal(buildDialString(number('+12025550100'), { ...options, numberFormat: 'digits' }), 'sofia/gateway/carrier/12025550100');
  });

  it('dials a sip: URI through the profile without its scheme', () => {
    assert.equal(buildDialString(sip('sip:alice@example.com'), options), 'sofia/external/alice@example.com');
    assert.equal(buildDialString(sip('sip:+12025550100@192.0.2.10:5070'), options), 'sofia/external/+12025550100@192.0.2.10:5070');
  });

  it('keeps the sips: scheme so that sofia signals over TLS through the profile', () => {
    assert.equal(buildDialString(sip('sips:bob@secure.example.com'), options), 'sofia/external/sips:bob@secure.example.com');
  });

  it('writes the whole originate argument: allow-listed variables, dial string and &park()', () => {
    assert.equal(
      buildOriginateArgs(request(), options),
      `{origination_uuid=${LEG},originate_timeout=30,ignore_early_media=true,` +
        `origination_caller_id_number=+12025550199,origination_caller_id_name=Crossline,` +
        `crossline_callback_id=${CALLBACK},crossline_role=callee,crossline_attempt=1,hangup_after_bridge=true,crossline=true}` +
        'sofia/gateway/carrier/+12025550100 &park()',
    );
  });

  it('single-quotes a caller name with spaces and leaves out caller id that was not given', () => {
    const args = buildOriginateArgs(request({ callerIdName: 'Jane Q. Doe-Smith', callerIdNumber: undefined }), options);
    assert.match(args, /,origination_caller_id_name='Jane Q\. Doe-Smith',/);
    assert.doesNotMatch(args, /origination_caller_id_number/);
  });

  it('accepts caller names in any script', () => {
    assert.match(buildOriginateArgs(request({ callerIdName: 'Zoë Ångström' }), options), /origination_caller_id_name='Zoë Ångström'/);
    assert.match(buildOriginateArgs(request({ callerIdName: '山田太郎' }), options), /origination_caller_id_name=山田太郎,/);
  });

  it('formats the caller id number like the dialled number', () => {
    const args = buildOriginateArgs(request(), { ...options, numberFormat: 'digits' });
    assert.match(args, /origination_caller_id_number=12025550199,/);
    assert.match(args, /sofia\/gateway\/carrier\/12025550100 &park\(\)$/);
  });

  it('writes tags as crossline_<name> variables in the order given, after the caller id', () => {
    const args = buildOriginateArgs(request({ tags: { inbound_call: LEG, profile: 'sales.desk' } }), options);
    assert.match(args, /origination_caller_id_name=Crossline,crossline_inbound_call=[0-9a-f-]{36},crossline_profile=sales\.desk,hangup_after_bridge=true,crossline=true\}/);
    assert.match(buildOriginateArgs(request({ tags: {} }), options), /origination_caller_id_name=Crossline,hangup_after_bridge=true,crossline=true\}/);
  });

  it('writes only allow-listed variables, even when handed more', () => {
    const variables = { ...originateVariables(request(), options), execute_on_answer: 'system rm -rf /', api_on_answer: 'x' };
    const block = buildVariableBlock(variables);
    assert.doesNotMatch(block, /execute_on|api_on/);
  });
});

describe('dial-string builder rejections', () => {
  const badNumbers: Array<[string, string]> = [
    ['a semicolon', '+1202555;0100'],
    ['a space', '+1202 5550100'],
    ['a newline', '+12025550100\n'],
    ['a CR LF and a second command', '+12025550100\r\napi status'],
    ['an ampersand', '+12025550100&park'],
    ['braces', '+1{x=y}2025550100'],
    ['a ^^ separator change', '^^:+12025550100'],
    ['a double quote', '"+12025550100"'],
    ['a single quote', "+12025550100'"],
    ['a comma', '+12025550100,+12025550101'],
    ['a pipe', '+12025550100|sofia/gateway/x/1'],
    ['fullwidth digits', '+１２０２５５５０１００'],
    ['Arabic-Indic digits', '+١٢٠٢٥٥٥٠١٠٠'],
    ['a zero-width space', '+1202\u200b5550100'],
    ['a right-to-left override', '+1202\u202e5550100'],
    ['no plus sign', '12025550100'],
    ['more than 15 digits', '+1202555010012345'],
    ['nothing', ''],
  ];
  for (const [what, value] of badNumbers) {
    it(`refuses a number with ${what}`, () => {
      assert.throws(() => buildOriginateArgs(request({ endpoint: number(value) }), options), refusedWith('INVALID_NUMBER'));
    });
  }

  const badUris: Array<[string, string]> = [
    ['a parameter', 'sip:alice@example.com;transport=tcp'],
    ['a header', 'sip:alice@example.com?subject=x'],
    ['a space', 'sip:alice smith@example.com'],
    ['a newline', 'sip:alice@example.com\napi status'],
    ['braces', 'sip:{execute_on_answer=x}alice@example.com'],
    ['an ampersand', 'sip:alice@example.com&park()'],
    ['a comma', 'sip:alice@example.com,sip:bob@example.com'],
    ['a pipe', 'sip:alice@example.com|sofia/x/y'],
    ['a caret', 'sip:^^:alice@example.com'],
    ['quotes', 'sip:"alice"@example.com'],
    ['a percent escape', 'sip:alice%40evil@example.com'],
    ['unicode letters in the host', 'sip:alice@exämple.com'],
    ['a user part over 64 characters', `sip:${'a'.repeat(65)}@example.com`],
    ['another scheme', 'tel:+12025550100'],
    ['no scheme', 'alice@example.com'],
  ];
  for (const [what, value] of badUris) {
    it(`refuses a SIP URI with ${what}`, () => {
      assert.throws(() => buildOriginateArgs(request({ endpoint: sip(value) }), options), refusedWith('INVALID_SIP_URI'));
    });
  }

  it('refuses a SIP URI longer than 256 characters', () => {
    const host = `${Array.from({ length: 5 }, () => 'h'.repeat(60)).join('.')}.com`;
    assert.throws(() => buildOriginateArgs(request({ endpoint: sip(`sip:alice@${host}`) }), options), refusedWith('INVALID_SIP_URI'));
  });

  const badNames: Array<[string, string]> = [
    ['a comma', 'Doe, Jane'],
    ['a single quote', "O'Brien"],
    ['a double quote', 'Jane "JD" Doe'],
    ['braces', 'Jane}{execute_on_answer=x'],
    ['a ^^ separator change', '^^:Jane'],
    ['a semicolon', 'Jane;Doe'],
    ['an ampersand', 'Jane & Joe'],
    ['a pipe', 'Jane|Doe'],
    ['a newline', 'Jane\nDoe'],
    ['a tab', 'Jane\tDoe'],
    ['a dollar expansion', '${system}'],
    ['a zero-width joiner', 'Jane\u200dDoe'],
    ['a right-to-left override', 'Jane\u202eeoD'],
    ['a line separator', 'Jane\u2028Doe'],
    ['a no-break space', 'Jane\u00a0Doe'],
    ['a leading space', ' Jane'],
    ['more than 64 characters', 'J'.repeat(65)],
  ];
  for (const [what, value] of badNames) {
    it(`refuses a caller name with ${what}`, () => {
      assert.throws(() => buildOriginateArgs(request({ callerIdName: value }), options), refusedWith('INVALID_NAME'));
    });
  }

  it('refuses a caller id number that is not E.164', () => {
    for (const value of ['12025550199', '+1202555019;9', '+12025550199\n', '+1202555019 9', 'anonymous']) {
      assert.throws(() => buildOriginateArgs(request({ callerIdNumber: value }), options), refusedWith('INVALID_CALLER_ID'));
    }
  });

  it('refuses a leg UUID, tag name or tag value that is not ours', () => {
    const bad: Array<Partial<DialRequest>> = [
      { uuid: `${LEG} &park()` },
      { uuid: LEG.toUpperCase() },
      { uuid: `${LEG},execute_on_answer=x` },
      { tags: { callback_id: `${CALLBACK}}`, role: 'callee', attempt: '1' } },
      { tags: { callback_id: CALLBACK, role: 'callee,x=y', attempt: '1' } },
      { tags: { callback_id: CALLBACK, role: 'callee', attempt: '1 2' } },
      { tags: { callback_id: CALLBACK, role: '', attempt: '1' } },
      { tags: { callback_id: CALLBACK, role: 'callee\napi status', attempt: '1' } },
      { tags: { callback_id: CALLBACK, role: '${system}', attempt: '1' } },
      { tags: { 'role,execute_on_answer': 'x' } },
      { tags: { 'role=x': 'x' } },
      { tags: { Role: 'callee' } },
      { tags: { '1role': 'callee' } },
      { tags: { [`r${'o'.repeat(32)}`]: 'callee' } },
      { tags: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`t${i}`, 'x'])) },
    ];
    for (const overrides of bad) {
      assert.throws(() => buildOriginateArgs(request(overrides), options), refusedWith('INTERNAL'));
    }
  });

  it('refuses a ring timeout outside its range', () => {
    for (const ringTimeoutSec of [0, -1, 1.5, 601, Number.NaN]) {
      assert.throws(() => buildOriginateArgs(request({ ringTimeoutSec }), options), refusedWith('INTERNAL'));
    }
  });

  it('refuses a configured gateway or profile that is not a plain name', () => {
    for (const gateway of ['car rier', 'carrier/x', 'a,b', '', 'g'.repeat(65)]) {
      assert.throws(() => buildDialString(number('+12025550100'), { ...options, gateway }), refusedWith('INTERNAL'));
    }
    for (const sipProfile of ['ext ernal', 'ext/ernal', '{x}']) {
      assert.throws(() => buildDialString(sip('sip:alice@example.com'), { ...options, sipProfile }), refusedWith('INTERNAL'));
    }
  });
});

describe('keep-your-place queue legs', () => {
  const queue = (over: Partial<{ queue: string; extension: string; context: string; baseScore: number }> = {}) =>
    ({ kind: 'queue', queue: 'support@default', extension: '7000', context: 'default', baseScore: 95, ...over }) as const;

  it('sends the leg into the queue through loopback/<extension>/<context>, with its place (cc_base_score) and no loopback bow-out', () => {
    assert.equal(
      buildOriginateArgs(request({ endpoint: queue() }), options),
      `{origination_uuid=${LEG},originate_timeout=30,ignore_early_media=true,` +
        `origination_caller_id_number=+12025550199,origination_caller_id_name=Crossline,` +
        `crossline_callback_id=${CALLBACK},crossline_role=callee,crossline_attempt=1,hangup_after_bridge=true,` +
        'cc_base_score=95,loopback_bowout=false,crossline=true}loopback/7000/default &park()',
    );
  });

  it('refuses an extension, context, queue or score that could reach further than the queue', () => {
    for (const extension of ['7000 &bridge(sofia/gateway/x/1)', '7000/public', '', '7000;x', 'x'.repeat(33)]) {
      assert.throws(() => buildOriginateArgs(request({ endpoint: queue({ extension }) }), options), refusedWith('INTERNAL'), extension);
    }
    for (const context of ['default/x', 'de fault', '']) {
      assert.throws(() => buildOriginateArgs(request({ endpoint: queue({ context }) }), options), refusedWith('INTERNAL'), context);
    }
    assert.throws(() => buildOriginateArgs(request({ endpoint: queue({ queue: 'support@default api status' }) }), options), refusedWith('INVALID_QUEUE'));
    for (const baseScore of [-1, 1.5, 366 * 86_400 + 1, Number.NaN]) {
      assert.throws(() => buildOriginateArgs(request({ endpoint: queue({ baseScore }) }), options), refusedWith('INTERNAL'), String(baseScore));
    }
  });
});
