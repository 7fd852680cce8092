/**
 * Outbound-socket mode: the dialplan runs `socket <host:port> async full` and FreeSWITCH connects
 * to this server, once per call. Each connection becomes an {@link OutboundCall} once the switch
 * has sent the channel data and accepted our subscription; what happens to the call is the
 * listener's business (an inbound session, an IVR).
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { TtsOptions } from '../commands.js';
import { OutboundCall } from './outbound-call.js';

export interface OutboundSocketOptions {
  /** @defaultValue `127.0.0.1` */
  host?: string;
  /** 0 picks a free port. @defaultValue 0 */
  port?: number;
  /** Timeout of the handshake and of each command's reply, ms. @defaultValue 5000 */
  commandTimeoutMs?: number;
  /** TTS engine and voice for speak announcements. @defaultValue `{ engine: 'flite', voice: 'kal' }` */
  tts?: TtsOptions;
}

export interface OutboundSocketEvents {
  /** A call arrived and is ready for commands. */
  call: [call: OutboundCall];
  /** A connection that never became a call (the switch did not get through the handshake). */
  dropped: [error: Error];
}

export class OutboundSocketServer extends EventEmitter<OutboundSocketEvents> {
  readonly #server: net.Server;
  readonly #calls = new Set<OutboundCall>();
  readonly #sockets = new Set<net.Socket>();
  #closing: Promise<void> | undefined;

  /** Starts listening; resolves once the port is bound. */
  static async listen(options: OutboundSocketOptions = {}): Promise<OutboundSocketServer> {
    const server = new OutboundSocketServer(options);
    await new Promise<void>((resolve, reject) => {
      server.#server.once('error', reject);
      server.#server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.#server.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  private constructor(options: OutboundSocketOptions) {
    super();
    const callOptions = { commandTimeoutMs: options.commandTimeoutMs ?? 5000, tts: options.tts ?? { engine: 'flite', voice: 'kal' } };
    this.#server = net.createServer((socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      OutboundCall.accept(socket, callOptions).then(
        (call) => {
          this.#calls.add(call);
          call.once('end', () => this.#calls.delete(call));
          this.emit('call', call);
        },
        (error: Error) => this.emit('dropped', error),
      );
    });
  }

  /** Where the dialplan's `socket` application should connect: `host:port`. */
  get address(): string {
    const address = this.#server.address() as net.AddressInfo;
    return `${address.address}:${address.port}`;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Stops listening and closes every call's socket. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const call of this.#calls) call.close();
      for (const socket of this.#sockets) socket.end();
    });
    return this.#closing;
  }
}
