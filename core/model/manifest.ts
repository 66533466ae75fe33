// model.json: what a model version declares about itself, after Triton's model
// configuration and KServe's model metadata: every input with where its values come from,
// every output and what it means, batch limit, warmup requests, cascade and cache. Parsed
// and checked once at load into one normalised form (the rest of the core trusts it); the
// first model.json format (top-level `labels` + `probabilitiesOutput`, inputs without
// `source`) maps onto the same form unchanged. README "model.json" documents the fields.
import { TENSOR_DTYPES, type TensorDType } from '../engine/types.ts';
import type { PreprocessingSpec } from '../preprocess/index.ts';
import { isValidModelName, isValidModelVersion, labelsProblem, tensorNameProblem } from './names.ts';

/** One declared tensor. `-1` marks a variable dimension. */
export interface TensorSpec {
  name: string;
  dtype: TensorDType;
  shape: number[];
}

/** Where an input's values come from. */
export type InputSource = 'request' | 'text' | 'features' | 'embedding' | 'fields' | 'constant';

interface InputCommon extends TensorSpec {
  /** True when the request may leave it out; it is then filled with `default`. */
  optional: boolean;
  /** Scalar fill of an optional input (and of features/embedding values that are unavailable). */
  default?: number;
}

/** The client sends the tensor (KServe V2 input of that name, or /v1/predict `inputs[name]`). */
export interface RequestInputSpec extends InputCommon {
  source: 'request';
}

/** Produced from the request's `text` by the model's preprocessing; `text` names the product. */
export interface TextInputSpec extends InputCommon {
  source: 'text';
  text: string;
}

/** Values of declared feature views ("view.feature"), in this order, keyed by request fields. */
export interface FeaturesInputSpec extends InputCommon {
  source: 'features';
  features: string[];
}

/** One vector of an embedding view, keyed by a request field. */
export interface EmbeddingInputSpec extends InputCommon {
  source: 'embedding';
  view: string;
}

/** Numeric request fields, in this order (tabular inputs the client knows). */
export interface FieldsInputSpec extends InputCommon {
  source: 'fields';
  fields: string[];
}

/** A fixed tensor: a scalar fill, or the full data in row-major order. */
export interface ConstantInputSpec extends InputCommon {
  source: 'constant';
  value: number | number[];
}

/** One declared input, by source. */
export type InputSpec = RequestInputSpec | TextInputSpec | FeaturesInputSpec | EmbeddingInputSpec | FieldsInputSpec | ConstantInputSpec;

/** The inputs a FeatureAssembler fills (core/features). */
export type FeatureInputSpec = FeaturesInputSpec | EmbeddingInputSpec;

/** What is applied to a classification tensor before it is read as probabilities. */
export type ClassificationActivation = 'none' | 'softmax' | 'sigmoid';

/**
 * A classification output. Per batch row, the tensor holds one value per label, or a single
 * unit for two labels `[negative, positive]` (the unit is the positive probability, after the
 * sigmoid when `activation` is "sigmoid").
 */
export interface ClassificationOutput {
  kind: 'classification';
  tensor: string;
  labels: string[];
  activation: ClassificationActivation;
}

/** A regression output: one value per element of `tensor`, named by `names` when given. */
export interface RegressionOutput {
  kind: 'regression';
  tensor: string;
  names?: string[];
}

/** Every output returned as a tensor, uninterpreted. */
export interface RawOutput {
  kind: 'raw';
}

/** What the outputs mean. */
export type OutputMeaning = ClassificationOutput | RegressionOutput | RawOutput;

/** Which builds embed the model: edge builds take `edge` and `any`, the regional build `regional` and `any`. */
export type ModelRole = 'edge' | 'regional' | 'any';

/** One tensor of a warmup request: `fill` repeats `data[0]` over the shape. */
export interface WarmupTensor {
  data: number[];
  /** Concrete shape; absent → the declared shape with variable dims at their warmup size. */
  shape?: number[];
  fill: boolean;
}

/** One warmup request (as Triton's model_warmup): explicit tensors, text, fields; the rest is assembled. */
export interface WarmupRequest {
  /** Null-prototype record: input name → tensor. */
  inputs: Record<string, WarmupTensor>;
  text?: string;
  fields?: Record<string, string | number>;
}

/** Which engine runs the model: `auto` lets the registry choose. */
export type EngineChoice = 'auto' | 'micro' | 'ort';

