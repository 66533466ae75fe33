// model.json: what a model version declares about itself (after Triton's model
// configuration). Parsed and checked once at load; the rest of the core trusts it.
import { TENSOR_DTYPES, type TensorDType } from '../engine/types.ts';
import type { PreprocessingSpec } from '../preprocess/index.ts';

/** One declared input or output. `-1` marks a variable dimension. */
export interface TensorSpec {
  name: string;
  dtype: TensorDType;
  shape: number[];
}

/** Which engine runs the model: `auto` lets the registry choose. */
export type EngineChoice = 'auto' | 'micro' | 'ort';

/** Contents of models/<name>/<version>/model.json. */
export interface ModelManifest {
  name: string;
  version: string;
  /** File of the ONNX graph, relative to the version folder. */
  file: string;
  /** Hex SHA-256 of that file: checked at load, and part of every cache key. */
  sha256: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Output tensor holding class probabilities, in `labels` order. */
  probabilitiesOutput: string;
  labels: string[];
  preprocessing: PreprocessingSpec;
  engine: EngineChoice;
  /** Cascade policy; `threshold` null until calibrated. */
  cascade: { threshold: number | null };
  cache: { ttlSeconds: number };
  /** Measured quality and training facts; informational. */
  metrics?: Record<string, unknown>;
  training?: Record<string, unknown>;
}

const DTYPES: readonly string[] = TENSOR_DTYPES;

function tensorSpecProblem(value: unknown, where: string): string | null {
  if (typeof value !== 'object' || value === null) return `${where} must be an object`;
  const t = value as Record<string, unknown>;
  if (typeof t.name !== 'string' || !t.name) return `${where}.name must be a non-empty string`;
  if (typeof t.dtype !== 'string' || !DTYPES.includes(t.dtype)) return `${where}.dtype must be one of ${DTYPES.join(', ')}`;
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= -1)) {
    return `${where}.shape must be an array of integers (-1 for variable)`;
  }
  return null;
}

/**
 * Parses and checks a model.json. Throws an Error whose message names the file and the
 * field that is wrong.
 */
export function parseManifest(json: string, source: string): ModelManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new Error(`${source}: not valid JSON (${(error as Error).message})`);
  }
  const fail = (problem: string): never => {
    throw new Error(`${source}: ${problem}`);
  };
  if (typeof raw !== 'object' || raw === null) fail('must be a JSON object');
  const m = raw as Record<string, unknown>;
  for (const key of ['name', 'version', 'file', 'sha256', 'probabilitiesOutput'] as const) {
    if (typeof m[key] !== 'string' || !m[key]) fail(`"${key}" must be a non-empty string`);
  }
  if (!/^[0-9a-f]{64}$/.test(m.sha256 as string)) fail('"sha256" must be 64 lower-case hex characters');
  for (const key of ['inputs', 'outputs'] as const) {
    const list = m[key];
    if (!Array.isArray(list) || list.length === 0) fail(`"${key}" must be a non-empty array`);
    (list as unknown[]).forEach((spec, i) => {
      const problem = tensorSpecProblem(spec, `${key}[${i}]`);
      if (problem) fail(problem);
    });
  }
  const outputs = m.outputs as TensorSpec[];
  if (!outputs.some((o) => o.name === m.probabilitiesOutput)) {
    fail(`"probabilitiesOutput" names "${String(m.probabilitiesOutput)}", which is not among the outputs`);
  }
  if (!Array.isArray(m.labels) || m.labels.length < 2 || !m.labels.every((l) => typeof l === 'string')) {
    fail('"labels" must be an array of at least two strings');
  }
  const pre = m.preprocessing as Record<string, unknown> | undefined;
  if (typeof pre !== 'object' || pre === null || typeof pre.id !== 'string' || !Number.isInteger(pre.version)) {
    fail('"preprocessing" must be {id: string, version: integer, params}');
  }
  const engine = (m.engine ?? 'auto') as EngineChoice;
  if (engine !== 'auto' && engine !== 'micro' && engine !== 'ort') fail('"engine" must be "auto", "micro" or "ort"');
  const cascade = (m.cascade ?? { threshold: null }) as Record<string, unknown>;
  if (cascade.threshold !== null && (typeof cascade.threshold !== 'number' || cascade.threshold < 0 || cascade.threshold > 1)) {
    fail('"cascade.threshold" must be null or a number in [0, 1]');
  }
  const cache = (m.cache ?? { ttlSeconds: 3600 }) as Record<string, unknown>;
  if (!Number.isInteger(cache.ttlSeconds) || (cache.ttlSeconds as number) < 0) fail('"cache.ttlSeconds" must be an integer ≥ 0');
  return {
    ...(m as unknown as ModelManifest),
    engine,
    cascade: { threshold: cascade.threshold as number | null },
    cache: { ttlSeconds: cache.ttlSeconds as number },
  };
}
