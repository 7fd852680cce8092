/** Where the switch's event socket is, from an `esl://:password@host:port` URL. */

/** Where an `esl://:password@host:port` URL points. */
export interface EslAddress {
  host: string;
  port: number;
  password: string;
}

/** FreeSWITCH's defaults: port 8021, password ClueCon. */
const DEFAULT_PORT = 8021;
const DEFAULT_PASSWORD = 'ClueCon';
/** The password goes on the `auth` line as is: one printable ASCII word, or it would split the command. */
const PASSWORD = /^[\x21-\x7e]{1,128}$/;

export function isEslPassword(password: string): boolean {
  return PASSWORD.test(password);
}

/**
 * Parses `esl://:password@host:port` (port 8021 and password ClueCon when left out). The error
 * message never repeats the URL, which holds the password.
 */
export function parseEslUrl(url: string): EslAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError('Invalid ESL URL: expected esl://:password@host:port');
  }
  if (parsed.protocol !== 'esl:' || parsed.hostname === '' || parsed.pathname.replace(/^\/$/, '') !== '' || parsed.search !== '') {
    throw new TypeError('Invalid ESL URL: expected esl://:password@host:port');
  }
  let password = DEFAULT_PASSWORD;
  if (parsed.password !== '') {
    try {
      password = decodeURIComponent(parsed.password);
    } catch {
      throw new TypeError('Invalid ESL URL: the password is not correctly percent-encoded');
    }
  }
  if (!isEslPassword(password)) throw new TypeError('Invalid ESL URL: the password may only hold printable ASCII without spaces');
  const port = parsed.port === '' ? DEFAULT_PORT : Number(parsed.port);
  return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port, password };
}
