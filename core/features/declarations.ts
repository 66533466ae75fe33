// Feature views as declarations (after Feast's feature views and entities): each view names
// the request field(s) that key it (or a named extractor over the request text), its fields
// with dtypes and defaults, a version (bumped when the computation changes, so old values are
// never read: the version is part of every key), a TTL, and the source its materialization
// reads. Parsed once at startup; a bad declaration fails with the file and the field.
import { featureKey } from '../cache/keys.ts';
import { parseMessage } from '../preprocess/email-hash.ts';

/** Element types a feature field may declare (values travel as numbers either way). */
export const FEATURE_DTYPES = ['float32', 'int32', 'int64'] as const;
export type FeatureDType = (typeof FEATURE_DTYPES)[number];

/** One field of a tabular view. */
export interface FeatureField {
  name: string;
  dtype: FeatureDType;
  /** Value used when the entity is absent (or the stored value lacks the field). */
  default: number;
  description?: string;
}

/**
 * What keys a view: request fields (their values joined with "|", in this order), or a named
 * extractor over the request text (the spam example's sender domain).
 */
export type EntitySpec = { name: string; fields: string[] } | { name: string; text: TextEntityExtractor };

/** Extractors of an entity from the request text, by name. */
export const TEXT_ENTITY_EXTRACTORS = { sender_domain: senderDomain } as const;
export type TextEntityExtractor = keyof typeof TEXT_ENTITY_EXTRACTORS;

/** Where the batch job reads a view's values from (interpreted by the materializer, not the request path). */
export interface FeatureSource {
  /** A materializer known to `npm run features:materialize` (e.g. "spam-assassin", "flights"). */
  kind: string;
  [setting: string]: unknown;
}

interface ViewBase {
  name: string;
  version: number;
  entity: EntitySpec;
  /** Lifetime of materialized values in Redis, seconds. */
  ttlSeconds: number;
  source: FeatureSource;
  description?: string;
  /** Declaration file, for messages. */
  file: string;
}

/** A view of named numeric fields per entity, stored as a JSON object. */
export interface TabularFeatureView extends ViewBase {
  kind: 'tabular';
  fields: FeatureField[];
}

/** A view of one vector per entity, stored in an embedding codec (core/cache/embedding-codecs.ts). */
export interface EmbeddingFeatureView extends ViewBase {
  kind: 'embedding';
  dims: number;
  /** Vector used when the entity is absent: zeros unless declared. */
  default: number[];
}

export type FeatureViewDeclaration = TabularFeatureView | EmbeddingFeatureView;

/** Views by name, with lookups that fail with an actionable message. */
export interface FeatureRepository {
  readonly views: ReadonlyMap<string, FeatureViewDeclaration>;
  /** The view of that name; throws naming the known ones. */
  view(name: string): FeatureViewDeclaration;
  /** Resolves "view.field" into the view and the field's index; throws naming what is wrong. */
  field(ref: string): { view: TabularFeatureView; field: FeatureField; index: number };
}

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** The sender's domain from the From header, lower-cased; null when there is no address. */
export function senderDomain(text: string): string | null {
  const from = parseMessage(text).from;
  const match = /@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/.exec(from);
  return match ? (match[1] as string).toLowerCase().replace(/\.$/, '') : null;
}

/**
 * The entity of a request for a view: the declared fields' values joined with "|" (numbers
 * as JSON numbers, strings as sent), or the text extractor's result; null when a field is
 * absent or empty (then the view's defaults apply).
 */
export function entityOf(view: FeatureViewDeclaration, fields: Readonly<Record<string, string | number>>, text?: string): string | null {
  const spec = view.entity;
  if ('text' in spec) return text === undefined ? null : TEXT_ENTITY_EXTRACTORS[spec.text](text);
  const parts: string[] = [];
  for (const name of spec.fields) {
    const value = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (value === undefined || value === '') return null;
    parts.push(typeof value === 'number' ? String(value) : value);
  }
  return parts.join('|');
}

