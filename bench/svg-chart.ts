// Hand-written SVG charts for BENCHMARKS.md: horizontal bars and a simple line, plain SVG with
// system fonts and no external assets, so the files render anywhere an image does.

/** One bar: a label, its value, and an optional reference mark (e.g. a budget). */
export interface Bar {
  label: string;
  value: number;
  mark?: number;
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12"';
const FONT_SMALL = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="10"';
const fmt = (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(Math.round(v * 100) / 100));

/** Horizontal bar chart; bars with a `mark` get a red tick there (and the mark's value). */
export function barChart(title: string, bars: Bar[], unit: string): string {
  const labelWidth = 190;
  const plotWidth = 420;
  const rowHeight = 22;
  const top = 34;
  const height = top + bars.length * rowHeight + 16;
  const max = Math.max(1e-9, ...bars.map((b) => Math.max(b.value, b.mark ?? 0)));
  const rows = bars
    .map((bar, i) => {
      const y = top + i * rowHeight;
      const w = Math.max(1, (bar.value / max) * plotWidth);
      const mark = bar.mark === undefined ? '' : `<line x1="${labelWidth + (bar.mark / max) * plotWidth}" x2="${labelWidth + (bar.mark / max) * plotWidth}" y1="${y - 2}" y2="${y + 16}" stroke="#c0392b" stroke-width="2"/>`;
      return (
        `<text x="${labelWidth - 8}" y="${y + 12}" text-anchor="end" ${FONT}>${escape(bar.label)}</text>` +
        `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="14" fill="#2d6cdf"/>` +
        mark +
        `<text x="${labelWidth + w + 6}" y="${y + 12}" ${FONT}>${fmt(bar.value)} ${escape(unit)}${bar.mark === undefined ? '' : ` (mark ${fmt(bar.mark)})`}</text>`
      );
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 160}" height="${height}" viewBox="0 0 ${labelWidth + plotWidth + 160} ${height}">
<rect width="100%" height="100%" fill="#fff"/>
<text x="8" y="20" ${FONT} font-weight="bold">${escape(title)}</text>
${rows}
</svg>
`;
}

/** The opening of a plotted chart: the svg element, background, title, both axes and the y-axis end labels. */
function plotFrame(f: { width: number; height: number; title: string; left: number; top: number; plotW: number; plotH: number; yTop: string; yBottom: string }): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}">
<rect width="100%" height="100%" fill="#fff"/>
<text x="8" y="20" ${FONT} font-weight="bold">${escape(f.title)}</text>
<line x1="${f.left}" y1="${f.top + f.plotH}" x2="${f.left + f.plotW}" y2="${f.top + f.plotH}" stroke="#888"/>
<line x1="${f.left}" y1="${f.top}" x2="${f.left}" y2="${f.top + f.plotH}" stroke="#888"/>
<text x="${f.left - 6}" y="${f.top + 4}" text-anchor="end" ${FONT}>${f.yTop}</text>
<text x="${f.left - 6}" y="${f.top + f.plotH}" text-anchor="end" ${FONT}>${f.yBottom}</text>`;
}

/** Line chart of (x, y) points with axis labels at the ends. */
export function lineChart(title: string, points: Array<{ x: number; y: number }>, xUnit: string, yUnit: string): string {
  const width = 640;
  const height = 240;
  const left = 60;
  const bottom = 30;
  const top = 34;
  const plotW = width - left - 20;
  const plotH = height - top - bottom;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const y0 = 0;
  const y1 = Math.max(...ys) * 1.1 || 1;
  const px = (x: number) => left + ((x - x0) / Math.max(1e-9, x1 - x0)) * plotW;
  const py = (y: number) => top + plotH - ((y - y0) / (y1 - y0)) * plotH;
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
  return `${plotFrame({ width, height, title, left, top, plotW, plotH, yTop: fmt(y1), yBottom: '0' })}
<text x="${left}" y="${height - 8}" ${FONT}>${fmt(x0)} ${escape(xUnit)}</text>
<text x="${left + plotW}" y="${height - 8}" text-anchor="end" ${FONT}>${fmt(x1)} ${escape(xUnit)}</text>
<text x="${left + 4}" y="${top + 12}" ${FONT} fill="#555">${escape(yUnit)}</text>
<path d="${path}" fill="none" stroke="#2d6cdf" stroke-width="2"/>
</svg>
`;
}

/** One line of an {@link xyChart}. */
export interface XySeries {
  name: string;
  points: Array<{ x: number; y: number }>;
  color: string;
}

/** Axes, reference lines and labelled points of an {@link xyChart}. */
export interface XyOptions {
  xLabel: string;
  yLabel: string;
  /** Tick labels along x (e.g. escalation rate with its cost). */
  xTicks: Array<{ x: number; label: string }>;
  xRange: [number, number];
  yRange: [number, number];
  /** Horizontal reference lines (e.g. a target). */
  hLines?: Array<{ y: number; label: string; color?: string }>;
  /** Labelled points (e.g. the calibrated threshold). */
  marks?: Array<{ x: number; y: number; label: string; color?: string }>;
}

/** Several lines over fixed axes, with a legend, reference lines and labelled points. */
export function xyChart(title: string, series: XySeries[], options: XyOptions): string {
  const width = 720;
  const height = 340;
  const left = 64;
  const right = 24;
  const top = 40;
  const bottom = 58;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const [x0, x1] = options.xRange;
  const [y0, y1] = options.yRange;
  const px = (x: number) => left + ((Math.min(x1, Math.max(x0, x)) - x0) / Math.max(1e-12, x1 - x0)) * plotW;
  const py = (y: number) => top + plotH - ((Math.min(y1, Math.max(y0, y)) - y0) / Math.max(1e-12, y1 - y0)) * plotH;
  const inRange = (p: { x: number }) => p.x >= x0 && p.x <= x1;
  const lines = series
    .map((s) => {
      const d = s.points.filter(inRange).map((p, i) => `${i === 0 ? 'M' : 'L'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
      return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
    })
    .join('\n');
  const legend = series.map((s, i) => `<rect x="${left + 8 + i * 190}" y="${top + 6}" width="12" height="3" fill="${s.color}"/><text x="${left + 24 + i * 190}" y="${top + 11}" ${FONT}>${escape(s.name)}</text>`).join('\n');
  const ticks = options.xTicks
    .map((t) => `<line x1="${px(t.x)}" x2="${px(t.x)}" y1="${top + plotH}" y2="${top + plotH + 4}" stroke="#888"/><text x="${px(t.x)}" y="${top + plotH + 16}" text-anchor="middle" ${FONT_SMALL}>${escape(t.label)}</text>`)
    .join('\n');
  const hLines = (options.hLines ?? [])
    .map((h) => `<line x1="${left}" x2="${left + plotW}" y1="${py(h.y)}" y2="${py(h.y)}" stroke="${h.color ?? '#888'}" stroke-dasharray="4 3"/><text x="${left + plotW - 4}" y="${py(h.y) - 4}" text-anchor="end" ${FONT_SMALL} fill="${h.color ?? '#555'}">${escape(h.label)}</text>`)
    .join('\n');
  const marks = (options.marks ?? [])
    .map((m, i) => `<circle cx="${px(m.x)}" cy="${py(m.y)}" r="4" fill="${m.color ?? '#c0392b'}"/><text x="${px(m.x) + 7}" y="${py(m.y) + 14 + i * 12}" ${FONT_SMALL} fill="${m.color ?? '#c0392b'}">${escape(m.label)}</text>`)
    .join('\n');
  return `${plotFrame({ width, height, title, left, top, plotW, plotH, yTop: fmt(y1), yBottom: fmt(y0) })}
<text x="${left - 6}" y="${top + plotH / 2}" text-anchor="end" ${FONT} fill="#555">${escape(options.yLabel)}</text>
${ticks}
<text x="${left + plotW / 2}" y="${height - 10}" text-anchor="middle" ${FONT} fill="#555">${escape(options.xLabel)}</text>
${hLines}
${lines}
${marks}
${legend}
</svg>
`;
}