/** The normalised contents of models/<name>/<version>/model.json. */
export interface ModelManifest {
  name: string;
  version: string;
  /** File of the ONNX graph, relative to the version folder. */
  file: string;
  /** Hex SHA-256 of that file: checked at load, and part of every cache key. */
  sha256: string;
  engine: EngineChoice;
  role: ModelRole;
  inputs: InputSpec[];
  outputs: TensorSpec[];
  /** The text preprocessing (present when an input has source "text", or when declared). */
  preprocessing?: PreprocessingSpec;
  output: OutputMeaning;
  /** The classification labels (output.labels), empty for other kinds: a shorthand many readers need. */
  labels: readonly string[];
  /** Largest accepted leading (batch) dimension where the declared one is -1. */
  batch: { max: number };
  /** Warmup requests; empty → one request built from the signature. */
  warmup: WarmupRequest[];
  /** Cascade policy; `threshold` null until calibrated; `regional` names the model escalated to. */
  cascade: { threshold: number | null; regional?: string };
  cache: { ttlSeconds: number };
  /** Measured quality and training facts; informational. */
  metrics?: Record<string, unknown>;
  training?: Record<string, unknown>;
  description?: string;
}

/** Element types a model.json may declare: every dtype the engines exchange (engine/types.ts). */
export const MANIFEST_DTYPES: readonly TensorDType[] = TENSOR_DTYPES;

/** Bounds on sizes read from model.json (a crafted file must not make the server allocate gigabytes). */
export const MANIFEST_LIMITS = {
  maxInputs: 64,
  maxOutputs: 64,
  maxRank: 8,
  maxDim: 2 ** 31 - 1,
  maxBatch: 1024,
  maxWarmupRequests: 16,
  /** Elements of one constant or warmup tensor written out in model.json. */
  maxDataElements: 1 << 20,
  maxLabels: 100_000,
  maxTtlSeconds: 365 * 24 * 3600,
} as const;

/** Products of the text preprocessings the core knows (others are checked when the preprocessor is created). */
export const TEXT_PRODUCTS: Readonly<Record<string, readonly string[]>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, readonly string[]>, {
    'email-hash': ['ids'],
    'hf-tokenizer': ['input_ids', 'attention_mask', 'token_type_ids'],
  }),
);

const TOP_LEVEL = new Set([
  'name', 'version', 'file', 'sha256', 'engine', 'role', 'inputs', 'outputs', 'preprocessing', 'output', 'batch', 'warmup',
  'cascade', 'cache', 'metrics', 'training', 'description',
  // The first format: mapped onto `output`.
  'labels', 'probabilitiesOutput',
]);
const SOURCES: readonly InputSource[] = ['request', 'text', 'features', 'embedding', 'fields', 'constant'];
const INPUT_KEYS: Readonly<Record<InputSource, readonly string[]>> = {
  request: [],
  text: ['text'],
  features: ['features'],
  embedding: ['view'],
  fields: ['fields'],
  constant: ['value'],
};
const COMMON_INPUT_KEYS = ['name', 'dtype', 'shape', 'source', 'optional', 'default'];

