/**
 * The ESL simulator: a TCP server that speaks FreeSWITCH 1.10's Event Socket byte for byte (see
 * shared/esl-traces) and simulates the telephones at the far end, scripted by number. Used by the
 * test suite and as the embedded default of `npm start` when no FreeSWITCH is configured.
 */
import type { AgentSpec, MemberSpec, QueueState } from './callcenter.js';
import type { CapacityOptions } from './capacity.js';
import type { CdrDelivery } from './cdr-post.js';
import type { PhoneBehaviour, PhoneRule } from './phone-plan.js';
import { SimulatorServer } from './server.js';

export type { PhoneBehaviour, PhoneRule } from './phone-plan.js';
export type { CallerScript } from './ivr-apps.js';
import type { CallerScript } from './ivr-apps.js';
export type { AgentSpec, MemberSpec, QueueAgent, QueueState } from './callcenter.js';
export type { FarEndLog, IvrDigit, IvrMenu, IvrPrompt } from './far-end.js';
import type { FarEndLog } from './far-end.js';
export type { CapacityOptions, LatencyModel } from './capacity.js';
export type { CdrDelivery } from './cdr-post.js';
export { DEFAULT_PLAN } from './phone-plan.js';
export { DEFAULT_MODULES } from './media.js';

/**
 * The switch's capacity (see capacity.ts): `maxSessions` and `sessionsPerSecond` are enforced as
 * FreeSWITCH does (an originate over either fails at once with DESTINATION_OUT_OF_ORDER, no channel
 * created) and can be changed at run time with `fsctl max_sessions N` / `fsctl sps N`; HEARTBEAT and
 * `status` report the live counters; `latency` slows api/bgapi replies and BACKGROUND_JOBs down as
 * sessions grow; `phoneSessions` counts the far ends' own sessions, as on the test switch.
 */
export interface EslSimulatorOptions extends CapacityOptions {
  /** Address to listen on. @defaultValue '127.0.0.1' */
  host?: string;
  /** Port to listen on; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** The password `auth` must give. @defaultValue 'ClueCon' */
  password?: string;
  /** Multiplies every simulated delay (0.05: twenty times faster). @defaultValue 1 */
  timeScale?: number;
  /** Phones by number range. @defaultValue DEFAULT_PLAN (+1 202 555 0100–0199) */
  plan?: PhoneRule[];
  /** HEARTBEAT (and RE_SCHEDULE) period in simulated ms, as FreeSWITCH's 20 s. @defaultValue 20000 */
  heartbeatMs?: number;
  /**
   * The loaded modules, which `module_exists` reports. A `speak` whose engine module
   * (`mod_<engine>`, e.g. mod_flite) is missing returns at once with `_none_`, as FreeSWITCH does
   * after logging "Invalid TTS module". @defaultValue DEFAULT_MODULES (mod_flite, mod_dptools,
   * mod_sofia, … as on the capture switch)
   */
  modules?: readonly string[];
  /**
   * The sound files that exist; `playback` of any other path returns at once with
   * `FILE NOT FOUND`. `tone_stream://`, `silence_stream://` and `say:` always play.
   * @defaultValue every path exists
   */
  soundFiles?: readonly string[];
  /**
   * Real milliseconds each event waits in a connection's queue before it is written, while replies
   * to commands go out at once, as mod_event_socket writes queued events between commands: a
   * client can learn from `uuid_exists` that a leg is gone before its CHANNEL_HANGUP arrives.
   * @defaultValue 0 (events written as they fire)
   */
  eventLagMs?: number;
  /**
   * mod_json_cdr's `url`: when set, each leg's CDR is POSTed there once the leg is destroyed, in
   * the switch's format (see cdr-json.ts and shared/esl-traces/cdr), with `?uuid=<leg uuid>`.
   * @defaultValue undefined (no CDRs)
   */
  cdrUrl?: string;
  /** mod_json_cdr's `cred` (`user:password`, HTTP Basic). @defaultValue none */
  cdrCredentials?: string;
  /** mod_json_cdr's `retries`: attempts after the first when a post fails (not 2xx). @defaultValue 2 */
  cdrRetries?: number;
  /** mod_json_cdr's `delay`, in simulated ms (timeScale applies). @defaultValue 5000 */
  cdrDelayMs?: number;
}

/** One command as a client sent it. */
export interface ReceivedCommand {
  /** Milliseconds since the simulator started (real time). */
  at: number;
  /** Which connection sent it (1, 2, … in connection order). */
  connection: number;
  /** The whole command as received, headers included, without the blank line that ends it. */
  text: string;
}

/** A leg as the simulator sees it. */
export interface SimulatedChannel {
  uuid: string;
  /** The dial string's endpoint, e.g. `sofia/gateway/default/+12025550100`. */
  destination: string;
  state: 'ringing' | 'answered' | 'hungup';
  /** The UUID of the leg it is bridged to, while bridged. */
  bridgedTo?: string;
  hangupCause?: string;
  variables: Record<string, string>;
}

/** Options of an inbound call handed to an outbound-socket client (`socket <host:port> async full`). */
export interface InboundCallOptions {
  /** Caller number. */
  from: string;
  /** Dialled number. */
  to: string;
  /** Where the `socket` application connects, e.g. `127.0.0.1:8084 async full`. */
  socket: string;
  /** What the caller does: keys pressed at each prompt, talking into a recording, hanging up. @defaultValue presses nothing */
  caller?: CallerScript;
}

