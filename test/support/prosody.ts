import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/store/embedded-redis.js';

/**
 * A private Prosody (Debian package `prosody`) for the tests: free ports, a generated config and
 * its accounts in a temp dir, no system service. Stopped (and its dir removed) by `stop()`.
 */
export interface LocalProsody {
  /** `xmpp://127.0.0.1:<port>`, what XMPP_URL takes. */
  service: string;
  /** The XMPP domain of its one virtual host. */
  domain: string;
  port: number;
  /** Adds an account (`user@domain`), usable at once. */
  addAccount(user: string, password: string): void;
  stop(): Promise<void>;
}

/** Why Prosody cannot be started here, or undefined when it can. */
export function prosodyUnavailable(): string | undefined {
  const probe = spawnSync('sh', ['-c', 'command -v prosody'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : 'prosody is not on PATH (apt-get install prosody)';
}

/** Prosody's internal storage file name of a host or user: anything but [a-z0-9] %-encoded. */
const encode = (s: string): string => s.replace(/[^a-zA-Z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

const luaString = (s: string): string => JSON.stringify(s);

export async function startProsody(options: { domain?: string } = {}): Promise<LocalProsody> {
  const domain = options.domain ?? 'localhost';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crossline-prosody-'));
  const dataDir = path.join(dir, 'data');
  const accountsDir = path.join(dataDir, encode(domain), 'accounts');
  mkdirSync(accountsDir, { recursive: true });
  const port = await freePort();
  const config = path.join(dir, 'prosody.cfg.lua');
  const asRoot = process.getuid?.() === 0;
  writeFileSync(
    config,
    [
      `pidfile = ${luaString(path.join(dir, 'prosody.pid'))}`,
      `data_path = ${luaString(dataDir)}`,
      'daemonize = false',
      // As root (CI), stay root in the temp dir rather than switch to the `prosody` user.
      ...(asRoot ? ['run_as_root = true', 'prosody_user = "root"', 'prosody_group = "root"'] : []),
      `log = { { levels = { min = "warn" }, to = "console" } }`,
      `interfaces = { "127.0.0.1" }`,
      `c2s_ports = { ${port} }`,
      's2s_ports = { }',
      'c2s_direct_tls_ports = { }',
      's2s_direct_tls_ports = { }',
      'http_ports = { }',
      'https_ports = { }',
      'component_ports = { }',
      'c2s_require_encryption = false',
      'allow_unencrypted_plain_auth = true',
      'authentication = "internal_plain"',
      'storage = "internal"',
      // The tests send bursts from one account; Prosody's default c2s throttle would slow them.
      'limits = { c2s = { rate = "10mb/s" } }',
      'modules_enabled = { "roster"; "saslauth"; "disco"; "presence"; "message"; "iq"; "ping"; "posix"; "smacks" }',
      'modules_disabled = { "s2s"; "offline"; "tls" }',
      `VirtualHost ${luaString(domain)}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('prosody', ['--config', config, '-F'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    service: `xmpp://127.0.0.1:${port}`,
    domain,
    port,
    addAccount(user: string, password: string) {
      // internal_plain storage: one Lua file per account, read when the account logs in.
      writeFileSync(path.join(accountsDir, `${encode(user)}.dat`), `return {\n\t["password"] = ${luaString(password)};\n};\n`);
    },
    stop,
  };
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prosody exited (${child.exitCode}):\n${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`prosody did not listen on ${port} within 15 s:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