/** A model.json that does not parse: names the file, the field and what is expected. */
export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${file}: ${field ? `"${field}" ` : ''}${problem}`);
    this.name = 'ManifestError';
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Parses and checks a model.json into the normalised form. Throws a {@link ManifestError}
 * whose message names `source`, the field that is wrong and what is expected.
 */
export function parseManifest(json: string, source: string): ModelManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new ManifestError(source, '', `is not valid JSON (${(error as Error).message})`);
  }
  return normaliseManifest(raw, source);
}

/** {@link parseManifest} of an already decoded JSON value. */
export function normaliseManifest(raw: unknown, source: string): ModelManifest {
  const fail = (field: string, problem: string): never => {
    throw new ManifestError(source, field, problem);
  };
  if (!isObject(raw)) return fail('', `must be a JSON object, got ${describe(raw)}`);
  const m = raw;
  const unknownKeys = Object.keys(m).filter((k) => !TOP_LEVEL.has(k));
  if (unknownKeys.length) fail(unknownKeys[0] as string, `is not a model.json field; known fields: ${[...TOP_LEVEL].join(', ')}`);

  if (!isValidModelName(m.name)) fail('name', `must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}, got ${describe(m.name)}`);
  if (!isValidModelVersion(m.version)) fail('version', `must be a string matching [A-Za-z0-9][A-Za-z0-9._-]{0,63} (e.g. "1"), got ${describe(m.version)}`);
  const file = m.file ?? 'model.onnx';
  if (typeof file !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(file) || file.includes('..')) {
    fail('file', `must be a file name beside model.json (letters, digits, . _ -), got ${describe(m.file)}`);
  }
  if (typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256)) fail('sha256', `must be 64 lower-case hex characters (the SHA-256 of ${String(file)}), got ${describe(m.sha256)}`);
  const engine = m.engine ?? 'auto';
  if (engine !== 'auto' && engine !== 'micro' && engine !== 'ort') fail('engine', `must be "auto", "micro" or "ort", got ${describe(engine)}`);
  const role = m.role ?? 'any';
  if (role !== 'edge' && role !== 'regional' && role !== 'any') fail('role', `must be "edge", "regional" or "any", got ${describe(role)}`);
  if (m.description !== undefined && typeof m.description !== 'string') fail('description', `must be a string, got ${describe(m.description)}`);

  const preprocessing = m.preprocessing === undefined ? undefined : parsePreprocessing(m.preprocessing, fail);
  const outputs = parseTensorList(m.outputs, 'outputs', MANIFEST_LIMITS.maxOutputs, fail);
  const inputs = parseInputs(m.inputs, preprocessing, fail);

  const batchRaw = m.batch ?? { max: 1 };
  if (!isObject(batchRaw)) fail('batch', `must be an object {"max": integer}, got ${describe(batchRaw)}`);
  const batchMax = (batchRaw as Json).max ?? 1;
  if (!Number.isInteger(batchMax) || (batchMax as number) < 1 || (batchMax as number) > MANIFEST_LIMITS.maxBatch) {
    fail('batch.max', `must be an integer in [1, ${MANIFEST_LIMITS.maxBatch}], got ${describe(batchMax)}`);
  }

  const output = parseOutputMeaning(m, outputs, fail);
  const warmup = parseWarmup(m.warmup, inputs, fail);

  const cascadeRaw = m.cascade ?? {};
  if (!isObject(cascadeRaw)) fail('cascade', `must be an object {"threshold": number | null, "regional"?: model name}, got ${describe(cascadeRaw)}`);
  const threshold = (cascadeRaw as Json).threshold ?? null;
  if (threshold !== null && (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1))) {
    fail('cascade.threshold', `must be null or a number in [0, 1], got ${describe(threshold)}`);
  }
  const regional = (cascadeRaw as Json).regional;
  if (regional !== undefined) {
    if (!isValidModelName(regional)) fail('cascade.regional', `must name a model ([A-Za-z0-9][A-Za-z0-9._-]{0,63}), got ${describe(regional)}`);
    if (regional === m.name) fail('cascade.regional', 'names the model itself; it must name the larger model this one escalates to');
    if (output.kind !== 'classification') {
      fail('cascade.regional', `needs a classification output (the cascade reads its confidence); this model's output kind is "${output.kind}"`);
    }
  }
  const cacheRaw = m.cache ?? {};
  if (!isObject(cacheRaw)) fail('cache', `must be an object {"ttlSeconds": integer}, got ${describe(cacheRaw)}`);
  const ttlSeconds = (cacheRaw as Json).ttlSeconds ?? 3600;
  if (!Number.isInteger(ttlSeconds) || (ttlSeconds as number) < 0 || (ttlSeconds as number) > MANIFEST_LIMITS.maxTtlSeconds) {
    fail('cache.ttlSeconds', `must be an integer in [0, ${MANIFEST_LIMITS.maxTtlSeconds}], got ${describe(ttlSeconds)}`);
  }
  for (const key of ['metrics', 'training'] as const) {
    if (m[key] !== undefined && !isObject(m[key])) fail(key, `must be an object when present, got ${describe(m[key])}`);
  }

  const manifest: ModelManifest = {
    name: m.name as string,
    version: m.version as string,
    file: file as string,
    sha256: m.sha256 as string,
    engine: engine as EngineChoice,
    role: role as ModelRole,
    inputs,
    outputs,
    ...(preprocessing ? { preprocessing } : {}),
    output,
    labels: output.kind === 'classification' ? output.labels : [],
    batch: { max: batchMax as number },
    warmup,
    cascade: { threshold: threshold as number | null, ...(regional !== undefined ? { regional: regional as string } : {}) },
    cache: { ttlSeconds: ttlSeconds as number },
    ...(m.metrics !== undefined ? { metrics: m.metrics as Json } : {}),
    ...(m.training !== undefined ? { training: m.training as Json } : {}),
    ...(m.description !== undefined ? { description: m.description as string } : {}),
  };
  return manifest;
}

