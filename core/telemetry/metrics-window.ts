// The unit telemetry is kept, shipped and merged in: counters and latency sketches of one
// time window, keyed by their Prometheus series name (`name{label="value",...}`). Merging
// two windows adds counters and merges sketches, so isolates, PoPs and minutes combine the
// same way; JSON round-trips it to Redis.
import { LatencySketch, type SerializedSketch } from './sketch.ts';

/** A window as JSON (what one isolate writes to Redis). */
export interface SerializedWindow {
  v: 1;
  start: number;
  end: number;
  counters: Record<string, number>;
  sketches: Record<string, SerializedSketch>;
}

/** Counters and sketches of the window [start, end), epoch milliseconds. */
export class MetricsWindow {
  readonly counters = new Map<string, number>();
  readonly sketches = new Map<string, LatencySketch>();

  constructor(
    public start: number,
    public end: number,
  ) {}

  /** Adds `by` to a counter series. */
  inc(series: string, by = 1): void {
    this.counters.set(series, (this.counters.get(series) ?? 0) + by);
  }

  /** Adds an observation to a sketch series. */
  observe(series: string, value: number): void {
    let sketch = this.sketches.get(series);
    if (!sketch) this.sketches.set(series, (sketch = new LatencySketch()));
    sketch.add(value);
  }

  /** Adds everything in `other` to this window (and widens its time range to cover both). */
  merge(other: MetricsWindow): this {
    this.start = Math.min(this.start, other.start);
    this.end = Math.max(this.end, other.end);
    for (const [series, value] of other.counters) this.inc(series, value);
    for (const [series, sketch] of other.sketches) {
      let mine = this.sketches.get(series);
      if (!mine) this.sketches.set(series, (mine = new LatencySketch(sketch.sketch.mapping.relativeAccuracy)));
      mine.merge(sketch);
    }
    return this;
  }

  /** Sum of every counter series of `name` whose labels include all of `match`. */
  sum(name: string, match: Record<string, string> = {}): number {
    let total = 0;
    for (const [series, value] of this.counters) if (seriesMatches(series, name, match)) total += value;
    return total;
  }

  /** One sketch merging every sketch series of `name` whose labels include all of `match`. */
  sketch(name: string, match: Record<string, string> = {}): LatencySketch {
    const out = new LatencySketch();
    for (const [series, sketch] of this.sketches) if (seriesMatches(series, name, match)) out.merge(sketch);
    return out;
  }

  toJSON(): SerializedWindow {
    const sketches: Record<string, SerializedSketch> = {};
    for (const [series, sketch] of this.sketches) sketches[series] = sketch.toJSON();
    return { v: 1, start: this.start, end: this.end, counters: Object.fromEntries(this.counters), sketches };
  }

  /** Rebuilds a window; throws on malformed input (a reader skips what it cannot parse). */
  static fromJSON(json: SerializedWindow): MetricsWindow {
    if (!json || json.v !== 1 || typeof json.counters !== 'object' || typeof json.sketches !== 'object') throw new Error('not a serialised metrics window');
    const window = new MetricsWindow(Number(json.start), Number(json.end));
    for (const [series, value] of Object.entries(json.counters)) if (Number.isFinite(value)) window.counters.set(series, value);
    for (const [series, sketch] of Object.entries(json.sketches)) window.sketches.set(series, LatencySketch.fromJSON(sketch));
    return window;
  }
}

/**
 * A metric family with fixed label names whose series keys are built once and then looked
 * up through nested maps keyed by the label values: recording a request concatenates and
 * hashes no new string (a fresh 80-character key costs about 2 µs in a Map; an interned one
 * a few tens of nanoseconds).
 */
export class SeriesFamily {
  readonly #root = new Map<string, unknown>();

  constructor(
    readonly name: string,
    readonly labelNames: readonly string[],
  ) {}

  /** The series key for these label values (in labelNames order). */
  key(v0: string, v1 = '', v2 = '', v3 = ''): string {
    const last = this.labelNames.length - 1;
    let node = this.#root;
    for (let i = 0; i < last; i++) {
      const value = i === 0 ? v0 : i === 1 ? v1 : v2;
      let next = node.get(value) as Map<string, unknown> | undefined;
      if (!next) node.set(value, (next = new Map()));
      node = next;
    }
    const leaf = last === 0 ? v0 : last === 1 ? v1 : last === 2 ? v2 : v3;
    let key = node.get(leaf) as string | undefined;
    if (key === undefined) {
      const given = [v0, v1, v2, v3];
      const labels: Record<string, string> = {};
      this.labelNames.forEach((label, i) => (labels[label] = given[i] as string));
      node.set(leaf, (key = seriesKey(this.name, labels)));
    }
    return key;
  }
}

/** `name{a="1",b="2"}` → name and labels. Label values never contain `"` unescaped (see seriesKey). */
export function parseSeries(series: string): { name: string; labels: Record<string, string> } {
  const brace = series.indexOf('{');
  if (brace < 0) return { name: series, labels: {} };
  const labels: Record<string, string> = {};
  const pattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (let m = pattern.exec(series); m; m = pattern.exec(series)) labels[m[1] as string] = unescapeLabel(m[2] as string);
  return { name: series.slice(0, brace), labels };
}

/** The series key of a metric with labels, values escaped as the Prometheus text format wants. */
export function seriesKey(name: string, labels: Record<string, string | number>): string {
  let out = name + '{';
  let first = true;
  for (const key in labels) {
    out += `${first ? '' : ','}${key}="${escapeLabel(String(labels[key]))}"`;
    first = false;
  }
  return out + '}';
}

function escapeLabel(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

function unescapeLabel(value: string): string {
  return value.includes('\\') ? value.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c)) : value;
}

function seriesMatches(series: string, name: string, match: Record<string, string>): boolean {
  if (!series.startsWith(name) || (series.length > name.length && series[name.length] !== '{')) return false;
  for (const key in match) {
    const pair = `${key}="${escapeLabel(match[key] as string)}"`;
    if (!series.includes(`{${pair}`) && !series.includes(`,${pair}`)) return false;
  }
  return true;
}
