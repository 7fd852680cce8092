/**
 * The channel variables mod_sofia and the core set at each step of an outbound SIP leg, in the
 * order the traces show them. Values are made up but shaped like the real ones.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Channel } from './channel.js';
import { FREESWITCH_VERSION } from './switch-core.js';

type Pairs = Array<[string, string]>;

/** Where the SIP side of a leg goes; derived from the dial string. */
export interface SipPeer {
  profile: string;
  user: string;
  host: string;
  port: string;
  fromUser: string;
  /** The gateway a `sofia/gateway/<gw>/<number>` leg goes through. */
  gateway?: string;
}

const LOCAL_IP = '127.0.0.1';
const SIP_ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, INFO, UPDATE, REGISTER, REFER, NOTIFY';

const token = (n: number): string => randomBytes(n).toString('base64url').replace(/[-_]/g, 'x').slice(0, n);
const hostPort = (p: SipPeer): string => (p.port ? `${p.host}:${p.port}` : p.host);

function sdp(port: number, ip = LOCAL_IP): string {
  const id = randomInt(1_700_000_000, 1_800_000_000);
  return [
    'v=0', `o=FreeSWITCH ${id} ${id + 1} IN IP4 ${ip}`, 's=FreeSWITCH', `c=IN IP4 ${ip}`, 't=0 0',
    `m=audio ${port} RTP/AVP 0 8 101 13`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=rtpmap:13 CN/8000', 'a=ptime:20', 'a=sendrecv', '',
  ].join('\r\n');
}

/**
 * CHANNEL_CREATE: the leg exists, the INVITE is about to go out. `originateVars` are the {…}[…]
 * ones. A bridge's B leg (with an `originator`) also inherits the A leg's codec, SDP and call UUID.
 */
export function createVars(ch: Channel, peer: SipPeer, sessionId: number, originateVars: Pairs, originator?: Channel): Pairs {
  const mediaPort = 16384 + 2 * randomInt(0, 8000);
  const fromA: Pairs = originator
    ? [
        ['max_forwards', '70'], ['originator_codec', 'PCMU@8000h@20i'], ['originator', originator.uuid],
        ['signal_bond', originator.uuid], ['switch_m_sdp', originator.vars.get('switch_r_sdp') ?? sdp(mediaPort)],
        ['call_uuid', originator.uuid],
        ...inherited(originator),
      ]
    : [];
  return [
    ['direction', 'outbound'], ['is_outbound', 'true'], ['uuid', ch.uuid],
    ...(originator ? [] : [['call_uuid', ch.uuid] as [string, string]]),
    ['session_id', String(sessionId)],
    ...(peer.gateway === undefined ? [] : [['sip_gateway_name', peer.gateway] as [string, string]]),
    ['sip_local_network_addr', LOCAL_IP], ['sip_profile_name', peer.profile],
    ...(originator ? [] : [['video_media_flow', 'disabled'] as [string, string]]),
    ['text_media_flow', 'disabled'], ['channel_name', ch.name],
    ['sip_destination_url', `sip:${peer.user}@${hostPort(peer)}`],
    ...fromA,
    ...originateVars,
    ['originate_early_media', 'false'],
    ...(originator ? [['originating_leg_uuid', originator.uuid] as [string, string]] : []),
    ['originate_endpoint', 'sofia'], ['rtp_use_codec_string', originator ? 'PCMU@8000h@20i' : 'PCMU,PCMA'],
    ['local_media_ip', LOCAL_IP], ['local_media_port', String(mediaPort)], ['advertised_media_ip', LOCAL_IP],
    ['audio_media_flow', 'sendrecv'],
    ...(originator ? [['video_media_flow', 'inactive'] as [string, string]] : []),
    ['rtp_local_sdp_str', sdp(mediaPort)],
    ['sip_outgoing_contact_uri', `<sip:mod_sofia@${LOCAL_IP}:5060>`], ['sip_req_uri', `${peer.user}@${hostPort(peer)}`],
    ['sip_to_host', hostPort(peer)], ['sip_from_host', LOCAL_IP], ['sofia_profile_name', peer.profile],
    ['recovery_profile_name', peer.profile], ['sofia_profile_url', `sip:mod_sofia@${LOCAL_IP}:5060`],
  ];
}

