// Telemetry of one isolate: every response and every prediction is recorded into the
// current time window (counters and DDSketches, see metrics-window.ts); closed windows are
// kept for the dashboard's time series and, when a fleet store is configured, every window
// is flushed to Redis after responses (waitUntil) so any reader can merge the whole fleet.
// Recording is synchronous and does no I/O: a few map updates and sketch inserts.
import { DEFAULT_PRICE_TABLE, type PriceTable } from '../cache/price-table.ts';
import { predictionCostUsd, redisCommandsFor, type PredictionPath } from './cost.ts';
import type { FleetStore } from './fleet-store.ts';
import { type OtlpOptions, pushOtlp, toOtlpJson } from './otlp.ts';
import { MetricsWindow, SeriesFamily } from './metrics-window.ts';
import { randomHex8 } from '../http/random-id.ts';

/** The facts of one prediction telemetry needs (the /v1/predict answer has them all). */
export interface PredictionRecord {
  label: string;
  model: { name: string; version: string };
  tier: 'edge' | 'regional';
  degraded: boolean;
  reason?: string;
  escalation?: { cause: string; outcome: string; ms: number };
  cached: boolean;
  cache?: { level: string | null; l2: string };
  timings: Record<string, number>;
}

/** Settings of {@link Telemetry}. */
export interface TelemetryOptions {
  /** Length of one window, ms (default 60 s): the resolution of the dashboard's time series. */
  windowMs?: number;
  /** Closed windows kept in memory (default 60). */
  historyWindows?: number;
  /** Prices each prediction is costed with (default: DEFAULT_PRICE_TABLE). */
  prices?: PriceTable;
  /** Where windows are flushed for the fleet view (Upstash); none → this isolate only. */
  fleet?: FleetStore;
  /** Minimum time between two flushes of one isolate, ms (default 10 s). */
  flushEveryMs?: number;
  /** Push to an OpenTelemetry collector (OTLP/HTTP JSON) after responses, at most every `everyMs`. */
  otlp?: OtlpOptions;
  /** Name of this point of presence (region, PoP code), part of the isolate's id in the fleet store. */
  pop?: string;
  now?: () => number;
}

/** What Telemetry reads: this isolate's windows, oldest first, plus the running one. */
export interface TelemetrySnapshot {
  /** Everything since the isolate started. */
  total: MetricsWindow;
  /** Per window, oldest first (the last one is still running). */
  windows: MetricsWindow[];
}

// Series keys are interned per family: recording builds no strings (see SeriesFamily).
const REQUESTS = new SeriesFamily('edgeinfer_requests_total', ['status']);
const ERRORS = new SeriesFamily('edgeinfer_errors_total', ['code']);
// Bounded per parent: 32 models, 8 versions each, 64 labels per version (a model's declared
// labels; a hostile regional tier's inventions go to "(other)"), 4 paths. See SeriesFamily.
const PREDICTIONS = new SeriesFamily('edgeinfer_predictions_total', ['model', 'version', 'label', 'path'], [32, 8, 64, 4]);
const LATENCY = new SeriesFamily('edgeinfer_latency_ms', ['model', 'version', 'path'], [32, 8, 4]);
const STAGES = new SeriesFamily('edgeinfer_stage_ms', ['stage']);
const CACHE_HITS = new SeriesFamily('edgeinfer_cache_hits_total', ['level']);
const CACHE_L2 = new SeriesFamily('edgeinfer_cache_l2_total', ['status']);
const ESCALATIONS = new SeriesFamily('edgeinfer_escalations_total', ['cause', 'outcome']);
const DEGRADED = new SeriesFamily('edgeinfer_degraded_total', ['reason']);
const COST = new SeriesFamily('edgeinfer_cost_usd_total', ['path']);
const FAMILIES = [REQUESTS, ERRORS, PREDICTIONS, LATENCY, STAGES, CACHE_HITS, CACHE_L2, ESCALATIONS, DEGRADED, COST];
const STATUS_TEXT: string[] = [];
/** Largest serialised window read from the fleet store, and isolates merged per window. */
const MAX_FLEET_ENTRY_CHARS = 1_000_000;
const MAX_FLEET_MEMBERS = 1_000;
/**
 * The stages the predict route times (its StageTimer names). Read by name rather than by
 * iterating the timings object: for-in over a fresh object per request was most of the
 * recording cost in the handler (measured with bench:telemetry).
 */
const STAGES_RECORDED = ['parse', 'hash', 'preprocess', 'infer', 'regional', 'cacheL2', 'features'] as const;
const STAGE_SERIES = STAGES_RECORDED.map((stage) => [`${stage}Ms`, STAGES.key(stage)] as const);

