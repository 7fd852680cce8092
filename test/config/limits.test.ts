import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';

const env = { API_KEYS: 'k-0123456789abcdef' };

describe('messaging limits of one sender', () => {
  it('keeps the defaults in order: the conversation asks to slow down (10/min) before the channels drop (60/min)', () => {
    const config = loadConfig(env);
    assert.ok(config.messaging.floodPerMinute >= config.messagesPerSenderPerMinute);
  });

  it('refuses at boot a flood limit below the conversation limit, naming both settings', () => {
    assert.throws(
      () => loadConfig({ ...env, INTAKE_FLOOD_PER_MINUTE: '5', MESSAGES_PER_SENDER_PER_MINUTE: '10' }),
      (err: unknown) => err instanceof ConfigError && /INTAKE_FLOOD_PER_MINUTE.*MESSAGES_PER_SENDER_PER_MINUTE/.test(err.message),
    );
    assert.equal(loadConfig({ ...env, INTAKE_FLOOD_PER_MINUTE: '10', MESSAGES_PER_SENDER_PER_MINUTE: '10' }).messaging.floodPerMinute, 10);
  });
});
