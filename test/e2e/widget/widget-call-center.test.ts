/**
 * A site whose target is a call center, live through the whole Crossline (simulator): the visitor's
 * submission through the public intake becomes a callback to the center (its number, its IVR route
 * walked), then to the visitor, and the visitor's status stream reports each step to "connected".
 * And the owner's do-not-call list, kept by the callback domain, stops the button too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { solveChallenge } from 'altcha-lib/v1';
import { startHarness, type Harness } from '../../support/harness.js';

const ORIGIN = 'https://shop.example';

interface VisitorStatus {
  state: string;
  final: boolean;
}

/** Reads the SSE stream at `url` until `stop` says so; returns every status it pushed, in order. */
async function statuses(url: string, stop: (s: VisitorStatus) => boolean, onEach: (s: VisitorStatus) => void, timeoutMs = 30_000): Promise<VisitorStatus[]> {
  const res = await fetch(url, { headers: { Origin: ORIGIN, Accept: 'text/event-stream' }, signal: AbortSignal.timeout(timeoutMs) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN);
  const seen: VisitorStatus[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = /^event: status\ndata: (.*)$/m.exec(event)?.[1];
      if (data === undefined) continue;
      const status = JSON.parse(data) as VisitorStatus;
      seen.push(status);
      onEach(status);
      if (stop(status) || status.final) return seen;
    }
  }
  return seen;
}