export interface EslSimulator {
  readonly host: string;
  readonly port: number;
  readonly password: string;
  /** `esl://:<password>@<host>:<port>` */
  readonly url: string;
  /** Every command received, in order, on every connection (the latest 100 000). */
  readonly commands: readonly ReceivedCommand[];
  /**
   * Calls `listener` with every command as it arrives, before the simulator acts on it (for a test
   * that kills its sender right after the switch received a command); returns the function that
   * stops listening. A listener that throws is ignored.
   */
  onCommand(listener: (command: ReceivedCommand) => void): () => void;
  /** The `api`/`bgapi originate` commands among them. */
  originates(): ReceivedCommand[];
  /** Scripts one phone at run time (`number` in E.164; the '+' is optional). */
  setPhone(number: string, behaviour: PhoneBehaviour): void;
  /**
   * The DTMF digits that reached the far end of a leg (uuid_send_dtmf, send_dtmf), each with the
   * simulated milliseconds since the leg answered at which it arrived. Digits are played out at
   * FreeSWITCH's pace (0.42 s each, `w` 0.5 s, `W` 1 s); those still queued at hangup never arrive.
   */
  dtmfReceived(uuid: string): Array<{ digit: string; atMs: number }>;
  /**
   * What the far end of an answered leg did (far-end.ts): an IVR's prompts and each digit with its
   * menu and whether a prompt was still playing; an answering machine's beep and what was played
   * to it after the beep (the message it kept). Undefined for a leg whose phone never answered.
   */
  farEnd(uuid: string): FarEndLog | undefined;
  /** Every leg created since start, hung-up ones included (the latest 2 000 of those), oldest first. */
  channels(): SimulatedChannel[];
  /** Makes the far end hang up (an answered leg) or refuse (a ringing one). @param cause - @defaultValue 'NORMAL_CLEARING' */
  remoteHangup(uuid: string, cause?: string): void;
  /** Makes a ringing outbound leg answer now, whatever its phone's script says. */
  answer(uuid: string): void;
  /**
   * From now on, an originate's channel is created only `ms` simulated milliseconds after the
   * command arrives (0: at once, the default), as on a loaded switch: for testing a worker that
   * dies right after sending an originate, whose successor finds the leg absent at first.
   */
  setOriginateDelay(ms: number): void;
  /** A SIP user registers (`ada@127.0.0.1`), as a softphone would on the profile: `sofia_contact` finds it. */
  registerSipUser(aor: string, contact?: string): void;
  /** The registration of `aor` ends (expired, or the softphone signed out). */
  unregisterSipUser(aor: string): void;
  /** Loads or unloads a module at run time (e.g. `setModule('mod_flite', false)`: no TTS). */
  setModule(name: string, loaded: boolean): void;
  /**
   * The lines FreeSWITCH logs at CRIT for sessions it refused (`[CRIT] switch_core_session.c:2422
   * Throttle Error! <sessions>`, `[CRIT] Over Session Limit! <limit>`), oldest first.
   */
  criticalLog(): string[];
  /** Sets EslSimulatorOptions.eventLagMs from now on. */
  setEventLag(ms: number): void;
  /** Which sound files exist from now on (undefined: all of them); see EslSimulatorOptions.soundFiles. */
  setSoundFiles(paths: readonly string[] | undefined): void;
  /** Sets what `callcenter_config queue count members|list agents <queue>` report. */
  setQueue(queue: string, state: QueueState): void;
  /**
   * mod_callcenter emulation (see callcenter.ts): adds an agent tiered to `spec.queues`, which
   * answers each member offered after `answerAfterMs` and talks `talkMs`; from then on those queues
   * run (members offered, callcenter::info events as the real module fires them).
   */
  addAgent(spec: AgentSpec): void;
  /**
   * Makes `loopback/<extension>/<context>` join `queue` (a dialplan extension running `answer` and
   * `callcenter <queue>`); ext 7000 of context default joins support@default from the start.
   */
  setQueueExtension(extension: string, context: string, queue: string): void;
  /** A caller (not a Crossline leg) joins a queue; returns its member session UUID. */
  joinQueue(queue: string, member: MemberSpec): string;
  /** That caller hangs up: an abandon while waiting, or the end of its call with the agent. */
  leaveQueue(sessionUuid: string): void;
  /** The agent hangs up the call it is on. */
  agentHangup(agent: string): void;
  /**
   * Outbound-socket mode: an inbound call arrives and the dialplan runs `socket <options.socket>`;
   * resolves with the new leg's UUID once the simulator has connected to the client.
   */
  inboundCall(options: InboundCallOptions): Promise<string>;
  /** Each leg's CDR post (with `cdrUrl`): pending, delivered or failed, with its attempts. */
  cdrDeliveries(): CdrDelivery[];
  /** Closes every client socket abruptly, without a goodbye (for reconnect tests). */
  dropConnections(): void;
  /** Hangs up every channel, says goodbye to every client, stops listening. Safe to call twice. */
  close(): Promise<void>;
}

/** Starts a simulator listening on `options.host:options.port`. */
export async function createEslSimulator(options: EslSimulatorOptions = {}): Promise<EslSimulator> {
  const server = new SimulatorServer(options);
  await server.listen();
  return server;
}