type Fail = (field: string, problem: string) => never;

function parsePreprocessing(value: unknown, fail: Fail): PreprocessingSpec {
  const expected = '{"id": string, "version": integer, "params": object}';
  if (!isObject(value)) return fail('preprocessing', `must be ${expected}, got ${describe(value)}`);
  if (typeof value.id !== 'string' || !isValidModelName(value.id)) fail('preprocessing.id', `must name a preprocessing (e.g. "email-hash", "hf-tokenizer"), got ${describe(value.id)}`);
  if (!Number.isInteger(value.version) || (value.version as number) < 0) fail('preprocessing.version', `must be an integer ≥ 0, got ${describe(value.version)}`);
  const params = value.params ?? {};
  if (!isObject(params)) fail('preprocessing.params', `must be an object, got ${describe(params)}`);
  const extra = Object.keys(value).filter((k) => k !== 'id' && k !== 'version' && k !== 'params');
  if (extra.length) fail(`preprocessing.${extra[0]}`, `is not a preprocessing field; expected ${expected}`);
  return { id: value.id as string, version: value.version as number, params };
}

function parseShape(value: unknown, field: string, fail: Fail): number[] {
  if (!Array.isArray(value) || value.length > MANIFEST_LIMITS.maxRank) {
    return fail(field, `must be an array of at most ${MANIFEST_LIMITS.maxRank} integers (-1 for a variable dimension), got ${describe(value)}`);
  }
  value.forEach((d, i) => {
    if (!Number.isInteger(d) || d < -1 || d > MANIFEST_LIMITS.maxDim) fail(`${field}[${i}]`, `must be an integer ≥ 0, or -1 for a variable dimension, got ${describe(d)}`);
  });
  return [...(value as number[])];
}

function parseTensor(value: unknown, field: string, fail: Fail): TensorSpec {
  if (!isObject(value)) return fail(field, `must be an object {"name", "dtype", "shape"}, got ${describe(value)}`);
  const nameProblem = tensorNameProblem(value.name);
  if (nameProblem) fail(`${field}.name`, nameProblem);
  if (typeof value.dtype !== 'string' || !(MANIFEST_DTYPES as readonly string[]).includes(value.dtype)) {
    fail(`${field}.dtype`, `must be one of ${MANIFEST_DTYPES.join(', ')}, got ${describe(value.dtype)}`);
  }
  return { name: value.name as string, dtype: value.dtype as TensorDType, shape: parseShape(value.shape, `${field}.shape`, fail) };
}

function parseTensorList(value: unknown, field: 'outputs', max: number, fail: Fail): TensorSpec[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) return fail(field, `must be an array of 1 to ${max} tensors {"name", "dtype", "shape"}, got ${describe(value)}`);
  const seen = new Set<string>();
  return value.map((spec, i) => {
    const tensor = parseTensor(spec, `${field}[${i}]`, fail);
    if (seen.has(tensor.name)) fail(`${field}[${i}].name`, `repeats ${JSON.stringify(tensor.name)}; names must be unique`);
    seen.add(tensor.name);
    const extra = Object.keys(spec as Json).filter((k) => k !== 'name' && k !== 'dtype' && k !== 'shape');
    if (extra.length) fail(`${field}[${i}].${extra[0]}`, 'is not an output field; expected {"name", "dtype", "shape"}');
    return tensor;
  });
}

function elementCount(shape: readonly number[]): number | null {
  let n = 1;
  for (const d of shape) {
    if (d < 0) return null;
    n *= d;
  }
  return n;
}

function stringList(value: unknown, field: string, what: string, fail: Fail): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MANIFEST_LIMITS.maxDataElements) {
    return fail(field, `must be a non-empty array of ${what}, got ${describe(value)}`);
  }
  const seen = new Set<string>();
  value.forEach((entry, i) => {
    const problem = tensorNameProblem(entry);
    if (problem) fail(`${field}[${i}]`, problem);
    if (seen.has(entry as string)) fail(`${field}[${i}]`, `repeats ${JSON.stringify(entry)}`);
    seen.add(entry as string);
  });
  return [...(value as string[])];
}