/** Originate variables of the A leg that the bridge's B leg picks up. */
function inherited(a: Channel): Pairs {
  const value = a.vars.get('ignore_early_media');
  return value === undefined ? [] : [['ignore_early_media', value]];
}

/** The first provisional or final response: the SIP dialog's variables (CHANNEL_PROGRESS shows them). */
export function dialogVars(peer: SipPeer, fromDisplay: string): Pairs {
  const branch = `z9hG4bK${token(13)}`;
  const fromTag = token(13);
  const toTag = token(13);
  const port = peer.port || '5060';
  return [
    ['sip_local_network_addr', LOCAL_IP], ['sip_reply_host', peer.host], ['sip_reply_port', port],
    ['sip_network_ip', peer.host], ['sip_network_port', port], ['sip_user_agent', `FreeSWITCH-mod_sofia/${FREESWITCH_VERSION}`],
    ['sip_allow', SIP_ALLOW], ['sip_recover_contact', `<sip:${peer.user}@${hostPort(peer)};transport=udp>`],
    ['sip_full_via', `SIP/2.0/UDP ${LOCAL_IP};rport=5060;branch=${branch}`],
    ['sip_recover_via', `SIP/2.0/UDP ${LOCAL_IP};rport=5060;branch=${branch}`],
    ...(fromDisplay ? [['sip_from_display', fromDisplay] as [string, string]] : []),
    ['sip_full_from', `${fromDisplay ? `"${fromDisplay}" ` : ''}<sip:${peer.fromUser}@${LOCAL_IP}>;tag=${fromTag}`],
    ['sip_full_to', `<sip:${peer.user}@${hostPort(peer)}>;tag=${toTag}`],
    ['sip_from_user', peer.fromUser], ['sip_from_uri', `${peer.fromUser}@${LOCAL_IP}`], ['sip_from_host', LOCAL_IP],
    ['sip_to_user', peer.user], ['sip_to_port', port], ['sip_to_uri', `${peer.user}@${hostPort(peer)}`],
    ['sip_to_host', peer.host], ['sip_contact_params', 'transport=udp'], ['sip_contact_user', peer.user],
    ['sip_contact_port', port], ['sip_contact_uri', `${peer.user}@${hostPort(peer)}`], ['sip_contact_host', peer.host],
    ['sip_to_tag', toTag], ['sip_from_tag', fromTag], ['sip_cseq', String(randomInt(1, 200_000_000))],
    ['sip_call_id', `${randomBytes(4).toString('hex')}-60c3-1240-ab9d-1237c712e2cf`],
  ];
}

/**
 * 200 OK with SDP: media negotiated (CHANNEL_ANSWER shows them). A bridge's B leg offered only the
 * A leg's codec.
 */
export function answerVars(ch: Channel, remoteIp: string, bridged = false): Pairs {
  const remotePort = 16384 + 2 * randomInt(0, 8000);
  return [
    ['switch_r_sdp', sdp(remotePort, remoteIp)], ['ep_codec_string', 'CORE_PCM_MODULE.PCMU@8000h@20i@64000b'],
    ['rtp_use_codec_string', bridged ? 'PCMU@8000h@20i' : 'PCMU,PCMA'], ['remote_video_media_flow', 'inactive'],
    ['remote_text_media_flow', 'inactive'], ['remote_audio_media_flow', 'sendrecv'],
    ['rtp_audio_recv_pt', '0'], ['rtp_use_codec_name', 'PCMU'],
    ['rtp_use_codec_rate', '8000'], ['rtp_use_codec_ptime', '20'], ['rtp_use_codec_channels', '1'],
    ['rtp_last_audio_codec_string', 'PCMU@8000h@20i@1c'], ['read_codec', 'PCMU'], ['original_read_codec', 'PCMU'],
    ['read_rate', '8000'], ['original_read_rate', '8000'], ['write_codec', 'PCMU'], ['write_rate', '8000'],
    ['dtmf_type', 'rfc2833'], ['local_media_ip', LOCAL_IP], ['local_media_port', ch.vars.get('local_media_port') ?? '16384'],
    ['advertised_media_ip', LOCAL_IP], ['rtp_use_timer_name', 'soft'], ['rtp_use_pt', '0'],
    ['rtp_use_ssrc', String(randomInt(1, 4_000_000_000))], ['rtp_2833_send_payload', '101'],
    ['rtp_2833_recv_payload', '101'], ['remote_media_ip', remoteIp], ['remote_media_port', String(remotePort)],
  ];
}

