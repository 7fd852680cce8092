/**
 * Plays a capture's bytes to a client in step with its timeline: the frames FreeSWITCH had sent
 * before the client's next command, then — once a command arrives — the frames up to the one after.
 */
import type { Socket } from 'node:net';
import { splitFrames, type Capture, type TimelineSend } from './esl-frames.js';

/** Each frame's exact bytes, in order. */
export function frameBytes(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const frame of splitFrames(bytes)) {
    const head = frame.headers.map(([n, v]) => `${n}: ${v}`).join('\n');
    const size = Buffer.byteLength(head, 'utf8') + 2 + (frame.body?.length ?? 0);
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

/** Plays `capture` on `socket`; the client's commands pace it. Resolves when it has all been sent. */
export function playCapture(socket: Socket, capture: Capture): Promise<void> {
  const frames = frameBytes(capture.bytes);
  const sends = capture.timeline.filter((e): e is TimelineSend => e.dir === 'send');
  const closes = capture.timeline.some((e) => e.dir === 'close');
  let next = 0;
  let commandsSeen = 0;
  let pending = '';
  const sendUpTo = (lastFrame: number): void => {
    while (next <= lastFrame && next < frames.length) socket.write(frames[next++] as Buffer);
  };
  socket.setNoDelay(true);
  return new Promise((resolve) => {
    const advance = (): void => {
      const upcoming = sends[commandsSeen];
      sendUpTo(upcoming ? upcoming.after_frame : frames.length - 1);
      if (upcoming) return;
      if (closes) socket.end();
      resolve();
    };
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let end: number;
      while ((end = pending.indexOf('\n\n')) >= 0) {
        pending = pending.slice(end + 2);
        commandsSeen++;
        advance();
      }
    });
    socket.on('error', () => undefined);
    advance();
  });
}
