import fs from 'node:fs';
import path from 'node:path';

/** One request of test/fixtures/simulator/cdr/: what mod_json_cdr sent, split at the blank line. */
export interface CdrCapture {
  method: string;
  /** The path and query, e.g. `/cdr/json?uuid=…`. */
  target: string;
  /** Header names lower-cased, as captured. */
  headers: Record<string, string>;
  /** The body as sent (raw JSON text). */
  body: string;
  /** The body parsed. */
  json: Record<string, unknown> & { variables: Record<string, string> };
}

const DIR = path.join(__dirname, '..', 'fixtures', 'simulator', 'cdr');

export function readCdrCapture(name: string): CdrCapture {
  const text = fs.readFileSync(path.join(DIR, `${name}.http`), 'utf8');
  const split = text.indexOf('\r\n\r\n');
  const head = text.slice(0, split).split('\r\n');
  const body = text.slice(split + 4);
  const [method = '', target = ''] = (head[0] ?? '').split(' ');
  const headers = Object.fromEntries(
    head.slice(1).map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  return { method, target, headers, body, json: JSON.parse(body) as CdrCapture['json'] };
}
