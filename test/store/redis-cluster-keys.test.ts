import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { isClusterUrl, keyPrefixes, parseClusterUrl } from '../../src/store/index.js';

describe('REDIS_URL naming a Redis Cluster', () => {
  it('redis+cluster:// lists seed nodes, with credentials shared by every node and rediss for TLS', () => {
    assert.equal(isClusterUrl('redis://127.0.0.1:6379'), false);
    assert.deepEqual(parseClusterUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001'), {
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      tls: false,
    });
    assert.deepEqual(parseClusterUrl('rediss+cluster://app:p%40ss@redis.example:6380/'), {
      nodes: [{ host: 'redis.example', port: 6380 }],
      username: 'app',
      password: 'p@ss',
      tls: true,
    });
  });

  it('a malformed cluster URL stops the start with a message naming REDIS_URL', () => {
    for (const url of ['redis+cluster://redis.example', 'redis+cluster://a:7000,,b:7001', 'redis+cluster://a:7000/0', 'cluster://a:7000']) {
      assert.throws(() => loadConfig({ REDIS_URL: url }), (err: unknown) => err instanceof ConfigError && /REDIS_URL/.test(err.message), url);
    }
    assert.equal(loadConfig({ REDIS_URL: 'redis+cluster://a:7000,b:7001' }).redisUrl, 'redis+cluster://a:7000,b:7001');
  });
});

describe('key prefixes', () => {
  it('on one Redis node every prefix is KEY_PREFIX itself, so the key names are those of earlier versions', () => {
    const p = keyPrefixes('crossline', false);
    assert.deepEqual([p.spread, p.callbacks, p.queue('callback-attempts'), p.queue('webhooks')], ['crossline', 'crossline', 'crossline', 'crossline']);
  });

  it('on a cluster the callbacks and each queue get a hash tag of their own, and single keys none', () => {
    const p = keyPrefixes('crossline', true);
    assert.equal(p.spread, 'crossline');
    assert.equal(p.callbacks, '{crossline}');
    assert.equal(p.queue('callback-attempts'), '{crossline:callback-attempts}');
    assert.equal(p.queue('webhooks'), '{crossline:webhooks}');
  });
});
