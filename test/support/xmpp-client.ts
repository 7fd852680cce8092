import { client, xml, type Client, type Element } from '@xmpp/client';

/** A test's own XMPP account (a person's IM client), connected to the test's Prosody. */
export interface TestXmppUser {
  client: Client;
  jid: string;
  /** Every stanza received so far. */
  stanzas: Element[];
  /** Resolves with the first stanza (received so far or later) that `match` accepts. */
  waitFor(match: (stanza: Element) => boolean, timeoutMs?: number): Promise<Element>;
  send(stanza: Element): Promise<void>;
  stop(): Promise<void>;
}

export async function connectTestUser(service: string, domain: string, user: string, password: string, resource = 'phone', options: { available?: boolean } = {}): Promise<TestXmppUser> {
  const c = client({ service, domain, username: user, password, resource });
  c.reconnect.stop();
  const stanzas: Element[] = [];
  const waiters: Array<{ match: (s: Element) => boolean; resolve: (s: Element) => void }> = [];
  c.on('error', () => undefined);
  c.on('stanza', (stanza: Element) => {
    stanzas.push(stanza);
    for (const w of [...waiters]) {
      if (w.match(stanza)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(stanza);
      }
    }
  });
  await c.start();
  // Prosody sends roster pushes and subscription stanzas only to resources that asked for the roster.
  await c.iqCaller.request(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  // Available, as a client is once logged in: messages to the bare JID reach it.
  if (options.available !== false) await c.send(xml('presence'));
  return {
    client: c,
    jid: `${user}@${domain}`,
    stanzas,
    waitFor(match, timeoutMs = 10_000) {
      const found = stanzas.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching stanza within ${timeoutMs} ms; got:\n${stanzas.map(String).join('\n')}`)), timeoutMs);
        waiters.push({ match, resolve: (s) => (clearTimeout(timer), resolve(s)) });
      });
    },
    send: (stanza) => c.send(stanza),
    async stop() {
      await c.stop().catch(() => undefined);
    },
  };
}

export { xml };
