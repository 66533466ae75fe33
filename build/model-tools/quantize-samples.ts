// The inputs quantize measures on, and the measurements: sample inputs for a model (its
// declared warmup requests, a --samples file, or random tensors), agreement of two graphs on
// them in onnxruntime-node (max |delta| per output, top-1 for a classification), and MinMax
// calibration of activation tensors for static mode (as ORT's MinMaxCalibrater: the smallest
// and largest value each tensor takes over the calibration inputs).
import { readFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { ModelManifest } from '../../core/model/manifest.ts';
import { seededRandom } from '../../models/training/prng.ts';
import { decodeModel } from '../onnx/builder.ts';
import { ModelToolError } from './tool-errors.ts';

/** One input set: graph input name → tensor. */
export type Sample = Record<string, ort.Tensor>;

/** Value range of random values for an input (--range name=lo,hi). */
export type InputRanges = Record<string, { lo: number; hi: number }>;

type Dtype = 'float32' | 'float64' | 'int32' | 'int64' | 'int8' | 'uint8' | 'bool' | 'int16' | 'uint16' | 'float16' | 'uint32' | 'uint64';

function typedArray(dtype: string, values: ArrayLike<number>): ort.Tensor['data'] {
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'float64': return Float64Array.from(values);
    case 'int32': return Int32Array.from(values);
    case 'int64': return BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v))));
    case 'int8': return Int8Array.from(values);
    case 'uint8': return Uint8Array.from(values);
    case 'bool': return Uint8Array.from(values, (v) => (v ? 1 : 0));
    case 'int16': return Int16Array.from(values);
    case 'uint16': return Uint16Array.from(values);
    default: throw new ModelToolError(`inputs of dtype ${dtype} cannot be sampled; pass --samples with other inputs`);
  }
}

function tensorOf(dtype: string, values: ArrayLike<number>, shape: number[]): ort.Tensor {
  return new ort.Tensor(dtype as Dtype as 'float32', typedArray(dtype, values) as Float32Array, shape);
}

/**
 * Integer inputs used as Gather indices (directly or through a Cast): the size of the gathered
 * axis, so random ids stay inside the table.
 */
function indexBounds(model: onnxProto.onnx.ModelProto): Map<string, number> {
  const graph = model.graph!;
  const dims = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', (t.dims ?? []).map(Number)]));
  const castFrom = new Map<string, string>();
  for (const n of graph.node ?? []) if (n.opType === 'Cast' && n.input?.[0]) castFrom.set(n.output![0]!, n.input[0]);
  const bounds = new Map<string, number>();
  for (const n of graph.node ?? []) {
    if (n.opType !== 'Gather' || !n.input?.[1]) continue;
    const table = dims.get(n.input[0] ?? '');
    if (!table) continue;
    const axisAttr = (n.attribute ?? []).find((a) => a.name === 'axis');
    const axis = axisAttr ? Number(axisAttr.i) : 0;
    const size = table[axis < 0 ? axis + table.length : axis];
    let source = n.input[1];
    for (let i = 0; i < 4 && castFrom.has(source); i++) source = castFrom.get(source)!;
    if (size) bounds.set(source, Math.min(bounds.get(source) ?? Infinity, size));
  }
  return bounds;
}

/** The graph's name for each dim of each input (dim_param), '' where it has none. */
type DimNames = Map<string, string[]>;

function dimNames(model: onnxProto.onnx.ModelProto): DimNames {
  return new Map((model.graph?.input ?? []).map((v) => [v.name ?? '', (v.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimParam ?? '')]));
}

/**
 * A value for each named variable dim, so inputs that share one agree (a recurrent state's
 * batch dim and the audio's): the size model.json or a warmup request gives it, else 1 where it
 * is some input's leading (batch) dim.
 */
function namedDimValues(manifest: ModelManifest, names: DimNames): Map<string, number> {
  const values = new Map<string, number>();
  const visit = (input: string, shape: readonly number[]) => names.get(input)?.forEach((p, k) => {
    if (p && shape[k]! > 0 && !values.has(p)) values.set(p, shape[k]!);
  });
  for (const input of manifest.inputs) visit(input.name, input.shape);
  for (const w of manifest.warmup) for (const [name, t] of Object.entries(w.inputs)) if (t.shape) visit(name, t.shape);
  for (const input of manifest.inputs) {
    const p = names.get(input.name)?.[0];
    if (p && !values.has(p)) values.set(p, 1);
  }
  return values;
}

