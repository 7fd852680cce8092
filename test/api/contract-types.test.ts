import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import { packageRoot } from '../../src/api/openapi.js';
import { testRedisUrl } from '../support/redis.js';
import { API_KEY, startApp } from './helpers.js';
import { callAndFollow } from './typed-client.example.js';

const redisUrl = testRedisUrl();
const root = packageRoot();

describe('TypeScript types generated from openapi.yaml', () => {
  test('src/api/contract.gen.ts is what openapi-typescript makes of openapi.yaml today', async () => {
    // The options of `npm run generate:types`, which writes the committed file.
    const ast = await openapiTS(pathToFileURL(path.join(root, 'openapi.yaml')), { defaultNonNullable: false, silent: true });
    const expected = COMMENT_HEADER + astToString(ast);

    const committed = fs.readFileSync(path.join(root, 'src', 'api', 'contract.gen.ts'), 'utf8');

    assert.ok(committed === expected, 'src/api/contract.gen.ts is out of date with openapi.yaml: run `npm run generate:types` and commit the result');
  });

  test('the README quotes the typed-client example as tsc checks it', () => {
    const example = fs.readFileSync(path.join(root, 'test', 'api', 'typed-client.example.ts'), 'utf8');
    const quoted = example.replace(/^(\/\/.*\n)+/, ''); // the leading comment speaks of this repository

    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

    assert.ok(readme.includes('```ts\n' + quoted + '```\n'), 'README.md should quote test/api/typed-client.example.ts below its header comment');
  });

  test('the README example creates a callback with the typed client and follows it until it has ended', async (t) => {
    const { app, service } = await startApp(t, redisUrl);
    const server = app.listen(0, '127.0.0.1');
    t.after(() => server.close());
    await new Promise((resolve) => server.once('listening', resolve));
    // The fake service never dials: end the callback once the client has polled it once.
    const originalGet = service.get.bind(service);
    let polls = 0;
    service.get = async (id, owner) => {
      const callback = await originalGet(id, owner);
      return ++polls < 2 ? callback : { ...callback, status: 'completed' };
    };

    const { port } = server.address() as AddressInfo;
    const ended = await callAndFollow(`http://127.0.0.1:${port}`, API_KEY, 5);

    assert.equal(ended.status, 'completed');
    assert.equal(polls, 2);
    const [[input]] = service.callsTo('create') as [[{ callee: { dtmf?: string; name?: string } }]];
    assert.deepEqual({ dtmf: input.callee.dtmf, name: input.callee.name }, { dtmf: '1w2#', name: 'Acme Support' });
  });
});
