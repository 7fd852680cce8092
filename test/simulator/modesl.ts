/**
 * drachtio-modesl, the ESL client Crossline uses, typed just enough for these tests. Loaded with
 * require() and a local interface rather than a global `declare module`, so it cannot clash with
 * the typings the telephony code may bring.
 */
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';

export interface ModeslEvent {
  type: string;
  headers: Array<{ name: string; value: unknown }>;
  getHeader(name: string): string | null;
  getBody(): string;
}

/** What the parser hands over for every frame: the event, the outer headers, the raw body. */
export type FrameListener = (event: ModeslEvent, headers: Record<string, unknown>, body: string | undefined) => void;

export interface ModeslConnection {
  socket: Socket | null;
  parser: (EventEmitter & { on(name: 'esl::event', listener: FrameListener): unknown }) | undefined;
  on(event: string, listener: (...args: never[]) => void): ModeslConnection;
  once(event: string, listener: (...args: never[]) => void): ModeslConnection;
  send(command: string, args?: Record<string, string>): void;
  api(command: string, args: string, cb: (event: ModeslEvent) => void): void;
  bgapi(command: string, args: string, cb: (event: ModeslEvent) => void): void;
  events(format: 'plain' | 'json', events: string, cb?: (event: ModeslEvent) => void): void;
  sendRecv(command: string, cb: (event: ModeslEvent) => void): void;
  execute(app: string, arg: string, uuid: string, cb: (event: ModeslEvent) => void): string;
  disconnect(): void;
}

interface ModeslModule {
  Connection: {
    new (host: string, port: number, password: string, ready?: () => void): ModeslConnection;
    new (socket: Socket, ready?: () => void): ModeslConnection;
  };
}

export const modesl = require('drachtio-modesl') as ModeslModule;

/** Connects and authenticates; rejects on a refused password or a socket error. */
export function connectModesl(host: string, port: number, password: string): Promise<ModeslConnection> {
  return new Promise((resolve, reject) => {
    const conn = new modesl.Connection(host, port, password);
    // A failed connection must not stay behind reconnecting on its own.
    const fail = (err: Error): void => {
      conn.disconnect();
      reject(err);
    };
    conn.once('esl::ready', () => resolve(conn));
    conn.once('esl::event::auth::fail', () => fail(new Error('auth failed')));
    conn.once('error', fail);
  });
}

/** Lets the simulator notice a closed connection before the next test step. */
export function closeModesl(conn: ModeslConnection): void {
  conn.disconnect();
}
