import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { createEslSimulator, type EslSimulator } from '../../src/simulator/index.js';
import { decodeEvent, header, loadCapture, splitFrames, type DecodedEvent, type Pair } from './esl-frames.js';

/** A raw ESL connection that keeps every byte, subscribed to `events` in `format`. */
async function rawClient(sim: EslSimulator, format: 'plain' | 'json', events: string): Promise<{ bytes: () => Buffer; send: (c: string) => void; close: () => void }> {
  const socket = net.connect(sim.port, sim.host);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const send = (c: string): void => void socket.write(`${c}\n\n`);
  const waitFor = async (text: string): Promise<void> => {
    for (let i = 0; i < 100 && !Buffer.concat(chunks).toString().includes(text); i++) await new Promise((r) => setTimeout(r, 10));
  };
  await waitFor('auth/request');
  send(`auth ${sim.password}`);
  await waitFor('+OK accepted');
  send(`event ${format} ${events}`);
  await waitFor('event listener enabled');
  return { bytes: () => Buffer.concat(chunks), send, close: () => socket.destroy() };
}

const eventsOf = (bytes: Buffer): DecodedEvent[] => splitFrames(bytes, true).map(decodeEvent).filter((e): e is DecodedEvent => e !== undefined);
const callcenter = (events: DecodedEvent[]): DecodedEvent[] => events.filter((e) => header(e.headers, 'Event-Subclass') === 'callcenter::info');
const action = (e: DecodedEvent): string => header(e.headers, 'CC-Action') ?? '';

/** The shape of an event: header names in order, the channel's variables folded into one marker. */
function shape(headers: readonly Pair[]): string[] {
  const out: string[] = [];
  for (const [name] of headers) {
    const folded = name.startsWith('variable_') ? 'variable_*' : name;
    if (out.at(-1) !== folded) out.push(folded);
  }
  return out;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const format of ['plain', 'json'] as const) {
  test(`mod_callcenter emulation (${format}): a member is offered, answered and ends with the events, headers and header order of the p-callcenter capture`, async () => {
    const capture = callcenter(eventsOf(loadCapture(`p-callcenter.${format}`).bytes));
    const sim = await createEslSimulator({ timeScale: 0.05 });
    const client = await rawClient(sim, format, 'CUSTOM callcenter::info');
    try {
      sim.addAgent({ name: '1000@default', queues: ['support@default'], number: '+12025550121', answerAfterMs: 1000, talkMs: 3000, wrapUpSec: 10 });
      const member = sim.joinQueue('support@default', { cidNumber: '+12025550109', cidName: 'Ada' });
      await until(() => callcenter(eventsOf(client.bytes())).some((e) => action(e) === 'member-queue-end'));
      await until(() => callcenter(eventsOf(client.bytes())).filter((e) => action(e) === 'agent-state-change').length >= 3);
      const got = callcenter(eventsOf(client.bytes()));
      // The first call of the capture, from member-queue-start to the agent back to Waiting.
      const first = capture.slice(capture.findIndex((e) => action(e) === 'member-queue-start'));
      const end = first.findIndex((e) => action(e) === 'member-queue-end');
      const expected = first.slice(0, end + 2);
      assert.deepEqual(got.map((e) => `${action(e)} ${header(e.headers, 'CC-Agent-State') ?? ''}`.trim()), expected.map((e) => `${action(e)} ${header(e.headers, 'CC-Agent-State') ?? ''}`.trim()));
      for (const [i, e] of got.entries()) {
        const want = expected[i];
        assert.ok(want);
        // Header names and order match, with the channel data of the right leg (member or agent).
        const drop = (s: string[]): string[] => s.filter((n) => !/^(Caller|Other-Leg)-(Network-Addr|Dialplan|Username)$/.test(n));
        assert.deepEqual(drop(shape(e.headers)), drop(shape(want.headers)), `${action(e)}: header order`);
        assert.equal(e.headers[0]?.[0], 'Event-Subclass');
        assert.equal(header(e.headers, 'Event-Calling-Function'), header(want.headers, 'Event-Calling-Function'));
      }
      const start = got.find((e) => action(e) === 'member-queue-start');
      assert.equal(header(start?.headers ?? [], 'CC-Member-Session-UUID'), member);
      assert.equal(header(start?.headers ?? [], 'Unique-ID'), member);
      assert.equal(header(start?.headers ?? [], 'Channel-Name'), 'loopback/7000-b');
      const bridge = got.find((e) => action(e) === 'bridge-agent-start');
      assert.equal(header(bridge?.headers ?? [], 'Unique-ID'), header(bridge?.headers ?? [], 'CC-Agent-UUID'));
      assert.equal(header(bridge?.headers ?? [], 'Channel-Name'), 'sofia/internal/+12025550121');
    } finally {
      client.close();
      await sim.close();
    }
  });
}

