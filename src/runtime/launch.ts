import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { RedisUnavailableError } from '../store/index.js';
import { startRuntime, type Roles, type Runtime } from './index.js';

/**
 * Runs Crossline as a process: reads the environment once, starts the parts named by `roles`,
 * prints where to find them, and shuts down cleanly on SIGTERM / SIGINT.
 */
export async function launch(roles: Roles, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return exitWith(2, err.message);
    throw err;
  }
  let generatedKey: string | undefined;
  let generatedOpsToken: string | undefined;
  if (roles.api && config.apiKeys.length === 0) {
    // Only the all-in-one embedded default makes up a key; a production API must be given its keys.
    if (roles.workers === false) return exitWith(2, 'Invalid configuration:\n  API_KEYS: set at least one API key (comma-separated).');
    generatedKey = `dev_${randomBytes(18).toString('base64url')}`;
    // The same for the operator's token, so that the dashboard and /metrics open in the default too.
    generatedOpsToken = config.opsToken === undefined ? `ops_${randomBytes(18).toString('base64url')}` : undefined;
    config = loadConfig(env, { apiKeys: [generatedKey], ...(generatedOpsToken ? { opsToken: generatedOpsToken } : {}) });
  }
  const logger = pino({ level: config.logLevel, base: { service: 'crossline', pid: process.pid } });

  let runtime: Runtime;
  try {
    runtime = await startRuntime(config, roles, logger);
  } catch (err) {
    if (err instanceof RedisUnavailableError) return exitWith(1, err.message);
    logger.fatal({ err }, 'Crossline could not start');
    return exitWith(1, `Crossline could not start: ${err instanceof Error ? err.message : String(err)}`);
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    runtime.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));

  process.stdout.write(bannerText(config, roles, runtime, generatedKey, generatedOpsToken));
}

function exitWith(code: number, message: string): void {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

// Credentials in a URL (redis://:password@host, esl://:password@host) are not for the terminal.
const withoutCredentials = (url: string): string => url.replace(/\/\/[^@/]*@/, '//***@');

/** What `npm start` prints: where everything is, and no secret but the API key and operations token it generated. */
export function bannerText(
  config: Readonly<Config>,
  roles: Roles,
  runtime: Pick<Runtime, 'redis' | 'simulator' | 'apiUrl' | 'webhookSecretGenerated' | 'moduleBanner'>,
  generatedKey: string | undefined,
  generatedOpsToken?: string,
): string {
  const lines: string[] = ['', `Crossline is up (${[roles.api ? 'API' : '', roles.workers ? 'workers' : ''].filter(Boolean).join(' + ')}).`];
  lines.push(`  Redis     ${withoutCredentials(runtime.redis.url)} (${runtime.redis.origin}${runtime.redis.origin === 'spawned' ? ': a private redis-server for this run' : ''})`);
  if (roles.workers) {
    lines.push(
      runtime.simulator
        ? `  Switch    embedded ESL simulator on ${runtime.simulator.host}:${runtime.simulator.port} (set ESL_URL=esl://:password@host:8021 for FreeSWITCH)`
        : `  Switch    FreeSWITCH at ${withoutCredentials(config.eslUrl ?? '')}`,
    );
    if (runtime.webhookSecretGenerated) {
      // the secret itself stays out of the terminal and the logs that capture it
      lines.push('  Webhooks  signed with a secret generated for this run (set WEBHOOK_SECRET to choose one you can verify with)');
    }
  }
  if (runtime.apiUrl) {
    const key = generatedKey ?? '<one of API_KEYS>';
    lines.push(`  API       ${runtime.apiUrl}   docs: ${runtime.apiUrl}/docs`);
    if (generatedKey) lines.push(`  API key   ${generatedKey} (generated for this run; set API_KEYS to choose your own)`);
    if (generatedOpsToken) lines.push(`  Ops token ${generatedOpsToken} (generated for this run: dashboard, /metrics; set OPS_TOKEN to choose your own)`);
    lines.push(...runtime.moduleBanner);
    lines.push(
      '',
      'Ring +1 202 555 0101 (answers), then +1 202 555 0100 (answers), then bridge them:',
      `  curl -s -X POST ${runtime.apiUrl}/v1/callbacks -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' \\`,
      `    -d '{"caller":{"number":"+12025550100"},"callee":{"number":"+12025550101"}}'`,
      `  curl -s ${runtime.apiUrl}/v1/callbacks/<id> -H 'Authorization: Bearer ${key}'`,
    );
  }
  return `${lines.join('\n')}\n\n`;
}

export type { Logger };
