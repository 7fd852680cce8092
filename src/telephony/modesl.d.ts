/**
 * Types for the parts of drachtio-modesl 1.3 that Crossline uses, written from
 * lib/esl/Connection.js, Parser.js and Event.js (the package ships no types).
 */
declare module 'drachtio-modesl' {
  import type { Socket } from 'node:net';

  /** One frame or event as modesl parsed it. */
  export class Event {
    constructor(type: string, subclass?: string);
    /** Every header in arrival order (values as getHeader returns them). */
    headers: Array<{ name: string; value: unknown }>;
    /**
     * A header's value, or null. Plain-event values are already URL-decoded. `Content-Length` is
     * parsed to a number by the parser; every other header is a string.
     */
    getHeader(name: string): string | null;
    /** The body: an api/response text, a BACKGROUND_JOB result, or '' when there is none. */
    getBody(): string;
    /** Event-Name, when the frame is an event. */
    getType(): string;
  }

  /** The outer headers of a frame (Content-Type, Content-Length, Reply-Text …), URL-decoded. */
  export type FrameHeaders = Record<string, string | number | undefined>;

  /**
   * Every parsed frame is emitted as `esl::event::<kind>[::<id>]` with these arguments. The
   * library's own re-emits under the same prefix (`esl::event::auth::success`, `::auth::fail`)
   * pass the event only, so a wildcard listener sees `headers` undefined for them.
   */
  export type FrameListener = (event: Event, headers?: FrameHeaders, body?: string) => void;

  /**
   * An ESL connection (EventEmitter2 with wildcards, delimiter `::`, ignoreErrors: true, so an
   * `error` without listener does not throw).
   *
   * Inbound (host, port, password): connects at once; on `auth/request` it sends `auth <password>`
   * and emits `esl::ready` when the reply is `+OK accepted`, or `esl::event::auth::fail`.
   * Emitted names:
   * - `esl::ready`; `esl::end` when the socket closes; `error` on socket and parser errors;
   * - `esl::event::command::reply`, `esl::event::api::response`, `esl::event::disconnect::notice`;
   * - `esl::event::<Event-Name>::<Job-UUID | Unique-ID | Core-UUID>` for text/event-* frames.
   *
   * Replies are matched to callbacks by two FIFO queues (command/reply and api/response) that
   * are never cleared, not even on reconnect, and no callback ever times out.
   */
  export class Connection {
    constructor(host: string, port: number, password: string, onReady?: () => void);
    constructor(host: string, port: number, password: string, localAddress: string, onReady?: () => void);
    /**
     * Outbound (a socket FreeSWITCH opened to us): sends `connect` at once and emits `esl::ready`
     * when the CHANNEL_DATA reply has arrived (then getInfo() returns it). Never reconnects.
     */
    constructor(socket: Socket, onReady?: () => void);

    /** The socket; null once it has closed. */
    socket: Socket | null;
    /**
     * Set by disconnect(). While true, a socket error or close does not start the built-in
     * reconnect (_onConnectionGone returns early).
     */
    closing?: boolean;

    connected(): boolean;
    /** Outbound only: the CHANNEL_DATA reply to `connect`; null before it and on inbound connections. */
    getInfo(): Event | null;
    /** Writes `command\n`, then `key: value\n` per entry of args, then `\n`. No reply handling. */
    send(command: string, args?: Record<string, string> | null): void;
    /** send() and queue `cb` for the next command/reply frame. */
    sendRecv(command: string, args: Record<string, string> | null, cb: (reply: Event) => void): void;
    sendRecv(command: string, cb: (reply: Event) => void): void;
    /** Writes `api <command>` and queues `cb` for the next api/response frame. */
    api(command: string, cb: (response: Event) => void): void;
    /** Writes `event <type> <names…>` (sendRecv). */
    events(type: 'plain' | 'json' | 'xml', events: string[] | string, cb?: (reply: Event) => void): void;
    /** Writes `exit`, sets `closing`, ends the socket and sets it to null. */
    disconnect(): void;

    on(event: 'esl::ready' | 'esl::end' | 'esl::connect', listener: () => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
    on(event: string, listener: FrameListener): this;
    once(event: 'esl::ready' | 'esl::end', listener: () => void): this;
    once(event: string, listener: FrameListener): this;
    removeAllListeners(event?: string): this;
  }
}
