/**
 * Outbound-socket mode: a call arrives from the network, the dialplan runs
 * `socket <host:port> async full`, and the simulator connects to the client's server, answering
 * `connect` with the channel's data (j-outbound-socket in the traces).
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import net from 'node:net';
import { emptyTimes } from './caller-profile.js';
import { Channel } from './channel.js';
import type { SwitchContext } from './context.js';
import { profileHeaders } from './caller-profile.js';
import { basicData } from './channel-events.js';
import { hangup } from './hangup.js';
import type { InboundCallOptions } from './index.js';
import { beginExecute, executeCompleted, executeStarted, fire, negotiateCodecs, park, setCallState, setRunning } from './leg.js';
import type { EslSession, OutboundBinding } from './session.js';
import { answerVars } from './sofia-vars.js';
import { FREESWITCH_VERSION, nowMicros } from './switch-core.js';
import { connectReplyFrame } from './wire.js';
import { scriptCaller } from './ivr-apps.js';

export type Adopt = (socket: net.Socket, binding: OutboundBinding) => EslSession;

/** Creates the inbound leg, runs it to the socket app and connects; resolves with its UUID. */
export function connectOutbound(ctx: SwitchContext, options: InboundCallOptions, adopt: Adopt): Promise<string> {
  const [address = '', ...flags] = options.socket.trim().split(/\s+/);
  const colon = address.lastIndexOf(':');
  const host = colon >= 0 ? address.slice(0, colon) : address;
  const port = colon >= 0 ? Number(address.slice(colon + 1)) : 8084;
  const ch = arrive(ctx, options);
  if (options.caller) {
    scriptCaller(ch, options.caller);
    const { hangupAfterMs } = options.caller;
    if (hangupAfterMs !== undefined) ch.own(ctx.clock.after(hangupAfterMs, () => ch.up && hangup(ctx, ch, 'NORMAL_CLEARING', 'remote')));
  }
  const socketApp = { name: 'socket', arg: options.socket.trim(), uuid: randomUUID() };
  executeStarted(ctx, ch, socketApp, false);
  ch.vars.set('socket_host', host);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => {
      adopt(socket, {
        channel: ch, async: flags.includes('async'), full: flags.includes('full'),
        // In async mode the socket app parks the leg once the client has sent `connect`.
        connected: () => {
          ch.app = undefined;
          park(ctx, ch, socketApp);
        },
      });
      resolve(ch.uuid);
    });
    socket.once('error', (err) => {
      if (ch.up) hangup(ctx, ch, 'DESTINATION_OUT_OF_ORDER', 'local');
      reject(err);
    });
  });
}

/** The INVITE arrives: CS_NEW, codecs, CS_INIT, CHANNEL_CREATE, RINGING, routing, then the dialplan. */
function arrive(ctx: SwitchContext, options: InboundCallOptions): Channel {
  const uuid = randomUUID();
  const name = `sofia/internal/${options.from}@127.0.0.1`;
  const now = nowMicros();
  const ch = new Channel(uuid, name, 'inbound', {
    direction: 'inbound', logicalDirection: 'inbound', username: options.from, dialplan: 'XML',
    callerIdName: options.from, callerIdNumber: options.from, origCallerIdName: options.from,
    origCallerIdNumber: options.from, calleeIdName: '', calleeIdNumber: '', networkAddr: '127.0.0.1',
    ani: options.from, destinationNumber: options.to, uniqueId: uuid, source: 'mod_sofia', transferSource: '',
    context: 'default', channelName: name, profileIndex: 1, times: emptyTimes(now),
  }, options.to);
  ctx.live.set(uuid, ch);
  ctx.all.push(ch);
  ch.hitDialplan = true;
  ch.profileVisible = false;
  setRunning(ctx, ch, 'CS_NEW');
  ch.profileVisible = true;
  negotiateCodecs(ctx, ch);
  setRunning(ctx, ch, 'CS_INIT');
  ch.vars.setAll(inviteVars(ctx, ch, options));
  ch.state = 'CS_ROUTING';
  fire(ctx, 'CHANNEL_CREATE', ch);
  ch.running = 'CS_ROUTING';
  setCallState(ctx, ch, 'RINGING');
  setRunning(ctx, ch, 'CS_ROUTING');
  ch.state = 'CS_EXECUTE';
  beginExecute(ctx, ch);
  const set = { name: 'set', arg: 'socket_resume=false', uuid: randomUUID() };
  executeStarted(ctx, ch, set, false);
  ch.vars.set('socket_resume', 'false');
  executeCompleted(ctx, ch, set);
  return ch;
}

