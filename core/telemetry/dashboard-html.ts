// GET /dashboard as one self-contained HTML page: the charts are inline SVG drawn on the
// server from the metrics windows, no script, no external asset (nothing to fetch at the
// edge, nothing for a CSP to allow). It reloads itself every 15 s.
import type { DashboardData, DashboardPoint } from './dashboard-data.ts';

const COLORS = ['#2563eb', '#d97706', '#dc2626', '#059669', '#7c3aed', '#db2777', '#0891b2', '#65a30d'];

/** The dashboard page for `data`. */
export function renderDashboard(data: DashboardData, now = Date.now()): string {
  const t = data.totals;
  const tiles: Array<[id: string, label: string, value: string]> = [
    ['predictions', 'predictions', String(t.predictions)],
    ['p50', 'p50 latency', ms(t.p50)],
    ['p95', 'p95 latency', ms(t.p95)],
    ['p99', 'p99 latency', ms(t.p99)],
    ['cache-hit-ratio', 'cache hit ratio', pct(t.cacheHitRatio)],
    ['escalation-rate', 'escalation rate', pct(t.escalationRate)],
    ['degraded-rate', 'degraded', pct(t.degradedRate)],
    ['errors', 'error responses', `${t.errors} / ${t.requests}`],
    ['cost-per-1k', 'cost per 1k predictions', usd(t.costPer1kUsd)],
  ];
  const series = data.series;
  const scope = data.scope === 'fleet' ? `fleet: ${data.isolates} isolate${data.isolates === 1 ? '' : 's'} merged` : 'this isolate';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="15"><title>edgeinfer dashboard</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f8fafc;color:#0f172a}
header{padding:12px 20px;background:#0f172a;color:#f8fafc;display:flex;gap:16px;align-items:baseline}
header h1{font-size:18px;margin:0}header span{color:#94a3b8}
main{padding:16px 20px;display:grid;gap:16px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.tile{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:10px}
.tile b{display:block;font-size:22px;font-variant-numeric:tabular-nums}.tile span{color:#64748b;font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:16px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:10px 12px}
section h2{font-size:14px;margin:0 0 6px}svg{display:block;width:100%;height:auto}
.legend{display:flex;gap:12px;font-size:12px;color:#475569}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
table{border-collapse:collapse;font-size:12px;width:100%}td,th{padding:3px 6px;border-bottom:1px solid #e2e8f0;text-align:right}td:first-child,th:first-child{text-align:left}
.empty{color:#64748b;font-style:italic}
</style></head>
<body>
<header><h1>edgeinfer</h1><span id="scope">${esc(scope)}</span><span>${series.length} window${series.length === 1 ? '' : 's'} of ${Math.round(data.windowMs / 1000)} s · ${esc(new Date(now).toISOString())}</span></header>
<main>
<div class="tiles">${tiles.map(([id, label, value]) => `<div class="tile"><b id="${id}" data-metric="${id}">${esc(value)}</b><span>${esc(label)}</span></div>`).join('')}</div>
<div class="charts">
${chart('latency', 'Latency p50 / p95 / p99 (ms)', series, [
  ['p50', (p) => p.p50],
  ['p95', (p) => p.p95],
  ['p99', (p) => p.p99],
])}
${chart('cache', 'Cache hit ratio (%)', series, [['hit ratio', (p) => (p.cacheHitRatio === null ? null : p.cacheHitRatio * 100)]], 100)}
${chart('escalation', 'Escalation and degraded rate (%)', series, [
  ['escalated', (p) => (p.escalationRate === null ? null : p.escalationRate * 100)],
  ['degraded', (p) => (p.degradedRate === null ? null : p.degradedRate * 100)],
])}
${chart('cost', 'Cost per 1k predictions (US$)', series, [['cost / 1k', (p) => p.costPer1kUsd]])}
${labelsSection(data.labels)}
${rolloutSection(data)}
</div>
</main></body></html>
`;
}

type Line = [name: string, value: (p: DashboardPoint) => number | null];

/** A line chart of `lines` over the windows, as inline SVG. */
function chart(id: string, title: string, points: DashboardPoint[], lines: Line[], fixedMax?: number): string {
  const W = 440;
  const H = 170;
  const L = 48;
  const R = 8;
  const T = 8;
  const B = 22;
  const values = points.flatMap((p) => lines.map(([, f]) => f(p))).filter((v): v is number => v !== null && Number.isFinite(v));
  const legend = `<div class="legend">${lines.map(([name], i) => `<span><i style="background:${COLORS[i % COLORS.length]}"></i>${esc(name)}</span>`).join('')}</div>`;
  if (values.length === 0) return `<section id="chart-${id}"><h2>${esc(title)}</h2>${legend}<p class="empty">no predictions yet</p></section>`;
  const max = fixedMax ?? niceMax(Math.max(...values));
  const t0 = points[0]?.start ?? 0;
  const t1 = Math.max(points[points.length - 1]?.end ?? 1, t0 + 1);
  const x = (p: DashboardPoint) => L + (((p.start + p.end) / 2 - t0) / (t1 - t0)) * (W - L - R);
  const y = (v: number) => T + (1 - v / max) * (H - T - B);
  const grid = [0, 0.5, 1]
    .map((f) => {
      const v = max * f;
      return `<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e2e8f0"/><text x="${L - 4}" y="${(y(v) + 4).toFixed(1)}" font-size="10" text-anchor="end" fill="#64748b">${axisLabel(v)}</text>`;
    })
    .join('');
  const time = (ms: number) => new Date(ms).toISOString().slice(11, 19);
  const axis = `<text x="${L}" y="${H - 6}" font-size="10" fill="#64748b">${time(t0)}</text><text x="${W - R}" y="${H - 6}" font-size="10" text-anchor="end" fill="#64748b">${time(t1)}</text>`;
  const paths = lines
    .map(([name, f], i) => {
      const color = COLORS[i % COLORS.length];
      const pts = points.map((p) => [p, f(p)] as const).filter((e): e is readonly [DashboardPoint, number] => e[1] !== null && Number.isFinite(e[1]));
      const d = pts.map(([p, v], j) => `${j ? 'L' : 'M'}${x(p).toFixed(1)},${y(v).toFixed(1)}`).join('');
      const dots = pts.map(([p, v]) => `<circle cx="${x(p).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${color}"><title>${esc(name)} ${time(p.start)}: ${axisLabel(v)}</title></circle>`).join('');
      return `<path d="${d}" fill="none" stroke="${color}" stroke-width="2" data-series="${esc(name)}"/>${dots}`;
    })
    .join('');
  return `<section id="chart-${id}"><h2>${esc(title)}</h2>${legend}<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">${grid}${axis}${paths}</svg></section>`;
}

/** Label distribution per model version: a 100% stacked bar each, and the counts. */
function labelsSection(labels: Record<string, Record<string, number>>): string {
  const arms = Object.keys(labels).sort();
  if (arms.length === 0) return `<section id="chart-labels"><h2>Label distribution per model version</h2><p class="empty">no predictions yet</p></section>`;
  const allLabels = [...new Set(arms.flatMap((arm) => Object.keys(labels[arm] as Record<string, number>)))].sort();
  const color = (label: string) => COLORS[allLabels.indexOf(label) % COLORS.length];
  const W = 440;
  const rowH = 22;
  const L = 130;
  const bars = arms
    .map((arm, i) => {
      const counts = labels[arm] as Record<string, number>;
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      let at = L;
      const segments = allLabels
        .map((label) => {
          const w = total ? ((counts[label] ?? 0) / total) * (W - L - 8) : 0;
          const rect = w > 0 ? `<rect x="${at.toFixed(1)}" y="${i * rowH + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${color(label)}"><title>${esc(arm)} ${esc(label)}: ${counts[label] ?? 0}</title></rect>` : '';
          at += w;
          return rect;
        })
        .join('');
      return `<text x="0" y="${i * rowH + 15}" font-size="11">${esc(arm)}</text>${segments}`;
    })
    .join('');
  const legend = `<div class="legend">${allLabels.map((label) => `<span><i style="background:${color(label)}"></i>${esc(label)}</span>`).join('')}</div>`;
  const rows = arms
    .map((arm) => {
      const counts = labels[arm] as Record<string, number>;
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      return `<tr data-arm="${esc(arm)}"><td>${esc(arm)}</td>${allLabels.map((label) => `<td data-label="${esc(label)}">${counts[label] ?? 0} (${pct(total ? (counts[label] ?? 0) / total : null)})</td>`).join('')}<td>${total}</td></tr>`;
    })
    .join('');
  return `<section id="chart-labels"><h2>Label distribution per model version</h2>${legend}<svg viewBox="0 0 ${W} ${arms.length * rowH}" role="img" aria-label="label distribution">${bars}</svg>
<table id="labels"><thead><tr><th>model@version</th>${allLabels.map((l) => `<th>${esc(l)}</th>`).join('')}<th>total</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

/** Rollout arms: share of traffic, requests, error rate, p99, canary state, shadow agreement. */
function rolloutSection(data: DashboardData): string {
  if (data.rollout.length === 0) return '';
  const rows = data.rollout
    .map((arm) => {
      const id = `${arm.model}@${arm.version}`;
      const shadow = arm.shadowAgreement === undefined ? '' : pct(arm.shadowAgreement);
      return `<tr data-arm="${esc(id)}"><td>${esc(id)}</td><td data-col="weight">${pct(arm.weight)}</td><td data-col="role"${arm.reason ? ` title="${esc(arm.reason)}"` : ''}>${esc(arm.role ?? '')}</td><td data-col="requests">${arm.requests}</td><td data-col="error-rate">${pct(arm.errorRate)}</td><td data-col="p99">${ms(arm.p99Ms)}</td><td data-col="shadow">${shadow}</td></tr>`;
    })
    .join('');
  const reasons = data.rollout.filter((a) => a.reason).map((a) => `<p class="empty">${esc(`${a.model}@${a.version}`)}: ${esc(a.reason as string)}</p>`).join('');
  return `<section id="chart-rollout"><h2>Rollout arms</h2><table id="rollout"><thead><tr><th>model@version</th><th>traffic</th><th>state</th><th>requests</th><th>errors</th><th>p99</th><th>shadow agreement</th></tr></thead><tbody>${rows}</tbody></table>${reasons}</section>`;
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function axisLabel(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toPrecision(2);
}

/** Milliseconds for a tile: three significant digits. */
export function ms(v: number | null): string {
  return v === null ? '–' : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ms`;
}

/** A ratio as a percentage with one decimal. */
export function pct(v: number | null): string {
  return v === null ? '–' : `${(v * 100).toFixed(1)}%`;
}

/** Dollars with four significant digits (costs per 1k are fractions of a cent). */
export function usd(v: number | null): string {
  return v === null ? '–' : `$${v.toPrecision(4)}`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
