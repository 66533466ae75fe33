// Online assembly of a model's feature and embedding inputs on the request path: every value a
// request needs in one round trip (L1 first, then one MGET to Upstash for the rest, whatever
// the number of views), declared defaults for absent entities (counted), and when Redis is
// slow or down, defaults with `degraded: 'features_unavailable'` instead of an error. Embedding
// values are decoded once and kept decoded in L1.
import { decodeEmbedding } from '../cache/embedding-codecs.ts';
import { LruCache } from '../cache/lru.ts';
import type { RemoteCache } from '../cache/remote-cache.ts';
import type { Tensor, TensorDType } from '../engine/types.ts';
import {
  entityOf,
  tabularDefaults,
  viewKey,
  type EmbeddingFeatureView,
  type FeatureRepository,
  type FeatureViewDeclaration,
  type TabularFeatureView,
} from './declarations.ts';

/** A model input filled from feature views: `"view.field"` values in order. */
export interface FeaturesInputSpec {
  name: string;
  dtype: TensorDType;
  shape: readonly number[];
  source: 'features';
  features: readonly string[];
}

/** A model input filled with one vector of an embedding view. */
export interface EmbeddingInputSpec {
  name: string;
  dtype: TensorDType;
  shape: readonly number[];
  source: 'embedding';
  view: string;
}

/** The model.json inputs the assembler fills (source "features" or "embedding"). */
export type FeatureInputSpec = FeaturesInputSpec | EmbeddingInputSpec;

/** Where a view's value came from for one request. */
export type FeatureValueSource = 'l1' | 'l2' | 'default';

/** What `explain` holds per view: the entity, where its value came from and the value used. */
export interface ViewExplanation {
  entity: string | null;
  source: FeatureValueSource;
  /** Tabular views: field → value used. */
  values?: Record<string, number>;
  /** Embedding views: the decoded vector used, and the codec it was stored in. */
  vector?: number[];
  codec?: string;
}

/** Result of one assembly. */
export interface AssembledFeatures {
  /** input name → tensor, ready for the engine. */
  tensors: Record<string, Tensor>;
  /** view name → {@link ViewExplanation}. */
  explain: Record<string, unknown>;
  /** `features_unavailable` when L2 was needed and slow, down or not configured: defaults were used. */
  degraded?: string;
  /** Round trips to L2 (0 when L1 answered everything, else 1). */
  roundTrips: number;
  /** Milliseconds spent, L1 and L2 together. */
  ms?: number;
}

/** The contract the core calls for inputs with source `features` or `embedding`. */
export interface FeatureAssembler {
  assemble(inputs: readonly FeatureInputSpec[], fields: Readonly<Record<string, string | number>>, text?: string): Promise<AssembledFeatures>;
  /** Values of the views keyed by the request text (the spam sender-domain view), for `"explain": true` answers. */
  explainText?(text: string): Promise<AssembledFeatures>;
  /** Counters for /metrics. */
  stats?(): FeatureAssemblerStats;
}

/** Counters since creation (exported to /metrics). */
export interface FeatureAssemblerStats {
  /** assemble() calls that needed at least one view. */
  requests: number;
  /** View values per source. */
  fromL1: number;
  fromL2: number;
  defaults: number;
  /** Entities looked up in L2 (or remembered from it) and absent there: default used. */
  absentEntities: number;
  /** Views whose entity field the request did not carry: default used. */
  missingEntityFields: number;
  /** Stored values that did not parse or had the wrong length: default used. */
  invalidValues: number;
  /** Requests answered from defaults because L2 was slow, down or not configured. */
  unavailable: number;
  roundTrips: number;
}

/** Settings of {@link createFeatureAssembler}. */
export interface FeatureAssemblerOptions {
  repository: FeatureRepository;
  /** Upstash (real or local); absent → every view from defaults, marked degraded. */
  remote?: RemoteCache;
  /**
   * Time budget of the L2 read, ms (default: the remote's own budget). Over it the request
   * proceeds on defaults, marked degraded; a late reply still fills L1 for the next request.
   */
  budgetMs?: number;
  l1MaxEntries?: number;
  /** How long L1 keeps a value, ms (default 60 s: materialized views change daily, not per second). */
  l1TtlMs?: number;
  now?: () => number;
}

type StoredValue = { values: Record<string, number> } | { vector: Float32Array; codec: string } | null;

/** A {@link FeatureAssembler} over declared views, with an L1 of decoded values. */
export interface DeclaredFeatureAssembler extends FeatureAssembler {
  readonly repository: FeatureRepository;
  stats(): FeatureAssemblerStats;
  /** Every view keyed by the request text, with the same one round trip and defaults as assemble(). */
  explainText(text: string): Promise<AssembledFeatures>;
}

/**
 * Checks a model's feature inputs against the declarations once, at load: every reference
 * resolves, the tensor holds exactly the values listed. Throws naming the input and the fix.
 */
