// The demo page of `npm start` (GET /): a text box answered through edgeinfer/client, with
// a local-mode toggle, and a second example for the tabular model a "fields" request defaults
// to (the flights example here): a form built from that model's signature (its numeric fields
// and the entity fields of the feature views it reads, filled from its first warmup request),
// the answer with the features used and where each came from. Static HTML and two scripts
// built by esbuild on first request (build/client); no external assets. Node only: the build
// runs here, not in the core.
import type { CoreRequest } from '../../core/http/core-request.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InferenceService, RequestContext } from '../../core/handler.ts';
import { buildClient, type BuildClientOptions } from '../../build/client/build-client.ts';
import type { FeatureRepository } from '../../core/features/declarations.ts';
import type { ModelManifest } from '../../core/model/manifest.ts';

/** Where the page's scripts are built. */
export type DemoPageOptions = BuildClientOptions;

const CLIENT_PATH = '/demo/edgeinfer-client.js';
const MODEL_PATH = '/demo/model.js';

/** A service that also answers GET / and the page's scripts; everything else goes to `service`. */
export function withDemoPage(service: InferenceService, options: DemoPageOptions = {}): InferenceService {
  let built: Promise<{ html: string; client: Uint8Array; model: Uint8Array }> | undefined;
  const assets = () => {
    // One build per process, shared by concurrent first requests; a failure is retried next time.
    // The page's local model is the service's default model unless told otherwise.
    if (!built) {
      // The second example's model: the one a "fields" request defaults to (none, or several: no second example).
      const fieldsForm = service.context
        .defaultModel('fields')
        .then(async (name) => fieldsFormOf((await service.context.requireModel(name)).manifest, (service.context.features as { repository?: FeatureRepository } | undefined)?.repository))
        .catch(() => undefined);
      built = service.context.defaultModel('text').then((model) => buildClient({ model, ...options })).then(async (build) => ({
        html: demoHtml(build.modelId, await fieldsForm),
        client: new Uint8Array(await readFile(join(build.outDir, build.client.file))),
        model: new Uint8Array(await readFile(join(build.outDir, build.model.file))),
      }));
      built.catch(() => (built = undefined));
    }
    return built;
  };
  const script = (body: Uint8Array) =>
    new Response(body as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' } });

  // The demo's own GET routes: the path when the request is one of them, else undefined.
  const demoPath = (request: CoreRequest): string | undefined => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
    let pathname: string;
    try {
      pathname = new URL(request.url).pathname;
    } catch {
      return undefined; // the service answers what it makes of it
    }
    return pathname === '/' || pathname === CLIENT_PATH || pathname === MODEL_PATH ? pathname : undefined;
  };
  async function demo(pathname: string): Promise<Response> {
    try {
      const { html, client, model } = await assets();
      if (pathname === '/') return new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' } });
      return script(pathname === CLIENT_PATH ? client : model);
    } catch (error) {
      const message = `the demo page could not be built: ${(error as Error).message}`;
      return new Response(JSON.stringify({ error: { code: 'demo_unavailable', message } }), { status: 503, headers: { 'content-type': 'application/json; charset=utf-8' } });
    }
  }
  // Everything else goes straight to the service, with no extra await on its path.
  return {
    ...service,
    fetch: (request: Request, context?: RequestContext) => {
      const path = demoPath(request);
      return path ? demo(path) : service.fetch(request, context);
    },
    handle: (request: CoreRequest, context?: RequestContext) => {
      const path = demoPath(request);
      return path ? demo(path) : service.handle(request, context);
    },
  };
}

/** The form of a tabular model: one input per request field its signature reads. */
export interface FieldsForm {
  model: string;
  labels: readonly string[];
  /** Views it reads (for the intro line). */
  views: string[];
  fields: Array<{ name: string; kind: 'number' | 'text'; value: string | number; reads: string }>;
}

/**
 * The form of `manifest`'s request fields: its numeric "fields" inputs, then the entity fields
 * of the feature and embedding views it reads (text, unless also numeric), each with the value
 * of the model's first warmup request, else its default.
 */
