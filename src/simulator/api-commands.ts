/**
 * The API commands the simulator implements (`api <cmd> <arg>` / `bgapi …`), with FreeSWITCH's
 * output text. A handler calls `done(output)` once — at once, or (originate) when the result is
 * known — and defers any events that FreeSWITCH fires after the command has returned.
 */
import { randomUUID } from 'node:crypto';
import type { CallCenter } from './callcenter.js';
import type { SwitchContext } from './context.js';
import { breakApp, execute } from './apps.js';
import { uuidBridge, uuidBridgeProblem } from './bridge.js';
import { queueDtmf } from './dtmf.js';
import { hangup } from './hangup.js';
import { originate } from './originate.js';
import { show, status } from './show.js';
import { FREESWITCH_VERSION } from './switch-core.js';

export type ApiDone = (output: string) => void;
type Handler = (ctx: SwitchContext, arg: string | undefined, done: ApiDone) => void;

export interface ApiDeps {
  callCenter: CallCenter;
}

const words = (arg: string | undefined): string[] => (arg ?? '').split(' ').filter(Boolean);

const NO_SUCH_CHANNEL = '-ERR No such channel!\n';

function handlers(deps: ApiDeps): Record<string, Handler> {
  return {
    originate: (ctx, arg, done) => originate(ctx, arg ?? '', done),
    status: (ctx, _arg, done) => done(status(ctx)),
    show: (ctx, arg, done) => done(show(ctx, arg)),
    hostname: (ctx, _arg, done) => done(ctx.factory.identity.hostname),
    version: (_ctx, _arg, done) => done(`FreeSWITCH Version ${FREESWITCH_VERSION} (1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit)\n`),
    callcenter_config: (_ctx, arg, done) => done(deps.callCenter.command(arg)),
    uuid_exists: (ctx, arg, done) => done(ctx.live.get(arg ?? '')?.up ? 'true' : 'false'),
    sofia_contact: sofiaContact,
    // `true` / `false` without a newline (o-app-failures).
    module_exists: (ctx, arg, done) => done(ctx.media.hasModule((arg ?? '').trim()) ? 'true' : 'false'),
    uuid_kill: uuidKill,
    uuid_getvar: uuidGetvar,
    uuid_setvar: uuidSetvar,
    uuid_send_dtmf: uuidSendDtmf,
    uuid_bridge: uuidBridgeCommand,
    uuid_broadcast: uuidBroadcast,
    uuid_break: uuidBreak,
    uuid_answer: uuidAnswer,
    hupall: hupall,
    fsctl,
  };
}

/** Runs `command`; false when FreeSWITCH would not know it (the caller prints "Command not found"). */
export function runApi(ctx: SwitchContext, deps: ApiDeps, command: string, arg: string | undefined, done: ApiDone): boolean {
  const handler = handlers(deps)[command];
  if (!handler) return false;
  handler(ctx, arg, done);
  return true;
}

/**
 * `sofia_contact [profile|*]/user@domain`: the registered contact as a dial string
 * (`sofia/internal/sip:…`), or `error/user_not_registered` — no newline after either, as
 * FreeSWITCH 1.10.12 answers (also for an argument it cannot read).
 */
function sofiaContact(ctx: SwitchContext, arg: string | undefined, done: ApiDone): void {
  const text = (arg ?? '').trim();
  const aor = text.slice(text.lastIndexOf('/') + 1);
  const [user = '', domain = ''] = aor.split('@');
  const contact = ctx.registrations.get(`${user}@${domain.toLowerCase()}`);
  done(contact === undefined ? 'error/user_not_registered' : `sofia/internal/${contact}`);
}

function uuidKill(ctx: SwitchContext, arg: string | undefined, done: ApiDone): void {
  const [uuid = '', cause = 'NORMAL_CLEARING'] = words(arg);
  const ch = ctx.live.get(uuid);
  if (!ch?.up) return done(NO_SUCH_CHANNEL);
  hangup(ctx, ch, cause.toUpperCase(), 'local');
  done('+OK\n');
}

function uuidGetvar(ctx: SwitchContext, arg: string | undefined, done: ApiDone): void {
  const [uuid, name] = words(arg);
  if (!uuid || !name) return done('-USAGE: <uuid> <var>\n');
  const ch = ctx.live.get(uuid);
  if (!ch) return done('-ERR No Such Channel!\n');
  done(ch.vars.get(name) ?? '_undef_');
}

function uuidSetvar(ctx: SwitchContext, arg: string | undefined, done: ApiDone): void {
  const [uuid, name, ...value] = words(arg);
  if (!uuid || !name) return done('-USAGE: <uuid> <var> [value]\n');
  const ch = ctx.live.get(uuid);
  if (!ch) return done('-ERR No Such Channel!\n');
  if (value.length) ch.vars.set(name, value.join(' '));
  else ch.vars.unset(name);
  done('+OK\n');
}

