/**
 * Outbound-socket mode from the client's side: a TCP server the simulator connects to, which
 * sends a capture's client commands in step with what it receives and returns every byte received.
 */
import net from 'node:net';
import type { EslSimulator } from '../../src/simulator/index.js';
import { splitFrames, type Capture, type Frame, type TimelineSend } from './esl-frames.js';

const WAIT_MS = 5000;

/**
 * @param counts - which received frames pace the commands (the same rule is applied to the
 * capture's frames), so that a frame one side sends and the other does not cannot shift them.
 */
export async function driveOutbound(sim: EslSimulator, capture: Capture, from: string, to: string, counts: (f: Frame) => boolean): Promise<Buffer> {
  const captured = splitFrames(capture.bytes);
  const sends = capture.timeline
    .filter((e): e is TimelineSend => e.dir === 'send')
    .map((s) => ({ ...s, after_frame: captured.slice(0, s.after_frame + 1).filter(counts).length - 1 }));
  const total = captured.filter(counts).length;
  let received = Buffer.alloc(0);
  const done = new Promise<Buffer>((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      const timer = setTimeout(() => reject(new Error(`${capture.name}: stalled; received:\n${received.toString().slice(-2000)}`)), WAIT_MS);
      const pump = (): void => {
        const count = splitFrames(received, true).filter(counts).length;
        while (sends[0] && count > sends[0].after_frame) socket.write(`${(sends.shift() as TimelineSend).command}\n\n`);
        if (sends.length === 0 && count >= total) {
          clearTimeout(timer);
          socket.end();
          server.close();
          resolve(received);
        }
      };
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        pump();
      });
      pump();
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      sim.inboundCall({ from, to, socket: `127.0.0.1:${port} async full` }).catch(reject);
    });
  });
  return done;
}
