import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import { observeSwitch, type ObservedChannel, type SwitchObserver } from './switch-observer.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/**
 * One switch an end-to-end scenario runs on: the ESL simulator or a real FreeSWITCH 1.10.12 (see
 * ../shared/freeswitch) with the same scripted phones (+1 202 555 0100–0199). Scenarios see both
 * through this one surface, so the same steps and assertions run on each.
 */
export type Column = 'simulator' | 'FreeSWITCH';

export interface SwitchUnderTest {
  readonly column: Column;
  /** Where Crossline connects: a relay in front of the switch, so a test can cut the connection. */
  readonly eslUrl: string;
  /** Crossline settings that route its legs to this switch's scripted phones. */
  readonly env: Record<string, string>;
  /** A SIP URI that reaches scripted phone `number` directly (no gateway). */
  sipUri(number: string): string;
  /** How many legs the switch created toward `number`, from its own CHANNEL_CREATE events. */
  originatesTo(number: string): number;
  /** Resolves once leg `uuid` is ringing at the far end (created, not answered, not ended). */
  waitRinging(uuid: string, timeoutMs?: number): Promise<void>;
  /** Resolves once the switch reports leg `uuid` bridged (CHANNEL_BRIDGE). */
  waitBridged(uuid: string, timeoutMs?: number): Promise<void>;
  /** The scripted phone behind leg `uuid` hangs up, as its person would. */
  farEndHangup(uuid: string): Promise<void>;
  /** The DTMF digits the phone behind leg `uuid` received. */
  digitsReceived(uuid: string): string;
  /** What the switch said of each application it ran on leg `uuid` (speak, playback…). */
  appsOn(uuid: string): ObservedChannel['apps'];
  /** The leg as the switch's events describe it. */
  channel(uuid: string): ObservedChannel | undefined;
  /**
   * Hangs up every leg this test saw that is still up: a failed scenario must not leave a call
   * behind (Crossline's shutdown waits for the calls its workers hold).
   */
  hangupLeftovers(): Promise<void>;
  /** Cuts every Crossline ESL connection abruptly. */
  dropCrosslineConnections(): void;
  close(): Promise<void>;
}

interface EslAddress {
  host: string;
  port: number;
  password: string;
}

export function parseEslUrl(url: string): EslAddress {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 8021), password: decodeURIComponent(u.password || 'ClueCon') };
}

const digitsOnly = (number: string): string => number.replace(/\D/g, '').replace(/^1(?=\d{10}$)/, '');

/** The parts both kinds share: the observer, the relay, and the checks built on events. */
async function common(address: EslAddress, column: Column, sipHost: string, extra: {
  farEndHangup(observer: SwitchObserver, uuid: string): Promise<void>;
  digitsReceived(observer: SwitchObserver, uuid: string): string;
  close(): Promise<void>;
}): Promise<SwitchUnderTest> {
  const observer = await observeSwitch(address.host, address.port, address.password);
  const proxy: TcpProxy = await startTcpProxy(address.host, address.port);
  const eslUrl = `esl://:${encodeURIComponent(address.password)}@127.0.0.1:${proxy.port}`;
  return {
    column,
    eslUrl,
    // SIP URI legs go to the phones profile directly; its address must be allowed explicitly.
    env: { DIAL_GATEWAY: 'phones', SIP_PROFILE: 'internal', ALLOWED_SIP_DOMAINS: sipHost },
    sipUri: (number) => `sip:${number}@${sipHost}`,
    originatesTo: (number) => {
      const wanted = digitsOnly(number);
      return observer.channels().filter((c) => c.direction === 'outbound' && digitsOnly(c.destination) === wanted).length;
    },
    waitRinging: (uuid, timeoutMs = 15_000) =>
      observer.until(() => {
        const ch = observer.channel(uuid);
        return ch !== undefined && ch.progressed && !ch.answered && ch.hangupCause === undefined;
      }, timeoutMs, `leg ${uuid} ringing`),
    waitBridged: (uuid, timeoutMs = 15_000) =>
      observer.until(() => observer.channel(uuid)?.bridged === true, timeoutMs, `leg ${uuid} bridged`),
    farEndHangup: (uuid) => extra.farEndHangup(observer, uuid),
    digitsReceived: (uuid) => extra.digitsReceived(observer, uuid),
    appsOn: (uuid) => observer.channel(uuid)?.apps ?? [],
    channel: (uuid) => observer.channel(uuid),
    hangupLeftovers: async () => {
      const up = observer.channels().filter((c) => c.hangupCause === undefined);
      await Promise.all(up.map((c) => observer.api(`uuid_kill ${c.uuid} NORMAL_CLEARING`)));
    },
    dropCrosslineConnections: () => proxy.dropConnections(),
    close: async () => {
      observer.close();
      await proxy.close();
      await extra.close();
    },
  };
}

/** The ESL simulator at `timeScale` (its own column only: real phones keep real time). */
export async function simulatorUnderTest(timeScale: number): Promise<SwitchUnderTest & { sim: EslSimulator }> {
  // Events trail command replies a little, as on the real switch (see EslSimulatorOptions.eventLagMs).
  const sim = await createEslSimulator({ timeScale, eventLagMs: 20 });
  const target = await common(sim, 'simulator', '127.0.0.1:5090', {
    farEndHangup: async (_observer, uuid) => sim.remoteHangup(uuid, 'NORMAL_CLEARING'),
    digitsReceived: (_observer, uuid) => sim.dtmfReceived(uuid).map((d) => d.digit).join(''),
    close: () => sim.close(),
  });
  return Object.assign(target, { sim });
}

/**
 * A running FreeSWITCH from ../shared/freeswitch (started by .ci/run or by hand with its start.sh).
 * Its gateway `phones` and profile `internal` reach the scripted phones on the `phones` profile.
 */
export async function freeswitchUnderTest(url: string): Promise<SwitchUnderTest> {
  const address = parseEslUrl(url);
  const probe = await observeSwitch(address.host, address.port, address.password);
  const gateway = await probe.api('sofia status gateway phones');
  probe.close();
  // "Proxy   sip:127.0.0.1:15090": where the scripted phones listen, for SIP URI legs.
  const phones = /Proxy\s+sip:([0-9.]+:\d+)/.exec(gateway)?.[1];
  if (!phones) throw new Error(`FreeSWITCH at ${address.host}:${address.port} has no gateway "phones": is it the test switch of ../shared/freeswitch?`);
  return common(address, 'FreeSWITCH', phones, {
    farEndHangup: async (observer, uuid) => {
      const far = observer.farEnd(uuid);
      if (!far) throw new Error(`no far-end leg seen for ${uuid}`);
      const reply = await observer.api(`uuid_kill ${far.uuid} NORMAL_CLEARING`);
      if (!reply.startsWith('+OK')) throw new Error(`uuid_kill ${far.uuid}: ${reply.trim()}`);
    },
    digitsReceived: (observer, uuid) => {
      const far = observer.farEnd(uuid);
      return far ? observer.digitsOf(far.uuid) : '';
    },
    close: async () => undefined,
  });
}
