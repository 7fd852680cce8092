/**
 * The simulator itself: the listening socket, the connections, the event bus between the switch
 * and them, the heartbeat, and the test-facing controls of EslSimulator.
 */
import net from 'node:net';
import { SwitchCapacity } from './capacity.js';
import { CallCenter, type AgentSpec, type MemberSpec, type QueueState } from './callcenter.js';
import { cdrJson } from './cdr-json.js';
import { CdrPoster, type CdrDelivery } from './cdr-post.js';
import { SimClock } from './clock.js';
import type { SwitchContext } from './context.js';
import { answerNow } from './dial.js';
import { farEndLog, type FarEndLog } from './far-end.js';
import { hangup } from './hangup.js';
import type {
  EslSimulator, EslSimulatorOptions, InboundCallOptions, ReceivedCommand, SimulatedChannel,
} from './index.js';
import { DEFAULT_MODULES, MediaLibrary } from './media.js';
import { DEFAULT_PLAN, PhonePlan, type PhoneBehaviour } from './phone-plan.js';
import { EslSession, type OutboundBinding, type SessionHost } from './session.js';
import { connectOutbound, channelDataFrame } from './outbound.js';
import { fireHeartbeat } from './heartbeat.js';
import { defaultIdentity, EventFactory, nowMicros } from './switch-core.js';
import type { SwitchEvent } from './event.js';
import { eventFrame, type EventFormat } from './wire.js';

const DEFAULT_HEARTBEAT_MS = 20_000;
/** Bounds for a long-running embedded simulator (`npm start`): far more than any test needs. */
const MAX_COMMANDS = 100_000;
const MAX_FINISHED_CHANNELS = 2_000;

export class SimulatorServer implements EslSimulator {
  readonly host: string;
  readonly password: string;
  readonly commands: ReceivedCommand[] = [];
  private readonly server = net.createServer((socket) => this.accept(socket));
  private readonly sessions = new Set<EslSession>();
  private readonly clock: SimClock;
  private readonly plan: PhonePlan;
  private readonly ctx: SwitchContext;
  private readonly callCenter = new CallCenter();
  private readonly heartbeatMs: number;
  private eventLag: number;
  private connectionCount = 0;
  private sessionCount = 0;
  private closing: Promise<void> | undefined;
  private boundPort: number;
  private shared: SessionHost | undefined;
  private readonly cdr: CdrPoster | undefined;

  constructor(options: EslSimulatorOptions) {
    checkPositive('timeScale', options.timeScale);
    checkPositive('heartbeatMs', options.heartbeatMs);
    this.host = options.host ?? '127.0.0.1';
    this.boundPort = options.port ?? 0;
    this.password = options.password ?? 'ClueCon';
    this.clock = new SimClock(options.timeScale ?? 1);
    this.plan = new PhonePlan(options.plan ?? DEFAULT_PLAN);
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.eventLag = checkedLag(options.eventLagMs ?? 0);
    this.ctx = {
      factory: new EventFactory(defaultIdentity()), clock: this.clock, plan: this.plan,
      media: new MediaLibrary(options.modules ?? DEFAULT_MODULES, options.soundFiles),
      capacity: new SwitchCapacity(this.clock, () => this.ctx.live.size, options),
      hooks: { originateDelayMs: 0 },
      live: new Map(), all: [], startedAt: nowMicros(), registrations: new Map(),
      fire: (event) => this.broadcast(event),
      nextSessionId: () => ++this.sessionCount,
      sessionsSinceStart: () => this.sessionCount,
      queues: this.callCenter,
    };
    this.callCenter.attach(this.ctx);
    if (options.cdrUrl !== undefined) {
      const poster = new CdrPoster({ url: options.cdrUrl, credentials: options.cdrCredentials, retries: options.cdrRetries, delayMs: options.cdrDelayMs }, this.clock);
      this.cdr = poster;
      this.ctx.legDestroyed = (ch) => poster.post(ch.uuid, cdrJson(ch, this.ctx.factory.identity));
    }
  }

