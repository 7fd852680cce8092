import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Router } from 'express';
import request from 'supertest';
import { auth, ops, startApp } from '../api/helpers.js';
import { testRedisUrl } from '../support/redis.js';
import { ownerOf } from '../../src/api/context.js';

const echo = (name: string): Router => {
  const router = Router();
  router.get('/', (_req, res) => {
    res.json(name === 'public' ? { name } : { name, owner: ownerOf(res) });
  });
  return router;
};

test('a module mount sits behind its door, and only its own path does', async (t) => {
  const { app } = await startApp(t, testRedisUrl(), {
    mounts: [
      { door: 'public', path: '/widget-probe', router: echo('public') },
      { door: 'ops', path: '/v1/admin/probe', router: echo('ops') },
      { door: 'api-key', path: '/v1/probe', router: echo('api-key') },
    ],
  });
  const open = await request(app).get('/widget-probe');
  assert.equal(open.status, 200);
  assert.equal(open.body.name, 'public');

  assert.equal((await request(app).get('/v1/admin/probe')).status, 401);
  assert.equal((await request(app).get('/v1/admin/probe').set(auth)).status, 401, 'an API key is not the operator token');
  const asOps = await request(app).get('/v1/admin/probe').set(ops);
  assert.deepEqual(asOps.body, { name: 'ops', owner: 'ops' });

  assert.equal((await request(app).get('/v1/probe')).status, 401);
  const asKey = await request(app).get('/v1/probe').set(auth);
  assert.equal(asKey.status, 200);
  assert.equal(asKey.body.name, 'api-key');

  // the operator door does not stand in front of the rest of the API
  const callbacks = await request(app).get('/v1/callbacks').set(auth);
  assert.equal(callbacks.status, 200);
});
