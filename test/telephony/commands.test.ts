import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CrosslineError, type ErrorCode } from '../../src/errors.js';
import { bridgeCommand, killCommand, playMessage, sendDtmfCommand } from '../../src/telephony/commands.js';
import { parseEslUrl } from '../../src/telephony/index.js';
import { parseHangupCause } from '../../src/telephony/types.js';

const A = '0f8e2d4c-1b3a-4c5d-8e6f-7a8b9c0d1e2f';
const B = '6a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d';
const EVENT = 'b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e';
const tts = { engine: 'flite', voice: 'kal' };

function refusedWith(code: ErrorCode): (error: unknown) => boolean {
  return (error) => error instanceof CrosslineError && error.code === code;
}

describe('ESL command builders', () => {
  it('sends DTMF digits with pauses as one argument of uuid_send_dtmf', () => {
    assert.equal(sendDtmfCommand(A, '1234#'), `uuid_send_dtmf ${A} 1234#`);
    assert.equal(sendDtmfCommand(A, 'wW1*9#ABCD'), `uuid_send_dtmf ${A} wW1*9#ABCD`);
  });

  const badDigits: Array<[string, string]> = [
    ['a space', '12 34'],
    ['a newline', '1234\n'],
    ['a second command after CR LF', '1\r\napi status'],
    ['a tone duration', '1234@500'],
    ['a semicolon', '1;2'],
    ['letters beyond D', '12E'],
    ['fullwidth digits', '１２'],
    ['more than 64 characters', '1'.repeat(65)],
    ['nothing', ''],
  ];
  for (const [what, digits] of badDigits) {
    it(`refuses DTMF with ${what}`, () => {
      assert.throws(() => sendDtmfCommand(A, digits), refusedWith('INVALID_DTMF'));
    });
  }

  it('speaks validated text with the configured engine and voice', () => {
    const message = playMessage(A, { kind: 'speak', text: "Connecting you to Jane's office, please hold." }, tts, EVENT);
    assert.equal(message.command, `sendmsg ${A}`);
    assert.deepEqual(message.headers, {
      'call-command': 'execute',
      'execute-app-name': 'speak',
      'execute-app-arg': "flite|kal|Connecting you to Jane's office, please hold.",
      'event-lock': 'true',
      'Event-UUID': EVENT,
    });
  });

  it('plays sound files and tone streams with playback', () => {
    assert.equal(playMessage(A, { kind: 'file', path: '/usr/share/sounds/hold.wav' }, tts, EVENT).headers['execute-app-arg'], '/usr/share/sounds/hold.wav');
    const tone = playMessage(A, { kind: 'file', path: 'tone_stream://%(500,0,800)' }, tts, EVENT);
    assert.equal(tone.headers['execute-app-name'], 'playback');
    assert.equal(tone.headers['execute-app-arg'], 'tone_stream://%(500,0,800)');
  });

  const badTexts: Array<[string, string]> = [
    ['a pipe that would change the TTS voice', 'hello|evil|voice'],
    ['a newline that would add an ESL header', 'hello\ncall-command: hangup'],
    ['a carriage return', 'hello\r'],
    ['a variable expansion', 'hello ${system(id)}'],
    ['braces', 'hello {x}'],
    ['a zero-width space', 'hel\u200blo'],
    ['a right-to-left override', 'hello \u202e'],
    ['more than 500 characters', 'a'.repeat(501)],
    ['only spaces around it', ' hello '],
    ['nothing', ''],
  ];
  for (const [what, text] of badTexts) {
    it(`refuses announcement text with ${what}`, () => {
      assert.throws(() => playMessage(A, { kind: 'speak', text }, tts, EVENT), refusedWith('INVALID_ANNOUNCEMENT'));
    });
  }

  it('refuses sound paths with variables, expansions, parent directories or line breaks', () => {
    for (const path of ['{loops=10}/tmp/a.wav', '$${sounds_dir}/a.wav', '../../etc/passwd', '/tmp/a.wav\nx: y', 'a b.wav', 'shout://evil.example.com/x.mp3']) {
      assert.throws(() => playMessage(A, { kind: 'file', path }, tts, EVENT), refusedWith('INVALID_ANNOUNCEMENT'));
    }
  });

  it('refuses a configured TTS engine or voice that is not a plain name', () => {
    assert.throws(() => playMessage(A, { kind: 'speak', text: 'Hello' }, { engine: 'flite|x', voice: 'kal' }, EVENT), refusedWith('INTERNAL'));
  });

  it('kills a leg with a typed cause, or without one for UNKNOWN', () => {
    assert.equal(killCommand(A), `uuid_kill ${A}`);
    assert.equal(killCommand(A, 'ORIGINATOR_CANCEL'), `uuid_kill ${A} ORIGINATOR_CANCEL`);
    assert.equal(killCommand(A, 'UNKNOWN'), `uuid_kill ${A}`);
    assert.throws(() => killCommand(A, 'NORMAL_CLEARING\nexit' as 'NORMAL_CLEARING'), refusedWith('INTERNAL'));
  });

  it('bridges two of our UUIDs and nothing else', () => {
    assert.equal(bridgeCommand(A, B), `uuid_bridge ${A} ${B}`);
    assert.throws(() => bridgeCommand(A, `${B} &park()`), refusedWith('INTERNAL'));
    assert.throws(() => bridgeCommand(A, A), refusedWith('INTERNAL'));
  });

  it('refuses a channel UUID that is not one of ours', () => {
    for (const uuid of [`${A}\napi status`, A.toUpperCase(), 'all', '']) {
      assert.throws(() => sendDtmfCommand(uuid, '1'), refusedWith('INTERNAL'));
      assert.throws(() => killCommand(uuid), refusedWith('INTERNAL'));
    }
  });
});

describe('switch text at the edge', () => {
  it('turns bgapi originate errors into typed hangup causes', () => {
    assert.equal(parseHangupCause('-ERR USER_BUSY\n'), 'USER_BUSY');
    assert.equal(parseHangupCause('-ERR NO_ANSWER\n'), 'NO_ANSWER');
    assert.equal(parseHangupCause('-ERR something we never heard of'), 'UNKNOWN');
  });

  it('parses esl:// URLs with FreeSWITCH defaults and never echoes the password in errors', () => {
    assert.deepEqual(parseEslUrl('esl://:s3cr%40t@fs.example.com:8022'), { host: 'fs.example.com', port: 8022, password: 's3cr@t' });
    assert.deepEqual(parseEslUrl('esl://127.0.0.1'), { host: '127.0.0.1', port: 8021, password: 'ClueCon' });
    assert.deepEqual(parseEslUrl('esl://:pw@[::1]:8021'), { host: '::1', port: 8021, password: 'pw' });
    for (const url of ['http://:Secret123@fs:8021', 'esl://:Secret123@fs:8021/path', 'esl://:Secret%0Aauth@fs:8021', 'not a url Secret123']) {
      assert.throws(() => parseEslUrl(url), (error: unknown) => error instanceof TypeError && !error.message.includes('Secret'));
    }
  });
});
