import { Router } from 'express';
import type { RequestHandler } from 'express';
import type { components } from '../contract.gen.js';

/** One switch as GET /v1/admin/switches shows it (the contract's SwitchStatus). */
export type SwitchStatusView = components['schemas']['SwitchStatus'];

/** What the admin routes call; implemented by SwitchDirectory in switches/. */
export interface SwitchAdmin {
  list(): Promise<SwitchStatusView[]>;
  /** Throws SWITCH_NOT_FOUND. */
  drain(id: string): Promise<SwitchStatusView>;
  /** Throws SWITCH_NOT_FOUND. */
  undrain(id: string): Promise<SwitchStatusView>;
}

/**
 * /v1/admin/switches: the pool of switches for the operator (OPS_TOKEN, not an API key): list,
 * drain (no new legs, live calls finish) and undrain.
 */
export function switchAdminRoutes(admin: SwitchAdmin, opsOnly: RequestHandler[]): Router {
  const router = Router();
  router.get('/v1/admin/switches', ...opsOnly, async (_req, res) => {
    res.json({ items: await admin.list() });
  });
  router.post('/v1/admin/switches/:switchId/drain', ...opsOnly, async (req, res) => {
    res.json(await admin.drain(String(req.params.switchId)));
  });
  router.post('/v1/admin/switches/:switchId/undrain', ...opsOnly, async (req, res) => {
    res.json(await admin.undrain(String(req.params.switchId)));
  });
  return router;
}