function parseInputs(value: unknown, preprocessing: PreprocessingSpec | undefined, fail: Fail): InputSpec[] {
  const max = MANIFEST_LIMITS.maxInputs;
  if (!Array.isArray(value) || value.length === 0 || value.length > max) return fail('inputs', `must be an array of 1 to ${max} inputs, got ${describe(value)}`);
  const seen = new Set<string>();
  const products = new Set<string>();
  const inputs = value.map((entry, i): InputSpec => {
    const field = `inputs[${i}]`;
    const tensor = parseTensor(entry, field, fail);
    const e = entry as Json;
    if (seen.has(tensor.name)) fail(`${field}.name`, `repeats ${JSON.stringify(tensor.name)}; input names must be unique`);
    seen.add(tensor.name);
    let source: InputSource;
    let legacyText = false;
    if (e.source === undefined) {
      // The first model.json format had no sources: its integer input was the preprocessing's ids.
      const isInt = tensor.dtype === 'int32' || tensor.dtype === 'int64';
      source = preprocessing && isInt ? 'text' : 'request';
      legacyText = source === 'text';
    } else if (typeof e.source === 'string' && (SOURCES as readonly string[]).includes(e.source)) {
      source = e.source as InputSource;
    } else {
      return fail(`${field}.source`, `must be one of ${SOURCES.join(', ')}, got ${describe(e.source)}`);
    }
    const allowed = new Set([...COMMON_INPUT_KEYS, ...INPUT_KEYS[source]]);
    const extra = Object.keys(e).filter((k) => !allowed.has(k));
    if (extra.length) fail(`${field}.${extra[0]}`, `is not a field of a "${source}" input; allowed: ${[...allowed].join(', ')}`);
    const optional = e.optional ?? false;
    if (typeof optional !== 'boolean') fail(`${field}.optional`, `must be true or false, got ${describe(optional)}`);
    if (e.default !== undefined && (typeof e.default !== 'number' || !Number.isFinite(e.default))) {
      fail(`${field}.default`, `must be a finite number (the scalar fill), got ${describe(e.default)}`);
    }
    if (source === 'constant' && (optional || e.default !== undefined)) fail(field, 'a constant input takes "value", not "optional" or "default"');
    if (optional && e.default === undefined) fail(`${field}.default`, 'is required when "optional" is true (the scalar the input is filled with)');
    const common = { ...tensor, optional: optional as boolean, ...(e.default !== undefined ? { default: e.default as number } : {}) };
    const lastDim = tensor.shape.at(-1);
    switch (source) {
      case 'request':
        return { ...common, source };
      case 'text': {
        if (!preprocessing) fail(field, 'has source "text" but model.json declares no "preprocessing" to produce it');
        const product = legacyText ? (preprocessing?.id === 'email-hash' ? 'ids' : tensor.name) : e.text;
        if (typeof product !== 'string' || product === '') return fail(`${field}.text`, `must name what the preprocessing produces (e.g. "ids", "input_ids"), got ${describe(product)}`);
        const known = TEXT_PRODUCTS[(preprocessing as PreprocessingSpec).id];
        if (known && !known.includes(product)) {
          fail(`${field}.text`, `${(preprocessing as PreprocessingSpec).id} produces ${known.map((k) => `"${k}"`).join(', ')}, not ${JSON.stringify(product)}`);
        }
        if (products.has(product)) fail(`${field}.text`, `${JSON.stringify(product)} feeds another input already`);
        products.add(product);
        if (tensor.dtype !== 'int32' && tensor.dtype !== 'int64') fail(`${field}.dtype`, `must be int32 or int64 for a text input (token ids), got ${describe(tensor.dtype)}`);
        return { ...common, source, text: product };
      }
      case 'features': {
        const features = stringList(e.features, `${field}.features`, '"view.feature" names', fail);
        features.forEach((f, j) => {
          if (!/^[^.]+\.[^.]+$/.test(f)) fail(`${field}.features[${j}]`, `must be "view.feature", got ${describe(f)}`);
        });
        if (lastDim !== undefined && lastDim !== -1 && lastDim !== features.length) {
          fail(`${field}.shape`, `last dimension must be ${features.length} (one per feature), got ${lastDim}`);
        }
        return { ...common, source, features };
      }
      case 'embedding': {
        if (typeof e.view !== 'string' || !isValidModelName(e.view)) return fail(`${field}.view`, `must name an embedding view, got ${describe(e.view)}`);
        return { ...common, source, view: e.view };
      }
      case 'fields': {
        const fields = stringList(e.fields, `${field}.fields`, 'request field names', fail);
        if (lastDim !== undefined && lastDim !== -1 && lastDim !== fields.length) {
          fail(`${field}.shape`, `last dimension must be ${fields.length} (one per field), got ${lastDim}`);
        }
        return { ...common, source, fields };
      }
      case 'constant': {
        const v = e.value;
        const count = elementCount(tensor.shape);
        if (count === null) fail(`${field}.shape`, 'a constant input needs a fixed shape (no -1)');
        if (typeof v === 'number') {
          if (!Number.isFinite(v)) fail(`${field}.value`, 'must be finite');
        } else if (Array.isArray(v)) {
          if (v.length !== count || v.length > MANIFEST_LIMITS.maxDataElements) {
            fail(`${field}.value`, `must hold ${count} numbers (the shape's element count) or be one number (a fill), got ${v.length} values`);
          }
          const bad = v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
          if (bad >= 0) fail(`${field}.value[${bad}]`, `must be a finite number, got ${describe(v[bad])}`);
        } else {
          fail(`${field}.value`, `must be a number (a fill) or an array of numbers, got ${describe(v)}`);
        }
        return { ...common, source, value: Array.isArray(v) ? [...(v as number[])] : (v as number) };
      }
    }
  });
  return inputs;
}