function uuidSendDtmf(ctx: SwitchContext, arg: string | undefined, done: ApiDone): void {
  const [uuid, data] = words(arg);
  if (!uuid || !data) return done('-USAGE: <uuid> <dtmf_data>\n');
  const ch = ctx.live.get(uuid);
  if (!ch?.up) return done('-ERR Cannot locate session!\n');
  // The job result says "sent" as soon as the digits are queued, like FreeSWITCH's.
  done(`+OK ${uuid} sent DTMF ${data}.\n`);
  queueDtmf(ctx, ch, data);
}

function uuidBridgeCommand(ctx: SwitchContext, arg: string | undefined, done: ApiDone): void {
  const [a, b] = words(arg);
  if (!a || !b) return done('-USAGE: <uuid> <other_uuid>\n');
  const problem = uuidBridgeProblem(ctx, a, b);
  if (problem) return done(problem);
  done(`+OK ${b}\n`);
  ctx.clock.after(0, () => uuidBridge(ctx, a, b));
}

/** `uuid_broadcast <uuid> <path>|<app>::<args> [aleg|bleg|both]`: the leg runs it as if sent by sendmsg. */
function uuidBroadcast(ctx: SwitchContext, arg: string | undefined, done: ApiDone): void {
  const [uuid, what] = words(arg);
  if (!uuid || !what) return done('-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n');
  const ch = ctx.live.get(uuid);
  if (!ch?.up) return done('-ERR Cannot locate session!\n');
  const [app = 'playback', appArg = ''] = what.includes('::') ? what.split('::') : ['playback', what];
  done('+OK Message sent successfully\n');
  ctx.clock.after(0, () => execute(ctx, ch, { name: app, arg: appArg, uuid: randomUUID(), viaSendmsg: true, eventLock: false, command: undefined }));
}

/** `uuid_break <uuid> [all]`: stops what the leg plays (and, with all, what it would play next). */
function uuidBreak(ctx: SwitchContext, arg: string | undefined, done: ApiDone): void {
  const [uuid = '', all] = words(arg);
  const ch = ctx.live.get(uuid);
  if (!ch?.up) return done(NO_SUCH_CHANNEL);
  done('+OK\n');
  ctx.clock.after(0, () => breakApp(ch, all === 'all'));
}

/** `uuid_answer <uuid>` answers a ringing inbound leg (outbound-socket mode). */
function uuidAnswer(ctx: SwitchContext, arg: string | undefined, done: ApiDone): void {
  const ch = ctx.live.get(words(arg)[0] ?? '');
  if (!ch?.up) return done(NO_SUCH_CHANNEL);
  done('+OK\n');
  if (ch.direction === 'inbound') {
    ctx.clock.after(0, () => execute(ctx, ch, { name: 'answer', arg: '', uuid: randomUUID(), viaSendmsg: false, eventLock: false, command: undefined }));
  }
}

const FSCTL_USAGE = '-ERR Invalid command\nUSAGE: fsctl [api_expansion [on|off]|recover|send_sighup|hupall|pause [inbound|outbound]|resume [inbound|outbound]|shutdown [cancel|elegant|asap|now|restart]|sps|sps_peak_reset|sync_clock|sync_clock_when_idle|reclaim_mem|max_sessions|min_dtmf_duration [num]|max_dtmf_duration [num]|default_dtmf_duration [num]|min_idle_cpu|loglevel [level]|debug_level [level]|mdns_resolve [enable|disable]]\n';

/**
 * `fsctl sps [N]` and `fsctl max_sessions [N]` (the switch's capacity, see capacity.ts); without a
 * positive N they report the value, as FreeSWITCH 1.10.12 does. Other subcommands are not modelled.
 */
function fsctl(ctx: SwitchContext, arg: string | undefined, done: ApiDone): void {
  const [what, value] = words(arg);
  const n = Number.parseInt(value ?? '0', 10);
  if (what === 'sps') return done(`+OK sessions per second: ${ctx.capacity.setSessionsPerSecond(n)}\n`);
  if (what === 'max_sessions') return done(`+OK max sessions: ${ctx.capacity.setMaxSessions(n)}\n`);
  done(FSCTL_USAGE);
}

function hupall(ctx: SwitchContext, arg: string | undefined, done: ApiDone): void {
  const cause = (words(arg)[0] ?? 'MANAGER_REQUEST').toUpperCase();
  for (const ch of [...ctx.live.values()]) hangup(ctx, ch, cause, 'local');
  done(`+OK hangup all channels with cause ${cause}\n`);
}
