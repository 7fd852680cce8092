/**
 * Parses `originate <call url> <exten>|&<app>(<args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]`
 * with its `{global}` and `[local]` variable blocks (comma-separated, `^^<c>` for another separator,
 * single quotes to protect a separator).
 */

export const ORIGINATE_USAGE =
  '-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n';

export interface OriginateArgs {
  /** `{…}` then `[…]` variables, in the order written (later ones win). */
  variables: Array<[string, string]>;
  /** The endpoint part of the call url, e.g. `sofia/gateway/default/+12025550100`. */
  endpoint: string;
  /** `&park()` → { name: 'park', arg: '' }; an extension → { name: 'transfer', arg: exten }. */
  app: { name: string; arg: string };
  callerIdName: string | undefined;
  callerIdNumber: string | undefined;
  timeoutSec: number | undefined;
}

export function parseOriginate(argument: string): OriginateArgs | undefined {
  const argv = splitArgs(argument.trim());
  const [url, exten, , , cidName, cidNum, timeout] = argv;
  if (!url || !exten) return undefined;
  const parsed = parseCallUrl(url);
  const app = parseApp(exten);
  if (!parsed || !app) return undefined;
  const seconds = timeout !== undefined ? Number.parseInt(timeout, 10) : Number.NaN;
  return {
    variables: parsed.variables,
    endpoint: parsed.endpoint,
    app,
    callerIdName: cidName === 'undef' ? undefined : cidName,
    callerIdNumber: cidNum === 'undef' ? undefined : cidNum,
    timeoutSec: Number.isFinite(seconds) && seconds > 0 ? seconds : undefined,
  };
}

/** Splits on spaces outside quotes and outside {…} […] (…) groups. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let depth = 0;
  let quote: string | undefined;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
      current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      current += ch;
    } else if ('{[('.includes(ch)) {
      depth++;
      current += ch;
    } else if ('}])'.includes(ch)) {
      depth = Math.max(0, depth - 1);
      current += ch;
    } else if (ch === ' ' && depth === 0) {
      if (current) out.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (current) out.push(current);
  return out;
}

function parseCallUrl(url: string): { variables: Array<[string, string]>; endpoint: string } | undefined {
  const variables: Array<[string, string]> = [];
  let rest = url;
  for (const [open, close] of [['{', '}'], ['[', ']']] as const) {
    if (!rest.startsWith(open)) continue;
    const end = rest.indexOf(close);
    if (end < 0) return undefined;
    const block = parseVariableBlock(rest.slice(1, end));
    if (!block) return undefined;
    variables.push(...block);
    rest = rest.slice(end + 1);
  }
  return rest ? { variables, endpoint: rest } : undefined;
}

/** `a=1,b='x,y'` or `^^:a=1:b=x,y`. Refuses an entry without `=`, as switch_event_create_brackets skips it. */
export function parseVariableBlock(block: string): Array<[string, string]> | undefined {
  let separator = ',';
  let body = block;
  if (body.startsWith('^^')) {
    separator = body.charAt(2);
    if (!separator) return undefined;
    body = body.slice(3);
  }
  const out: Array<[string, string]> = [];
  for (const entry of splitOutsideQuotes(body, separator)) {
    if (!entry) continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) return undefined;
    out.push([entry.slice(0, eq), unquote(entry.slice(eq + 1))]);
  }
  return out;
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (ch === '\\' && text.charAt(i + 1) === separator) {
      current += separator;
      i++;
    } else if (ch === "'") {
      quoted = !quoted;
      current += ch;
    } else if (ch === separator && !quoted) {
      out.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  out.push(current);
  return out;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith("'") && value.endsWith("'") ? value.slice(1, -1) : value;
}

function parseApp(exten: string): { name: string; arg: string } | undefined {
  if (!exten.startsWith('&')) return { name: 'transfer', arg: exten };
  const m = /^&([A-Za-z0-9_]+)(?:\((.*)\))?$/s.exec(exten);
  if (!m?.[1]) return undefined;
  return { name: m[1], arg: m[2] ?? '' };
}
