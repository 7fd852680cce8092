/** The dashboard's HTML: no inline script or style; the script and sheet come from /dashboard/assets. */

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const head = (title: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">`;

export function loginPage(error?: string): string {
  return `${head('Crossline operator login')}
</head>
<body class="login">
<main>
<h1>Crossline operator dashboard</h1>
<form method="post" action="/dashboard/login">
<label for="token">Operator token (<code>OPS_TOKEN</code>)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required${error ? ' aria-invalid="true" aria-describedby="login-error"' : ''}>
${error ? `<p id="login-error" class="error" role="alert">${escape(error)}</p>` : ''}
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`;
}

export function dashboardPage(csrf: string): string {
  return `${head('Crossline operator dashboard')}
<meta name="crossline-csrf" content="${escape(csrf)}">
<script src="/dashboard/assets/dashboard.js" defer></script>
</head>
<body>
<header>
<h1>Crossline operator dashboard</h1>
<nav aria-label="Dashboard">
<a href="#callbacks">Callbacks</a> <a href="#outcomes">Outcomes</a> <a href="#switches">Switches</a> <a href="#call-centers">Call centers</a> <a href="#sites">Sites</a> <a href="/dashboard/queues/">Queues (Bull Board)</a>
</nav>
<form method="post" action="/dashboard/logout" class="logout">
<input type="hidden" name="csrf" value="${escape(csrf)}">
<button type="submit">Sign out</button>
</form>
</header>
<main>
<p id="live" class="live" role="status" aria-live="polite"></p>
<section id="switches" aria-labelledby="switches-h"><h2 id="switches-h">Switches</h2><div id="switches-body"></div></section>
<section id="call-centers" aria-labelledby="call-centers-h"><h2 id="call-centers-h">Call centers</h2><div id="call-centers-body"></div></section>
<section id="outcomes" aria-labelledby="outcomes-h">
<h2 id="outcomes-h">Outcomes, last 24 hours</h2>
<div class="charts">
<figure><figcaption id="chart-outcomes-cap">Callbacks per hour by outcome</figcaption><div id="chart-outcomes" role="img" aria-labelledby="chart-outcomes-cap chart-outcomes-sum"></div><p id="chart-outcomes-sum" class="summary"></p></figure>
<figure><figcaption id="chart-connect-cap">Mean seconds to connect, and retries, per hour</figcaption><div id="chart-connect" role="img" aria-labelledby="chart-connect-cap chart-connect-sum"></div><p id="chart-connect-sum" class="summary"></p></figure>
</div>
<h3>Failures by cause</h3><div id="causes"></div>
</section>
<section id="callbacks" aria-labelledby="callbacks-h">
<h2 id="callbacks-h">Callbacks</h2>
<form id="filters" class="filters">
<label for="f-status">Status</label>
<select id="f-status" name="status"><option value="">any</option>${['scheduled', 'queued', 'calling-callee', 'callee-answered', 'calling-caller', 'bridged', 'completed', 'failed', 'canceled'].map((s) => `<option>${s}</option>`).join('')}</select>
<label for="f-owner">API key id</label>
<input id="f-owner" name="owner" pattern="[0-9a-f]{16}" placeholder="all" size="18">
<label for="f-limit">Show</label>
<select id="f-limit" name="limit"><option>20</option><option selected>50</option><option>100</option></select>
</form>
<div id="callbacks-body"></div>
<div id="detail" aria-live="polite"></div>
</section>
<section id="sites" aria-labelledby="sites-h"><h2 id="sites-h">Sites (call-me-back button)</h2><div id="chart-sites" role="img" aria-labelledby="sites-h sites-sum"></div><p id="sites-sum" class="summary"></p><div id="sites-body"></div></section>
</main>
</body>
</html>
`;
}
