// Online feature reads for the request path: every view a request needs in one round trip
// (L1 first, then one MGET to Upstash for the rest), defaults for absent entities, counted.
// Redis slow or down → defaults too, with the reason, never an error.
import { featureKey } from '../cache/keys.ts';
import { LruCache } from '../cache/lru.ts';
import type { RemoteCache, RemoteSkipReason } from '../cache/remote-cache.ts';
import type { FeatureView } from './feature-views.ts';

/** Where each view's values came from. */
export type FeatureSource = 'l1' | 'l2' | 'default';

/** Features of one request. */
export interface FeatureFetch {
  /** view name → field → value */
  values: Record<string, Record<string, number>>;
  /** view name → entity (null when the request had none) and where the values came from. */
  sources: Record<string, { entity: string | null; source: FeatureSource }>;
  /** Set when L2 was needed but skipped. */
  l2Skipped?: RemoteSkipReason;
  /** Round trips to L2 (0 or 1). */
  roundTrips: number;
  ms: number;
}

/** Counters since creation. */
export interface OnlineFeatureStats {
  requests: number;
  fromL1: number;
  fromL2: number;
  defaults: number;
  absentEntities: number;
  l2Skipped: number;
}

/** Reads feature views for requests; one instance per isolate. */
export class OnlineFeatures {
  readonly views: readonly FeatureView[];
  readonly #remote: RemoteCache | undefined;
  readonly #l1: LruCache<Record<string, number> | null>;
  readonly #stats: OnlineFeatureStats = { requests: 0, fromL1: 0, fromL2: 0, defaults: 0, absentEntities: 0, l2Skipped: 0 };

  constructor(options: { views: readonly FeatureView[]; remote?: RemoteCache; l1MaxEntries?: number; l1TtlMs?: number; now?: () => number }) {
    this.views = options.views;
    this.#remote = options.remote;
    this.#l1 = new LruCache({ maxEntries: options.l1MaxEntries ?? 5_000, maxBytes: 4 * 1024 * 1024, ...(options.now ? { now: options.now } : {}) });
    this.#l1TtlMs = options.l1TtlMs ?? 60_000;
  }

  readonly #l1TtlMs: number;

  /** Features of every view for the request text. */
  async fetch(text: string): Promise<FeatureFetch> {
    const started = performance.now();
    this.#stats.requests++;
    const values: FeatureFetch['values'] = {};
    const sources: FeatureFetch['sources'] = {};
    const pending: Array<{ view: FeatureView; entity: string; key: string }> = [];
    for (const view of this.views) {
      const entity = view.entityOf(text);
      if (entity === null) {
        values[view.name] = { ...view.defaults };
        sources[view.name] = { entity, source: 'default' };
        this.#stats.defaults++;
        continue;
      }
      const key = featureKey(view.name, view.version, entity);
      const cached = this.#l1.get(key);
      if (cached !== undefined) {
        // A cached null remembers "absent in L2" so unknown senders do not cost a lookup each.
        values[view.name] = cached ?? { ...view.defaults };
        sources[view.name] = { entity, source: cached ? 'l1' : 'default' };
        if (cached) this.#stats.fromL1++;
        else (this.#stats.defaults++, this.#stats.absentEntities++);
        continue;
      }
      pending.push({ view, entity, key });
    }
    let l2Skipped: RemoteSkipReason | undefined;
    let roundTrips = 0;
    if (pending.length > 0) {
      const read = this.#remote ? await this.#remote.mget(pending.map((p) => p.key)) : undefined;
      if (read) roundTrips = 1;
      if (read?.status === 'skipped') {
        l2Skipped = read.reason;
        this.#stats.l2Skipped++;
      }
      pending.forEach(({ view, entity, key }, i) => {
        const raw = read?.status === 'hit' ? read.value[i] : undefined;
        const parsed = raw ? parseFields(raw, view) : null;
        if (read?.status === 'hit') this.#l1.set(key, parsed, this.#l1TtlMs, 256);
        values[view.name] = parsed ?? { ...view.defaults };
        sources[view.name] = { entity, source: parsed ? 'l2' : 'default' };
        if (parsed) this.#stats.fromL2++;
        else {
          this.#stats.defaults++;
          this.#stats.absentEntities++;
        }
      });
    }
    return { values, sources, ...(l2Skipped ? { l2Skipped } : {}), roundTrips, ms: performance.now() - started };
  }

  stats(): OnlineFeatureStats {
    return { ...this.#stats };
  }
}

/** Stored form: a JSON object of the view's fields; missing or non-numeric fields take the default. */
function parseFields(raw: string, view: FeatureView): Record<string, number> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const out: Record<string, number> = {};
  for (const [field, fallback] of Object.entries(view.defaults)) {
    const v = (parsed as Record<string, unknown>)[field];
    out[field] = typeof v === 'number' && Number.isFinite(v) ? v : fallback;
  }
  return out;
}
