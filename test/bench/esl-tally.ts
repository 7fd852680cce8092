/**
 * BENCH_ESL_TALLY=1: Crossline reaches the switch through this pass-through TCP proxy, which
 * counts the commands it sends (`api show`, `bgapi originate`, …). It shows what Crossline asks of
 * the switch per callback. The proxy runs in the bench process and adds a hop, so leave it off for
 * the figures that are quoted.
 */
import net from 'node:net';

export interface EslTally {
  /** esl:// URL of the proxy, with the switch's password. */
  url: string;
  /** Commands seen so far, by their first two words (`bgapi uuid_bridge`). */
  counts(): Map<string, number>;
  /**
   * What the switch sent back so far, by frame kind: `event <Event-Name>` (count and bytes),
   * `api/response`, `command/reply`, … Bytes include each frame's headers.
   */
  received(): Map<string, { frames: number; bytes: number }>;
  close(): Promise<void>;
}

export async function startEslTally(target: { host: string; port: number; password: string }): Promise<EslTally> {
  const counts = new Map<string, number>();
  const received = new Map<string, { frames: number; bytes: number }>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    let pending = '';
    client.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      // Commands end with an empty line; only their first line names them.
      let end: number;
      while ((end = pending.indexOf('\n\n')) >= 0) {
        const name = (pending.slice(0, end).split('\n')[0] ?? '').split(' ').slice(0, 2).join(' ');
        counts.set(name, (counts.get(name) ?? 0) + 1);
        pending = pending.slice(end + 2);
      }
      upstream.write(chunk);
    });
    const frames = new FrameCounter(received);
    upstream.on('data', (chunk: Buffer) => {
      frames.push(chunk);
      client.write(chunk);
    });
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', closeBoth).on('error', closeBoth);
    upstream.on('close', closeBoth).on('error', closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the ESL tally proxy has no port');
  return {
    url: `esl://:${encodeURIComponent(target.password)}@127.0.0.1:${address.port}`,
    counts: () => new Map(counts),
    received: () => new Map([...received].map(([k, v]) => [k, { ...v }])),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** "12.0 bgapi originate, 8.0 api uuid_exists, …" per callback, most frequent first. */
export function tallyPerCallback(before: Map<string, number>, after: Map<string, number>, callbacks: number): string {
  return [...after]
    .map(([name, n]) => [name, (n - (before.get(name) ?? 0)) / callbacks] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${n.toFixed(1)} ${name}`)
    .join(', ');
}

/** Splits the switch's byte stream into frames (headers, blank line, Content-Length body) and tallies them. */
class FrameCounter {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly into: Map<string, { frames: number; bytes: number }>) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const headEnd = this.pending.indexOf('\n\n');
      if (headEnd < 0) return;
      const head = this.pending.toString('latin1', 0, headEnd);
      const length = Number(/^Content-Length: (\d+)$/m.exec(head)?.[1] ?? 0);
      const total = headEnd + 2 + length;
      if (this.pending.length < total) return;
      const type = /^Content-Type: (\S+)$/m.exec(head)?.[1] ?? '?';
      let kind = type;
      if (type.startsWith('text/event-')) {
        const body = this.pending.toString('latin1', headEnd + 2, Math.min(total, headEnd + 2 + 400));
        kind = `event ${/"Event-Name":\s*"([^"]+)"|^Event-Name: (\S+)/m.exec(body)?.slice(1).find(Boolean) ?? '?'}`;
      }
      const entry = this.into.get(kind) ?? { frames: 0, bytes: 0 };
      entry.frames++;
      entry.bytes += total;
      this.into.set(kind, entry);
      this.pending = this.pending.subarray(total);
    }
  }
}

/** "12.0 CHANNEL_EXECUTE (31 KB), …" per callback, by bytes. */
export function receivedPerCallback(before: Map<string, { frames: number; bytes: number }>, after: Map<string, { frames: number; bytes: number }>, callbacks: number): string {
  return [...after]
    .map(([kind, v]) => {
      const b = before.get(kind) ?? { frames: 0, bytes: 0 };
      return [kind, (v.frames - b.frames) / callbacks, (v.bytes - b.bytes) / callbacks] as const;
    })
    .filter(([, n]) => n > 0)
    .sort((x, y) => y[2] - x[2])
    .map(([kind, n, bytes]) => `${n.toFixed(1)} ${kind} (${(bytes / 1024).toFixed(1)} KB)`)
    .join(', ');
}
