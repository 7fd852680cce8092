/**
 * REST for inbound calls: a user's profile (GET/PUT/DELETE /v1/users/{userId}/inbound-profile),
 * their voicemails (list, mark heard, delete) behind the API key, and the signed media link
 * (GET /media/voicemails/{id}?expires&sig) behind nothing but its signature.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Router } from 'express';
import { ownerOf } from '../api/context.js';
import { jsonBody } from '../api/json-body.js';
import type { OpenApi } from '../api/openapi.js';
import { CrosslineError } from '../errors.js';
import type { ProfileService } from './profiles.js';
import type { InboundProfileInput, Voicemail } from './types.js';
import type { MediaLinks, Voicemails, VoicemailStore } from './voicemail.js';

export interface InboundRouteDeps {
  api: OpenApi;
  profiles: ProfileService;
  store: VoicemailStore;
  voicemails: Voicemails;
  links: MediaLinks;
}

const view = (vm: Voicemail, links: MediaLinks): Record<string, unknown> => {
  const { owner: _owner, userId: _user, file: _file, ...rest } = vm;
  return { ...rest, url: links.url(vm.id) };
};

/** Mounted at /v1/users behind the API key. */
export function inboundUserRoutes({ api, profiles, store, voicemails, links }: InboundRouteDeps): Router {
  const router = Router();
  const validateProfile = api.validateBody<InboundProfileInput>('putInboundProfile');
  const validateUpdate = api.validateBody<{ heard: boolean }>('updateVoicemail');
  const userPath = api.validateParameters<{ userId: string }>('getInboundProfile', 'path');
  const vmPath = api.validateParameters<{ userId: string; voicemailId: string }>('deleteVoicemail', 'path');
  const userIdOf = (params: Record<string, unknown>): string => {
    try {
      return userPath({ userId: params.userId }).userId;
    } catch {
      throw new CrosslineError('PROFILE_NOT_FOUND');
    }
  };
  const voicemailOf = (params: Record<string, unknown>): { userId: string; voicemailId: string } => {
    try {
      return vmPath({ userId: params.userId, voicemailId: params.voicemailId });
    } catch {
      throw new CrosslineError('VOICEMAIL_NOT_FOUND');
    }
  };

  router.get('/:userId/inbound-profile', async (req, res) => {
    res.json(await profiles.get(ownerOf(res), userIdOf(req.params)));
  });
  router.put('/:userId/inbound-profile', ...jsonBody(), async (req, res) => {
    const userId = userIdOf(req.params);
    res.json(await profiles.put(ownerOf(res), userId, validateProfile(req.body)));
  });
  router.delete('/:userId/inbound-profile', async (req, res) => {
    await profiles.remove(ownerOf(res), userIdOf(req.params));
    res.status(204).end();
  });
  router.get('/:userId/voicemails', async (req, res) => {
    const items = await store.list(ownerOf(res), userIdOf(req.params));
    res.json({ items: items.map((vm) => view(vm, links)) });
  });
  router.patch('/:userId/voicemails/:voicemailId', ...jsonBody(), async (req, res) => {
    const { userId, voicemailId } = voicemailOf(req.params);
    const { heard } = validateUpdate(req.body);
    const vm = await store.getFor(ownerOf(res), userId, voicemailId);
    vm.heard = heard;
    await store.update(vm);
    res.json(view(vm, links));
  });
  router.delete('/:userId/voicemails/:voicemailId', async (req, res) => {
    const { userId, voicemailId } = voicemailOf(req.params);
    await voicemails.remove(await store.getFor(ownerOf(res), userId, voicemailId));
    res.status(204).end();
  });
  return router;
}

/** Mounted at /media, public: the signature is the authorisation. */
export function mediaRoutes({ store, voicemails, links }: Pick<InboundRouteDeps, 'store' | 'voicemails' | 'links'>): Router {
  const router = Router();
  router.get('/voicemails/:voicemailId', async (req, res) => {
    const id = String(req.params.voicemailId);
    const query = req.query as Record<string, unknown>;
    links.check(id, typeof query.expires === 'string' ? query.expires : undefined, typeof query.sig === 'string' ? query.sig : undefined);
    const vm = await store.get(id);
    if (vm === undefined) throw new CrosslineError('MEDIA_LINK_INVALID');
    res.setHeader('Content-Type', vm.contentType);
    res.setHeader('Content-Length', String(vm.sizeBytes));
    res.setHeader('Cache-Control', 'private, no-store');
    res.setHeader('Content-Disposition', `attachment; filename="${vm.kind === 'voice' ? 'voicemail' : 'fax'}-${vm.id}${vm.file.slice(vm.file.lastIndexOf('.'))}"`);
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(join(voicemails.dir, vm.file));
      stream.once('error', () => reject(new CrosslineError('MEDIA_LINK_INVALID')));
      stream.once('end', () => resolve());
      stream.pipe(res);
    });
  });
  return router;
}
