/**
 * One event-socket connection, inbound (a client connected to us and authenticates) or outbound
 * (we connected to the client's server for one channel). Commands are handled in order, as
 * mod_event_socket's listener thread does; while a blocking `api` runs, events wait.
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { runApi, type ApiDeps } from './api-commands.js';
import type { Channel } from './channel.js';
import type { SwitchContext } from './context.js';
import type { Header, SwitchEvent } from './event.js';
import { sendevent, sendmsg } from './sendmsg.js';
import { Subscription } from './subscription.js';
import {
  apiResponseFrame, authRequestFrame, commandHeader, commandReplyFrame, CommandReader, disconnectNoticeFrame,
  lingerNoticeFrame, type EslCommand, type EventFormat,
} from './wire.js';

export interface SessionHost {
  readonly ctx: SwitchContext;
  readonly password: string;
  readonly api: ApiDeps;
  /** Records a command for EslSimulator.commands. */
  record(connection: number, text: string): void;
  /** Builds the CHANNEL_DATA reply to `connect` (outbound mode). */
  channelData(channel: Channel, socketMode: string, control: string): string;
  closed(session: EslSession): void;
  /** Real milliseconds an event waits in a connection's queue (EslSimulatorOptions.eventLagMs). */
  eventLagMs(): number;
}

export interface OutboundBinding {
  channel: Channel;
  async: boolean;
  full: boolean;
  /** Runs once the reply to `connect` is out. */
  connected: () => void;
}

export class EslSession {
  readonly subscription = new Subscription();
  private readonly reader = new CommandReader();
  private authed: boolean;
  private queue: Promise<void> = Promise.resolve();
  /** Events held back while a blocking `api` command runs. */
  private held: string[] | undefined;
  /** Events still in this connection's queue (event lag): replies to commands overtake them. */
  private readonly lagged: string[] = [];
  private lagTimer: NodeJS.Timeout | undefined;
  private linger: number | undefined;
  private ended = false;
  /** A lingering channel's CHANNEL_DESTROY, due when the client closes the socket. */
  private pendingDestroy: (() => void) | undefined;