test('callcenter_config lists members and agents as the real module prints them, members served by score (base_score + seconds waited)', async () => {
  const sim = await createEslSimulator({ timeScale: 0.05 });
  const client = await rawClient(sim, 'plain', 'CUSTOM callcenter::info');
  const api = async (cmd: string): Promise<string> => {
    const before = splitFrames(client.bytes(), true).length;
    client.send(`api ${cmd}`);
    await until(() => splitFrames(client.bytes(), true).slice(before).some((f) => header(f.headers, 'Content-Type') === 'api/response'));
    const frame = splitFrames(client.bytes(), true).slice(before).find((f) => header(f.headers, 'Content-Type') === 'api/response');
    return frame?.body?.toString() ?? '';
  };
  try {
    sim.addAgent({ name: '1000@default', queues: ['sales@default'], answerAfterMs: 200, talkMs: 60_000, wrapUpSec: 1 });
    assert.equal(await api("callcenter_config agent set status 1000@default 'On Break'"), '+OK\n');
    const bob = sim.joinQueue('sales@default', { cidNumber: '+12025550108', cidName: 'Bob' });
    const ada = sim.joinQueue('sales@default', { cidNumber: '+12025550109', cidName: 'Ada', baseScore: 600 });
    assert.equal(await api('callcenter_config queue count members sales@default'), '2\n');
    const list = (await api('callcenter_config queue list members sales@default')).split('\n');
    assert.equal(list[0], 'queue|instance_id|uuid|session_uuid|cid_number|cid_name|system_epoch|joined_epoch|rejoined_epoch|bridge_epoch|abandoned_epoch|base_score|skill_score|serving_agent|serving_system|state|score');
    assert.equal(list.at(-2), '+OK');
    assert.match(list[1] ?? '', /^sales@default\|single_box\|[0-9a-f-]{36}\|[0-9a-f-]{36}\|\+12025550108\|Bob\|\d+\|\d+\|0\|0\|0\|0\|0\|\|\|Waiting\|\d+$/);
    assert.equal(await api('callcenter_config agent set status 1000@default Unknown'), '-ERR Invalid Agent Status!\n');
    assert.equal(await api('callcenter_config agent set status 1000@default Available'), '+OK\n');
    // Ada joined later but with 600 s of base score: she is offered first.
    await until(() => callcenter(eventsOf(client.bytes())).some((e) => action(e) === 'bridge-agent-start'));
    const bridged = callcenter(eventsOf(client.bytes())).find((e) => action(e) === 'bridge-agent-start');
    assert.equal(header(bridged?.headers ?? [], 'CC-Member-Session-UUID'), ada);
    const agents = (await api('callcenter_config queue list agents sales@default')).split('\n');
    assert.equal(agents[0]?.split('|').length, 21);
    assert.match(agents[1] ?? '', /^1000@default\|single_box\|\|callback\|.*\|Available\|In a queue call\|/);
    // Bob abandons: member-queue-end with CC-Cause Cancel.
    sim.leaveQueue(bob);
    await until(() => callcenter(eventsOf(client.bytes())).some((e) => action(e) === 'member-queue-end'));
    const end = callcenter(eventsOf(client.bytes())).find((e) => action(e) === 'member-queue-end');
    assert.equal(header(end?.headers ?? [], 'CC-Cause'), 'Cancel');
    assert.equal(header(end?.headers ?? [], 'CC-Cancel-Reason'), 'BREAK_OUT');
    assert.equal(header(end?.headers ?? [], 'Event-Calling-Line-Number'), '3274');
    // As on the real switch: the abandoned member stays listed (no session) and counted until discarded.
    const after = (await api('callcenter_config queue list members sales@default')).split('\n');
    assert.match(after.find((l) => l.includes('|Bob|')) ?? '', /^sales@default\|single_box\|[0-9a-f-]{36}\|\|\+12025550108\|Bob\|\d+\|\d+\|0\|0\|\d+\|0\|0\|\|\|Abandoned\|\d+$/);
    assert.equal(await api('callcenter_config queue count members sales@default'), '2\n');
    assert.equal(await api('callcenter_config queue list members nosuch@default'), '+OK\n');
  } finally {
    client.close();
    await sim.close();
  }
});

