/**
 * A simulator plus a real drachtio-modesl connection to it, with small promise helpers: what the
 * behaviour tests use to talk to the simulator the way Crossline does.
 */
import { createEslSimulator, type EslSimulator, type EslSimulatorOptions } from '../../src/simulator/index.js';
import { connectModesl, type ModeslConnection, type ModeslEvent } from './modesl.js';

export interface TestClient {
  sim: EslSimulator;
  conn: ModeslConnection;
  /** Every event received since connecting, in order. */
  events: ModeslEvent[];
  api(command: string, args?: string): Promise<string>;
  bgapi(command: string, args?: string): Promise<string>;
  /** Resolves with the first received event (past or future) that matches. */
  waitForEvent(match: (e: ModeslEvent) => boolean, timeoutMs?: number): Promise<ModeslEvent>;
  close(): Promise<void>;
}

export const SCALE = 0.05;

export async function startClient(options: EslSimulatorOptions = {}, subscribe = 'ALL'): Promise<TestClient> {
  const sim = await createEslSimulator({ timeScale: SCALE, ...options });
  const conn = await connectModesl(sim.host, sim.port, sim.password);
  conn.socket?.setNoDelay(true);
  const events: ModeslEvent[] = [];
  const waiters = new Set<() => void>();
  conn.parser?.on('esl::event', (event) => {
    if (event.getHeader('Event-Name')) events.push(event);
    for (const w of [...waiters]) w();
  });
  await new Promise<void>((resolve) => conn.events('json', subscribe, () => resolve()));
  return {
    sim,
    conn,
    events,
    api: (command, args = '') => new Promise((resolve) => conn.api(command, args, (e) => resolve(e.getBody()))),
    bgapi: (command, args = '') => new Promise((resolve) => conn.bgapi(command, args, (e) => resolve(e.getBody()))),
    waitForEvent: (match, timeoutMs = 3000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const found = events.find(match);
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching event among ${events.map((e) => e.getHeader('Event-Name')).join(' ')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: async () => {
      conn.disconnect();
      await sim.close();
    },
  };
}

/** Matches an event by name and, optionally, channel. */
export const eventOf = (name: string, uuid?: string) => (e: ModeslEvent): boolean =>
  e.getHeader('Event-Name') === name && (uuid === undefined || e.getHeader('Unique-ID') === uuid);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The dial string Crossline builds for a number: `sofia/gateway/<gw>/<E.164>`. */
export const viaGateway = (uuid: string, number: string, vars = ''): string =>
  `{origination_uuid=${uuid}${vars ? `,${vars}` : ''}}sofia/gateway/default/${number} &park()`;
