// @xmpp/client ships no types; this declares the part Crossline uses (0.14).
declare module '@xmpp/client' {
  import type { EventEmitter } from 'node:events';

  /** An XML element (ltx). */
  export interface Element {
    name: string;
    attrs: Record<string, string | undefined>;
    children: Array<Element | string>;
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    text(): string;
    toString(): string;
  }

  export interface JID {
    local: string;
    domain: string;
    resource: string;
    bare(): JID;
    toString(): string;
  }

  export interface Reconnect extends EventEmitter {
    delay: number;
    stop(): void;
  }

  export interface IqCaller {
    request(el: Element, timeoutMs?: number): Promise<Element>;
  }

  /** What an IQ handler is given: the whole stanza and its one child. */
  export interface IqContext {
    stanza: Element;
    element: Element;
    from: JID;
  }

  /** Answers IQ get/set by child namespace and name; a handler returns the result's child (or an error element). */
  export interface IqCallee {
    get(xmlns: string, name: string, handler: (ctx: IqContext) => Element | boolean | Promise<Element | boolean>): void;
    set(xmlns: string, name: string, handler: (ctx: IqContext) => Element | boolean | Promise<Element | boolean>): void;
  }

  export interface Client extends EventEmitter {
    status: string;
    jid: JID | null;
    reconnect: Reconnect;
    iqCaller: IqCaller;
    iqCallee: IqCallee;
    /** XEP-0198; emits `resumed` when a session is resumed (no `online` then). */
    streamManagement?: EventEmitter;
    start(): Promise<JID>;
    stop(): Promise<void>;
    send(...elements: Element[]): Promise<void>;
  }

  export interface ClientOptions {
    service: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
    timeout?: number;
  }

  export function client(options: ClientOptions): Client;
  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: Array<Element | string>): Element;
  export function jid(address: string): JID;
}