/** The concrete shape an input is sampled at: declared dims, variable ones from the first warmup request that sets it, else the value of the graph's dim name (namedDimValues), else 1 for the batch dim and 16 for others. */
function sampleShape(manifest: ModelManifest, input: ModelManifest['inputs'][number], names: DimNames = new Map(), named: Map<string, number> = new Map()): number[] {
  for (const w of manifest.warmup) {
    const shape = w.inputs[input.name]?.shape;
    if (shape && shape.length === input.shape.length) return shape;
  }
  const graphDims = names.get(input.name) ?? [];
  return input.shape.map((d, i) => (d > 0 ? d : (named.get(graphDims[i] ?? '') ?? (i === 0 ? 1 : 16))));
}

/**
 * `count` random input sets for the graph's inputs, seeded: floats uniform in [-1, 1] (or
 * `ranges`), integer inputs that index a Gather in [0, table size), other integers in [0, 10);
 * inputs with a declared default take it. The declared warmup requests come first; a warmup
 * request that leaves out an input with a default gets the default.
 */
export function generateSamples(manifest: ModelManifest, graphBytes: Uint8Array, count: number, seed: number, ranges: InputRanges = {}): Sample[] {
  const model = decodeModel(graphBytes);
  const bounds = indexBounds(model);
  const names = dimNames(model);
  const named = namedDimValues(manifest, names);
  const shapeOf = (input: ModelManifest['inputs'][number]) => sampleShape(manifest, input, names, named);
  const random = seededRandom(seed);
  const samples: Sample[] = [];
  for (const w of manifest.warmup) {
    const sample: Sample = {};
    let complete = true;
    for (const input of manifest.inputs) {
      const t = w.inputs[input.name];
      if (!t) {
        if (input.default !== undefined || input.source === 'constant') {
          const shape = shapeOf(input);
          const n = shape.reduce((a, b) => a * b, 1);
          const v = input.source === 'constant' ? input.value : input.default!;
          sample[input.name] = tensorOf(input.dtype, Array.from({ length: n }, (_, i) => (Array.isArray(v) ? (v[i] ?? 0) : v)), shape);
          continue;
        }
        complete = false;
        break;
      }
      const shape = t.shape ?? shapeOf(input);
      const n = shape.reduce((a, b) => a * b, 1);
      sample[input.name] = tensorOf(input.dtype, t.fill ? new Array<number>(n).fill(t.data[0] ?? 0) : t.data, shape);
    }
    if (complete && samples.length < count) samples.push(sample);
  }
  while (samples.length < count) {
    const sample: Sample = {};
    for (const input of manifest.inputs) {
      const shape = shapeOf(input);
      const n = shape.reduce((a, b) => a * b, 1);
      const values = new Float64Array(n);
      if (input.source === 'constant') {
        const v = input.value;
        for (let i = 0; i < n; i++) values[i] = Array.isArray(v) ? (v[i] ?? 0) : v;
      } else if (input.default !== undefined) {
        // A declared default (a sample rate, a flag) is the value the model runs on; random ones may not run at all.
        values.fill(input.default);
      } else if (input.dtype.startsWith('float')) {
        const { lo, hi } = ranges[input.name] ?? { lo: -1, hi: 1 };
        for (let i = 0; i < n; i++) values[i] = lo + (hi - lo) * random();
      } else if (input.dtype === 'bool') {
        for (let i = 0; i < n; i++) values[i] = random() < 0.5 ? 0 : 1;
      } else {
        const range = ranges[input.name];
        const lo = range ? Math.ceil(range.lo) : 0;
        const hi = range ? Math.floor(range.hi) + 1 : (bounds.get(input.name) ?? 10);
        for (let i = 0; i < n; i++) values[i] = lo + Math.floor(random() * (hi - lo));
      }
      sample[input.name] = tensorOf(input.dtype, values, shape);
    }
    samples.push(sample);
  }
  return samples;
}

/**
 * Reads a samples/calibration file: a JSON array of input sets, each `{"<input>": {"data": [...],
 * "shape": [...]}}` (or wrapped as `{"inputs": {...}}`, as warmup requests are); every graph
 * input must be present, with the dtype model.json declares.
 */
export async function readSamplesFile(path: string, manifest: ModelManifest, flag: string): Promise<Sample[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ModelToolError(`${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? `not JSON (${(error as Error).message})`}`);
  }
  if (!Array.isArray(raw) || !raw.length) throw new ModelToolError(`${flag} ${path}: must be a non-empty JSON array of input sets {"<input>": {"data": [...], "shape": [...]}}`);
  return raw.map((entry: unknown, i) => {
    const set = (entry && typeof entry === 'object' && 'inputs' in entry ? (entry as { inputs: unknown }).inputs : entry) as Record<string, { data?: unknown; shape?: unknown }>;
    if (!set || typeof set !== 'object') throw new ModelToolError(`${flag} ${path}: entry ${i} is not an object of input tensors`);
    const sample: Sample = {};
    for (const input of manifest.inputs) {
      const t = set[input.name];
      if (!t || !Array.isArray(t.data) || !Array.isArray(t.shape)) throw new ModelToolError(`${flag} ${path}: entry ${i} lacks input "${input.name}" as {"data": [...], "shape": [...]}`);
      const shape = (t.shape as unknown[]).map(Number);
      const n = shape.reduce((a, b) => a * b, 1);
      if (shape.some((d) => !Number.isInteger(d) || d < 0) || n !== t.data.length || shape.length !== input.shape.length || shape.some((d, k) => input.shape[k]! > 0 && input.shape[k] !== d)) {
        throw new ModelToolError(`${flag} ${path}: entry ${i} input "${input.name}" has shape [${shape.join(',')}] for ${t.data.length} values; model.json declares [${input.shape.join(',')}]`);
      }
      sample[input.name] = tensorOf(input.dtype, (t.data as unknown[]).map(Number), shape);
    }
    return sample;
  });
}

