import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import smpp, { PDU, type MessageField, type Server, type Session } from 'smpp';

/**
 * A carrier's SMSC for the tests, on node-smpp's server side over a real socket: it takes binds
 * with a system_id and password, records every submit_sm (decoded text and raw octets), answers
 * with message ids, sends MO messages and delivery receipts as deliver_sm, and can be told to
 * throttle, to fail, to stay silent, or to drop the connection.
 */

export interface SubmittedPart {
  sessionId: number;
  messageId: string;
  sourceAddr: string;
  sourceTon: number;
  destinationAddr: string;
  destTon: number;
  dataCoding: number;
  esmClass: number;
  registeredDelivery: number;
  /** The text of this part as the library decoded it (GSM 03.38 or UCS-2). */
  text: string;
  /** Concatenation: from the UDH (IEI 0x00 / 0x08) or the sar_ TLVs. */
  concat?: { ref: number; total: number; seq: number; via: 'udh' | 'sar' };
}

export interface BindAttempt {
  systemId: string;
  ok: boolean;
}

/** What the SMSC answers the next submit_sm with: a command_status, or `silent` (no answer at all). */
export type SubmitAnswer = number | 'silent';

export class TestSmsc extends EventEmitter {
  readonly submitted: SubmittedPart[] = [];
  readonly binds: BindAttempt[] = [];
  /** deliver_sm answers Crossline sent back (command_status), in order. */
  readonly deliverAnswers: number[] = [];
  private readonly answers: SubmitAnswer[] = [];
  private readonly sessions = new Map<number, Session>();
  private readonly boundSessions = new Set<number>();
  private nextSessionId = 1;
  private nextMessageId = 0x1a2b3c00;
  private refuseBinds = false;
  private answerEnquireLinks = true;
  /** enquire_link requests received from Crossline. */
  enquireLinks = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly systemId: string,
    readonly password: string,
  ) {
    super();
    this.setMaxListeners(0);
  }

  static async start(options: { systemId?: string; password?: string; port?: number } = {}): Promise<TestSmsc> {
    const systemId = options.systemId ?? 'crossline';
    const password = options.password ?? 'secret12';
    let smsc: TestSmsc | undefined;
    const server = smpp.createServer({}, (session) => smsc?.accept(session));
    await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
    smsc = new TestSmsc(server, (server.address() as AddressInfo).port, systemId, password);
    return smsc;
  }

  /** `smpp://system_id:password@127.0.0.1:<port>`. */
  get url(): string {
    return `smpp://${encodeURIComponent(this.systemId)}:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}`;
  }

  /** Sessions bound right now. */
  get boundCount(): number {
    return this.boundSessions.size;
  }

  /** The next submit_sm answers, in order (then ESME_ROK again). */
  answerNext(...answers: SubmitAnswer[]): void {
    this.answers.push(...answers);
  }

  /** Refuse (true) or accept (false) binds from now on, whatever the credentials. */
  setRefuseBinds(refuse: boolean): void {
    this.refuseBinds = refuse;
  }

  /** Answer enquire_link (true) or leave it unanswered (false: a link that died half-way). */
  setAnswerEnquireLink(answer: boolean): void {
    this.answerEnquireLinks = answer;
  }

  /** Cuts every connection without unbinding (a network failure or an SMSC restart). */
  dropConnections(): void {
    for (const session of this.sessions.values()) session.destroy();
  }

  /** Sends an MO text message (GSM 03.38 when it fits, else UCS-2) from `from` to `to`; resolves with Crossline's answer. */
  deliverMo(from: string, to: string, text: string, options: { ton?: number; udh?: Buffer; sar?: { ref: number; total: number; seq: number } } = {}): Promise<number> {
    const ton = options.ton ?? (from.startsWith('+') ? 1 : 0);
    const gsm = smpp.gsmCoder.GSM.charRegex.test(text);
    const octets = gsm ? smpp.gsmCoder.encode(text, 0) : Buffer.from(text, 'utf16le').swap16();
    return this.deliver({
      source_addr_ton: ton,
      source_addr_npi: 1,
      source_addr: from.replace(/^\+/, ''),
      dest_addr_ton: 0,
      dest_addr_npi: 1,
      destination_addr: to.replace(/^\+/, ''),
      esm_class: options.udh ? 0x40 : 0,
      data_coding: gsm ? 0 : 8,
      short_message: options.udh ? Buffer.concat([options.udh, octets]) : octets,
      ...(options.sar ? { sar_msg_ref_num: options.sar.ref, sar_total_segments: options.sar.total, sar_segment_seqnum: options.sar.seq } : {}),
    });
  }

  /**
   * Sends a delivery receipt for `messageId` (Appendix B text, plus the receipted_message_id and
   * message_state TLVs unless `textOnly`).
   */
  deliverReceipt(part: Pick<SubmittedPart, 'messageId' | 'destinationAddr'>, stat: 'DELIVRD' | 'UNDELIV' | 'EXPIRED' | 'REJECTD' | 'ENROUTE', options: { textOnly?: boolean; idInText?: string; err?: string } = {}): Promise<number> {
    const states: Record<string, number> = { ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, UNDELIV: 5, REJECTD: 8 };
    const date = new Date().toISOString().replace(/[-T:]/g, '').slice(2, 12);
    const text = `id:${options.idInText ?? part.messageId} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} submit date:${date} done date:${date} stat:${stat} err:${options.err ?? '000'} text:`;
    return this.deliver({
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: part.destinationAddr,
      esm_class: 0x04,
      data_coding: 0,
      short_message: Buffer.from(text, 'ascii'),
      ...(options.textOnly ? {} : { receipted_message_id: part.messageId, message_state: states[stat] }),
    });
  }

  /** Resolves once a session is bound (at least `count`). */
  waitForBinds(count = 1, timeoutMs = 5000): Promise<void> {
    return this.waitFor(() => this.binds.filter((b) => b.ok).length >= count, timeoutMs, `${count} bind(s)`);
  }

  /** Resolves once `count` parts were submitted in all. */
  waitForSubmits(count: number, timeoutMs = 5000): Promise<SubmittedPart[]> {
    return this.waitFor(() => this.submitted.length >= count, timeoutMs, `${count} submit_sm`).then(() => this.submitted.slice(0, count));
  }

  async waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`test SMSC: timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async close(): Promise<void> {
    for (const session of this.sessions.values()) session.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private deliver(params: Record<string, unknown>): Promise<number> {
    const session = [...this.boundSessions].map((id) => this.sessions.get(id)).find((s) => s !== undefined);
    if (session === undefined) return Promise.reject(new Error('test SMSC: no bound session to deliver on'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('test SMSC: no deliver_sm_resp')), 5000);
      session.send(new PDU('deliver_sm', params), (resp) => {
        clearTimeout(timer);
        this.deliverAnswers.push(resp.command_status);
        resolve(resp.command_status);
      });
    });
  }

  private accept(session: Session): void {
    const id = this.nextSessionId++;
    this.sessions.set(id, session);
    session.on('error', () => undefined);
    session.on('close', () => {
      this.sessions.delete(id);
      this.boundSessions.delete(id);
    });
    const bind = (pdu: PDU): void => {
      const ok = !this.refuseBinds && pdu.system_id === this.systemId && pdu.password === this.password;
      this.binds.push({ systemId: String(pdu.system_id), ok });
      if (!ok) {
        session.send(pdu.response({ command_status: smpp.errors.ESME_RINVPASWD }));
        return;
      }
      this.boundSessions.add(id);
      session.send(pdu.response({ system_id: 'TESTSMSC' }));
      this.emit('bind');
    };
    session.on('bind_transceiver', bind);
    session.on('bind_transmitter', bind);
    session.on('enquire_link', (pdu: PDU) => {
      this.enquireLinks += 1;
      if (this.answerEnquireLinks) session.send(pdu.response());
    });
    session.on('unbind', (pdu: PDU) => {
      this.boundSessions.delete(id);
      session.send(pdu.response());
      session.close();
    });
    session.on('submit_sm', (pdu: PDU) => {
      if (!this.boundSessions.has(id)) {
        session.send(pdu.response({ command_status: smpp.errors.ESME_RINVBNDSTS }));
        return;
      }
      const answer = this.answers.shift() ?? 0;
      if (answer === 'silent') return;
      if (answer !== 0) {
        session.send(pdu.response({ command_status: answer }));
        this.emit('refused', answer);
        return;
      }
      const field = pdu.short_message as MessageField;
      const messageId = (this.nextMessageId++).toString(16).toUpperCase();
      const udh = field.udh ?? [];
      const ie = udh.find((u) => u[0] === 0x00 || u[0] === 0x08);
      const concat =
        ie !== undefined
          ? ie[0] === 0x00
            ? { ref: ie[2]!, total: ie[3]!, seq: ie[4]!, via: 'udh' as const }
            : { ref: ie.readUInt16BE(2), total: ie[4]!, seq: ie[5]!, via: 'udh' as const }
          : typeof pdu.sar_total_segments === 'number'
            ? { ref: Number(pdu.sar_msg_ref_num), total: pdu.sar_total_segments, seq: Number(pdu.sar_segment_seqnum), via: 'sar' as const }
            : undefined;
      const part: SubmittedPart = {
        sessionId: id,
        messageId,
        sourceAddr: String(pdu.source_addr),
        sourceTon: Number(pdu.source_addr_ton),
        destinationAddr: String(pdu.destination_addr),
        destTon: Number(pdu.dest_addr_ton),
        dataCoding: Number(pdu.data_coding),
        esmClass: Number(pdu.esm_class),
        registeredDelivery: Number(pdu.registered_delivery),
        text: typeof field.message === 'string' ? field.message : field.message.toString('hex'),
        ...(concat ? { concat } : {}),
      };
      this.submitted.push(part);
      session.send(pdu.response({ message_id: messageId }));
      this.emit('submit', part);
    });
  }
}

/**
 * `npx tsx test/support/smsc.ts [port]`: the test SMSC on its own, for trying the SMS channel
 * against `npm start` (README, "Text messages"). It prints what Crossline sends and answers each
 * with a delivery receipt; a line typed as `+12025550123 call Ada` is sent to Crossline as an MO
 * text from that number.
 */
async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? 2775);
  const smsc = await TestSmsc.start({ port, systemId: process.env.SMSC_SYSTEM_ID ?? 'crossline', password: process.env.SMSC_PASSWORD ?? 'secret12' });
  console.log(`test SMSC on ${smsc.url.replace(/:[^:@]*@/, ':***@')} — type "+<number> <text>" to send a text to Crossline`);
  smsc.on('bind', () => console.log('bound'));
  smsc.on('submit', (part: SubmittedPart) => {
    console.log(`→ +${part.destinationAddr}${part.concat ? ` [${part.concat.seq}/${part.concat.total}]` : ''}: ${part.text}`);
    setTimeout(() => void smsc.deliverReceipt(part, 'DELIVRD').catch(() => undefined), 500);
  });
  const to = process.env.SMSC_TO ?? '+12025550199';
  createInterface({ input: process.stdin }).on('line', (line) => {
    const m = /^\s*(\+?[0-9]{6,16})\s+(.+)$/.exec(line);
    if (!m) return console.log('type: +12025550123 call Ada');
    smsc.deliverMo(m[1]!, to, m[2]!).then((status) => console.log(`← ${m[1]}: ${m[2]} (answered ${status})`), (err: Error) => console.log(err.message));
  });
}

if (require.main === module) void main();
