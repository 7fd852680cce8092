/**
 * `show channels|calls|bridged_calls [count] [as json|delim <c>]` and `status`, printed the way
 * mod_commands prints them (column names from FreeSWITCH 1.10's core database schema).
 */
import type { Channel } from './channel.js';
import type { SwitchContext } from './context.js';
import { localStamp, nowMicros } from './switch-core.js';

type Row = Array<[string, string]>;

function channelRow(ctx: SwitchContext, ch: Channel): Row {
  const p = ch.profile;
  const media = ch.codecs;
  const app = ch.app ?? ch.parkApp;
  return [
    ['uuid', ch.uuid], ['direction', ch.direction], ['created', localStamp(p.times.created)],
    ['created_epoch', String(Math.floor(p.times.created / 1_000_000))], ['name', ch.name], ['state', ch.running],
    ['cid_name', p.callerIdName], ['cid_num', p.callerIdNumber], ['ip_addr', p.networkAddr], ['dest', p.destinationNumber],
    ['application', app?.name ?? ''], ['application_data', app?.arg ?? ''], ['dialplan', p.dialplan], ['context', p.context],
    ['read_codec', media ? 'PCMU' : ''], ['read_rate', media ? '8000' : ''], ['read_bit_rate', media ? '64000' : ''],
    ['write_codec', media ? 'PCMU' : ''], ['write_rate', media ? '8000' : ''], ['write_bit_rate', media ? '64000' : ''],
    ['secure', ''], ['hostname', ctx.factory.identity.hostname], ['presence_id', ''], ['presence_data', ''],
    ['accountcode', ''], ['callstate', ch.callState], ['callee_name', p.calleeIdName], ['callee_num', p.calleeIdNumber],
    ['callee_direction', ch.direction === 'outbound' && ch.phase === 'answered' ? 'SEND' : ''],
    ['call_uuid', ch.vars.get('call_uuid') ?? ch.uuid], ['sent_callee_name', ''], ['sent_callee_num', ''],
    ['initial_cid_name', ch.vars.get('origination_caller_id_name') ?? p.origCallerIdName],
    ['initial_cid_num', p.origCallerIdNumber], ['initial_ip_addr', p.networkAddr], ['initial_dest', p.destinationNumber],
    ['initial_dialplan', p.dialplan], ['initial_context', p.context],
  ];
}

const CALL_COLUMNS = [
  'uuid', 'direction', 'created', 'created_epoch', 'name', 'state', 'cid_name', 'cid_num', 'ip_addr', 'dest',
  'presence_id', 'presence_data', 'accountcode', 'callstate', 'callee_name', 'callee_num', 'callee_direction',
  'call_uuid', 'hostname', 'sent_callee_name', 'sent_callee_num',
];
const B_COLUMNS = CALL_COLUMNS.filter((c) => !['call_uuid', 'hostname'].includes(c));

/** basic_calls: one row per call, the bridged B leg in the b_* columns. */
function callRow(ctx: SwitchContext, a: Channel, b: Channel | undefined): Row {
  const pick = (row: Row, names: readonly string[], prefix: string): Row =>
    names.map((n): [string, string] => [`${prefix}${n}`, row.find(([k]) => k === n)?.[1] ?? '']);
  const aRow = channelRow(ctx, a);
  const bRow = b ? channelRow(ctx, b) : [];
  const created = b ? String(Math.floor(Math.min(a.profile.times.created, b.profile.times.created) / 1_000_000)) : '';
  return [...pick(aRow, CALL_COLUMNS, ''), ...pick(bRow, B_COLUMNS, 'b_'), ['call_created_epoch', created]];
}

function liveChannels(ctx: SwitchContext): Channel[] {
  return [...ctx.live.values()].sort((x, y) => x.profile.times.created - y.profile.times.created);
}

function calls(ctx: SwitchContext, bridgedOnly: boolean): Row[] {
  const rows: Row[] = [];
  for (const ch of liveChannels(ctx)) {
    const peer = ch.bridgedTo ? ctx.live.get(ch.bridgedTo) : undefined;
    if (peer && !ch.bridgeOwner) continue;
    if (bridgedOnly && !peer) continue;
    rows.push(callRow(ctx, ch, peer));
  }
  return rows;
}

const SHOW_USAGE = '-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status\n';

export function show(ctx: SwitchContext, arg: string | undefined): string {
  const argv = (arg ?? '').split(' ').filter(Boolean);
  const [what, second, third, fourth] = argv;
  const count = second === 'count';
  const as = count ? fourth && third === 'as' ? fourth : undefined : second === 'as' ? third : undefined;
  const delim = (count ? argv[5] : fourth) ?? ',';
  let rows: Row[];
  if (what === 'channels') rows = liveChannels(ctx).map((ch) => channelRow(ctx, ch));
  else if (what === 'calls') rows = calls(ctx, false);
  else if (what === 'bridged_calls') rows = calls(ctx, true);
  else return SHOW_USAGE;
  if (count && as !== 'json') return `\n${rows.length} total.\n`;
  return format(rows, as, delim, count);
}

function format(rows: Row[], as: string | undefined, delim: string, count: boolean): string {
  if (as === 'json') {
    if (rows.length === 0) return '{"row_count": 0}\n';
    if (count) return `{"row_count":${rows.length},"rows":[]}`;
    const items = rows.map((r) => `{${r.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
    return `{"row_count":${rows.length},"rows":[${items.join(',')}]}`;
  }
  if (as !== undefined && as !== 'delim' && as !== 'csv') return `-ERR Cannot find format ${as}\n`;
  const first = rows[0];
  if (!first) return '\n0 total.\n';
  const lines = [first.map(([k]) => k).join(delim), ...rows.map((r) => r.map(([, v]) => v).join(delim))];
  return `${lines.join('\n')}\n\n${rows.length} total.\n`;
}

/** `0 years, 0 days, 0 hours, 6 minutes, 28 seconds, 634 milliseconds, 169 microseconds` ("1 minute": singular for 1). */
export function uptimeText(startedAtMicros: number): string {
  let us = nowMicros() - startedAtMicros;
  const parts: Array<[number, string]> = [];
  for (const [size, name] of [[31_536_000e6, 'year'], [86_400e6, 'day'], [3_600e6, 'hour'], [60e6, 'minute'], [1e6, 'second'], [1e3, 'millisecond'], [1, 'microsecond']] as const) {
    parts.push([Math.floor(us / size), name]);
    us %= size;
  }
  return parts.map(([n, name]) => `${n} ${name}${n === 1 ? '' : 's'}`).join(', ');
}

/** `api status`; the sessions-per-second figure is the last full second's, not what is left (q-heartbeat). */
export function status(ctx: SwitchContext): string {
  const load = ctx.capacity.counters();
  return [
    `UP ${uptimeText(ctx.startedAt)}`,
    'FreeSWITCH (Version 1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit) is ready',
    `${ctx.sessionsSinceStart()} session(s) since startup`,
    `${load.sessions} session(s) - peak ${load.sessionPeak}, last 5min ${load.sessionPeakFiveMin} `,
    `${load.lastSecond} session(s) per Sec out of max ${ctx.capacity.sessionsPerSecond}, peak ${load.spsPeak}, last 5min ${load.spsPeakFiveMin} `,
    `${ctx.capacity.maxSessions} session(s) max`,
    `min idle cpu 0.00/${load.idleCpu.toFixed(2)}`,
    'Current Stack Size/Max 240K/8192K',
    '',
  ].join('\n');
}