/** Outputs of one run, as plain float arrays with dims. */
export type Outputs = Record<string, { dims: number[]; data: Float64Array }>;

/** The inputs of one set as a short text: name dtype[shape], scalars with their value. */
export function describeSample(sample: Sample): string {
  return Object.entries(sample).map(([name, t]) => (t.dims.length === 0 || t.size === 1 ? `${name} = ${String((t.data as ArrayLike<number | bigint>)[0])}` : `${name} ${t.type}[${t.dims.join(',')}]`)).join(', ');
}

/** An input set onnxruntime-node refused to run: which one, and its message. */
export class SampleRunError extends Error {
  constructor(readonly index: number, readonly count: number, readonly sample: Sample, readonly ortMessage: string) {
    super(`input set ${index + 1} of ${count} (${describeSample(sample)}): ${ortMessage}`);
  }
}

/** onnxruntime's first line, without its log prefix. */
const ortLine = (error: unknown): string => String((error as Error)?.message ?? error).split('\n')[0]!.trim();

/** Runs every sample through a graph in onnxruntime-node (basic optimisations, as the tests' reference); a set it refuses throws SampleRunError. */
export async function runSamples(bytes: Uint8Array, samples: readonly Sample[], onProgress?: (done: number) => void): Promise<Outputs[]> {
  // Severity 4 (fatal only): a refused input set is reported once, by SampleRunError, not also by ORT's logger.
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic', logSeverityLevel: 4 });
  try {
    const out: Outputs[] = [];
    for (const [index, sample] of samples.entries()) {
      let result: ort.InferenceSession.ReturnType;
      try {
        result = await session.run(sample, { logSeverityLevel: 4 });
      } catch (error) {
        throw new SampleRunError(index, samples.length, sample, ortLine(error));
      }
      const row: Outputs = {};
      for (const name of session.outputNames) {
        const t = result[name]!;
        const data = t.data as ArrayLike<number | bigint>;
        row[name] = { dims: t.dims.map(Number), data: Float64Array.from({ length: data.length }, (_, i) => Number(data[i])) };
      }
      out.push(row);
      onProgress?.(out.length);
    }
    return out;
  } finally {
    await session.release();
  }
}

/** How closely a quantized graph follows the fp32 one. */
export interface Agreement {
  samples: number;
  outputs: Array<{ name: string; maxAbsDelta: number; maxAbsReference: number; relativeDelta: number }>;
  /** Set for a classification: share of rows whose top label is the same. */
  top1?: { agree: number; rows: number; rate: number };
}