/** Redis key of a view's value for an entity: `f:{view}:{version}:{entity}`. */
export function viewKey(view: FeatureViewDeclaration, entity: string): string {
  return featureKey(view.name, view.version, entity);
}

/** Defaults of a tabular view as a field → value map. */
export function tabularDefaults(view: TabularFeatureView): Record<string, number> {
  return Object.fromEntries(view.fields.map((f) => [f.name, f.default]));
}

/**
 * Parses one declaration file's JSON. Throws an Error naming the file and the field that is
 * wrong, and what was expected.
 */
export function parseFeatureView(json: string, file: string): FeatureViewDeclaration {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
  return featureViewFrom(raw, file);
}

/** {@link parseFeatureView} of an already parsed value (a bundled JSON module). */
export function featureViewFrom(raw: unknown, file: string): FeatureViewDeclaration {
  const fail = (problem: string): never => {
    throw new Error(`${file}: ${problem}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('must be a JSON object describing one feature view');
  const v = raw as Record<string, unknown>;
  const known = ['$comment', 'name', 'version', 'kind', 'entity', 'fields', 'dims', 'default', 'ttlSeconds', 'source', 'description'];
  for (const key of Object.keys(v)) if (!known.includes(key)) fail(`unknown key "${key}"; a view declares ${known.slice(1).join(', ')}`);
  if (typeof v.name !== 'string' || !NAME.test(v.name)) fail(`"name" must match ${NAME.source} (it is used in keys and in "view.field" references)`);
  if (!Number.isInteger(v.version) || (v.version as number) < 1) fail('"version" must be an integer ≥ 1 (bump it when the computation changes)');
  const kind = v.kind ?? 'tabular';
  if (kind !== 'tabular' && kind !== 'embedding') fail(`"kind" must be "tabular" or "embedding", got ${JSON.stringify(kind)}`);
  if (!Number.isInteger(v.ttlSeconds) || (v.ttlSeconds as number) < 0) fail('"ttlSeconds" must be an integer ≥ 0 (0: no expiry)');
  const source = v.source as Record<string, unknown> | undefined;
  if (typeof source !== 'object' || source === null || typeof source.kind !== 'string' || !source.kind) {
    fail('"source" must be an object with "kind" naming the materializer that computes the view (e.g. {"kind": "flights"})');
  }
  const entity = parseEntity(v.entity, fail);
  const base = {
    name: v.name as string,
    version: v.version as number,
    entity,
    ttlSeconds: v.ttlSeconds as number,
    source: source as FeatureSource,
    file,
    ...(typeof v.description === 'string' ? { description: v.description } : {}),
  };
  if (kind === 'embedding') {
    if (v.fields !== undefined) fail('an embedding view has "dims", not "fields"');
    if (!Number.isInteger(v.dims) || (v.dims as number) < 1 || (v.dims as number) > 4096) fail('"dims" must be an integer in [1, 4096]');
    const dims = v.dims as number;
    let fallback: number[] = new Array<number>(dims).fill(0);
    if (v.default !== undefined) {
      if (!Array.isArray(v.default) || v.default.length !== dims || !v.default.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        fail(`"default" must be an array of ${dims} finite numbers (or left out for zeros)`);
      }
      fallback = v.default as number[];
    }
    return { ...base, kind: 'embedding', dims, default: fallback };
  }
  if (v.dims !== undefined || v.default !== undefined) fail('a tabular view declares "fields" (each with its default), not "dims"/"default"');
  if (!Array.isArray(v.fields) || v.fields.length === 0) fail('"fields" must be a non-empty array of {name, dtype, default}');
  const seen = new Set<string>();
  const fields = (v.fields as unknown[]).map((f, i): FeatureField => {
    const where = `fields[${i}]`;
    if (typeof f !== 'object' || f === null) return fail(`${where} must be an object {name, dtype, default}`);
    const field = f as Record<string, unknown>;
    if (typeof field.name !== 'string' || !NAME.test(field.name)) fail(`${where}.name must match ${NAME.source}`);
    if (seen.has(field.name as string)) fail(`${where}.name "${String(field.name)}" is declared twice`);
    seen.add(field.name as string);
    if (!FEATURE_DTYPES.includes(field.dtype as FeatureDType)) fail(`${where}.dtype must be one of ${FEATURE_DTYPES.join(', ')}`);
    if (typeof field.default !== 'number' || !Number.isFinite(field.default)) fail(`${where}.default must be a finite number (the value of an absent entity)`);
    if ((field.dtype === 'int32' || field.dtype === 'int64') && !Number.isInteger(field.default)) fail(`${where}.default must be an integer for dtype ${String(field.dtype)}`);
    return {
      name: field.name as string,
      dtype: field.dtype as FeatureDType,
      default: field.default as number,
      ...(typeof field.description === 'string' ? { description: field.description } : {}),
    };
  });
  return { ...base, kind: 'tabular', fields };
}

function parseEntity(value: unknown, fail: (problem: string) => never): EntitySpec {
  const shape = '"entity" must be {"name", "fields": ["request field", ...]} or {"name", "text": "<extractor>"}';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(shape);
  const e = value as Record<string, unknown>;
  if (typeof e.name !== 'string' || !NAME.test(e.name)) fail(`"entity.name" must match ${NAME.source}`);
  if (e.fields !== undefined && e.text !== undefined) fail('"entity" is keyed by "fields" or by "text", not both');
  if (e.text !== undefined) {
    if (typeof e.text !== 'string' || !Object.hasOwn(TEXT_ENTITY_EXTRACTORS, e.text)) {
      fail(`"entity.text" must name an extractor: ${Object.keys(TEXT_ENTITY_EXTRACTORS).join(', ')}`);
    }
    return { name: e.name as string, text: e.text as TextEntityExtractor };
  }
  if (!Array.isArray(e.fields) || e.fields.length === 0 || !e.fields.every((f) => typeof f === 'string' && NAME.test(f))) fail(shape);
  if (new Set(e.fields as string[]).size !== (e.fields as string[]).length) fail('"entity.fields" names a field twice');
  return { name: e.name as string, fields: [...(e.fields as string[])] };
}

/** A repository over parsed declarations; throws when two declare the same view name. */
export function createFeatureRepository(declarations: readonly FeatureViewDeclaration[]): FeatureRepository {
  const views = new Map<string, FeatureViewDeclaration>();
  for (const d of declarations) {
    const other = views.get(d.name);
    if (other) throw new Error(`${d.file}: view "${d.name}" is also declared in ${other.file}`);
    views.set(d.name, d);
  }
  const knownList = () => [...views.keys()].sort().join(', ') || 'none';
  const repository: FeatureRepository = {
    views,
    view(name) {
      const view = views.get(name);
      if (!view) throw new Error(`unknown feature view "${name}"; declared views: ${knownList()}`);
      return view;
    },
    field(ref) {
      const dot = ref.indexOf('.');
      if (dot < 1 || dot === ref.length - 1) throw new Error(`feature reference "${ref}" must be "view.field"`);
      const view = repository.view(ref.slice(0, dot));
      const name = ref.slice(dot + 1);
      if (view.kind !== 'tabular') throw new Error(`feature reference "${ref}": view "${view.name}" is an embedding view; use an input with "source": "embedding", "view": "${view.name}"`);
      const index = view.fields.findIndex((f) => f.name === name);
      if (index < 0) throw new Error(`feature reference "${ref}": view "${view.name}" has no field "${name}"; it has ${view.fields.map((f) => f.name).join(', ')}`);
      return { view, field: view.fields[index] as FeatureField, index };
    },
  };
  return repository;
}

/** Parses many declaration files (name → JSON text) into a repository. */
export function parseFeatureRepository(files: ReadonlyArray<{ file: string; json: string }>): FeatureRepository {
  return createFeatureRepository(files.map(({ file, json }) => parseFeatureView(json, file)));
}
