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
      if (!mine) this.sketches.set(series, (mine = new LatencySketch(sketch.relativeAccuracy)));
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

  /**
   * Rebuilds a window from what an isolate wrote to the fleet store; throws on anything
   * malformed or oversized (a reader skips and counts it). Every series key must be a
   * well-formed Prometheus series (re-rendered here, so a forged name cannot inject lines),
   * every counter a finite number ≥ 0, every sketch one this version would have written.
   */
  static fromJSON(json: SerializedWindow): MetricsWindow {
    if (!json || typeof json !== 'object' || json.v !== 1 || !isPlainRecord(json.counters) || !isPlainRecord(json.sketches)) throw new Error('not a serialised metrics window');
    const start = Number(json.start);
    const end = Number(json.end);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) throw new Error('a metrics window needs integer start ≤ end');
    const counters = Object.entries(json.counters);
    const sketches = Object.entries(json.sketches);
    if (counters.length > MAX_SERIES_PER_WINDOW || sketches.length > MAX_SERIES_PER_WINDOW) throw new Error(`a metrics window holds at most ${MAX_SERIES_PER_WINDOW} series of each kind`);
    const window = new MetricsWindow(start, end);
    for (const [series, value] of counters) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error('a counter must be a finite number ≥ 0');
      window.counters.set(canonicalSeries(series), value);
    }
    for (const [series, sketch] of sketches) window.sketches.set(canonicalSeries(series), LatencySketch.fromJSON(sketch));
    return window;
  }
}

/** Series of each kind one window may bring from the fleet store. */
export const MAX_SERIES_PER_WINDOW = 10_000;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]{0,127}$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/;

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A series key read from outside, checked and rebuilt with seriesKey; throws when it is not a metric name with well-formed labels. */
function canonicalSeries(series: string): string {
  if (series.length > 1_024) throw new Error('a series key is too long');
  const { name, labels } = parseSeries(series);
  if (!METRIC_NAME.test(name)) throw new Error('a series has no valid metric name');
  const names = Object.keys(labels);
  if (names.length > 8 || !names.every((n) => LABEL_NAME.test(n))) throw new Error('a series has invalid label names');
  const rebuilt = seriesKey(name, labels);
  // parseSeries skips what it cannot read: anything it skipped makes the rebuilt key differ.
  if (rebuilt !== series && !(names.length === 0 && series === name)) throw new Error('a series key is not in canonical form');
  return names.length === 0 ? name : rebuilt;
}

/** What a label value past its family's bounds is recorded as. */
export const OVERFLOW_LABEL = '(other)';
/** Longest label value kept as it is; a longer one is recorded as OVERFLOW_LABEL. */
export const MAX_LABEL_VALUE_LENGTH = 128;

/**
 * A metric family with fixed label names whose series keys are built once and then looked
 * up through nested maps keyed by the label values: recording a request concatenates and
 * hashes no new string (a fresh 80-character key costs about 2 µs in a Map; an interned one
 * a few tens of nanoseconds).
 *
 * Bounded: label values come from requests, models and the regional tier (4,800 distinct
 * labels from a hostile regional answer once exhausted the heap), so each label position
 * keeps at most `maxValues[i]` distinct values under one parent (e.g. 64 labels per model
 * version) and a value longer than MAX_LABEL_VALUE_LENGTH; anything past that is recorded
 * as OVERFLOW_LABEL and counted in `overflows`.
 */
export class SeriesFamily {
  readonly #root = new Map<string, unknown>();
  readonly #maxValues: readonly number[];
  /** Label values recorded as OVERFLOW_LABEL since start. */
  overflows = 0;

  constructor(
    readonly name: string,
    readonly labelNames: readonly string[],
    maxValues: readonly number[] = [],
  ) {
    this.#maxValues = labelNames.map((_, i) => maxValues[i] ?? 64);
  }

  /** The series key for these label values (in labelNames order). */
  key(v0: string, v1 = '', v2 = '', v3 = ''): string {
    const last = this.labelNames.length - 1;
    let node = this.#root;
    for (let i = 0; i < last; i++) {
      let value = i === 0 ? v0 : i === 1 ? v1 : v2;
      let next = node.get(value) as Map<string, unknown> | undefined;
      if (!next) {
        value = this.#admit(node, value, i);
        next = node.get(value) as Map<string, unknown> | undefined;
        if (!next) node.set(value, (next = new Map()));
        if (i === 0) v0 = value;
        else if (i === 1) v1 = value;
        else v2 = value;
      }
      node = next;
    }
    let leaf = last === 0 ? v0 : last === 1 ? v1 : last === 2 ? v2 : v3;
    let key = node.get(leaf) as string | undefined;
    if (key === undefined) {
      leaf = this.#admit(node, leaf, last);
      key = node.get(leaf) as string | undefined;
      if (key !== undefined) return key;
      const given = [v0, v1, v2, v3];
      given[last] = leaf;
      const labels: Record<string, string> = {};
      this.labelNames.forEach((label, i) => (labels[label] = given[i] as string));
      node.set(leaf, (key = seriesKey(this.name, labels)));
    }
    return key;
  }

  /** `value` when `node` may hold one more child at position `i`, else OVERFLOW_LABEL (which always fits: one slot is kept for it). */
  #admit(node: Map<string, unknown>, value: string, i: number): string {
    if (value === OVERFLOW_LABEL) return value;
    if (value.length <= MAX_LABEL_VALUE_LENGTH && node.size < (this.#maxValues[i] as number) - (node.has(OVERFLOW_LABEL) ? 0 : 1)) return value;
    this.overflows++;
    return OVERFLOW_LABEL;
  }
}

/** `name{a="1",b="2"}` → name and labels. Label values never contain `"` unescaped (see seriesKey). */
export function parseSeries(series: string): { name: string; labels: Record<string, string> } {
  const brace = series.indexOf('{');
  if (brace < 0) return { name: series, labels: Object.create(null) as Record<string, string> };
  // Null prototype: a label named "__proto__" or "constructor" is a label like any other.
  const labels = Object.create(null) as Record<string, string>;
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