/** The label a classification row picks: argmax, or for one unit the side of 0.5 (0 for logits). */
function topLabel(row: Float64Array, activation: string): number {
  if (row.length === 1) return row[0]! >= (activation === 'sigmoid' ? 0 : 0.5) ? 1 : 0;
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Compares outputs sample by sample. */
export function agreement(reference: readonly Outputs[], candidate: readonly Outputs[], manifest: ModelManifest): Agreement {
  const names = Object.keys(reference[0] ?? {});
  const outputs = names.map((name) => {
    let maxAbsDelta = 0;
    let maxAbsReference = 0;
    reference.forEach((r, s) => {
      const a = r[name]!.data;
      const b = candidate[s]![name]!.data;
      if (a.length !== b.length) throw new ModelToolError(`output ${name} of sample ${s}: ${b.length} values quantized, ${a.length} in fp32`);
      for (let i = 0; i < a.length; i++) {
        const d = Math.abs(a[i]! - b[i]!);
        maxAbsDelta = Math.max(maxAbsDelta, Number.isNaN(d) ? Infinity : d);
        maxAbsReference = Math.max(maxAbsReference, Math.abs(a[i]!));
      }
    });
    return { name, maxAbsDelta, maxAbsReference, relativeDelta: maxAbsReference > 0 ? maxAbsDelta / maxAbsReference : maxAbsDelta };
  });
  const result: Agreement = { samples: reference.length, outputs };
  if (manifest.output.kind === 'classification') {
    const { tensor, labels, activation } = manifest.output;
    const units = labels.length === 2 && (reference[0]?.[tensor]?.dims.at(-1) ?? 0) === 1 ? 1 : labels.length;
    let agree = 0;
    let rows = 0;
    reference.forEach((r, s) => {
      const a = r[tensor]!.data;
      const b = candidate[s]![tensor]!.data;
      for (let i = 0; i + units <= a.length; i += units) {
        rows++;
        if (topLabel(a.subarray(i, i + units), activation) === topLabel(b.subarray(i, i + units), activation)) agree++;
      }
    });
    result.top1 = { agree, rows, rate: rows ? agree / rows : 1 };
  }
  return result;
}

/**
 * MinMax calibration: runs the fp32 graph with `tensors` as extra outputs over the samples and
 * returns each tensor's [min, max].
 */
export async function calibrate(bytes: Uint8Array, tensors: readonly string[], samples: readonly Sample[], onProgress?: (done: number) => void): Promise<Map<string, { min: number; max: number }>> {
  const model = decodeModel(bytes);
  const outputs = new Set((model.graph!.output ?? []).map((o) => o.name ?? ''));
  for (const t of tensors) if (!outputs.has(t)) model.graph!.output!.push({ name: t, type: { tensorType: { elemType: 1 } } });
  const session = await ort.InferenceSession.create(onnxProto.onnx.ModelProto.encode(model).finish(), { graphOptimizationLevel: 'basic' });
  const ranges = new Map<string, { min: number; max: number }>();
  try {
    let done = 0;
    for (const sample of samples) {
      const result = await session.run(sample, [...tensors]);
      for (const t of tensors) {
        const data = result[t]!.data as Float32Array;
        const r = ranges.get(t) ?? { min: Infinity, max: -Infinity };
        for (let i = 0; i < data.length; i++) {
          const v = data[i]!;
          if (v < r.min) r.min = v;
          if (v > r.max) r.max = v;
        }
        ranges.set(t, r);
      }
      onProgress?.(++done);
    }
  } finally {
    await session.release();
  }
  return ranges;
}

/** The refusal bar both quantize and prune apply (README "Quantize your model"): classifiers keep top-1, others stay within 5 % of their largest output. */
export const DEFAULT_MIN_AGREEMENT = 0.99;
export const DEFAULT_MAX_RELATIVE_DELTA = 0.05;

/** Why a derived graph disagrees too much with its source to be written, or undefined when it is within the bar. */
export function disagreementRefusal(agreement: Agreement, minAgreement = DEFAULT_MIN_AGREEMENT, maxRelative = DEFAULT_MAX_RELATIVE_DELTA): string | undefined {
  if (agreement.top1) {
    return agreement.top1.rate < minAgreement ? `top-1 agreement ${(agreement.top1.rate * 100).toFixed(1)} % (${agreement.top1.agree}/${agreement.top1.rows}) is below --min-agreement ${minAgreement}` : undefined;
  }
  const worst = agreement.outputs.reduce((a, b) => (b.relativeDelta > a.relativeDelta ? b : a), agreement.outputs[0]!);
  return worst && !(worst.relativeDelta <= maxRelative) ? `output ${worst.name} moves by max |Δ| ${worst.maxAbsDelta.toPrecision(3)} = ${(worst.relativeDelta * 100).toFixed(1)} % of its largest value, over --max-delta ${maxRelative}` : undefined;
}

/** The report's agreement line: max |Δ| per output and, for classifiers, top-1. */
export function agreementLine(g: Agreement, against: string): string {
  const outs = g.outputs.map((o) => `${o.name} max |Δ| ${o.maxAbsDelta.toPrecision(3)} (${(o.relativeDelta * 100).toFixed(2)} % of max |y| ${o.maxAbsReference.toPrecision(3)})`).join('; ');
  return `  agreement with ${against} over ${g.samples} inputs (onnxruntime-node): ${outs}${g.top1 ? `; top-1 ${(g.top1.rate * 100).toFixed(1)} % (${g.top1.agree}/${g.top1.rows})` : ''}`;
}

/** `--range input=lo,hi` flags as per-input sample ranges. */
export function parseRanges(values: readonly string[] | undefined): InputRanges {
  const out: InputRanges = Object.create(null) as InputRanges;
  for (const value of values ?? []) {
    const at = value.lastIndexOf('=');
    const [lo, hi, extra] = value.slice(at + 1).split(',').map(Number);
    if (at <= 0 || extra !== undefined || !Number.isFinite(lo) || !Number.isFinite(hi) || !(lo! < hi!)) throw new ModelToolError(`--range must look like input=-1,1 (lo < hi), got ${JSON.stringify(value)}`);
    out[value.slice(0, at)] = { lo: lo!, hi: hi! };
  }
  return out;
}