  constructor(
    private readonly host: SessionHost,
    private readonly socket: Socket,
    readonly id: number,
    private readonly outbound?: OutboundBinding,
  ) {
    this.authed = outbound !== undefined;
    // mod_event_socket sets TCP_NODELAY: replies must not wait for the client's ACKs.
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.onClose());
    socket.on('error', () => undefined);
  }

  /** Inbound connections are greeted with auth/request. */
  greet(): void {
    this.write(authRequestFrame());
  }

  deliver(event: SwitchEvent, frames: (format: EventFormat) => string): void {
    if (this.ended || !this.subscription.wants(event)) return;
    const frame = frames(this.subscription.format);
    const lagMs = this.host.eventLagMs();
    if (lagMs <= 0 && this.lagged.length === 0) return this.emit(frame);
    // mod_event_socket queues events per listener and writes them between commands, so a reply
    // to a command can reach the client before events fired earlier (a leg already gone to
    // uuid_exists while its CHANNEL_HANGUP is still on its way).
    this.lagged.push(frame);
    this.lagTimer ??= setTimeout(() => this.flushLagged(), Math.max(lagMs, 0));
  }

  private emit(frame: string): void {
    if (this.held) this.held.push(frame);
    else this.write(frame);
  }

  private flushLagged(): void {
    this.lagTimer = undefined;
    for (const frame of this.lagged.splice(0)) this.emit(frame);
  }

  /** Outbound mode: our channel hung up. */
  channelDown(channel: Channel): void {
    if (!this.outbound || this.outbound.channel !== channel || this.ended) return;
    if (this.linger !== undefined) this.write(lingerNoticeFrame(channel.uuid, channel.name, this.linger));
    else this.end(disconnectNoticeFrame(channel.uuid));
  }

  /** Closes abruptly, without a goodbye (EslSimulator.dropConnections). */
  drop(): void {
    this.ended = true;
    this.socket.destroy();
  }

  /** Closes politely (simulator shutdown). */
  close(): void {
    this.releaseChannel();
    if (!this.ended) this.end(disconnectNoticeFrame(this.outbound?.channel.uuid));
  }

  private onData(chunk: Buffer): void {
    for (const command of this.reader.push(chunk)) {
      this.host.record(this.id, command.raw);
      this.queue = this.queue.then(() => this.handle(command)).catch(() => undefined);
    }
  }

  private onClose(): void {
    this.ended = true;
    clearTimeout(this.lagTimer);
    this.releaseChannel();
    this.host.closed(this);
  }

  private releaseChannel(): void {
    const destroy = this.pendingDestroy;
    this.pendingDestroy = undefined;
    if (this.outbound) this.outbound.channel.lingerHold = undefined;
    destroy?.();
  }

  private write(text: string): void {
    if (!this.ended && this.socket.writable) this.socket.write(text);
  }

  private reply(text: string, extra: readonly Header[] = []): void {
    this.write(commandReplyFrame(text, extra));
  }

  private end(lastFrame: string): void {
    this.write(lastFrame);
    this.ended = true;
    this.socket.end(() => this.socket.destroy());
  }

  private async handle(command: EslCommand): Promise<void> {
    if (this.ended) return;
    const line = command.line.trim();
    const [verb = '', ...rest] = line.split(' ');
    const name = verb.toLowerCase();
    if (name === 'exit' || name === '...') return this.end(commandReplyFrame('+OK bye') + disconnectNoticeFrame(this.outbound?.channel.uuid));
    if (!this.authed) return this.handleUnauthenticated(name, rest.join(' '));
    switch (name) {
      case 'api':
        return this.api(rest.join(' '));
      case 'bgapi':
        return this.bgapi(rest.join(' '), commandHeader(command, 'Job-UUID'));
      case 'event':
        return this.event(rest);
      case 'nixevent':
        return this.reply(this.subscription.unsubscribe(rest) ? '+OK events nixed' : '-ERR no keywords supplied');
      case 'noevents':
        return this.reply(this.subscription.stop() ? '+OK no longer listening for events' : '-ERR not listening for events');
      case 'filter':
        return this.filter(rest);
      case 'myevents':
        return this.myevents(rest);
      case 'sendmsg':
        return this.reply(sendmsg(this.host.ctx, command, rest[0] ?? this.outbound?.channel.uuid));
      case 'sendevent':
        return this.reply(sendevent(this.host.ctx, command, rest[0]));
      case 'linger':
        return this.lingerCommand(rest[0]);
      case 'nolinger':
        return this.nolinger();
      case 'log':
        return this.reply(`+OK log level ${rest[0] ?? 'debug'} [7]`);
      case 'nolog':
        return this.reply('-ERR not loging');
      case 'connect':
        return this.connect();
      case 'getvar':
        return this.reply(this.outbound?.channel.vars.get(rest[0] ?? '') ?? '');
      case 'resume':
        return this.reply(this.outbound ? '+OK' : '-ERR command not found');
      default:
        return this.reply('-ERR command not found');
    }
  }

  private handleUnauthenticated(name: string, password: string): void {
    if (name !== 'auth') return this.reply('-ERR command not found');
    if (password === this.host.password) {
      this.authed = true;
      return this.reply('+OK accepted');
    }
    this.end(commandReplyFrame('-ERR invalid') + disconnectNoticeFrame());
  }

  /**
   * Runs `fn` once the loaded switch gets to it: at once, or after the reply latency that grows
   * with the sessions up (EslSimulatorOptions.latency), in simulated time.
   */
  private whenLoadAllows(fn: () => void): void {
    const delayMs = this.host.ctx.capacity.replyDelayMs();
    if (delayMs > 0) this.host.ctx.clock.after(delayMs, fn);
    else fn();
  }

  /** Blocking api: the response, then the API event; events fired meanwhile follow it. */
  private api(text: string): Promise<void> {
    const [command = '', arg] = splitCommand(text);
    this.held = [];
    return new Promise((resolve) => {
      this.whenLoadAllows(() => this.run(command, arg, (output) => {
        this.write(apiResponseFrame(output || '-ERR no reply\n'));
        this.fireApiEvent(command, arg);
        const held = this.held ?? [];
        this.held = undefined;
        for (const frame of held) this.write(frame);
        resolve();
      }));
    });
  }

  /** The acknowledgement (late on a loaded switch: the next command waits for it), then the job. */
  private bgapi(text: string, chosenJobUuid: string | undefined): Promise<void> {
    const [command = '', arg] = splitCommand(text);
    const jobUuid = chosenJobUuid ?? randomUUID();
    return new Promise((resolve) => {
      this.whenLoadAllows(() => {
        this.reply(`+OK Job-UUID: ${jobUuid}`, [['Job-UUID', jobUuid]]);
        resolve();
        this.run(command, arg, (output) => {
          this.fireApiEvent(command, arg);
          this.whenLoadAllows(() => {
            const job = this.host.ctx.factory.create('BACKGROUND_JOB').add('Job-UUID', jobUuid).add('Job-Command', command);
            if (arg !== undefined) job.add('Job-Command-Arg', arg);
            job.body = output;
            this.host.ctx.fire(job);
          });
        });
      });
    });
  }

  private run(command: string, arg: string | undefined, done: (output: string) => void): void {
    let answered = false;
    const once = (output: string): void => {
      if (answered) return;
      answered = true;
      done(output);
    };
    if (!runApi(this.host.ctx, this.host.api, command, arg, once)) once(`-ERR ${command} Command not found!\n`);
  }

  private fireApiEvent(command: string, arg: string | undefined): void {
    const event = this.host.ctx.factory.create('API').add('API-Command', command);
    if (arg !== undefined) event.add('API-Command-Argument', arg);
    this.host.ctx.fire(event);
  }

  private event(words: string[]): void {
    const [first = '', ...names] = words;
    const format = formatWord(first);
    if (format) this.subscription.format = format;
    const ok = this.subscription.subscribe(format || first.toLowerCase() === 'xml' ? names : words);
    this.reply(ok ? `+OK event listener enabled ${this.subscription.format}` : '-ERR no keywords supplied');
  }

  private filter(words: string[]): void {
    const [first, second, ...more] = words;
    if (first?.toLowerCase() === 'delete' && second) {
      const value = more.length ? more.join(' ') : undefined;
      this.subscription.deleteFilter(second, value);
      return this.reply(`+OK filter deleted. [${second}][${value ?? ''}]`);
    }
    const [header, value] = first?.toLowerCase() === 'add' ? [second, more.join(' ')] : [first, [second, ...more].join(' ')];
    if (!header || !value) return this.reply('-ERR invalid syntax');
    this.subscription.addFilter(header, value);
    this.reply(`+OK filter added. [${header}]=[${value}]`);
  }

  private myevents(words: string[]): void {
    if (this.subscription.myUuid !== undefined) return this.reply('-ERR aready enabled.');
    const format = words.map(formatWord).find((f) => f !== undefined);
    const uuid = this.outbound?.channel.uuid ?? words.find((w) => !formatWord(w));
    if (!uuid || !this.host.ctx.live.has(uuid)) return this.reply('-ERR invalid uuid');
    this.subscription.myevents(uuid, format);
    this.reply('+OK Events Enabled');
  }

  private lingerCommand(seconds: string | undefined): void {
    if (!this.outbound) return this.reply('-ERR not controlling a session');
    this.linger = seconds ? Number.parseInt(seconds, 10) : -1;
    this.outbound.channel.lingerHold = (destroyNow) => {
      this.pendingDestroy = destroyNow;
    };
    this.reply(seconds ? `+OK will linger ${this.linger} seconds` : '+OK will linger');
  }

  private nolinger(): void {
    if (!this.outbound) return this.reply('-ERR not controlling a session');
    this.linger = undefined;
    this.outbound.channel.lingerHold = undefined;
    this.reply('+OK will not linger');
  }

  /** Outbound mode: the whole CHANNEL_DATA as one header-only frame. */
  private connect(): void {
    if (!this.outbound) return this.reply('-ERR command not found');
    const { channel, async, full, connected } = this.outbound;
    this.write(this.host.channelData(channel, async ? 'async' : 'static', full ? 'full' : 'single-channel'));
    connected();
  }
}

function splitCommand(text: string): [string, string | undefined] {
  const space = text.indexOf(' ');
  return space < 0 ? [text, undefined] : [text.slice(0, space), text.slice(space + 1)];
}

function formatWord(word: string): EventFormat | undefined {
  const w = word.toLowerCase();
  return w === 'plain' || w === 'json' ? w : undefined;
}
