import { Router, type ErrorRequestHandler, type Request } from 'express';
import { ownerOf } from '../api/context.js';
import { jsonBody } from '../api/json-body.js';
import type { OpenApi } from '../api/openapi.js';
import type { ChannelKind } from '../channels/types.js';
import { CrosslineError } from '../errors.js';
import type { Directory, Person, PersonInput, PersonKind } from './types.js';

/** The public shape of a user or contact (openapi.yaml `Person`): no owner, no revision. */
export interface PersonView {
  id: string;
  displayName: string;
  aliases: string[];
  loginName?: string;
  emails: Array<{ address: string; verified: boolean; verifiedAt?: string }>;
  jids: Array<{ address: string; verified: boolean; verifiedAt?: string }>;
  phones: Array<{ number: string; label: string; default: boolean; verified: boolean; verifiedAt?: string }>;
  sipUris: string[];
  timeZone: string;
  region?: string;
  createdAt: string;
  updatedAt: string;
}

const addressView = (a: { address: string; verifiedAt?: string }): { address: string; verified: boolean; verifiedAt?: string } => ({
  address: a.address,
  verified: a.verifiedAt !== undefined,
  ...(a.verifiedAt !== undefined ? { verifiedAt: a.verifiedAt } : {}),
});

export function toPersonView(p: Person): PersonView {
  return {
    id: p.id,
    displayName: p.displayName,
    aliases: p.aliases,
    ...(p.loginName !== undefined ? { loginName: p.loginName } : {}),
    emails: p.emails.map(addressView),
    jids: p.jids.map(addressView),
    phones: p.phones.map((ph) => ({
      number: ph.number,
      label: ph.label,
      default: ph.default,
      verified: ph.verifiedAt !== undefined,
      ...(ph.verifiedAt !== undefined ? { verifiedAt: ph.verifiedAt } : {}),
    })),
    sipUris: p.sipUris,
    timeZone: p.timeZone,
    ...(p.region !== undefined ? { region: p.region } : {}),
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

interface VerificationBody {
  channel: ChannelKind;
  address: string;
}

const OPERATIONS = {
  user: { create: 'createUser', list: 'listUsers', get: 'getUser', replace: 'replaceUser', remove: 'deleteUser' },
  contact: { create: 'createContact', list: 'listContacts', get: 'getContact', replace: 'replaceContact', remove: 'deleteContact' },
} as const;

/**
 * /v1/users or /v1/contacts (mounted at that path, behind the API-key door): validate against
 * openapi.yaml, call the directory, answer with the view. Users also have verifications.
 */
export function personRoutes(kind: PersonKind, api: OpenApi, directory: Directory): Router {
  const router = Router();
  const ops = OPERATIONS[kind];
  const notFound = (): CrosslineError => new CrosslineError(kind === 'user' ? 'USER_NOT_FOUND' : 'CONTACT_NOT_FOUND');
  const validateCreate = api.validateBody<PersonInput>(ops.create);
  const validateReplace = api.validateBody<PersonInput>(ops.replace);
  const validateList = api.validateParameters<{ limit: number; cursor?: string }>(ops.list, 'query');
  const validateId = api.validateParameters<{ id: string }>(ops.get, 'path');
  // An id that cannot exist is simply not found.
  const idOf = (req: Request): string => {
    try {
      return validateId({ id: req.params.id }).id;
    } catch {
      throw notFound();
    }
  };

  router.post('/', ...jsonBody(), async (req, res) => {
    const person = await directory.create(kind, validateCreate(req.body), ownerOf(res));
    res.status(201).setHeader('Location', `${req.baseUrl}/${person.id}`).json(toPersonView(person));
  });

  router.get('/', async (req, res) => {
    const query = validateList({ ...(req.query as Record<string, unknown>) });
    const page = await directory.list(kind, ownerOf(res), query);
    res.json({ items: page.items.map(toPersonView), nextCursor: page.nextCursor ?? null });
  });

  router.get('/:id', async (req, res) => {
    res.json(toPersonView(await directory.get(kind, idOf(req), ownerOf(res))));
  });

  router.put('/:id', ...jsonBody(), async (req, res) => {
    const id = idOf(req);
    res.json(toPersonView(await directory.replace(kind, id, validateReplace(req.body), ownerOf(res))));
  });

  router.delete('/:id', async (req, res) => {
    await directory.remove(kind, idOf(req), ownerOf(res));
    res.status(204).end();
  });

  if (kind === 'user') {
    const validateStart = api.validateBody<VerificationBody>('startUserVerification');
    const validateConfirm = api.validateBody<VerificationBody & { code: string }>('confirmUserVerification');

    router.post('/:id/verifications', ...jsonBody(), async (req, res) => {
      const id = idOf(req);
      const body = validateStart(req.body);
      const pending = await directory.startVerification(id, { channel: body.channel, address: body.address }, ownerOf(res));
      res.status(202).json({ channel: pending.address.channel, address: pending.address.address, expiresAt: pending.expiresAt });
    });

    router.post('/:id/verifications/confirm', ...jsonBody(), async (req, res) => {
      const id = idOf(req);
      const body = validateConfirm(req.body);
      const outcome = await directory.confirmVerification(id, { channel: body.channel, address: body.address }, body.code, ownerOf(res));
      if (outcome.ok) return void res.json(toPersonView(outcome.user));
      if (outcome.reason === 'address-taken') throw new CrosslineError('ADDRESS_TAKEN');
      const why = {
        'no-pending': 'no code is waiting for this address: ask for one first',
        expired: 'the code has expired: ask for a new one',
        'wrong-code': 'the code is wrong',
        'too-many-attempts': 'too many wrong codes: this one is void, ask for a new one',
      }[outcome.reason];
      throw new CrosslineError('VERIFICATION_FAILED', undefined, [{ path: '/code', message: why }]);
    });
  }

  router.use(((err, _req, _res, next) => {
    next(err instanceof URIError ? notFound() : err);
  }) as ErrorRequestHandler);
  return router;
}
