// The README's typed-client example, kept here so that tsc checks it against the generated types
// and test/api/contract-types.test.ts runs it against the API. Outside this repository, import
// the types from your copy of src/api/contract.gen.ts.
import { randomUUID } from 'node:crypto';
import createClient from 'openapi-fetch';
import type { components, paths } from '../../src/api/contract.gen.js';

type Callback = components['schemas']['Callback'];
type ApiError = components['schemas']['Error'];

const FINAL_STATUSES: ReadonlyArray<Callback['status']> = ['completed', 'failed', 'canceled'];

const failure = ({ error }: ApiError): Error => new Error(`${error.code}: ${error.message}`);

/** Asks Crossline to connect Ada to Acme's support line, then polls until the callback has ended. */
export async function callAndFollow(baseUrl: string, apiKey: string, pollMs = 2000): Promise<Callback> {
  const crossline = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });

  const created = await crossline.POST('/v1/callbacks', {
    params: { header: { 'Idempotency-Key': randomUUID() } }, // send the same key again if you retry
    body: {
      caller: { number: '+12025550100', name: 'Ada' },
      callee: { number: '+12025550170', name: 'Acme Support', dtmf: '1w2#' },
      announce: { caller: 'Connecting you to Acme.' },
    },
  });
  if (created.error) throw failure(created.error);

  let callback = created.data; // typed: status, attempts, legs, timeline…
  while (!FINAL_STATUSES.includes(callback.status)) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    const { data, error } = await crossline.GET('/v1/callbacks/{id}', { params: { path: { id: callback.id } } });
    if (error) throw failure(error);
    callback = data;
  }
  return callback;
}
