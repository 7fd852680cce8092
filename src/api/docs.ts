import type { RequestHandler } from 'express';
import { HTTP_METHODS, type OpenApi, type OpenApiDocument, type SchemaObject } from './openapi.js';

/**
 * GET /docs: openapi.yaml as one self-contained HTML page (no script, no CDN: the page must work
 * on a closed network), rendered once from the parsed document. GET /openapi.yaml: the file.
 */

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** The little Markdown the document uses: paragraphs, `code` spans and **bold**. */
function markdown(text: unknown): string {
  if (typeof text !== 'string' || text.trim() === '') return '';
  return text
    .trim()
    .split(/\n\s*\n/)
    .map((para) => `<p>${escapeHtml(para.replace(/\s*\n\s*/g, ' ')).replace(/`([^`]+)`/g, '<code>$1</code>').replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')}</p>`)
    .join('\n');
}

const asRecord = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const refName = (ref: string): string => ref.split('/').pop() ?? ref;
const anchor = (kind: string, name: string): string => `${kind}-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;

function resolve(doc: OpenApiDocument, node: unknown): Record<string, unknown> {
  let current = asRecord(node);
  for (let depth = 0; typeof current.$ref === 'string' && current.$ref.startsWith('#/') && depth < 10; depth++) {
    let target: unknown = doc;
    for (const part of current.$ref.slice(2).split('/')) target = asRecord(target)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    current = asRecord(target);
  }
  return current;
}

/** One line describing a schema: its type (linked when a component), enum, format and bounds. */
function describeType(schema: unknown): string {
  const s = asRecord(schema);
  if (typeof s.$ref === 'string') {
    const name = refName(s.$ref);
    return s.$ref.startsWith('#/components/schemas/') ? `<a href="#${anchor('schema', name)}">${escapeHtml(name)}</a>` : escapeHtml(name);
  }
  const parts: string[] = [];
  const type = Array.isArray(s.type) ? s.type.join(' | ') : typeof s.type === 'string' ? s.type : '';
  if (type === 'array') parts.push(`array of ${describeType(s.items)}`);
  else if (type) parts.push(escapeHtml(type));
  if (Array.isArray(s.enum)) parts.push(`one of ${s.enum.map((v) => `<code>${escapeHtml(String(v))}</code>`).join(', ')}`);
  if (typeof s.format === 'string') parts.push(`format ${escapeHtml(s.format)}`);
  const bounds: Array<[string, string]> = [
    ['minimum', '≥'], ['maximum', '≤'], ['minLength', 'length ≥'], ['maxLength', 'length ≤'],
  ];
  for (const [keyword, sign] of bounds) if (typeof s[keyword] === 'number') parts.push(`${sign} ${String(s[keyword])}`);
  if (typeof s.pattern === 'string') parts.push(`pattern <code>${escapeHtml(s.pattern)}</code>`);
  if (s.default !== undefined) parts.push(`default <code>${escapeHtml(JSON.stringify(s.default))}</code>`);
  return parts.join('; ') || 'any';
}

function schemaSection(name: string, schema: SchemaObject): string {
  const rows = Object.entries(asRecord(schema.properties)).map(([prop, sub]) => {
    const required = Array.isArray(schema.required) && schema.required.includes(prop);
    return `<tr><td><code>${escapeHtml(prop)}</code>${required ? ' <span class="req">required</span>' : ''}</td><td>${describeType(sub)}</td><td>${markdown(asRecord(sub).description)}</td></tr>`;
  });
  const notes: string[] = [];
  if (Array.isArray(schema.oneOf)) {
    const alternatives = schema.oneOf.map((alt) => {
      const req = asRecord(alt).required;
      return Array.isArray(req) ? req.map((r) => `<code>${escapeHtml(String(r))}</code>`).join(' + ') : describeType(alt);
    });
    notes.push(`<p>Exactly one of: ${alternatives.join(', ')}.</p>`);
  }
  if (schema.additionalProperties === false) notes.push('<p class="muted">No other properties are accepted.</p>');
  const typeLine = rows.length === 0 ? `<p>${describeType(schema)}</p>` : '';
  const table = rows.length > 0 ? `<table><thead><tr><th>Property</th><th>Type</th><th>Description</th></tr></thead><tbody>${rows.join('')}</tbody></table>` : '';
  return `<section id="${anchor('schema', name)}"><h3>${escapeHtml(name)}</h3>${markdown(schema.description)}${typeLine}${table}${notes.join('')}</section>`;
}

function operationsSection(doc: OpenApiDocument): string {
  const out: string[] = [];
  const globalSecurity = Array.isArray(doc.security) && doc.security.length > 0;
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op) continue;
      const secured = op.security ? op.security.length > 0 : globalSecurity;
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p) => resolve(doc, p));
      const paramRows = params.map(
        (p) =>
          `<tr><td><code>${escapeHtml(String(p.name))}</code>${p.required === true ? ' <span class="req">required</span>' : ''}</td><td>${escapeHtml(String(p.in))}</td><td>${describeType(p.schema)}</td><td>${markdown(p.description)}</td></tr>`,
      );
      const body = op.requestBody?.content?.['application/json']?.schema;
      const responses = Object.entries(op.responses ?? {}).map(([status, response]) => {
        const r = resolve(doc, response);
        const content = asRecord(r.content);
        const types = Object.entries(content).map(([type, media]) => `${escapeHtml(type)}: ${describeType(asRecord(media).schema)}`);
        return `<tr><td>${escapeHtml(status)}</td><td>${markdown(r.description)}</td><td>${types.join('<br>')}</td></tr>`;
      });
      out.push(
        `<section id="${anchor('op', op.operationId ?? `${method}${path}`)}" class="op">` +
          `<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code> — ${escapeHtml(op.summary ?? '')}</h3>` +
          `<p class="muted">operationId <code>${escapeHtml(op.operationId ?? '')}</code>${secured ? ' · needs <code>Authorization: Bearer &lt;key&gt;</code>' : ' · no authentication'}</p>` +
          markdown(op.description) +
          (paramRows.length > 0 ? `<h4>Parameters</h4><table><thead><tr><th>Name</th><th>In</th><th>Type</th><th>Description</th></tr></thead><tbody>${paramRows.join('')}</tbody></table>` : '') +
          (body ? `<h4>Request body</h4><p>application/json: ${describeType(body)}</p>` : '') +
          `<h4>Responses</h4><table><thead><tr><th>Status</th><th>Description</th><th>Body</th></tr></thead><tbody>${responses.join('')}</tbody></table>` +
          `</section>`,
      );
    }
  }
  return out.join('\n');
}

function errorCodesSection(doc: OpenApiDocument): string {
  const schema = doc.components.schemas.ErrorCode ?? {};
  const codes = Array.isArray(schema.enum) ? schema.enum.map(String) : [];
  const descriptions = Array.isArray(schema['x-enum-descriptions']) ? schema['x-enum-descriptions'].map(String) : [];
  const rows = codes.map((code, i) => {
    const [, status = '', text = ''] = /^(\d{3}): (.*)$/s.exec(descriptions[i] ?? '') ?? [];
    return `<tr id="${anchor('error', code)}"><td><code>${escapeHtml(code)}</code></td><td>${escapeHtml(status)}</td><td>${markdown(text)}</td></tr>`;
  });
  return `${markdown(schema.description)}<table><thead><tr><th>Code</th><th>Status</th><th>Meaning</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const STYLE = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:70rem;margin:0 auto;padding:1rem 2rem;color:#1b1f24}
h1{margin-bottom:0}h2{border-bottom:2px solid #d0d7de;padding-bottom:.2rem;margin-top:2.5rem}h3{margin-bottom:.3rem}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f4f6;padding:0 .25rem;border-radius:3px;word-break:break-all}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td p{margin:0}.muted{color:#57606a}.req{color:#cf222e;font-size:12px}
.op{border-left:4px solid #d0d7de;padding-left:1rem;margin:1.5rem 0}
.method{font:bold 13px ui-monospace,monospace;padding:.1rem .4rem;border-radius:3px;color:#fff;background:#57606a}
.get{background:#0969da}.post{background:#1a7f37}.delete{background:#cf222e}.put,.patch{background:#9a6700}
nav a{margin-right:1rem}`;

export function renderDocs(doc: OpenApiDocument): string {
  const schemas = Object.entries(doc.components.schemas).map(([name, schema]) => schemaSection(name, schema));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.info.title)} ${escapeHtml(doc.info.version)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(doc.info.title)}</h1>
<p class="muted">Version ${escapeHtml(doc.info.version)} · OpenAPI ${escapeHtml(doc.openapi)} · <a href="/openapi.yaml">openapi.yaml</a></p>
<nav><a href="#operations">Operations</a><a href="#schemas">Schemas</a><a href="#errors">Error codes</a></nav>
${markdown(doc.info.description)}
<h2 id="operations">Operations</h2>
${operationsSection(doc)}
<h2 id="schemas">Schemas</h2>
${schemas.join('\n')}
<h2 id="errors">Error codes</h2>
${errorCodesSection(doc)}
</body></html>
`;
}

export function docsHandler(api: OpenApi): RequestHandler {
  const html = renderDocs(api.document);
  return (_req, res) => {
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    res.type('html').send(html);
  };
}

export function openApiHandler(api: OpenApi): RequestHandler {
  return (_req, res) => {
    res.type('application/yaml; charset=utf-8').send(api.text);
  };
}