/** What mod_sofia sets from the INVITE and its SDP (CHANNEL_CREATE of j-outbound-socket). */
function inviteVars(ctx: SwitchContext, ch: Channel, o: InboundCallOptions): Array<[string, string]> {
  const tag = randomBytes(7).toString('hex');
  const branch = `z9hG4bK${randomBytes(7).toString('hex')}`;
  const remotePort = String(16384 + 2 * randomInt(0, 8000));
  return [
    ['direction', 'inbound'], ['uuid', ch.uuid], ['call_uuid', ch.uuid], ['session_id', String(ctx.nextSessionId())],
    ['sip_from_user', o.from], ['sip_from_uri', `${o.from}@127.0.0.1`], ['sip_from_host', '127.0.0.1'],
    ['video_media_flow', 'disabled'], ['text_media_flow', 'disabled'], ['channel_name', ch.name],
    ['sip_call_id', `${randomBytes(4).toString('hex')}-60c3-1240-ab9d-1237c712e2cf`],
    ['sip_local_network_addr', '127.0.0.1'], ['sip_network_ip', '127.0.0.1'], ['sip_network_port', '5090'],
    ['sip_invite_stamp', String(nowMicros())], ['sip_received_ip', '127.0.0.1'], ['sip_received_port', '5090'],
    ['sip_via_protocol', 'udp'], ['sip_from_user_stripped', o.from], ['sip_from_tag', tag],
    ['sofia_profile_name', 'internal'], ['sofia_profile_url', 'sip:mod_sofia@127.0.0.1:5060'],
    ['recovery_profile_name', 'internal'],
    ['sip_Remote-Party-ID', `<sip:${o.from}@127.0.0.1>;party=calling;screen=yes;privacy=off`], ['sip_cid_type', 'rpid'],
    ['sip_full_via', `SIP/2.0/UDP 127.0.0.1:5090;rport=5090;branch=${branch}`],
    ['sip_full_from', `<sip:${o.from}@127.0.0.1>;tag=${tag}`], ['sip_full_to', `<sip:${o.to}@127.0.0.1:5060>`],
    ['sip_allow', 'INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, INFO, UPDATE, REGISTER, REFER, NOTIFY'],
    ['sip_req_user', o.to], ['sip_req_port', '5060'], ['sip_req_uri', `${o.to}@127.0.0.1:5060`], ['sip_req_host', '127.0.0.1'],
    ['sip_to_user', o.to], ['sip_to_port', '5060'], ['sip_to_uri', `${o.to}@127.0.0.1:5060`], ['sip_to_host', '127.0.0.1'],
    ['sip_contact_user', 'mod_sofia'], ['sip_contact_port', '5090'], ['sip_contact_uri', 'mod_sofia@127.0.0.1:5090'],
    ['sip_contact_host', '127.0.0.1'], ['sip_user_agent', `FreeSWITCH-mod_sofia/${FREESWITCH_VERSION}`],
    ['sip_via_host', '127.0.0.1'], ['sip_via_port', '5090'], ['sip_via_rport', '5090'], ['max_forwards', '70'],
    ...answerVars(ch, '127.0.0.1').filter(([n]) => n === 'switch_r_sdp' || n === 'ep_codec_string' || n === 'rtp_use_codec_string'),
    ['remote_video_media_flow', 'inactive'], ['remote_text_media_flow', 'inactive'], ['remote_audio_media_flow', 'sendrecv'],
    ['audio_media_flow', 'sendrecv'], ['remote_media_ip', '127.0.0.1'], ['remote_media_port', remotePort],
    ['rtp_audio_recv_pt', '0'], ['rtp_use_codec_name', 'PCMU'], ['rtp_use_codec_rate', '8000'], ['rtp_use_codec_ptime', '20'],
    ['rtp_use_codec_channels', '1'], ['rtp_last_audio_codec_string', 'PCMU@8000h@20i@1c'], ['read_codec', 'PCMU'],
    ['original_read_codec', 'PCMU'], ['read_rate', '8000'], ['original_read_rate', '8000'], ['write_codec', 'PCMU'],
    ['write_rate', '8000'], ['dtmf_type', 'rfc2833'], ['endpoint_disposition', 'RECEIVED'],
  ];
}

/** The reply to `connect`: CHANNEL_DATA with the channel's profile, data and variables, plus the reply headers. */
export function channelDataFrame(ctx: SwitchContext, ch: Channel, socketMode: string, control: string): string {
  const event = ctx.factory.create('CHANNEL_DATA')
    .addAll(profileHeaders('Channel', ch.profile, true))
    .addAll(basicData(ch))
    .addAll(ch.vars.headers())
    .add('Content-Type', 'command/reply').add('Reply-Text', '+OK\n')
    .add('Socket-Mode', socketMode).add('Control', control);
  return connectReplyFrame(event);
}