test('an originate to loopback/7000/default joins support@default as the real switch does: the loopback-b member carries the origination variables (cc_base_score) and other_loopback_leg_uuid, and leaves when the A leg hangs up', async () => {
  const sim = await createEslSimulator({ timeScale: 0.05 });
  const client = await rawClient(sim, 'plain', 'CHANNEL_ANSWER CUSTOM callcenter::info');
  const cc = (): DecodedEvent[] => callcenter(eventsOf(client.bytes()));
  try {
    sim.addAgent({ name: '1000@default', queues: ['support@default'], status: 'On Break' });
    const a = '6f1c5e0a-1111-4c2b-9d6e-000000000001';
    client.send(`bgapi originate {origination_uuid=${a},cc_base_score=600,origination_caller_id_number=+12025550109,origination_caller_id_name=Ada}loopback/7000/default &park()`);
    await until(() => cc().some((e) => action(e) === 'member-queue-start'));
    const answers = eventsOf(client.bytes()).filter((e) => header(e.headers, 'Event-Name') === 'CHANNEL_ANSWER');
    assert.equal(header(answers[0]?.headers ?? [], 'Unique-ID'), a);
    assert.equal(header(answers[0]?.headers ?? [], 'Channel-Name'), 'loopback/7000-a');
    const start = cc().find((e) => action(e) === 'member-queue-start');
    const h = (name: string): string | undefined => header(start?.headers ?? [], name);
    const session = h('CC-Member-Session-UUID');
    assert.notEqual(session, a);
    assert.equal(h('Unique-ID'), session);
    assert.equal(h('Channel-Name'), 'loopback/7000-b');
    assert.equal(h('variable_other_loopback_leg_uuid'), a);
    assert.equal(h('variable_loopback_leg'), 'B');
    assert.equal(h('variable_cc_base_score'), '600');
    assert.equal(h('CC-Member-CID-Name'), 'Ada');
    // The variables stand where loopback puts them: after the codecs, before call_uuid (p-callcenter).
    const names = (start?.headers ?? []).map(([n]) => n);
    assert.ok(names.indexOf('variable_write_rate') < names.indexOf('variable_origination_uuid'));
    assert.ok(names.indexOf('variable_loopback_leg') < names.indexOf('variable_call_uuid'));
    client.send('api callcenter_config queue list members support@default');
    await until(() => client.bytes().toString().includes('|Ada|'));
    assert.match(client.bytes().toString(), /\|Ada\|\d+\|\d+\|0\|0\|0\|600\|0\|\|\|Waiting\|\d+/);
    client.send(`bgapi uuid_kill ${a}`);
    await until(() => cc().some((e) => action(e) === 'member-queue-end'));
    const end = cc().find((e) => action(e) === 'member-queue-end');
    assert.equal(header(end?.headers ?? [], 'CC-Cause'), 'Cancel');
    assert.equal(header(end?.headers ?? [], 'CC-Member-Session-UUID'), session);
  } finally {
    client.close();
    await sim.close();
  }
});

