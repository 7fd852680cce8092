/**
 * What the call-flow code shares: the channel registry, the event factory and bus, the clock and
 * the phone plan. One per simulator.
 */
import type { SwitchCapacity } from './capacity.js';
import type { QueueDialplan } from './callcenter.js';
import type { Channel } from './channel.js';
import type { SimClock } from './clock.js';
import type { SwitchEvent } from './event.js';
import type { PhonePlan } from './phone-plan.js';
import type { MediaLibrary } from './media.js';
import type { EventFactory } from './switch-core.js';

export interface SwitchContext {
  readonly factory: EventFactory;
  readonly clock: SimClock;
  readonly plan: PhonePlan;
  /** Loaded modules and sound files: what speak, playback and module_exists find. */
  readonly media: MediaLibrary;
  /** Session limit, sessions-per-second budget, load counters and reply latency. */
  readonly capacity: SwitchCapacity;
  /** Test hooks that change the switch's timing. */
  readonly hooks: { /** Simulated ms between an originate's arrival and its channel's creation. */ originateDelayMs: number };
  /** SIP registrations by address-of-record (`user@domain`, domain lower-case) → contact URI (`sofia_contact`). */
  readonly registrations: Map<string, string>;
  /** Live channels by UUID (removed at CHANNEL_DESTROY). */
  readonly live: Map<string, Channel>;
  /** Every channel ever created, for EslSimulator.channels(). */
  readonly all: Channel[];
  /** Hands an event to every listening connection. */
  fire(event: SwitchEvent): void;
  nextSessionId(): number;
  /** Sessions created since start (status, HEARTBEAT). */
  sessionsSinceStart(): number;
  /** µs epoch of the simulator's start. */
  readonly startedAt: number;
  /** mod_callcenter's queues and the dialplan extensions that join them (loopback originates). */
  readonly queues?: QueueDialplan;
  /** Told of each leg once it is destroyed (mod_json_cdr's post, when a CDR URL is set). */
  legDestroyed?: (ch: Channel) => void;
}
