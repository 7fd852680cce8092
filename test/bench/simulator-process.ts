/**
 * The ESL simulator in a process of its own for the bench rigs (rig.ts), so that its CPU
 * is never counted as Crossline's. Callees (+1 202 555 0100–0149) and callers (0150–0199) answer
 * at once. The phone plan cannot say "hang up when bridged" (hangupAfterMs counts from the answer),
 * so this process keeps an Event Socket connection of its own, subscribed to CHANNEL_BRIDGE only,
 * and makes the caller (the bridge's B leg) hang up as soon as the bridge is reported — unless
 * told to hold bridged calls. Talks to the parent over the fork IPC channel:
 *   → { type: 'ready', url }
 *   ← { type: 'mode', hold }            hold: leave bridged calls up (memory of live calls)
 *   ← { type: 'originates', sinceEpochMs }  → { type: 'originates', firsts: [callbackId, epochMs][] }
 *   ← { type: 'bridged' }               → { type: 'bridged', live, doubleDestroys }  bridged calls up right now
 *   ← { type: 'hangup-all' }            the callers of every held call hang up
 *   ← { type: 'stop' }
 */
import { Connection, type Event as EslEvent } from 'drachtio-modesl';
import { performance } from 'node:perf_hooks';
import { createEslSimulator, type EslSimulatorOptions } from '../../src/simulator/index.js';

/**
 * What a scenario may set on the simulator (passed as JSON in BENCH_SIM_OPTIONS): its phone plan
 * and capacity. Default plan: callees (0100–0149) and callers (0150–0199) answer at once.
 */
export type SimulatorOptions = Pick<EslSimulatorOptions, 'plan' | 'maxSessions' | 'sessionsPerSecond'>;

export type SimRequest =
  | { type: 'mode'; hold: boolean }
  | { type: 'originates'; sinceEpochMs: number }
  | { type: 'bridged' }
  | { type: 'hangup-all' }
  | { type: 'stop' };
export type SimReply =
  | { type: 'ready'; url: string }
  | { type: 'originates'; firsts: Array<[string, number]> }
  | { type: 'bridged'; live: number; doubleDestroys: number }
  | { type: 'mode' }
  | { type: 'hangup-all' };

async function main(): Promise<void> {
  const send = (reply: SimReply): void => void process.send?.(reply);
  // ReceivedCommand.at counts from the simulator's start on performance.now(); this puts it on the
  // epoch clock the parent stamps its POSTs with (timeOrigin + now, sub-millisecond, same system clock).
  const epochAtStart = performance.timeOrigin + performance.now();
  const options = JSON.parse(process.env.BENCH_SIM_OPTIONS || '{}') as SimulatorOptions;
  const sim = await createEslSimulator({
    timeScale: Number(process.env.SIM_TIME_SCALE ?? 1),
    plan: [
      { from: '+12025550100', to: '+12025550149', behaviour: { kind: 'answer', afterMs: 0 } },
      { from: '+12025550150', to: '+12025550199', behaviour: { kind: 'answer', afterMs: 0 } },
    ],
    ...options,
  });
  // A simulator bug (src/simulator/hangup.ts): when both legs of a bridge hang up before the first
  // one's teardown has run (the caller hangs up, Crossline's uuid_kill of the callee arrives within
  // the same millisecond or so), the A leg is destroyed twice and IllegalTransition is thrown from a
  // timer. The second destroy only repeats CHANNEL_DESTROY; count it instead of dying.
  let doubleDestroys = 0;
  process.on('uncaughtException', (err) => {
    if (err.name === 'IllegalTransition' && /destroyed to destroyed/.test(err.message)) {
      doubleDestroys++;
      return;
    }
    process.stderr.write(`simulator process failed: ${err.stack ?? String(err)}\n`);
    process.exit(1);
  });
  let hold = false;
  /** Bridged calls still up: A (callee) → B (caller). */
  const bridged = new Map<string, string>();
  const callerOf = new Map<string, string>();

  const conn = await new Promise<Connection>((resolve, reject) => {
    const c = new Connection(sim.host, sim.port, sim.password, () => resolve(c));
    c.once('error', reject);
  });
  conn.socket?.setNoDelay(true);
  await new Promise<void>((resolve) => conn.events('plain', ['CHANNEL_BRIDGE', 'CHANNEL_HANGUP'], () => resolve()));
  conn.on('esl::event::CHANNEL_BRIDGE::*', (event: EslEvent) => {
    const a = event.getHeader('Bridge-A-Unique-ID');
    const b = event.getHeader('Bridge-B-Unique-ID');
    if (!a || !b) return;
    if (hold) {
      bridged.set(a, b);
      callerOf.set(b, a);
    } else {
      sim.remoteHangup(b);
    }
  });
  conn.on('esl::event::CHANNEL_HANGUP::*', (event: EslEvent) => {
    const uuid = event.getHeader('Unique-ID');
    if (!uuid) return;
    const a = bridged.has(uuid) ? uuid : callerOf.get(uuid);
    if (a === undefined) return;
    const b = bridged.get(a);
    bridged.delete(a);
    if (b !== undefined) callerOf.delete(b);
  });

  process.on('message', (request: SimRequest) => {
    switch (request.type) {
      case 'mode':
        hold = request.hold;
        return send({ type: 'mode' });
      case 'originates': {
        const firsts = new Map<string, number>();
        for (const c of sim.commands) {
          const at = epochAtStart + c.at;
          if (at < request.sinceEpochMs || !/^(bg)?api originate /.test(c.text)) continue;
          const id = /crossline_callback_id=([0-9a-f-]{36})/.exec(c.text)?.[1];
          if (id && !firsts.has(id)) firsts.set(id, at);
        }
        return send({ type: 'originates', firsts: [...firsts] });
      }
      case 'bridged':
        return send({ type: 'bridged', live: bridged.size, doubleDestroys });
      case 'hangup-all':
        for (const b of bridged.values()) sim.remoteHangup(b);
        return send({ type: 'hangup-all' });
      case 'stop':
        conn.disconnect();
        void sim.close().then(() => process.exit(0));
    }
  });
  process.on('disconnect', () => void sim.close().then(() => process.exit(0)));
  send({ type: 'ready', url: sim.url });
}

main().catch((err: unknown) => {
  process.stderr.write(`simulator process failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
