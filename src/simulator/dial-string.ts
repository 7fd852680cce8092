/**
 * Reads the endpoint part of a dial string (after any {…} / […] variable blocks):
 * `sofia/gateway/<gw>/<number>`, `sofia/<profile>/<user@host[:port]>` (optionally `sip:`),
 * `loopback/<number>[/<context>]` and `error/<cause>`.
 */

export type DialTarget =
  | { endpoint: 'sofia'; profile: string; gateway: string | undefined; user: string; host: string; port: string; channelName: string }
  | { endpoint: 'loopback'; user: string; context: string; channelName: string }
  | { endpoint: 'error'; cause: string; channelName: string };

export type DialStringProblem = 'CHAN_NOT_IMPLEMENTED' | 'INVALID_GATEWAY' | 'INVALID_URL';

export function parseDialTarget(text: string): DialTarget | DialStringProblem {
  const [module, ...rest] = text.split('/');
  const path = rest.join('/');
  if (module === 'sofia') return parseSofia(path);
  if (module === 'loopback') {
    const [user = '', context = 'default'] = path.split('/');
    return user ? { endpoint: 'loopback', user, context, channelName: `loopback/${user}-a` } : 'INVALID_URL';
  }
  if (module === 'error') return { endpoint: 'error', cause: path.toUpperCase() || 'NORMAL_CLEARING', channelName: text };
  return 'CHAN_NOT_IMPLEMENTED';
}

function parseSofia(path: string): DialTarget | DialStringProblem {
  const [profile = '', ...rest] = path.split('/');
  if (profile === 'gateway') {
    const [gateway = '', ...numberParts] = rest;
    const user = numberParts.join('/');
    if (!gateway) return 'INVALID_GATEWAY';
    if (!user) return 'INVALID_URL';
    return { endpoint: 'sofia', profile: 'external', gateway, user, host: gateway, port: '', channelName: `sofia/gateway/${gateway}/${user}` };
  }
  const uri = rest.join('/').replace(/^sips?:/, '');
  const at = uri.lastIndexOf('@');
  if (!profile || !uri) return 'INVALID_URL';
  const user = at >= 0 ? uri.slice(0, at) : uri;
  const hostPort = at >= 0 ? uri.slice(at + 1) : '127.0.0.1';
  const colon = hostPort.lastIndexOf(':');
  const host = colon >= 0 ? hostPort.slice(0, colon) : hostPort;
  const port = colon >= 0 ? hostPort.slice(colon + 1) : '';
  return { endpoint: 'sofia', profile, gateway: undefined, user, host, port, channelName: `sofia/${profile}/${uri}` };
}

/** The user part as a plan key: a leading '+' dropped, so `+12025550100` and `12025550100` are one phone. */
export function phoneKey(numberOrUser: string): string {
  return numberOrUser.replace(/^\+/, '');
}
