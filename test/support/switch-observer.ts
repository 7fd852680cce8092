import { connectModesl, type ModeslConnection, type ModeslEvent } from '../simulator/modesl.js';

/**
 * A second Event Socket connection of the test's own, beside Crossline's: it hears what the switch
 * itself says happened (channels created, answered, hung up, applications finished, digits the
 * scripted phones received) and can act as the far end. It works the same on the simulator and on
 * a real FreeSWITCH, so the dual-run tier asserts on the switch's events, not on Crossline's word.
 */

/** One channel as the switch's events describe it. */
export interface ObservedChannel {
  uuid: string;
  name: string;
  direction: 'inbound' | 'outbound';
  destination: string;
  /** SIP Call-ID: pairs our outbound leg with the scripted phone's inbound leg on a test switch. */
  callId?: string;
  progressed: boolean;
  answered: boolean;
  /** The switch reported the leg bridged (CHANNEL_BRIDGE). */
  bridged: boolean;
  hangupCause?: string;
  /** CHANNEL_EXECUTE_COMPLETE of each application, in order. */
  apps: Array<{ app: string; arg: string; response: string }>;
}

export interface SwitchObserver {
  channel(uuid: string): ObservedChannel | undefined;
  channels(): ObservedChannel[];
  /** The other leg of the same SIP dialog on this switch (the scripted phone's leg), if any. */
  farEnd(uuid: string): ObservedChannel | undefined;
  /** `phones::dtmf` digits, by the phone leg's UUID. */
  digitsOf(phoneUuid: string): string;
  api(command: string): Promise<string>;
  /** Resolves once `predicate` holds for the observed state (checked on every event). */
  until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void>;
  close(): void;
}

const SUBSCRIPTION = 'CHANNEL_CREATE CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_HANGUP_COMPLETE CHANNEL_EXECUTE_COMPLETE CUSTOM phones::dtmf';

export async function observeSwitch(host: string, port: number, password: string): Promise<SwitchObserver> {
  const conn: ModeslConnection = await connectModesl(host, port, password);
  const byUuid = new Map<string, ObservedChannel>();
  const digits = new Map<string, string>();
  const waiters = new Set<() => void>();

  const onEvent = (e: ModeslEvent): void => {
    const name = e.getHeader('Event-Name');
    if (!name) return;
    if (name === 'CUSTOM') {
      const uuid = e.getHeader('Unique-ID') ?? e.getHeader('Phones-Number') ?? '';
      digits.set(uuid, e.getHeader('Phones-Digits') ?? `${digits.get(uuid) ?? ''}${e.getHeader('Phones-Digit') ?? ''}`);
    } else {
      track(byUuid, e, name);
    }
    for (const w of [...waiters]) w();
  };
  conn.parser?.on('esl::event', onEvent);
  await new Promise<void>((resolve) => conn.events('plain', SUBSCRIPTION, () => resolve()));

  const api = (command: string): Promise<string> =>
    new Promise((resolve) => conn.api(command, '', (reply) => resolve(reply.getBody())));
  return {
    channel: (uuid) => byUuid.get(uuid),
    channels: () => [...byUuid.values()],
    farEnd: (uuid) => {
      const ours = byUuid.get(uuid);
      if (!ours?.callId) return undefined;
      return [...byUuid.values()].find((c) => c.uuid !== uuid && c.callId === ours.callId);
    },
    digitsOf: (phoneUuid) => digits.get(phoneUuid) ?? '',
    api,
    until: (predicate, timeoutMs, what) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!predicate()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the switch never showed: ${what}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: () => conn.disconnect(),
  };
}

function track(byUuid: Map<string, ObservedChannel>, e: ModeslEvent, name: string): void {
  const uuid = e.getHeader('Unique-ID');
  if (!uuid) return;
  let ch = byUuid.get(uuid);
  if (!ch) {
    ch = {
      uuid,
      name: e.getHeader('Channel-Name') ?? '',
      direction: e.getHeader('Call-Direction') === 'inbound' ? 'inbound' : 'outbound',
      destination: e.getHeader('Caller-Destination-Number') ?? '',
      progressed: false,
      answered: false,
      bridged: false,
      apps: [],
    };
    byUuid.set(uuid, ch);
  }
  ch.callId ??= e.getHeader('variable_sip_call_id') ?? undefined;
  switch (name) {
    case 'CHANNEL_PROGRESS':
    case 'CHANNEL_PROGRESS_MEDIA':
      ch.progressed = true;
      break;
    case 'CHANNEL_ANSWER':
      ch.answered = true;
      break;
    case 'CHANNEL_BRIDGE': {
      // Fired once, on the bridge's A leg; it names both.
      ch.bridged = true;
      const b = byUuid.get(e.getHeader('Bridge-B-Unique-ID') ?? '');
      if (b) b.bridged = true;
      break;
    }
    case 'CHANNEL_HANGUP_COMPLETE':
      ch.hangupCause = e.getHeader('Hangup-Cause') ?? 'UNKNOWN';
      break;
    case 'CHANNEL_EXECUTE_COMPLETE':
      ch.apps.push({
        app: e.getHeader('Application') ?? '',
        arg: e.getHeader('Application-Data') ?? '',
        response: e.getHeader('Application-Response') ?? '',
      });
      break;
  }
}