/** SIP response code and reason FreeSWITCH maps to (and from) a hangup cause. */
const SIP_FOR_CAUSE: Record<string, readonly [number, string, number]> = {
  USER_BUSY: [486, 'Busy Here', 17],
  UNALLOCATED_NUMBER: [404, 'Not Found', 1],
  NO_ROUTE_DESTINATION: [404, 'Not Found', 3],
  NETWORK_OUT_OF_ORDER: [502, 'Bad Gateway', 38],
  NORMAL_TEMPORARY_FAILURE: [503, 'Service Unavailable', 41],
  CALL_REJECTED: [603, 'Decline', 21],
  NO_USER_RESPONSE: [480, 'Temporarily Unavailable', 18],
  SUBSCRIBER_ABSENT: [480, 'Temporarily Unavailable', 20],
  INVALID_NUMBER_FORMAT: [484, 'Address Incomplete', 28],
  RECOVERY_ON_TIMER_EXPIRE: [408, 'Request Timeout', 102],
};

/** Q.850 cause codes (hangup_cause_q850). */
const Q850: Record<string, number> = {
  UNALLOCATED_NUMBER: 1, NO_ROUTE_DESTINATION: 3, NORMAL_CLEARING: 16, USER_BUSY: 17, NO_USER_RESPONSE: 18,
  NO_ANSWER: 19, SUBSCRIBER_ABSENT: 20, CALL_REJECTED: 21, INVALID_NUMBER_FORMAT: 28, NETWORK_OUT_OF_ORDER: 38,
  NORMAL_TEMPORARY_FAILURE: 41, ORIGINATOR_CANCEL: 487, MANAGER_REQUEST: 503, RECOVERY_ON_TIMER_EXPIRE: 102,
};

export const q850 = (cause: string): number => Q850[cause] ?? 16;

/** The far end refused the INVITE with a final response (busy, not found, bad gateway…). */
export function refusedVars(ch: Channel, cause: string): Pairs {
  const [status, phrase, q] = SIP_FOR_CAUSE[cause] ?? [500, 'Server Internal Error', q850(cause)];
  const host = ch.vars.get('sip_to_host') ?? LOCAL_IP;
  return [
    ['sip_call_id', `${randomBytes(4).toString('hex')}-60c3-1240-ab9d-1237c712e2cf`], ['sip_local_network_addr', LOCAL_IP],
    ['sip_reply_host', host.split(':')[0] ?? host], ['sip_reply_port', host.split(':')[1] ?? '5060'],
    ['sip_network_ip', host.split(':')[0] ?? host], ['sip_network_port', host.split(':')[1] ?? '5060'],
    ['sip_hangup_disposition', 'recv_refuse'], ['sip_invite_failure_status', String(status)],
    ['sip_invite_failure_phrase', phrase], ['sip_term_status', String(status)],
    ['proto_specific_hangup_cause', `sip:${status}`], ['sip_term_cause', String(q)],
  ];
}

/** The far end sent BYE. */
export function remoteByeVars(cause: string): Pairs {
  const q = q850(cause);
  return [
    ['sip_reason', `Q.850;cause=${q};text="${cause}"`], ['sip_term_status', '200'],
    ['proto_specific_hangup_cause', 'sip:200'], ['sip_term_cause', String(q)],
  ];
}