export function checkFeatureInputs(inputs: readonly FeatureInputSpec[], repository: FeatureRepository, model = 'model'): void {
  for (const input of inputs) {
    const where = `${model} input "${input.name}"`;
    let length: number;
    try {
      if (input.source === 'features') {
        if (input.features.length === 0) throw new Error('"features" lists no "view.field"');
        for (const ref of input.features) repository.field(ref);
        length = input.features.length;
      } else {
        const view = repository.view(input.view);
        if (view.kind !== 'embedding') throw new Error(`view "${view.name}" is tabular; name its fields with "source": "features"`);
        length = view.dims;
      }
    } catch (error) {
      throw new Error(`${where}: ${(error as Error).message}`);
    }
    const elements = staticElements(input.shape);
    if (elements !== length) throw new Error(`${where}: shape [${input.shape.join(', ')}] holds ${elements} values, the declarations give ${length}`);
    if (input.dtype !== 'float32' && input.dtype !== 'int32' && input.dtype !== 'int64') throw new Error(`${where}: dtype ${input.dtype} cannot carry feature values (float32, int32 or int64)`);
  }
}

/** Elements of a shape with each variable dimension taken as 1 (one request). */
function staticElements(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * (d === -1 ? 1 : d), 1);
}

/** The assembler of the request path; one instance per isolate. */
export function createFeatureAssembler(options: FeatureAssemblerOptions): DeclaredFeatureAssembler {
  const { repository, remote } = options;
  const l1 = new LruCache<StoredValue>({ maxEntries: options.l1MaxEntries ?? 20_000, maxBytes: 8 * 1024 * 1024, ...(options.now ? { now: options.now } : {}) });
  const l1TtlMs = options.l1TtlMs ?? 60_000;
  const budgetMs = options.budgetMs ?? remote?.budgetMs ?? 15;
  const stats: FeatureAssemblerStats = { requests: 0, fromL1: 0, fromL2: 0, defaults: 0, absentEntities: 0, missingEntityFields: 0, invalidValues: 0, unavailable: 0, roundTrips: 0 };

  /** Reads the views for one request: L1, then one MGET; never rejects. */
  async function readViews(views: readonly FeatureViewDeclaration[], fields: Readonly<Record<string, string | number>>, text: string | undefined) {
    const started = performance.now();
    const found = new Map<string, { entity: string | null; source: FeatureValueSource; value: StoredValue }>();
    const pending: Array<{ view: FeatureViewDeclaration; entity: string; key: string }> = [];
    for (const view of views) {
      const entity = entityOf(view, fields, text);
      if (entity === null) {
        found.set(view.name, { entity, source: 'default', value: null });
        stats.defaults++;
        stats.missingEntityFields++;
        continue;
      }
      const key = viewKey(view, entity);
      const cached = l1.get(key);
      if (cached !== undefined) {
        // A cached null remembers "absent in L2", so unknown entities do not cost a lookup each.
        found.set(view.name, { entity, source: cached ? 'l1' : 'default', value: cached });
        if (cached) stats.fromL1++;
        else (stats.defaults++, stats.absentEntities++);
        continue;
      }
      pending.push({ view, entity, key });
    }
    let degraded: string | undefined;
    let roundTrips = 0;
    if (pending.length > 0) {
      const read = remote ? remote.mget(pending.map((p) => p.key)) : undefined;
      if (read) roundTrips = 1;
      const outcome = read ? await withinBudget(read, budgetMs) : undefined;
      if (outcome?.status !== 'hit') {
        degraded = 'features_unavailable';
        stats.unavailable++;
        // Late replies still warm L1, so the next request finds the values without waiting: the
        // assembler's own budget ran out first, or the remote's did and let its request finish
        // (a straggler, checked by the remote as a reply in time is). Decoded and checked by
        // fillL1 exactly as a reply in time; never used for this request, already on defaults.
        if (read && outcome === undefined) void read.then((late) => late.status === 'hit' && fillL1(pending, late.value));
        else if (outcome?.status === 'skipped' && outcome.late) void outcome.late.then((late) => late?.status === 'hit' && fillL1(pending, late.value));
      }
      const values = outcome?.status === 'hit' ? fillL1(pending, outcome.value) : undefined;
      pending.forEach(({ view, entity }, i) => {
        const value = values?.[i] ?? null;
        found.set(view.name, { entity, source: value ? 'l2' : 'default', value });
        if (value) stats.fromL2++;
        else {
          stats.defaults++;
          if (values) stats.absentEntities++;
        }
      });
    }
    stats.roundTrips += roundTrips;
    return { found, degraded, roundTrips, ms: performance.now() - started };
  }

  function fillL1(pending: ReadonlyArray<{ view: FeatureViewDeclaration; key: string }>, raw: ReadonlyArray<string | null>): StoredValue[] {
    return pending.map(({ view, key }, i) => {
      const text = raw[i];
      const value = text == null ? null : decodeStored(view, text);
      if (text != null && value === null) stats.invalidValues++;
      l1.set(key, value, l1TtlMs, value && 'vector' in value ? 64 + value.vector.byteLength : 256);
      return value;
    });
  }

  function explanation(view: FeatureViewDeclaration, entity: string | null, source: FeatureValueSource, value: StoredValue): ViewExplanation {
    if (view.kind === 'embedding') {
      const vector = value && 'vector' in value ? Array.from(value.vector) : view.default;
      return { entity, source, vector, ...(value && 'codec' in value ? { codec: value.codec } : {}) };
    }
    return { entity, source, values: value && 'values' in value ? value.values : tabularDefaults(view) };
  }

  const assembler: DeclaredFeatureAssembler = {
    repository,
    async assemble(inputs, fields, text) {
      // Every view any input names, once: one key per (view, entity) in the single MGET.
      const views = new Map<string, FeatureViewDeclaration>();
      for (const input of inputs) {
        if (input.source === 'embedding') views.set(input.view, repository.view(input.view));
        else for (const ref of input.features) views.set(ref.slice(0, ref.indexOf('.')), repository.field(ref).view);
      }
      if (views.size === 0) return { tensors: {}, explain: {}, roundTrips: 0, ms: 0 };
      stats.requests++;
      const { found, degraded, roundTrips, ms } = await readViews([...views.values()], fields, text);
      const tensors: Record<string, Tensor> = {};
      for (const input of inputs) {
        const values: number[] = [];
        if (input.source === 'embedding') {
          const view = views.get(input.view) as EmbeddingFeatureView;
          const value = (found.get(view.name) as { value: StoredValue }).value;
          const vector = value && 'vector' in value ? value.vector : view.default;
          for (const x of vector) values.push(x);
        } else {
          for (const ref of input.features) {
            const { view, field } = repository.field(ref);
            const value = (found.get(view.name) as { value: StoredValue }).value;
            values.push(value && 'values' in value ? (value.values[field.name] ?? field.default) : field.default);
          }
        }
        tensors[input.name] = toTensor(input, values);
      }
      const explain: Record<string, unknown> = {};
      for (const [name, { entity, source, value }] of found) explain[name] = explanation(views.get(name) as FeatureViewDeclaration, entity, source, value);
      return { tensors, explain, ...(degraded ? { degraded } : {}), roundTrips, ms };
    },
    async explainText(text) {
      const views = [...repository.views.values()].filter((v) => 'text' in v.entity);
      if (views.length === 0) return { tensors: {}, explain: {}, roundTrips: 0, ms: 0 };
      stats.requests++;
      const { found, degraded, roundTrips, ms } = await readViews(views, {}, text);
      const explain: Record<string, unknown> = {};
      for (const view of views) {
        const { entity, source, value } = found.get(view.name) as { entity: string | null; source: FeatureValueSource; value: StoredValue };
        explain[view.name] = explanation(view, entity, source, value);
      }
      return { tensors: {}, explain, ...(degraded ? { degraded } : {}), roundTrips, ms };
    },
    stats: () => ({ ...stats }),
  };
  return assembler;
}