describe('a site that targets a call center, live', () => {
  let h: Harness;
  let api = '';
  before(async () => {
    h = await startHarness({ env: { WIDGET_SECRET: 'widget-secret-call-center-01', WIDGET_CHALLENGE_MAX_NUMBER: '2000' } });
    api = h.runtime.apiUrl ?? '';
  });
  after(async () => {
    await h?.close();
  });

  test('the visitor submits, the center is rung and its IVR route walked, then the visitor; the stream says calling the site, calling you, connected', async () => {
    // +1 202 555 0170: an IVR whose first menu takes one digit, the second digits until '#'
    const center = await h.api().post('/v1/call-centers').send({
      name: 'acme',
      displayName: 'Acme Support',
      numbers: ['+12025550170'],
      routes: { sales: { ivr: [{ waitForSilence: { timeoutMs: 10_000 } }, { digits: '2' }, { waitForSilence: { timeoutMs: 10_000 } }, { digits: '#' }] } },
    });
    assert.equal(center.status, 201, JSON.stringify(center.body));
    const site = await h.api().post('/v1/sites').send({ name: 'Acme Shop', allowedOrigins: [ORIGIN], target: { callCenter: 'acme', route: 'sales' } });
    assert.equal(site.status, 201, JSON.stringify(site.body));
    assert.deepEqual(site.body.target, { callCenter: 'acme', route: 'sales' });
    const base = `${api}/v1/widget/sites/${site.body.publicKey}`;

    const challenge = (await (await fetch(`${base}/challenge`, { headers: { Origin: ORIGIN } })).json()) as { algorithm: string; challenge: string; salt: string; signature: string; maxnumber: number };
    const solution = await solveChallenge(challenge.challenge, challenge.salt, challenge.algorithm, challenge.maxnumber).promise;
    assert.ok(solution);
    const submitted = await fetch(`${base}/callbacks`, {
      method: 'POST',
      headers: { Origin: ORIGIN, 'Content-Type': 'application/json' },
      body: JSON.stringify({ number: '(202) 555-0101', country: 'US', name: 'Ada Lovelace', consent: true, pow: { algorithm: challenge.algorithm, challenge: challenge.challenge, number: solution.number, salt: challenge.salt, signature: challenge.signature } }),
    });
    const accepted = (await submitted.json()) as { id: string; events: string; status: VisitorStatus };
    assert.equal(submitted.status, 202, JSON.stringify(accepted));

    const pushed = await statuses(`${api}${accepted.events}`, (s) => s.state === 'connected', () => undefined);
    const states = pushed.map((s) => s.state).filter((s, i, all) => all[i - 1] !== s);
    // in order, ending connected; the stream polls, so on the simulator's fast clock a step shorter
    // than a poll ("calling you") may be passed over
    const order = ['calling-site', 'calling-you', 'connected'];
    assert.equal(states.at(-1), 'connected', states.join(' → '));
    assert.ok(states.includes('calling-site'), states.join(' → '));
    assert.deepEqual([...states].sort((a, b) => order.indexOf(a) - order.indexOf(b)), states, states.join(' → '));
    assert.ok(states.every((s) => order.includes(s)), states.join(' → '));

    const cb = (await h.api().get(`/v1/callbacks/${accepted.id}`).expect(200)).body as {
      status: string;
      request: { callee: { callCenter?: { name: string; route?: string; numbers: string[] } }; caller: { number: string; name?: string } };
      attempts: Array<{ legs: Array<{ role: string; uuid: string; endpoint: string }> }>;
    };
    assert.equal(cb.status, 'bridged');
    assert.deepEqual(cb.request.callee.callCenter, { name: 'acme', route: 'sales', numbers: ['+12025550170'] });
    assert.deepEqual(cb.request.caller, { number: '+12025550101', name: 'Ada Lovelace' });
    const legs = cb.attempts[0]?.legs ?? [];
    const callee = legs.find((l) => l.role === 'callee');
    assert.match(callee?.endpoint ?? '', /12025550170/, 'the center\'s number was rung');
    assert.equal(h.sim.farEnd(callee?.uuid ?? '')?.digits.map((d) => d.digit).join(''), '2#', 'the route was walked');
    assert.match(legs.find((l) => l.role === 'caller')?.endpoint ?? '', /12025550101/);

    // the call ends: the stream's last word is final
    const rest = statuses(`${api}${accepted.events}`, () => false, (s) => {
      if (s.state === 'connected') h.sim.remoteHangup(callee?.uuid ?? '');
    });
    const last = (await rest).at(-1);
    assert.deepEqual(last, { ...last, state: 'completed', final: true });
  });

  test('a visitor whose number the site owner put on the do-not-call list is refused by the callback domain, and nothing is called', async () => {
    const site = await h.api().post('/v1/sites').send({ name: 'Quiet Shop', allowedOrigins: [ORIGIN], target: { number: '+12025550100' } });
    assert.equal(site.status, 201, JSON.stringify(site.body));
    await h.api().put('/v1/do-not-call/%2B12025550105').expect(200);
    const base = `${api}/v1/widget/sites/${site.body.publicKey}`;
    const challenge = (await (await fetch(`${base}/challenge`, { headers: { Origin: ORIGIN } })).json()) as { algorithm: string; challenge: string; salt: string; signature: string; maxnumber: number };
    const solution = await solveChallenge(challenge.challenge, challenge.salt, challenge.algorithm, challenge.maxnumber).promise;
    assert.ok(solution);
    const originates = h.sim.originates().length;
    const res = await fetch(`${base}/callbacks`, {
      method: 'POST',
      headers: { Origin: ORIGIN, 'Content-Type': 'application/json' },
      body: JSON.stringify({ number: '+12025550105', consent: true, pow: { algorithm: challenge.algorithm, challenge: challenge.challenge, number: solution.number, salt: challenge.salt, signature: challenge.signature } }),
    });
    const body = (await res.json()) as { error: { code: string; details: Array<{ path: string }> } };
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.equal(body.error.code, 'NUMBER_DO_NOT_CALL');
    assert.deepEqual(body.error.details.map((d) => d.path), ['/caller/number']);
    const list = (await h.api().get('/v1/callbacks?limit=100').expect(200)).body as { items: Array<{ request: { caller: { number?: string } } }> };
    assert.ok(!list.items.some((cb) => cb.request.caller.number === '+12025550105'), 'no callback stored');
    assert.equal(h.sim.originates().length, originates, 'nothing dialled');
  });
});