export function fieldsFormOf(manifest: ModelManifest, repository: FeatureRepository | undefined): FieldsForm {
  const example = manifest.warmup[0]?.fields ?? {};
  const fields = new Map<string, FieldsForm['fields'][number]>();
  const views: string[] = [];
  for (const input of manifest.inputs) {
    if (input.source === 'fields') {
      for (const name of input.fields) if (!fields.has(name)) fields.set(name, { name, kind: 'number', value: example[name] ?? input.default ?? 0, reads: `input ${input.name}` });
    }
  }
  for (const input of manifest.inputs) {
    const viewNames = input.source === 'features' ? input.features.map((ref) => ref.slice(0, ref.indexOf('.'))) : input.source === 'embedding' ? [input.view] : [];
    for (const viewName of viewNames) {
      if (views.includes(viewName)) continue;
      views.push(viewName);
      const entity = repository?.views.get(viewName)?.entity;
      for (const name of entity && 'fields' in entity ? entity.fields : []) {
        const known = fields.get(name);
        if (known) known.reads += `, view ${viewName}`;
        else fields.set(name, { name, kind: 'text', value: example[name] ?? '', reads: `view ${viewName}` });
      }
    }
  }
  return { model: manifest.name, labels: manifest.labels, views, fields: [...fields.values()] };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fieldsFormHtml(form: FieldsForm): string {
  const inputs = form.fields
    .map((f) => `  <label title="${escapeHtml(f.reads)}">${escapeHtml(f.name)} <input data-field="${escapeHtml(f.name)}" data-kind="${f.kind}" ${f.kind === 'number' ? 'type="number" step="any" style="width:5rem"' : 'size="6"'} value="${escapeHtml(String(f.value))}"></label>`)
    .join('\n');
  return `<h2>Second example: ${escapeHtml(form.model)} on request fields</h2>
<p class="sub">${escapeHtml(form.model)} takes the request fields below (the form is built from its signature in model.json) and the feature views ${form.views.map((v) => `<code>${escapeHtml(v)}</code>`).join(', ') || '(none)'} keyed by them (materialized to Redis by <code>npm run features:materialize</code>); <code>"explain": true</code> shows every value used and where it came from (l1, l2, default).</p>
<form id="fieldsForm" class="row">
${inputs}
  <button id="predictFields" type="submit">Predict</button>
</form>
<section id="fieldsAnswer" class="answer">
  <div><span id="fieldsLabel">–</span> <span id="fieldsProbability"></span></div>
  <div id="fieldsBadges"></div>
  <table id="fieldsFeatures"></table>
  <div id="fieldsError" class="error"></div>
</section>`;
}

function demoHtml(modelId: string, fieldsForm: FieldsForm | undefined): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgeinfer demo</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1d232a; }
  h1 { font-size: 1.4rem; margin: 0 0 .2rem; }
  .sub { color: #5a6470; margin: 0 0 1rem; }
  textarea { width: 100%; box-sizing: border-box; height: 9rem; font: 13px/1.4 ui-monospace, monospace; padding: .5rem; }
  .row { display: flex; gap: 1rem; align-items: center; margin: .6rem 0 1rem; flex-wrap: wrap; }
  button { font: inherit; padding: .35rem 1.1rem; }
  #answer, .answer { border: 1px solid #d4d9de; border-radius: 6px; padding: .8rem 1rem; min-height: 4rem; }
  h2 { font-size: 1.15rem; margin: 2rem 0 .2rem; }
  #fieldsLabel { font-size: 1.5rem; font-weight: 600; }
  table { border-collapse: collapse; margin-top: .6rem; font-size: 13px; }
  td, th { padding: .15rem .6rem; text-align: left; border-bottom: 1px solid #eef1f4; }
  td.src-default { color: #8a5a00; } .error { color: #b3261e; white-space: pre-wrap; }
  #label { font-size: 1.5rem; font-weight: 600; }
  #label.spam { color: #b3261e; } #label.ham { color: #1e7b34; }
  .badge { display: inline-block; padding: 0 .45rem; border-radius: 4px; background: #eef1f4; margin-right: .35rem; font-size: .85rem; }
  .badge.warn { background: #fde7c8; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .6rem 0 0; }
  dt { color: #5a6470; } dd { margin: 0; font-family: ui-monospace, monospace; font-size: 13px; }
  #error { color: #b3261e; white-space: pre-wrap; }
  #stats { color: #5a6470; font-size: .9rem; }
</style>
</head>
<body>
<h1>edgeinfer</h1>
<p class="sub">Spam filtering at the edge. The page preprocesses the message itself and sends token ids; in local mode it runs ${modelId} here and calls the endpoint only when the model is unsure.</p>
<textarea id="text" spellcheck="false">Subject: You won! Claim your FREE prize now
From: promo@winner.example

Congratulations!!! You have been selected. Click here to claim your $1000 prize, limited offer.</textarea>
<div class="row">
  <button id="predict" disabled>Predict</button>
  <label><input type="checkbox" id="local"> local mode (answer in this page when confident)</label>
  <span id="status">loading…</span>
</div>
<section id="answer">
  <div><span id="label">–</span></div>
  <div id="badges"></div>
  <dl id="details"></dl>
  <div id="error"></div>
</section>
<p id="stats"></p>
${fieldsForm === undefined ? '' : fieldsFormHtml(fieldsForm)}
<script type="module">
import { createClient, createLocalModel } from '${CLIENT_PATH}';
const $ = (id) => document.getElementById(id);
const state = { local: undefined, client: createClient({ endpoint: '', model: ${JSON.stringify(modelId.split('@')[0])} }) };
async function loadLocalModel() {
  const { manifest, module } = await import('${MODEL_PATH}');
  return createLocalModel(manifest, module);
}
async function setLocalMode(on) {
  if (on && !state.local) {
    state.local = createClient({ endpoint: '', local: await loadLocalModel() });
  }
  $('status').textContent = on ? 'local model loaded' : 'server mode';
}
function show(answer) {
  $('error').textContent = '';
  const label = $('label');
  label.textContent = answer.label;
  label.className = answer.label;
  const badges = [
    ['answered by ' + answer.answeredBy, false],
    ['tier ' + answer.tier, false],
    [answer.cached ? 'cached (' + answer.cache.level + ')' : 'not cached', false],
    [answer.degraded ? 'degraded: ' + answer.reason : 'not degraded', answer.degraded],
  ];
  $('badges').replaceChildren(...badges.map(([text, warn]) => {
    const span = document.createElement('span');
    span.className = warn ? 'badge warn' : 'badge';
    span.textContent = text;
    return span;
  }));
  const rows = [
    ['model', answer.model.name + '@' + answer.model.version],
    ['scores', Object.entries(answer.scores).map(([k, v]) => k + ' ' + v.toFixed(5)).join('  ')],
    ['cache', answer.cache ? 'level ' + answer.cache.level + ', L2 ' + answer.cache.l2 + ', policy ' + answer.cache.policy : 'none'],
    ['server timings', Object.keys(answer.timings).length ? Object.entries(answer.timings).map(([k, v]) => k + ' ' + v).join('  ') : '(no request)'],
    // Browsers coarsen performance.now() (0.1 ms in Chromium without cross-origin isolation).
    ['client timings', Object.entries(answer.clientTimings).map(([k, v]) => k + ' ' + v).join('  ') + '  (browser clock: 0.1 ms steps)'],
    ['requests', String(answer.requests)],
  ];
  $('details').replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = v;
    return [dt, dd];
  }));
}
async function predict() {
  const client = $('local').checked ? state.local : state.client;
  try {
    show(await client.predict($('text').value));
  } catch (error) {
    $('error').textContent = (error.code ? error.code + ': ' : '') + error.message;
  }
  const s = client.stats();
  $('stats').textContent = (client.localMode ? 'local mode' : 'server mode') + ': ' + s.predictions + ' predictions, ' + s.answeredLocally + ' answered in the page, ' + s.endpointRequests + ' requests to the endpoint (' + s.textRequests + ' with text)';
}
$('predict').addEventListener('click', predict);
// Second example: plain fetch, since the request is fields, not text.
function badge(text, warn) {
  const span = document.createElement('span');
  span.className = warn ? 'badge warn' : 'badge';
  span.textContent = text;
  return span;
}
async function predictFields(event) {
  event?.preventDefault();
  $('fieldsError').textContent = '';
  const fields = {};
  for (const input of document.querySelectorAll('#fieldsForm input[data-field]')) {
    fields[input.dataset.field] = input.dataset.kind === 'number' ? Number(input.value) : input.value.trim();
  }
  const response = await fetch('/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: ${JSON.stringify(fieldsForm?.model ?? '')}, fields, explain: true }) });
  const answer = await response.json();
  if (!response.ok) {
    $('fieldsError').textContent = (answer.error?.code ?? response.status) + ': ' + (answer.error?.message ?? '');
    return answer;
  }
  $('fieldsLabel').textContent = answer.label;
  $('fieldsProbability').textContent = Object.entries(answer.scores ?? {}).map(([label, p]) => 'P(' + label + ') ' + Number(p).toFixed(3)).join('  ');
  $('fieldsBadges').replaceChildren(
    badge('model ' + answer.model.name + '@' + answer.model.version, false),
    badge('tier ' + answer.tier, false),
    badge(answer.cached ? 'cached (' + answer.cache.level + ')' : 'not cached', false),
    badge(answer.degraded ? 'degraded: ' + answer.reason : 'not degraded', answer.degraded),
  );
  const head = document.createElement('tr');
  head.innerHTML = '<th>view</th><th>entity</th><th>from</th><th>values</th>';
  const rows = Object.entries(answer.features ?? {}).map(([view, f]) => {
    const tr = document.createElement('tr');
    const values = f.values ? Object.entries(f.values).map(([k, v]) => k + ' ' + Number(v).toFixed(3)).join('  ') : (f.vector ?? []).map((v) => Number(v).toFixed(3)).join(' ') + (f.codec ? '  (' + f.codec + ')' : '');
    for (const [text, cls] of [[view], [f.entity ?? '(none)'], [f.source, 'src-' + f.source], [values]]) {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
    }
    return tr;
  });
  $('fieldsFeatures').replaceChildren(head, ...rows);
  return answer;
}
$('fieldsForm')?.addEventListener('submit', (e) => predictFields(e).catch((error) => { $('fieldsError').textContent = error.message; }));
$('local').addEventListener('change', (e) => setLocalMode(e.target.checked).catch((error) => { $('error').textContent = error.message; e.target.checked = false; }));
// For tests and the curious: the client module and both clients.
window.edgeinferDemo = { createClient, createLocalModel, loadLocalModel, setLocalMode, state, predict, predictFields };
$('predict').disabled = false;
$('status').textContent = 'server mode';
document.body.dataset.ready = 'true';
</script>
</body>
</html>
`;
}
