/**
 * Sends a capture's client commands to the simulator over a raw socket, each one once the
 * simulator has sent as many relevant frames as FreeSWITCH had sent before that command, and
 * returns every byte the simulator sent.
 */
import net from 'node:net';
import type { EslSimulator } from '../../src/simulator/index.js';
import { classify, sentApiCommands } from './capture-compare.js';
import { splitFrames, type Capture, type TimelineSend } from './esl-frames.js';

const WAIT_MS = 5000;

export function capturedSends(capture: Capture): TimelineSend[] {
  return capture.timeline.filter((e): e is TimelineSend => e.dir === 'send');
}

export async function driveSimulator(sim: EslSimulator, capture: Capture): Promise<Buffer> {
  const sends = capturedSends(capture);
  const sent = sentApiCommands(sends.map((s) => s.command));
  const captured = classify(splitFrames(capture.bytes), sent);
  const socket = net.connect(sim.port, sim.host);
  socket.setNoDelay(true);
  let received = Buffer.alloc(0);
  let closed = false;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    wake();
  });
  socket.on('close', () => {
    closed = true;
    wake();
  });
  const relevantSoFar = (): number => classify(splitFrames(received, true), sent).filter((c) => c.relevant).length;
  const until = (condition: () => boolean, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!condition()) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${capture.name}: timed out waiting for ${what}; received:\n${received.toString('utf8').slice(-3000)}`));
      }, WAIT_MS);
      waiters.add(check);
      check();
    });
  const dtmfSent = new Map<string, number>();
  for (const send of sends) {
    const anchor = captured.filter((c) => c.index <= send.after_frame && c.relevant).length;
    await until(() => relevantSoFar() >= anchor || closed, `${anchor} frames before "${send.command.split('\n')[0]}"`);
    await digitsDelivered(sim, send.command, dtmfSent);
    if (!closed) socket.write(`${send.command}\n\n`);
  }
  await until(() => closed, 'the simulator to close the connection');
  return received;
}

/**
 * In the capture the client killed an IVR leg only after the phone reported the digits (a
 * phones-side event the simulator does not send); here the kill waits until the simulator has
 * delivered every digit sent to that leg, so the replay does not depend on machine load.
 */
async function digitsDelivered(sim: EslSimulator, command: string, dtmfSent: Map<string, number>): Promise<void> {
  const dtmf = /uuid_send_dtmf (\S+) ([0-9*#A-D]+)/.exec(command);
  if (dtmf?.[1] && dtmf[2]) dtmfSent.set(dtmf[1], dtmf[2].length);
  const kill = /uuid_kill (\S+)/.exec(command)?.[1];
  const expected = kill === undefined ? undefined : dtmfSent.get(kill);
  if (kill === undefined || expected === undefined) return;
  const deadline = Date.now() + WAIT_MS;
  while (sim.dtmfReceived(kill).length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}