test('an agent that lets an offer ring out is a no-answer as in mod_callcenter: bridge-agent-fail (NO_ANSWER), the member waits again and goes to the next agent; tiers: a level-1 agent is offered before a level-2 one', async () => {
  const sim = await createEslSimulator({ timeScale: 0.02 });
  const client = await rawClient(sim, 'plain', 'CUSTOM callcenter::info');
  const cc = (): DecodedEvent[] => callcenter(eventsOf(client.bytes()));
  try {
    // Level 2 joins first (idle longest), but level 1 is offered first; it never answers and is put On Break after one miss.
    sim.addAgent({ name: '1002@default', queues: ['sales@default'], number: '+12025550122', level: 2, answerAfterMs: 500, talkMs: 1000 });
    sim.addAgent({ name: '1001@default', queues: ['sales@default'], number: '+12025550121', level: 1, missOffers: Number.POSITIVE_INFINITY, legTimeoutSec: 10, maxNoAnswer: 1 });
    const member = sim.joinQueue('sales@default', { cidNumber: '+12025550108', cidName: 'Bob' });
    await until(() => cc().some((e) => action(e) === 'bridge-agent-start'));
    const seq = cc().map((e) => `${action(e)} ${header(e.headers, 'CC-Agent') ?? ''} ${header(e.headers, 'CC-Agent-Status') ?? header(e.headers, 'CC-Agent-State') ?? ''}`.trim());
    const from = seq.indexOf('agent-offering 1001@default');
    assert.ok(from >= 0, seq.join('\n'));
    assert.deepEqual(seq.slice(from, from + 6), [
      'agent-offering 1001@default',
      'agent-status-change 1001@default On Break',
      'bridge-agent-fail 1001@default',
      'agent-state-change 1001@default Waiting',
      'agent-state-change 1002@default Receiving',
      'agent-offering 1002@default',
    ]);
    const fail = cc().find((e) => action(e) === 'bridge-agent-fail');
    const failHeaders = (fail?.headers ?? []).map(([n]) => n).filter((n) => n.startsWith('CC-'));
    // mod_callcenter.c's order; no channel data on this event.
    assert.deepEqual(failHeaders, ['CC-Queue', 'CC-Action', 'CC-Hangup-Cause', 'CC-Agent', 'CC-Agent-System', 'CC-Agent-Called-Time', 'CC-Agent-Aborted-Time', 'CC-Member-UUID', 'CC-Member-Session-UUID', 'CC-Member-CID-Name', 'CC-Member-CID-Number', 'CC-Member-Joined-Time']);
    assert.equal(header(fail?.headers ?? [], 'CC-Hangup-Cause'), 'NO_ANSWER');
    assert.equal(header(fail?.headers ?? [], 'Unique-ID'), undefined);
    assert.equal(header(fail?.headers ?? [], 'CC-Member-Session-UUID'), member);
    const bridged = cc().find((e) => action(e) === 'bridge-agent-start');
    assert.equal(header(bridged?.headers ?? [], 'CC-Agent'), '1002@default');
  } finally {
    client.close();
    await sim.close();
  }
});

for (const format of ['plain', 'json'] as const) {
  test(`the loopback/7000/default leg (${format}) goes from its rename to its park with the events of the p-callcenter capture, in its order`, async () => {
    const capture = eventsOf(loadCapture(`p-callcenter.${format}`).bytes);
    const a = header(capture.find((e) => header(e.headers, 'Event-Name') === 'CHANNEL_UUID')?.headers ?? [], 'Unique-ID');
    const legEvents = (events: DecodedEvent[], uuid: string | undefined): string[] => {
      const names = events.filter((e) => header(e.headers, 'Unique-ID') === uuid).map((e) => header(e.headers, 'Event-Name') ?? '');
      return names.slice(0, names.indexOf('CHANNEL_PARK') + 1);
    };
    const expected = legEvents(capture, a);
    assert.equal(expected[0], 'CHANNEL_UUID');
    const sim = await createEslSimulator({ timeScale: 0.05 });
    const client = await rawClient(sim, format, 'ALL');
    try {
      const uuid = '6f1c5e0a-1111-4c2b-9d6e-000000000002';
      client.send(`bgapi originate {origination_uuid=${uuid},origination_caller_id_number=+12025550109,origination_caller_id_name=Ada}loopback/7000/default &park()`);
      await until(() => legEvents(eventsOf(client.bytes()), uuid).includes('CHANNEL_PARK'));
      const got = eventsOf(client.bytes()).filter((e) => header(e.headers, 'Unique-ID') === uuid);
      assert.deepEqual(legEvents(eventsOf(client.bytes()), uuid), expected);
      const renamed = got[0]?.headers ?? [];
      assert.ok(header(renamed, 'Old-Unique-ID') !== undefined && header(renamed, 'Old-Unique-ID') !== uuid);
      assert.equal(header(renamed, 'Event-Calling-Function'), 'switch_core_session_set_uuid');
      assert.equal(header(got.find((e) => header(e.headers, 'Event-Name') === 'CHANNEL_ANSWER')?.headers ?? [], 'Channel-Read-Codec-Name'), 'L16');
    } finally {
      client.close();
      await sim.close();
    }
  });
}