  cdrDeliveries(): CdrDelivery[] {
    return this.cdr?.list() ?? [];
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `esl://:${this.password}@${this.host}:${this.port}`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.boundPort, this.host, () => resolve());
    });
    const address = this.server.address();
    if (address && typeof address === 'object') this.boundPort = address.port;
    this.clock.every(this.heartbeatMs, () => fireHeartbeat(this.ctx, this.heartbeatMs * this.clock.timeScale));
  }

  private readonly commandListeners = new Set<(command: ReceivedCommand) => void>();

  onCommand(listener: (command: ReceivedCommand) => void): () => void {
    this.commandListeners.add(listener);
    return () => void this.commandListeners.delete(listener);
  }

  originates(): ReceivedCommand[] {
    return this.commands.filter((c) => /^(bg)?api originate /.test(c.text));
  }

  setPhone(number: string, behaviour: PhoneBehaviour): void {
    this.plan.set(number, behaviour);
  }

  setOriginateDelay(ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`setOriginateDelay: ms must be 0 or more, got ${ms}`);
    this.ctx.hooks.originateDelayMs = ms;
  }

  criticalLog(): string[] {
    return [...this.ctx.capacity.log];
  }

  setEventLag(ms: number): void {
    this.eventLag = checkedLag(ms);
  }

  registerSipUser(aor: string, contact?: string): void {
    const [user = '', domain = ''] = aor.split('@');
    this.ctx.registrations.set(`${user}@${domain.toLowerCase()}`, contact ?? `sip:${user}@127.0.0.1:5062;transport=udp`);
  }

  unregisterSipUser(aor: string): void {
    const [user = '', domain = ''] = aor.split('@');
    this.ctx.registrations.delete(`${user}@${domain.toLowerCase()}`);
  }

  setModule(name: string, loaded: boolean): void {
    this.ctx.media.setModule(name, loaded);
  }

  setSoundFiles(paths: readonly string[] | undefined): void {
    this.ctx.media.setSoundFiles(paths);
  }

  setQueue(queue: string, state: QueueState): void {
    this.callCenter.set(queue, state);
  }

  addAgent(spec: AgentSpec): void {
    this.callCenter.addAgent(spec);
  }

  setQueueExtension(extension: string, context: string, queue: string): void {
    this.callCenter.setExtension(extension, context, queue);
  }

  joinQueue(queue: string, member: MemberSpec): string {
    return this.callCenter.join(queue, member);
  }

  leaveQueue(sessionUuid: string): void {
    this.callCenter.leave(sessionUuid);
  }

  agentHangup(agent: string): void {
    this.callCenter.agentHangup(agent);
  }

  farEnd(uuid: string): FarEndLog | undefined {
    const ch = this.ctx.all.find((c) => c.uuid === uuid);
    return ch ? farEndLog(ch) : undefined;
  }

  dtmfReceived(uuid: string): Array<{ digit: string; atMs: number }> {
    return [...(this.ctx.all.find((c) => c.uuid === uuid)?.dtmf ?? [])];
  }

  channels(): SimulatedChannel[] {
    return this.ctx.all.map((ch) => ({
      uuid: ch.uuid,
      destination: ch.destination,
      state: ch.phase === 'destroyed' ? 'hungup' : ch.phase,
      ...(ch.bridgedTo ? { bridgedTo: ch.bridgedTo } : {}),
      ...(ch.hangupCause ? { hangupCause: ch.hangupCause } : {}),
      variables: ch.vars.toRecord(),
    }));
  }

  remoteHangup(uuid: string, cause = 'NORMAL_CLEARING'): void {
    const ch = this.ctx.live.get(uuid);
    if (ch?.up) hangup(this.ctx, ch, cause, ch.phase === 'ringing' ? 'refused' : 'remote');
  }

  answer(uuid: string): void {
    const ch = this.ctx.live.get(uuid);
    if (ch) answerNow(this.ctx, ch);
  }

  inboundCall(options: InboundCallOptions): Promise<string> {
    return connectOutbound(this.ctx, options, (socket, binding) => this.adopt(socket, binding));
  }

  dropConnections(): void {
    for (const session of [...this.sessions]) session.drop();
    this.sessions.clear();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const ch of [...this.ctx.live.values()]) hangup(this.ctx, ch, 'SYSTEM_SHUTDOWN', 'local', { sync: true });
    this.cdr?.close();
    this.clock.cancelAll();
    for (const session of [...this.sessions]) session.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const session = new EslSession(this.sessionHost(), socket, ++this.connectionCount);
    this.sessions.add(session);
    session.greet();
  }

  /** An outbound-socket connection we opened ourselves. */
  private adopt(socket: net.Socket, binding: OutboundBinding): EslSession {
    const session = new EslSession(this.sessionHost(), socket, ++this.connectionCount, binding);
    this.sessions.add(session);
    return session;
  }

  /** What every connection shares with the simulator. */
  private sessionHost(): SessionHost {
    this.shared ??= {
      ctx: this.ctx,
      password: this.password,
      api: { callCenter: this.callCenter },
      record: (connection, text) => this.record(connection, text),
      channelData: (channel, mode, control) => channelDataFrame(this.ctx, channel, mode, control),
      closed: (session) => this.sessions.delete(session),
      eventLagMs: () => this.eventLag,
    };
    return this.shared;
  }

  private record(connection: number, text: string): void {
    const command: ReceivedCommand = { at: this.clock.elapsed(), connection, text };
    this.commands.push(command);
    if (this.commands.length > MAX_COMMANDS) this.commands.splice(0, this.commands.length - MAX_COMMANDS);
    for (const listener of this.commandListeners) {
      try {
        listener(command);
      } catch {
        // a listener's failure is its own; the switch carries on
      }
    }
  }

  /** Forgets the oldest finished channels once there are too many. */
  private pruneChannels(): void {
    const all = this.ctx.all;
    let excess = all.length - this.ctx.live.size - MAX_FINISHED_CHANNELS;
    for (let i = 0; i < all.length && excess > 0; ) {
      if (all[i]?.phase === 'destroyed') {
        all.splice(i, 1);
        excess--;
      } else i++;
    }
  }

  /** Serialises each event at most once per format, then hands it to every listener. */
  private broadcast(event: SwitchEvent): void {
    const cache = new Map<EventFormat, string>();
    const frames = (format: EventFormat): string => {
      let frame = cache.get(format);
      if (frame === undefined) {
        frame = eventFrame(event, format);
        cache.set(format, frame);
      }
      return frame;
    };
    for (const session of this.sessions) session.deliver(event, frames);
    if (event.name === 'CHANNEL_HANGUP_COMPLETE') this.channelDown(event.get('Unique-ID'));
    if (event.name === 'CHANNEL_DESTROY') {
      this.ctx.capacity.phoneDown(event.get('Unique-ID') ?? '');
      this.pruneChannels();
    }
  }

  private channelDown(uuid: string | undefined): void {
    const ch = uuid ? this.ctx.all.find((c) => c.uuid === uuid) : undefined;
    if (ch) for (const session of this.sessions) session.channelDown(ch);
  }
}

function checkPositive(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new RangeError(`EslSimulatorOptions.${name} must be a positive number, got ${value}`);
  }
}

function checkedLag(ms: number): number {
  if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`eventLagMs must be 0 or more, got ${ms}`);
  return ms;
}