/** After the BYE was answered. */
export function remoteByeCompletedVars(): Pairs {
  return [['sip_user_agent', `FreeSWITCH-mod_sofia/${FREESWITCH_VERSION}`], ['sip_hangup_disposition', 'recv_bye']];
}

/** We cancelled an unanswered INVITE (originate timeout, kill while ringing). */
export function cancelVars(): Pairs {
  return [['sip_hangup_disposition', 'send_cancel'], ['sip_invite_failure_status', '487'], ['sip_invite_failure_phrase', 'CANCEL']];
}

/** RTP statistics written at hangup of a leg that had media. */
export function rtpStatsVars(billMs: number): Pairs {
  const packets = Math.max(1, Math.round(billMs / 20));
  const bytes = packets * 172;
  const out: Pairs = [
    ['rtp_audio_in_raw_bytes', String(bytes)], ['rtp_audio_in_media_bytes', String(bytes)],
    ['rtp_audio_in_packet_count', String(packets)], ['rtp_audio_in_media_packet_count', String(packets)],
    ['rtp_audio_in_skip_packet_count', '0'], ['rtp_audio_in_jitter_packet_count', '0'],
    ['rtp_audio_in_dtmf_packet_count', '0'], ['rtp_audio_in_cng_packet_count', '0'],
    ['rtp_audio_in_flush_packet_count', '0'], ['rtp_audio_in_largest_jb_size', '0'],
    ['rtp_audio_in_jitter_min_variance', '0.00'], ['rtp_audio_in_jitter_max_variance', '0.00'],
    ['rtp_audio_in_jitter_loss_rate', '0.00'], ['rtp_audio_in_jitter_burst_rate', '0.00'],
    ['rtp_audio_in_mean_interval', '20.00'], ['rtp_audio_in_flaw_total', '0'],
    ['rtp_audio_in_quality_percentage', '100.00'], ['rtp_audio_in_mos', '4.50'],
    ['rtp_audio_out_raw_bytes', String(bytes)], ['rtp_audio_out_media_bytes', String(bytes)],
    ['rtp_audio_out_packet_count', String(packets)], ['rtp_audio_out_media_packet_count', String(packets)],
    ['rtp_audio_out_skip_packet_count', '0'], ['rtp_audio_out_dtmf_packet_count', '0'],
    ['rtp_audio_out_cng_packet_count', '0'], ['rtp_audio_rtcp_packet_count', '0'], ['rtp_audio_rtcp_octet_count', '0'],
  ];
  return out;
}

/** An inbound leg answers: our SDP and RTP settings (CHANNEL_ANSWER of the answer app). */
export function inboundAnswerVars(ch: Channel): Pairs {
  const localPort = String(16384 + 2 * randomInt(0, 8000));
  return [
    ['rtp_local_sdp_str', sdp(Number(localPort))], ['local_media_ip', LOCAL_IP], ['local_media_port', localPort],
    ['advertised_media_ip', LOCAL_IP], ['rtp_use_timer_name', 'soft'], ['rtp_use_pt', '0'],
    ['rtp_use_ssrc', String(randomInt(1, 4_000_000_000))], ['rtp_2833_send_payload', '101'], ['rtp_2833_recv_payload', '101'],
    ['remote_media_ip', ch.vars.get('remote_media_ip') ?? LOCAL_IP], ['remote_media_port', ch.vars.get('remote_media_port') ?? '16384'],
  ];
}

/** The caller's ACK to our 200 OK completes the dialog of an inbound leg. */
export function ackVars(ch: Channel): Pairs {
  const keep = (name: string): [string, string] => [name, ch.vars.get(name) ?? ''];
  const toTag = token(13);
  return [
    ['sip_to_tag', toTag], keep('sip_from_tag'), ['sip_cseq', String(randomInt(1, 200_000_000))], keep('sip_call_id'),
    keep('sip_full_via'), keep('sip_full_from'), ['sip_full_to', `${ch.vars.get('sip_full_to') ?? ''};tag=${toTag}`],
  ];
}