function parseOutputMeaning(m: Json, outputs: TensorSpec[], fail: Fail): OutputMeaning {
  // A normalised manifest written back out carries `labels` beside `output` (the shorthand):
  // accepted when it repeats output.labels, so the normalised form is itself a valid model.json.
  const legacy = m.probabilitiesOutput !== undefined || (m.labels !== undefined && m.output === undefined);
  if (m.probabilitiesOutput !== undefined && m.output !== undefined) fail('output', 'replaces the top-level "labels" and "probabilitiesOutput": declare one or the other');
  let raw: Json;
  let prefix = 'output';
  if (legacy) {
    // The first format: probabilities in label order.
    if (typeof m.probabilitiesOutput !== 'string') fail('probabilitiesOutput', `must name the output holding the class probabilities, got ${describe(m.probabilitiesOutput)}`);
    raw = { kind: 'classification', tensor: m.probabilitiesOutput, labels: m.labels, activation: 'none' };
    prefix = '';
  } else {
    const value = m.output ?? { kind: 'raw' };
    if (!isObject(value)) return fail('output', `must be an object {"kind": "classification" | "regression" | "raw", ...}, got ${describe(value)}`);
    raw = value;
  }
  const at = (key: string) => (prefix ? `${prefix}.${key}` : key === 'tensor' ? 'probabilitiesOutput' : key);
  const tensorSpec = (): TensorSpec => {
    const spec = outputs.find((o) => o.name === raw.tensor);
    if (!spec) {
      return fail(at('tensor'), `must name one of the outputs (${outputs.map((o) => JSON.stringify(o.name)).join(', ')}), got ${describe(raw.tensor)}`);
    }
    if (spec.dtype !== 'float32' && spec.dtype !== 'float64' && spec.dtype !== 'float16') {
      fail(at('tensor'), `names "${spec.name}", a ${spec.dtype} tensor; a classification or regression output must be float32, float64 or float16`);
    }
    return spec;
  };
  const allowed = (keys: string[]) => {
    if (!prefix) return;
    const extra = Object.keys(raw).filter((k) => !keys.includes(k));
    if (extra.length) fail(`output.${extra[0]}`, `is not a field of a "${String(raw.kind)}" output; allowed: ${keys.join(', ')}`);
  };
  switch (raw.kind) {
    case 'classification': {
      allowed(['kind', 'tensor', 'labels', 'activation']);
      const spec = tensorSpec();
      const activation = raw.activation ?? 'none';
      if (activation !== 'none' && activation !== 'softmax' && activation !== 'sigmoid') {
        fail(at('activation'), `must be "none" (probabilities), "softmax" or "sigmoid" (logits), got ${describe(activation)}`);
      }
      const problem = labelsProblem(raw.labels, 2);
      if (problem) fail(at('labels'), `${problem} (a classification needs at least two distinct labels; one sigmoid unit is ["negative", "positive"])`);
      if ((raw.labels as unknown[]).length > MANIFEST_LIMITS.maxLabels) fail(at('labels'), `must hold at most ${MANIFEST_LIMITS.maxLabels} labels`);
      const labels = [...(raw.labels as string[])];
      if (prefix && m.labels !== undefined && !(Array.isArray(m.labels) && m.labels.length === labels.length && m.labels.every((l, i) => l === labels[i]))) {
        fail('labels', 'differs from "output.labels"; declare the labels once, in "output.labels"');
      }
      const units = spec.shape.at(-1);
      if (units !== undefined && units !== -1 && units !== labels.length && !(units === 1 && labels.length === 2)) {
        fail(at('labels'), `has ${labels.length} labels but "${spec.name}" has ${units} values per row (one per label, or one unit for two labels)`);
      }
      if (activation === 'softmax' && units === 1) fail(at('activation'), 'softmax over a single unit is always 1; use "sigmoid" for one logit');
      return { kind: 'classification', tensor: spec.name, labels, activation: activation as ClassificationActivation };
    }
    case 'regression': {
      allowed(['kind', 'tensor', 'names']);
      const spec = tensorSpec();
      if (m.labels !== undefined && !(Array.isArray(m.labels) && m.labels.length === 0)) fail('labels', 'belongs to a classification output; a regression names its values in "output.names"');
      if (raw.names === undefined) return { kind: 'regression', tensor: spec.name };
      const problem = labelsProblem(raw.names, 1);
      if (problem) fail('output.names', problem);
      const names = [...(raw.names as string[])];
      const units = spec.shape.at(-1);
      if (units !== undefined && units !== -1 && units !== names.length) fail('output.names', `has ${names.length} names but "${spec.name}" has ${units} values per row`);
      return { kind: 'regression', tensor: spec.name, names };
    }
    case 'raw':
      allowed(['kind']);
      if (m.labels !== undefined && !(Array.isArray(m.labels) && m.labels.length === 0)) fail('labels', 'belongs to a classification output: declare them in "output.labels"');
      return { kind: 'raw' };
    default:
      return fail('output.kind', `must be "classification", "regression" or "raw", got ${describe(raw.kind)}`);
  }
}

