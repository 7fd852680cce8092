/**
 * The operator dashboard's page script: reads the /v1/admin operations (the same API as the rest
 * of Crossline) with the session cookie, draws tables and uPlot charts, refreshes every few seconds.
 */
import uPlot from 'uplot';
import './dashboard.css';

const csrf = document.querySelector<HTMLMetaElement>('meta[name="crossline-csrf"]')?.content ?? '';
const $ = (id: string): HTMLElement => document.getElementById(id) as HTMLElement;

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { ...init, credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf, ...(init.headers ?? {}) } });
  if (res.status === 401) {
    location.assign('/dashboard/');
    throw new Error('signed out');
  }
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as T;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function table(caption: string, head: string[], rows: Array<Array<Node | string>>): HTMLTableElement {
  return el(
    'table',
    {},
    el('caption', { class: 'summary' }, caption),
    el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))),
  );
}

const time = (iso: string | undefined): string => (iso ? new Date(iso).toLocaleString() : '');

interface Leg { role: string; endpoint: string; uuid: string; startedAt: string; answeredAt?: string; endedAt?: string; hangupCause?: string }
interface CallbackView {
  id: string; status: string; createdAt: string; updatedAt: string; failureCause?: string; nextAttemptAt?: string;
  request: { caller: { number?: string; sipUri?: string }; callee: { number?: string; sipUri?: string; callCenter?: string } };
  attempts: Array<{ number: number; legs: Leg[] }>;
  timeline: Array<{ at: string; event: string; status?: string; role?: string; hangupCause?: string; detail?: string }>;
}
interface Bucket { hour: string; created: number; completed: number; failed: number; canceled: number; retries: number; failedByCause: Record<string, number>; meanSecondsToConnect?: number }
interface SwitchRow { id: string; connected: boolean; drained: boolean; sessions?: number; freeSessions?: number; [k: string]: unknown }

const endpointOf = (p: { number?: string; sipUri?: string; callCenter?: string }): string => p.number ?? p.sipUri ?? (p.callCenter ? `center ${p.callCenter}` : '');

async function loadSwitches(): Promise<void> {
  const body = await api<{ switches?: SwitchRow[]; items?: SwitchRow[] }>('/v1/admin/switches');
  const rows = body.switches ?? body.items ?? [];
  $('switches-body').replaceChildren(
    table(
      `${rows.length} switch(es)`,
      ['Switch', 'Connected', 'Drained', 'Sessions', 'Free sessions'],
      rows.map((s) => [s.id, s.connected ? 'yes' : 'no', s.drained ? 'yes' : 'no', String(s.sessions ?? '–'), String(s.freeSessions ?? '–')]),
    ),
  );
}

interface QueueRow {
  owner: string; callCenter: string;
  queue?: { source: string; waiting?: number; agentsAvailable?: number; agentsBusy?: number; oldestWaitSeconds?: number; expectedWaitSeconds?: number; method?: string; at: string };
  error?: { code: string; message: string };
}

