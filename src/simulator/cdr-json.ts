/**
 * The record mod_json_cdr builds for a leg (switch_ivr_generate_json_cdr), in the shape the
 * captures of shared/esl-traces/cdr show: core-uuid, switchname, channel_data, callStats,
 * variables (URL-encoded as with encode-values=true), app_log (when an application ran) and
 * callflow (one entry per caller profile, newest first).
 */
import type { CallerProfile } from './caller-profile.js';
import type { Channel } from './channel.js';
import type { SwitchIdentity } from './switch-core.js';

/** switch_url_encode's unsafe set (SWITCH_URL_UNSAFE); controls and bytes above `~` are encoded too. */
const UNSAFE = new Set('\r\n "#%&+:;<=>?@[\\]^`{|}');
const HEX = /^[0-9A-F]{2}$/;

/** switch_url_encode without double encoding: an existing `%XX` is kept, every other unsafe byte becomes `%XX`. */
export function switchUrlEncode(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i += 1) {
    const b = bytes[i] ?? 0;
    const ch = String.fromCharCode(b);
    const escaped = ch === '%' && HEX.test(bytes.subarray(i + 1, i + 3).toString('latin1'));
    out += !escaped && (b < 0x20 || b > 0x7e || UNSAFE.has(ch)) ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : ch;
  }
  return out;
}

// channel_data.flags / caps as the captured legs carried them (answered and bridged, or not answered).
const FLAGS_ANSWERED = '0=1;1=1;2=1;22=1;39=1;40=1;42=1;45=1;50=1;55=1;62=1;95=1;113=1;114=1;123=1;160=1;165=1;166=1';
const FLAGS_UNANSWERED = '0=1;2=1;22=1;40=1;42=1;45=1;113=1;114=1';
const CAPS = '1=1;2=1;3=1;4=1;5=1;6=1;8=1;9=1;10=1';

const INBOUND_STATS = [
  'raw_bytes', 'media_bytes', 'packet_count', 'media_packet_count', 'skip_packet_count', 'jitter_packet_count',
  'dtmf_packet_count', 'cng_packet_count', 'flush_packet_count', 'largest_jb_size', 'jitter_min_variance',
  'jitter_max_variance', 'jitter_loss_rate', 'jitter_burst_rate', 'mean_interval', 'flaw_total', 'quality_percentage', 'mos',
];
const OUTBOUND_STATS = ['raw_bytes', 'media_bytes', 'packet_count', 'media_packet_count', 'skip_packet_count', 'dtmf_packet_count', 'cng_packet_count'];

/** callStats from the rtp_audio_* variables the leg got at hangup (numbers, as cJSON prints them). */
function callStats(ch: Channel): Record<string, unknown> {
  const vars = ch.vars;
  if (!vars.has('rtp_audio_in_raw_bytes')) return {};
  const num = (name: string): number => Number(vars.get(name) ?? '0');
  return {
    audio: {
      inbound: Object.fromEntries(INBOUND_STATS.map((k) => [k, num(`rtp_audio_in_${k}`)])),
      outbound: {
        ...Object.fromEntries(OUTBOUND_STATS.map((k) => [k, num(`rtp_audio_out_${k}`)])),
        rtcp_packet_count: num('rtp_audio_rtcp_packet_count'),
        rtcp_octet_count: num('rtp_audio_rtcp_octet_count'),
      },
    },
  };
}

function profileJson(p: CallerProfile): Record<string, string> {
  return {
    username: p.username, dialplan: p.dialplan, caller_id_name: p.callerIdName, ani: p.ani, aniii: '',
    caller_id_number: p.callerIdNumber, network_addr: p.networkAddr, rdnis: '', destination_number: p.destinationNumber,
    uuid: p.uniqueId, source: p.source, context: p.context, chan_name: p.channelName,
  };
}

interface Times {
  created: number; profileCreated: number; progress: number; answered: number; bridged: number; hangup: number; transfer: number;
}

function timesJson(t: Times): Record<string, string> {
  return {
    created_time: String(t.created), profile_created_time: String(t.profileCreated), progress_time: String(t.progress),
    progress_media_time: '0', answered_time: String(t.answered), bridged_time: String(t.bridged), last_hold_time: '0',
    hold_accum_time: '0', hangup_time: String(t.hangup), resurrect_time: '0', transfer_time: String(t.transfer),
  };
}

/**
 * One callflow entry per caller profile, newest first. The simulator keeps only the current
 * profile; an earlier one (before a uuid_bridge transfer) is rebuilt from it, with the times the
 * captures show for it (not bridged, not hung up, transferred when the current one was created).
 */
function callflow(ch: Channel): Array<Record<string, unknown>> {
  const p = ch.profile;
  const first = ch.appLog[0];
  const extension = (index: number): Record<string, unknown> =>
    first === undefined ? {} : { extension: { name: first.name, number: '', applications: index === 1 ? [{ app_name: first.name, app_data: first.arg }] : [] } };
  // after a bridge the CDR names the peer by the side this leg was on: the A side lists its originatee
  const side = ch.times.bridged > 0 ? (ch.bridgeOwner ? 'originatee' : 'originator') : ch.other?.type;
  const other = ch.other === undefined || side === undefined ? {} : { [side]: { [`${side}_caller_profiles`]: [profileJson(ch.other.profile)] } };
  const times = p.times;
  const entries: Array<Record<string, unknown>> = [
    {
      profile_index: String(p.profileIndex),
      ...extension(p.profileIndex),
      caller_profile: { ...profileJson(p), ...other },
      times: timesJson({ ...times, progress: ch.times.progress, bridged: ch.times.bridged, transfer: 0 }),
    },
  ];
  for (let index = p.profileIndex - 1; index >= 1; index -= 1) {
    entries.push({
      profile_index: String(index),
      ...extension(index),
      caller_profile: profileJson(p),
      times: timesJson({ ...times, profileCreated: times.created, progress: ch.times.progress, bridged: 0, hangup: 0, transfer: times.profileCreated }),
    });
  }
  return entries;
}

/** The JSON text mod_json_cdr posts for `ch` once it has been reported (CS_REPORTING). */
export function cdrJson(ch: Channel, identity: SwitchIdentity): string {
  const answered = ch.profile.times.answered > 0;
  const record: Record<string, unknown> = {
    'core-uuid': identity.coreUuid,
    switchname: identity.hostname,
    channel_data: { state: 'CS_REPORTING', direction: ch.direction, state_number: '11', flags: answered ? FLAGS_ANSWERED : FLAGS_UNANSWERED, caps: CAPS },
    callStats: callStats(ch),
    variables: Object.fromEntries(Object.entries(ch.vars.toRecord()).map(([k, v]) => [k, switchUrlEncode(v)])),
  };
  if (ch.appLog.length > 0) {
    record.app_log = { applications: ch.appLog.map((a) => ({ app_name: a.name, app_data: a.arg, app_stamp: String(a.stamp) })) };
  }
  record.callflow = callflow(ch);
  return JSON.stringify(record);
}
