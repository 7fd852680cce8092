import { CrosslineError, type ErrorDetail } from '../../errors.js';
import type { DoNotCallList } from '../ports.js';
import type { CallbackRequest } from '../types.js';

/** Every number a callback may ring, with the request path it came from. */
function numbersOf(request: CallbackRequest): Array<{ e164: string; path: string }> {
  const out: Array<{ e164: string; path: string }> = [];
  if (request.caller.endpoint.kind === 'number') out.push({ e164: request.caller.endpoint.e164, path: '/caller/number' });
  if (request.callee.endpoint.kind === 'number') out.push({ e164: request.callee.endpoint.e164, path: request.callee.callCenter ? '/callee/callCenter' : '/callee/number' });
  // a call center's other numbers are rung when the first does not answer
  for (const e164 of request.callee.callCenter?.numbers ?? []) if (!out.some((n) => n.e164 === e164)) out.push({ e164, path: '/callee/callCenter' });
  return out;
}

/**
 * Refuses a callback that would ring a number its owner put on the do-not-call list, whichever
 * intake it came from (REST, messages, the button). Throws NUMBER_DO_NOT_CALL (422), naming the
 * field. No list (the capability not wired): nothing is refused.
 */
export async function assertNotOnDoNotCallList(request: CallbackRequest, owner: string, list: DoNotCallList | undefined): Promise<void> {
  if (!list) return;
  const numbers = numbersOf(request);
  if (numbers.length === 0) return;
  const listed = new Set(await list.listed(owner, numbers.map((n) => n.e164)));
  const details: ErrorDetail[] = numbers.filter((n) => listed.has(n.e164)).map((n) => ({ path: n.path, message: 'this number is on the do-not-call list of this API key' }));
  if (details.length > 0) throw new CrosslineError('NUMBER_DO_NOT_CALL', undefined, details);
}
