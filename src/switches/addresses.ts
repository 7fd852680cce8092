import { parseEslUrl, type EslAddress } from '../telephony/esl/address.js';
import { switchIdOf } from './originate-gate.js';

/** One switch of the pool, as `ESL_URL` names it. */
export interface SwitchAddress extends EslAddress {
  /**
   * Stable id: the `#name` of its URL, else `host_port` (see switchIdOf); stored on every attempt
   * dialled through it, so renaming a switch orphans its attempts.
   */
  id: string;
  url: string;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * `ESL_URL` as a list: `esl://:pw@host:port[#name]`, comma-separated. Throws TypeError on a bad
 * URL, a bad name or an id given twice.
 */
export function parseSwitchList(text: string): SwitchAddress[] {
  const switches = text.split(',').map((s) => s.trim()).filter(Boolean).map((entry): SwitchAddress => {
    const hashAt = entry.indexOf('#');
    const url = hashAt < 0 ? entry : entry.slice(0, hashAt);
    const name = hashAt < 0 ? undefined : decodeURIComponent(entry.slice(hashAt + 1));
    if (name !== undefined && !NAME.test(name)) throw new TypeError(`Invalid switch name ${JSON.stringify(name)}: 1-64 of [A-Za-z0-9._-]`);
    const address = parseEslUrl(url);
    return { ...address, url, id: name ?? switchIdOf(address.host, address.port) };
  });
  if (switches.length === 0) throw new TypeError('ESL_URL names no switch');
  const seen = new Set<string>();
  for (const s of switches) {
    if (seen.has(s.id)) throw new TypeError(`Switch ${s.id} is listed twice`);
    seen.add(s.id);
  }
  return switches;
}