function parseWarmup(value: unknown, inputs: InputSpec[], fail: Fail): WarmupRequest[] {
  if (value === undefined) return [];
  const max = MANIFEST_LIMITS.maxWarmupRequests;
  if (!Array.isArray(value) || value.length > max) return fail('warmup', `must be an array of at most ${max} requests {"inputs"?, "text"?, "fields"?}, got ${describe(value)}`);
  return value.map((entry, i) => {
    const field = `warmup[${i}]`;
    if (!isObject(entry)) return fail(field, `must be an object {"inputs"?, "text"?, "fields"?}, got ${describe(entry)}`);
    const extra = Object.keys(entry).filter((k) => k !== 'inputs' && k !== 'text' && k !== 'fields');
    if (extra.length) fail(`${field}.${extra[0]}`, 'is not a warmup field; allowed: inputs, text, fields');
    const request: WarmupRequest = { inputs: Object.create(null) as Record<string, WarmupTensor> };
    if (entry.text !== undefined) {
      if (typeof entry.text !== 'string' || entry.text === '') fail(`${field}.text`, 'must be a non-empty string');
      request.text = entry.text as string;
    }
    if (entry.fields !== undefined) {
      if (!isObject(entry.fields)) fail(`${field}.fields`, 'must be an object {name: string | number}');
      const fields = Object.create(null) as Record<string, string | number>;
      for (const [k, v] of Object.entries(entry.fields as Json)) {
        if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) fail(`${field}.fields.${k}`, 'must be a string or a finite number');
        fields[k] = v as string | number;
      }
      request.fields = fields;
    }
    if (entry.inputs !== undefined) {
      if (!isObject(entry.inputs)) fail(`${field}.inputs`, 'must be an object {input name: {"data": [numbers], "shape"?, "fill"?}}');
      for (const [name, t] of Object.entries(entry.inputs as Json)) {
        const at = `${field}.inputs.${name}`;
        const spec = inputs.find((s) => s.name === name);
        if (!spec) fail(at, `names no declared input (inputs: ${inputs.map((s) => JSON.stringify(s.name)).join(', ')})`);
        if ((spec as InputSpec).source === 'constant') fail(at, 'is a constant input; its value comes from model.json');
        if (!isObject(t)) return fail(at, 'must be {"data": [numbers], "shape"?: [dims], "fill"?: boolean}');
        const fill = t.fill ?? false;
        if (typeof fill !== 'boolean') fail(`${at}.fill`, 'must be true or false');
        if (!Array.isArray(t.data) || t.data.length === 0 || t.data.length > MANIFEST_LIMITS.maxDataElements) {
          fail(`${at}.data`, `must be a non-empty array of at most ${MANIFEST_LIMITS.maxDataElements} numbers`);
        }
        const data = t.data as unknown[];
        const bad = data.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
        if (bad >= 0) fail(`${at}.data[${bad}]`, `must be a finite number, got ${describe(data[bad])}`);
        let shape: number[] | undefined;
        if (t.shape !== undefined) {
          shape = parseShape(t.shape, `${at}.shape`, fail);
          const declared = (spec as InputSpec).shape;
          if (shape.length !== declared.length || shape.some((d, j) => d < 0 || (declared[j] !== -1 && declared[j] !== d))) {
            fail(`${at}.shape`, `must be a concrete shape matching the declared ${JSON.stringify(declared)}`);
          }
        }
        const count = elementCount(shape ?? (spec as InputSpec).shape);
        if (!fill) {
          if (count === null) fail(`${at}.shape`, `is needed: the declared shape ${JSON.stringify((spec as InputSpec).shape)} has variable dimensions (or set "fill": true)`);
          if (data.length !== count) fail(`${at}.data`, `must hold ${count} numbers for shape ${JSON.stringify(shape ?? (spec as InputSpec).shape)}, got ${data.length} (or set "fill": true)`);
        }
        if (count !== null && count > MANIFEST_LIMITS.maxDataElements) fail(`${at}.shape`, `holds ${count} elements; warmup tensors hold at most ${MANIFEST_LIMITS.maxDataElements}`);
        request.inputs[name] = { data: data as number[], fill: fill as boolean, ...(shape ? { shape } : {}) };
      }
    }
    return request;
  });
}

