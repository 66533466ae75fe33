// The demo page of `npm start` (GET /): a text box answered through edgeinfer/client, with
// a local-mode toggle, and a second example on tabular data (flight delays: request fields in,
// features and embeddings assembled from the edge cache, shown with where each came from). Static HTML and two scripts built by esbuild on first request
// (build/client); no external assets. Node only: the build runs here, not in the core.
import type { CoreRequest } from '../../core/http/core-request.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InferenceService, RequestContext } from '../../core/handler.ts';
import { buildClient, type BuildClientOptions } from '../../build/client/build-client.ts';

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
      const fieldsModel = service.context.defaultModel('fields').catch(() => undefined);
      built = service.context.defaultModel('text').then((model) => buildClient({ model, ...options })).then(async (build) => ({
        html: demoHtml(build.modelId, await fieldsModel),
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

function demoHtml(modelId: string, fieldsModel: string | undefined): string {
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
  #flightLabel { font-size: 1.5rem; font-weight: 600; }
  #flightLabel.delayed { color: #b3261e; } #flightLabel.on_time { color: #1e7b34; }
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
${fieldsModel === undefined ? '' : `<h2>Second example: will this flight leave 15+ minutes late?</h2>
<p class="sub">${fieldsModel} takes the request fields, the declared feature views of the origin, destination, route and hour (materialized to Redis by <code>npm run features:materialize</code>) and the origin's learned embedding; <code>"explain": true</code> shows every value used and where it came from (l1, l2, default).</p>
<form id="flight" class="row">
  <label>origin <input id="origin" value="ORD" size="4" list="airports"></label>
  <label>destination <input id="destination" value="LGA" size="4" list="airports"></label>
  <label>departure <input id="departure" type="datetime-local" value="2001-07-02T17:30"></label>
  <label>distance (mi) <input id="distance" type="number" value="733" min="1" max="6000" style="width:5rem"></label>
  <button id="predictFlight" type="submit">Predict delay</button>
</form>
<datalist id="airports"><option>ATL</option><option>ORD</option><option>DFW</option><option>LAX</option><option>SFO</option><option>DEN</option><option>LGA</option><option>JFK</option><option>BOS</option><option>SEA</option><option>PHX</option><option>LAS</option><option>MSP</option><option>DTW</option><option>EWR</option></datalist>
<section id="flightAnswer" class="answer">
  <div><span id="flightLabel">–</span> <span id="flightProbability"></span></div>
  <div id="flightBadges"></div>
  <table id="flightFeatures"></table>
  <div id="flightError" class="error"></div>
</section>`}
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
async function predictFlight(event) {
  event?.preventDefault();
  $('flightError').textContent = '';
  const when = new Date($('departure').value + 'Z');
  const fields = {
    origin: $('origin').value.trim().toUpperCase(),
    destination: $('destination').value.trim().toUpperCase(),
    hour: when.getUTCHours(),
    day_of_week: when.getUTCDay(),
    distance: Number($('distance').value),
  };
  const response = await fetch('/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: ${JSON.stringify(fieldsModel ?? '')}, fields, explain: true }) });
  const answer = await response.json();
  if (!response.ok) {
    $('flightError').textContent = (answer.error?.code ?? response.status) + ': ' + (answer.error?.message ?? '');
    return answer;
  }
  $('flightLabel').textContent = answer.label;
  $('flightLabel').className = answer.label;
  $('flightProbability').textContent = 'P(delayed) ' + (answer.scores?.delayed ?? NaN).toFixed(3);
  $('flightBadges').replaceChildren(
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
  $('flightFeatures').replaceChildren(head, ...rows);
  return answer;
}
$('flight')?.addEventListener('submit', (e) => predictFlight(e).catch((error) => { $('flightError').textContent = error.message; }));
$('local').addEventListener('change', (e) => setLocalMode(e.target.checked).catch((error) => { $('error').textContent = error.message; e.target.checked = false; }));
// For tests and the curious: the client module and both clients.
window.edgeinferDemo = { createClient, createLocalModel, loadLocalModel, setLocalMode, state, predict, predictFlight };
$('predict').disabled = false;
$('status').textContent = 'server mode';
document.body.dataset.ready = 'true';
</script>
</body>
</html>
`;
}