/** Records and keeps the metrics of one isolate. */
export class Telemetry {
  readonly windowMs: number;
  readonly prices: PriceTable;
  readonly fleet: FleetStore | undefined;
  /** This isolate in the fleet store: `{pop}/{random id}`. */
  readonly isolateId: string;
  readonly #historyWindows: number;
  readonly #flushEveryMs: number;
  readonly #now: () => number;
  /** Closed windows merged (those that fell out of history included). */
  readonly #closed: MetricsWindow;
  readonly #history: MetricsWindow[] = [];
  #current: MetricsWindow;
  /** Windows closed since the last flush: flushed once more in their final state. */
  #unflushed: MetricsWindow[] = [];
  #lastFlush = -Infinity;
  #flushing = false;
  /** A flush was due while one was running: the running one writes once more when done. */
  #flushAgain = false;
  /** Flush attempts that failed (Redis down): visible in /metrics, never thrown. */
  flushFailures = 0;
  /** Fleet-store entries skipped as malformed, oversized or beyond the member bound: visible in /metrics. */
  fleetEntriesSkipped = 0;
  readonly otlp: OtlpOptions | undefined;
  readonly #startedAt: number;
  #lastPush = -Infinity;
  /** OTLP pushes made and failed. */
  pushes = 0;
  pushFailures = 0;

  constructor(options: TelemetryOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    if (!(this.windowMs > 0)) throw new RangeError(`telemetry windowMs must be > 0, got ${this.windowMs}`);
    this.prices = options.prices ?? DEFAULT_PRICE_TABLE;
    this.fleet = options.fleet;
    this.#historyWindows = options.historyWindows ?? 60;
    this.#flushEveryMs = options.flushEveryMs ?? 10_000;
    this.#now = options.now ?? (() => Date.now());
    this.isolateId = `${options.pop ?? 'local'}/${randomHex8()}`;
    this.otlp = options.otlp;
    this.#startedAt = this.#now();
    const start = this.#windowStart(this.#now());
    this.#closed = new MetricsWindow(start, start);
    this.#current = new MetricsWindow(start, start + this.windowMs);
  }

