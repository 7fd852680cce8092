/**
 * The bench's own Event Socket connection to a real FreeSWITCH (drachtio-modesl, like Crossline):
 * api commands, bgapi with a job result, and the hangups of channels. Deliberately small — it is
 * the "plain driver" whose cost is the floor, so it does nothing Crossline's work would not need.
 */
import { randomUUID } from 'node:crypto';
import { Connection, type Event as EslEvent } from 'drachtio-modesl';
import { parseEslUrl } from '../../src/telephony/index.js';

/** Hosts the bench may drive: it places real calls, so only a switch on this machine. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export interface HangupInfo {
  uuid: string;
  cause: string;
  /** The channel was bridged to another at some point (FreeSWITCH sets last_bridge_to). */
  bridged: boolean;
}

export class EslSession {
  readonly #conn: Connection;
  readonly #jobs = new Map<string, (body: string) => void>();
  readonly #hangupListeners = new Set<(info: HangupInfo) => void>();

  private constructor(conn: Connection) {
    this.#conn = conn;
    // drachtio-modesl writes one command in several small writes; with Nagle's algorithm on, each
    // command then waits ~40 ms for the switch's delayed ACK.
    conn.socket?.setNoDelay(true);
    conn.on('esl::event::BACKGROUND_JOB::*', (event: EslEvent) => this.#onJob(event));
    conn.on('esl::event::CHANNEL_HANGUP_COMPLETE::*', (event: EslEvent) => this.#onHangup(event));
  }

  /** Connects and authenticates; refuses any host but loopback. */
  static connect(url: string): Promise<EslSession> {
    const { host, port, password } = parseEslUrl(url);
    if (!LOOPBACK.has(host)) return Promise.reject(new Error(`the bench only drives a switch on 127.0.0.1, not ${host}`));
    return new Promise((resolve, reject) => {
      const conn = new Connection(host, port, password, () => resolve(new EslSession(conn)));
      conn.once('esl::event::auth::fail', () => reject(new Error('ESL authentication failed')));
      conn.once('error', reject);
    });
  }

  /** `api <command>`: the response body, trimmed. */
  api(command: string): Promise<string> {
    return new Promise((resolve) => this.#conn.api(command, (res) => resolve(res.getBody().trim())));
  }

  /** Subscribes (json, like Crossline) to the given events; BACKGROUND_JOB results need it. */
  subscribe(events: string[]): Promise<void> {
    return new Promise((resolve) => this.#conn.events('json', events, () => resolve()));
  }

  /** `bgapi <command>`: resolves with the job's result text once the switch has run it. */
  bgapi(command: string): Promise<string> {
    const jobId = randomUUID();
    return new Promise((resolve) => {
      this.#jobs.set(jobId, resolve);
      this.#conn.sendRecv(`bgapi ${command}`, { 'Job-UUID': jobId }, () => undefined);
    });
  }

  onHangup(listener: (info: HangupInfo) => void): () => void {
    this.#hangupListeners.add(listener);
    return () => this.#hangupListeners.delete(listener);
  }

  /** Channels the switch has right now (all of them: our legs and the phones' legs). */
  async channelCount(): Promise<number> {
    const text = await this.api('show channels count');
    const match = /(\d+) total/.exec(text);
    if (!match?.[1]) throw new Error(`unexpected reply to show channels count: ${text}`);
    return Number(match[1]);
  }

  /** Polls until the switch has no channel left (both runs end their window the same way). */
  async waitForNoChannels(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.channelCount()) > 0) {
      if (Date.now() > deadline) throw new Error(`channels still up after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  close(): void {
    this.#conn.disconnect();
  }

  #onJob(event: EslEvent): void {
    const jobId = event.getHeader('Job-UUID');
    const resolve = jobId === null ? undefined : this.#jobs.get(jobId);
    if (!resolve || jobId === null) return;
    this.#jobs.delete(jobId);
    resolve(event.getBody().trim());
  }

  #onHangup(event: EslEvent): void {
    const uuid = event.getHeader('Unique-ID');
    if (uuid === null) return;
    const info: HangupInfo = {
      uuid,
      cause: event.getHeader('Hangup-Cause') ?? 'UNKNOWN',
      bridged: (event.getHeader('variable_last_bridge_to') ?? '') !== '',
    };
    for (const listener of this.#hangupListeners) listener(info);
  }
}
