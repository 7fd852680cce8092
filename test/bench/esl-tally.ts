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
  close(): Promise<void>;
}

export async function startEslTally(target: { host: string; port: number; password: string }): Promise<EslTally> {
  const counts = new Map<string, number>();
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
    upstream.on('data', (chunk) => client.write(chunk));
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