/** Resolves with the read, or undefined when the budget runs out first. */
function withinBudget<T>(read: Promise<T>, budgetMs: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), budgetMs);
  });
  return Promise.race([read, timeout]).finally(() => clearTimeout(timer));
}

/** A stored value in the view's form, or null when it does not parse (then the default is used). */
function decodeStored(view: FeatureViewDeclaration, text: string): StoredValue {
  if (view.kind === 'embedding') {
    try {
      const vector = decodeEmbedding(text);
      if (vector.length !== view.dims) return null;
      return { vector, codec: text.slice(0, text.indexOf(':')) };
    } catch {
      return null;
    }
  }
  return parseTabular(view, text);
}

/** Stored form of a tabular view: a JSON object of its fields; a missing or non-numeric field takes its default. */
function parseTabular(view: TabularFeatureView, text: string): StoredValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const values: Record<string, number> = {};
  for (const field of view.fields) {
    const v = (parsed as Record<string, unknown>)[field.name];
    values[field.name] = typeof v === 'number' && Number.isFinite(v) ? v : field.default;
  }
  return { values };
}

function toTensor(input: FeatureInputSpec, values: number[]): Tensor {
  const dims = input.shape.map((d) => (d === -1 ? 1 : d));
  if (staticElements(dims) !== values.length) {
    throw new Error(`input "${input.name}": shape [${input.shape.join(', ')}] holds ${staticElements(dims)} values, ${values.length} were assembled`);
  }
  switch (input.dtype) {
    case 'int32':
      return { dtype: 'int32', dims, data: Int32Array.from(values, Math.round) };
    case 'int64':
      return { dtype: 'int64', dims, data: BigInt64Array.from(values, (v) => BigInt(Math.round(v))) };
    default:
      return { dtype: 'float32', dims, data: Float32Array.from(values) };
  }
}