const seconds = (s: number | undefined): string => (s === undefined ? '–' : s < 90 ? `${Math.round(s)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);
const count = (n: number | undefined): string => (n === undefined ? '–' : String(n));

async function loadCallCenters(): Promise<void> {
  const { items } = await api<{ items: QueueRow[] }>('/v1/admin/call-centers');
  $('call-centers-body').replaceChildren(
    table(
      `${items.length} call center(s): the queue now and the expected wait of a caller joining it`,
      ['Call center', 'API key', 'Queue', 'Waiting', 'Agents available', 'Agents busy', 'Longest wait', 'Expected wait'],
      items.map(({ owner, callCenter, queue, error }) => {
        if (error) return [callCenter, owner, `not readable: ${error.code}`, '–', '–', '–', '–', '–'];
        if (!queue || queue.source === 'none') return [callCenter, owner, 'none (hours only)', '–', '–', '–', '–', '–'];
        const wait = queue.expectedWaitSeconds === undefined ? 'no agent staffed' : `${seconds(queue.expectedWaitSeconds)}${queue.method === 'provider' ? ' (ACD)' : ''}`;
        return [callCenter, owner, queue.source, count(queue.waiting), count(queue.agentsAvailable), count(queue.agentsBusy), seconds(queue.oldestWaitSeconds), wait];
      }),
    ),
  );
}

function showDetail(c: CallbackView): void {
  const legs = c.attempts.flatMap((a) => a.legs.map((l) => [String(a.number), l.role, l.endpoint, time(l.startedAt), time(l.answeredAt), time(l.endedAt), l.hangupCause ?? '']));
  $('detail').replaceChildren(
    el('h3', {}, `Callback ${c.id}`),
    table('Legs', ['Attempt', 'Role', 'Endpoint', 'Started', 'Answered', 'Ended', 'Cause'], legs),
    table('Timeline', ['At', 'Event', 'Status', 'Detail'], c.timeline.map((e) => [time(e.at), e.event, e.status ?? '', [e.role, e.hangupCause, e.detail].filter(Boolean).join(' ')])),
  );
}

async function loadCallbacks(): Promise<void> {
  const form = $('filters') as HTMLFormElement;
  const params = new URLSearchParams();
  for (const [k, v] of new FormData(form)) if (typeof v === 'string' && v !== '' && (k !== 'owner' || /^[0-9a-f]{16}$/.test(v))) params.set(k, v);
  const body = await api<{ items: Array<{ owner: string; callback: CallbackView }> }>(`/v1/admin/callbacks?${params}`);
  $('callbacks-body').replaceChildren(
    table(
      `${body.items.length} newest callback(s)`,
      ['Created', 'Status', 'Callee', 'Caller', 'Attempts', 'API key', ''],
      body.items.map(({ owner, callback: c }) => {
        const open = el('button', { type: 'button', 'aria-label': `Details of callback ${c.id}` }, 'Details');
        open.addEventListener('click', () => showDetail(c));
        return [time(c.createdAt), el('span', { class: `status-${c.status}` }, c.status + (c.failureCause ? ` (${c.failureCause})` : '')), endpointOf(c.request.callee), endpointOf(c.request.caller), String(c.attempts.length), owner, open];
      }),
    ),
  );
}

const charts = new Map<string, uPlot>();
function chart(id: string, series: Array<{ label: string; stroke: string }>, data: uPlot.AlignedData): void {
  const host = $(id);
  const width = Math.min(560, Math.max(300, (host.parentElement?.clientWidth ?? 600) - 10));
  const existing = charts.get(id);
  if (existing) return existing.setData(data);
  charts.set(id, new uPlot({ width, height: 220, series: [{}, ...series.map((s) => ({ ...s, width: 2 }))], axes: [{}, {}] }, data, host));
}

async function loadStats(): Promise<void> {
  const { buckets } = await api<{ buckets: Bucket[] }>('/v1/admin/stats?hours=24');
  const xs = buckets.map((b) => Date.parse(b.hour) / 1000);
  chart('chart-outcomes', [{ label: 'created', stroke: '#57606a' }, { label: 'completed', stroke: '#1a7f37' }, { label: 'failed', stroke: '#b42318' }, { label: 'canceled', stroke: '#9a6700' }], [xs, buckets.map((b) => b.created), buckets.map((b) => b.completed), buckets.map((b) => b.failed), buckets.map((b) => b.canceled)]);
  chart('chart-connect', [{ label: 'mean s to connect', stroke: '#0b5cad' }, { label: 'retries', stroke: '#8250df' }], [xs, buckets.map((b) => b.meanSecondsToConnect ?? null), buckets.map((b) => b.retries)]);
  const sum = (k: 'created' | 'completed' | 'failed' | 'canceled' | 'retries'): number => buckets.reduce((s, b) => s + b[k], 0);
  $('chart-outcomes-sum').textContent = `Last 24 hours: ${sum('created')} created, ${sum('completed')} completed, ${sum('failed')} failed, ${sum('canceled')} canceled.`;
  const connected = buckets.filter((b) => b.meanSecondsToConnect !== undefined);
  $('chart-connect-sum').textContent = `${sum('retries')} retries; mean time to connect ${connected.length ? (connected.reduce((s, b) => s + (b.meanSecondsToConnect ?? 0), 0) / connected.length).toFixed(1) : '–'} s.`;
  const causes = new Map<string, number>();
  for (const b of buckets) for (const [cause, n] of Object.entries(b.failedByCause)) causes.set(cause, (causes.get(cause) ?? 0) + n);
  $('causes').replaceChildren(table('Failed callbacks by hangup cause, last 24 hours', ['Cause', 'Callbacks'], [...causes].sort((a, b) => b[1] - a[1]).map(([c, n]) => [c, String(n)])));
}

async function loadSites(): Promise<void> {
  const { items } = await api<{ items: Array<{ id: string; owner: string; name: string; enabled: boolean; dailyCap: number; hourly: number[] }> }>('/v1/admin/sites');
  $('sites-body').replaceChildren(
    table(`${items.length} site(s)`, ['Site', 'API key', 'Enabled', 'Daily cap', 'Requests, last hour', 'Requests, 24 h'], items.map((s) => [s.name, s.owner, s.enabled ? 'yes' : 'no', String(s.dailyCap), String(s.hourly.at(-1) ?? 0), String(s.hourly.reduce((a, b) => a + b, 0))])),
  );
  const now = Math.floor(Date.now() / 3_600_000);
  const xs = Array.from({ length: 24 }, (_, i) => (now - 23 + i) * 3600);
  const palette = ['#0b5cad', '#1a7f37', '#b42318', '#8250df', '#9a6700', '#57606a'];
  const top = items.slice(0, 6);
  if (top.length > 0) chart('chart-sites', top.map((s, i) => ({ label: s.name, stroke: palette[i] ?? '#000' })), [xs, ...top.map((s) => s.hourly)]);
  $('sites-sum').textContent = `Widget requests per hour for the ${top.length} first site(s).`;
}

async function refresh(): Promise<void> {
  const results = await Promise.allSettled([loadSwitches(), loadCallCenters(), loadCallbacks(), loadStats(), loadSites()]);
  const failed = results.filter((r) => r.status === 'rejected').length;
  $('live').textContent = failed ? `Updated ${new Date().toLocaleTimeString()} (${failed} part(s) could not be read)` : `Updated ${new Date().toLocaleTimeString()}`;
}

($('filters') as HTMLFormElement).addEventListener('change', () => void loadCallbacks());
($('filters') as HTMLFormElement).addEventListener('submit', (e) => {
  e.preventDefault();
  void loadCallbacks();
});
void refresh();
setInterval(() => void refresh(), 5000);
