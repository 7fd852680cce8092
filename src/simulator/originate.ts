/**
 * The `originate` API command: dial one leg, answer supervision, then run the application given
 * after the call url. The result (`+OK <uuid>` / `-ERR <cause>`) is known only once the leg has
 * answered or failed — which is when bgapi's BACKGROUND_JOB fires.
 */
import { randomUUID } from 'node:crypto';
import type { Channel } from './channel.js';
import type { SwitchContext } from './context.js';
import { dial } from './dial.js';
import { execute } from './apps.js';
import { hangup } from './hangup.js';
import { beginExecute, park } from './leg.js';
import { ORIGINATE_USAGE, parseOriginate } from './originate-args.js';

const DEFAULT_TIMEOUT_SEC = 60;
const DEFAULT_CALLER_ID = '0000000000';

/** @param done - receives the command's output, then must fire API/BACKGROUND_JOB before returning. */
export function originate(ctx: SwitchContext, argument: string, done: (output: string) => void): void {
  const args = parseOriginate(argument);
  if (!args) {
    done(ORIGINATE_USAGE);
    return;
  }
  const vars = new Map(args.variables);
  const uuid = vars.get('origination_uuid') ?? randomUUID();
  if (ctx.live.has(uuid)) {
    done('-ERR DESTINATION_OUT_OF_ORDER\n');
    return;
  }
  const timeout = Number(vars.get('originate_timeout') ?? args.timeoutSec ?? DEFAULT_TIMEOUT_SEC);
  const start = (): void => dial(ctx, {
    uuid, endpoint: args.endpoint, variables: args.variables,
    callerIdName: vars.get('origination_caller_id_name') ?? args.callerIdName ?? '',
    callerIdNumber: vars.get('origination_caller_id_number') ?? args.callerIdNumber ?? DEFAULT_CALLER_ID,
    timeoutSec: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_TIMEOUT_SEC,
  }, (ch, outcome) => {
    if (!outcome.answered || !ch) {
      done(`-ERR ${outcome.answered ? 'NORMAL_CLEARING' : outcome.cause}\n`);
      return;
    }
    done(`+OK ${ch.uuid}\n`);
    runOriginateApp(ctx, ch, args.app);
  });
  // A loaded switch can take a while to create the channel (EslSimulator.setOriginateDelay).
  if (ctx.hooks.originateDelayMs > 0) ctx.clock.after(ctx.hooks.originateDelayMs, start);
  else start();
}

/** After answer: the leg enters CS_EXECUTE and runs `&app(arg)` (an extension number just parks). */
function runOriginateApp(ctx: SwitchContext, ch: Channel, app: { name: string; arg: string }): void {
  beginExecute(ctx, ch);
  // Without a dialplan behind it, an extension number leaves the leg waiting, like park.
  const current = app.name === 'transfer' ? { name: 'park', arg: '', uuid: randomUUID() } : { ...app, uuid: randomUUID() };
  if (current.name === 'park') {
    park(ctx, ch, current);
    return;
  }
  // Once the only application has returned, the leg has nothing left to do and hangs up.
  execute(ctx, ch, {
    ...current, viaSendmsg: false, eventLock: false, command: undefined,
    onDone: () => hangup(ctx, ch, 'NORMAL_CLEARING', 'local'),
  });
}
