import { queuesModule } from '../../queues/index.js';
import { callCentersModule } from '../../directory/call-centers/module.js';
import { directoryModule } from '../../directory/module.js';
import { alertsModule } from '../../alerts/module.js';
import { inboundModule } from '../../inbound/module.js';
import { channelsModule } from '../../channels/module.js';
import { widgetModule } from '../../intake/widget/index.js';
import { dashboardModule } from '../../dashboard/index.js';
import type { CapabilityModule } from './types.js';

export type { CapabilityModule, Door, HttpMount, ModuleContext, Roles, Services, StartedModule } from './types.js';

/**
 * The capabilities beyond the callback core, in start order: a module may use the services of the
 * modules before it. Add one line per capability.
 */
export const CAPABILITY_MODULES: readonly CapabilityModule[] = [
  queuesModule,
  callCentersModule,
  directoryModule,
  channelsModule,
  inboundModule,
  widgetModule,
  alertsModule,
  dashboardModule,
];