/**
 * The input shapes model.json declares, by input name, for inputs with at least one fixed
 * dimension (-1 stays variable): what the micro compiler specialises on (a graph exported with
 * symbolic dims then compiles with static ones, so shape-dependent Ifs fold). Requests are held
 * to the same shapes before they reach an engine (core/serving/tensor-json.ts checkShape).
 */
export function declaredInputShapes(manifest: Pick<ModelManifest, 'inputs'>): Record<string, number[]> {
  const shapes = Object.create(null) as Record<string, number[]>;
  for (const input of manifest.inputs) if (input.shape.some((d) => d !== -1)) shapes[input.name] = [...input.shape];
  return shapes;
}

/** The classification output of a manifest, or undefined when its outputs mean something else. */
export function classificationOf(manifest: Pick<ModelManifest, 'output'>): ClassificationOutput | undefined {
  return manifest.output.kind === 'classification' ? manifest.output : undefined;
}

/** The text inputs of a manifest (source "text"), in declaration order. */
export function textInputs(manifest: Pick<ModelManifest, 'inputs'>): TextInputSpec[] {
  return manifest.inputs.filter((i): i is TextInputSpec => i.source === 'text');
}

/** The model's text preprocessing; throws naming the model when it has none (callers that only serve text models). */
export function requireTextPreprocessing(manifest: Pick<ModelManifest, 'name' | 'version' | 'preprocessing'>): PreprocessingSpec {
  if (!manifest.preprocessing) throw new Error(`${manifest.name}@${manifest.version} has no text preprocessing (no input with source "text")`);
  return manifest.preprocessing;
}

/** The tensor holding the classification scores; throws naming the model when its output is not a classification. */
export function classificationTensor(manifest: Pick<ModelManifest, 'name' | 'version' | 'output'>): string {
  if (manifest.output.kind !== 'classification') throw new Error(`${manifest.name}@${manifest.version} has no classification output (kind "${manifest.output.kind}")`);
  return manifest.output.tensor;
}

/**
 * A model.json as a writer produces it (training code, model:add): either format, optional
 * fields left out. parseManifest turns it into a {@link ModelManifest}.
 */
export interface ModelJson {
  name: string;
  version: string;
  file?: string;
  sha256: string;
  engine?: EngineChoice;
  role?: ModelRole;
  inputs: Array<TensorSpec & { source?: InputSource; optional?: boolean; default?: number; text?: string; features?: string[]; view?: string; fields?: string[]; value?: number | number[] }>;
  outputs: TensorSpec[];
  preprocessing?: PreprocessingSpec;
  output?: Omit<ClassificationOutput, 'activation'> & { activation?: ClassificationActivation } | RegressionOutput | RawOutput;
  /** The first format: class probabilities in `labels` order. */
  probabilitiesOutput?: string;
  labels?: string[];
  batch?: { max: number };
  warmup?: Array<{ inputs?: Record<string, { data: number[]; shape?: number[]; fill?: boolean }>; text?: string; fields?: Record<string, string | number> }>;
  cascade?: { threshold: number | null; regional?: string };
  cache?: { ttlSeconds: number };
  metrics?: Record<string, unknown>;
  training?: Record<string, unknown>;
  description?: string;
}