  /** The window recording happens in now (rolls over when its time is up). */
  current(): MetricsWindow {
    const now = this.#now();
    if (now >= this.#current.end) {
      const closed = this.#current;
      this.#closed.merge(closed);
      this.#history.push(closed);
      if (this.#history.length > this.#historyWindows) this.#history.shift();
      if (this.fleet) this.#unflushed.push(closed);
      const start = this.#windowStart(now);
      this.#current = new MetricsWindow(start, start + this.windowMs);
    }
    return this.#current;
  }

  /** Records one HTTP response (every route): requests by status, errors by code. */
  recordResponse(status: number, errorCode?: string): void {
    const w = this.current();
    w.inc(REQUESTS.key((STATUS_TEXT[status] ??= String(status))));
    if (errorCode) w.inc(ERRORS.key(errorCode));
  }

  /** Records one prediction: label per model version, path, latency, cache, escalation, degradation, cost. */
  recordPrediction(p: PredictionRecord): PredictionPath {
    const w = this.current();
    const path: PredictionPath = p.cached ? 'cache_hit' : p.escalation ? 'escalated' : 'edge';
    const { name, version } = p.model;
    w.inc(PREDICTIONS.key(name, version, p.label, path));
    const totalMs = p.timings.totalMs ?? 0;
    w.observe(LATENCY.key(name, version, path), totalMs);
    const timings = p.timings;
    for (let i = 0; i < STAGE_SERIES.length; i++) {
      const [field, series] = STAGE_SERIES[i] as (typeof STAGE_SERIES)[number];
      const ms = timings[field];
      if (ms !== undefined) w.observe(series, ms);
    }
    if (p.cache) {
      if (p.cache.level) w.inc(CACHE_HITS.key(p.cache.level));
      else w.inc('edgeinfer_cache_misses_total');
      w.inc(CACHE_L2.key(p.cache.l2));
    }
    const call = p.escalation;
    // A call the open circuit refused never left the PoP and costs nothing.
    const called = call !== undefined && call.outcome !== 'circuit_open';
    if (call) w.inc(ESCALATIONS.key(call.cause, call.outcome));
    if (p.degraded) w.inc(DEGRADED.key(p.reason ?? 'unknown'));
    const usd = predictionCostUsd(this.prices, {
      totalMs,
      ...(called ? { regionalMs: call.ms } : {}),
      redisCommands: redisCommandsFor(p.cache?.l2),
    });
    w.inc(COST.key(path), usd);
    return path;
  }

  /** Label values recorded as "(other)" because their family's bounds were reached (every family of this module). */
  labelOverflows(): number {
    let n = 0;
    for (const family of FAMILIES) n += family.overflows;
    return n;
  }

  /** This isolate's windows and their total. */
  snapshot(): TelemetrySnapshot {
    const current = this.current();
    const total = new MetricsWindow(this.#closed.start, this.#closed.end).merge(this.#closed).merge(current);
    return { total, windows: [...this.#history, current] };
  }

  /**
   * Called after each response: when a fleet store is configured and the last flush is
   * older than flushEveryMs, hands the flush to waitUntil (never awaited on the request path).
   */
  afterResponse(waitUntil: ((promise: Promise<unknown>) => void) | undefined): void {
    if (!waitUntil) return;
    if (this.otlp) {
      const now = this.#now();
      if (now - this.#lastPush >= (this.otlp.everyMs ?? 30_000)) {
        this.#lastPush = now;
        waitUntil(this.push());
      }
    }
    if (!this.fleet) return;
    const now = this.#now();
    if (now - this.#lastFlush < this.#flushEveryMs) return;
    this.#lastFlush = now;
    // One write at a time per isolate; the one running picks up what arrived meanwhile.
    if (this.#flushing) this.#flushAgain = true;
    else waitUntil(this.flush());
  }

  /** Pushes this isolate's totals (cumulative since it started) to the OTLP collector; never rejects. */
  async push(): Promise<boolean> {
    if (!this.otlp) return false;
    try {
      const body = toOtlpJson(this.snapshot().total, { 'service.name': 'edgeinfer', 'service.instance.id': this.isolateId }, this.#startedAt, this.#now());
      await pushOtlp(this.otlp, body);
      this.pushes++;
      return true;
    } catch {
      this.pushFailures++;
      return false;
    }
  }

  /** Writes the windows closed since the last flush and the running one to the fleet store. */
  async flush(): Promise<boolean> {
    if (!this.fleet) return false;
    this.#flushing = true;
    let ok = true;
    try {
      do {
        this.#flushAgain = false;
        // An isolate that recorded nothing writes nothing (and does not count as a member of the fleet).
        const current = this.current();
        const windows = [...this.#unflushed, current].filter((w) => w.counters.size > 0 || w.sketches.size > 0);
        this.#unflushed = [];
        if (windows.length === 0) break;
        try {
          await this.fleet.write(
            this.isolateId,
            windows.map((w) => ({ start: w.start, json: JSON.stringify(w.toJSON()) })),
          );
          ok = true;
        } catch {
          this.flushFailures++;
          // Closed windows get another chance with the next flush.
          this.#unflushed.unshift(...windows.filter((w) => w !== current));
          ok = false;
        }
      } while (this.#flushAgain && ok);
    } finally {
      this.#flushing = false;
    }
    return ok;
  }

  /**
   * The fleet's windows (every isolate that flushed, merged per window) over the last
   * `windows` windows, or this isolate's when no fleet store is configured or it fails.
   */
  async fleetSnapshot(windows = this.#historyWindows): Promise<TelemetrySnapshot & { scope: 'fleet' | 'isolate'; isolates: number }> {
    if (!this.fleet) return { ...this.snapshot(), scope: 'isolate', isolates: 1 };
    // Our own latest numbers go in first, so a reader sees its own traffic without waiting.
    await this.flush();
    const end = this.#windowStart(this.#now());
    const starts: number[] = [];
    for (let i = windows - 1; i >= 0; i--) starts.push(end - i * this.windowMs);
    let read: Array<Record<string, string>>;
    try {
      read = await this.fleet.read(starts);
    } catch {
      return { ...this.snapshot(), scope: 'isolate', isolates: 1 };
    }
    const isolates = new Set<string>();
    const merged: MetricsWindow[] = [];
    const total = new MetricsWindow(starts[0] as number, end + this.windowMs);
    read.forEach((members, i) => {
      const start = starts[i] as number;
      const window = new MetricsWindow(start, start + this.windowMs);
      let any = false;
      let count = 0;
      for (const [member, json] of Object.entries(members)) {
        // Checked before parsing and merging: a forged entry must cost a bounded amount and never fail the read.
        if (++count > MAX_FLEET_MEMBERS || typeof json !== 'string' || json.length > MAX_FLEET_ENTRY_CHARS) {
          this.fleetEntriesSkipped++;
          continue;
        }
        try {
          window.merge(MetricsWindow.fromJSON(JSON.parse(json)));
          isolates.add(member);
          any = true;
        } catch {
          // A malformed entry (another version's format, a partial write, a forgery) is skipped and counted, not fatal.
          this.fleetEntriesSkipped++;
        }
      }
      if (any) {
        merged.push(window);
        total.merge(window);
      }
    });
    return { total, windows: merged, scope: 'fleet', isolates: isolates.size };
  }

  #windowStart(now: number): number {
    return Math.floor(now / this.windowMs) * this.windowMs;
  }
}
