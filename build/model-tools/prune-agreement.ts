// How far a pruned graph strays from its original: both run on onnxruntime-node over the same
// sample inputs (the model.json's warmup tensors, a --samples file, and seeded random inputs
// of the declared shapes), giving the largest |delta| over every output element and, for
// classifiers, the share of inputs whose top label is unchanged.
import { readFile } from 'node:fs/promises';
import type onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { TensorDType } from '../../core/engine/types.ts';
import type { ModelManifest } from '../../core/model/manifest.ts';
import { ModelToolError } from './tool-errors.ts';

/** One input set: input name → tensor. */
export type SampleFeeds = Record<string, ort.Tensor>;

export interface Agreement {
  samples: number;
  /** Largest |original - pruned| over every output element of every sample. */
  maxAbsDelta: number;
  /** Largest |original| over the same elements (the scale the delta is read against). */
  maxAbsReference: number;
  /** maxAbsDelta / maxAbsReference (0 when the reference is all zeros and so is the delta). */
  relativeDelta: number;
  /** Share of (sample, batch row) pairs whose top label is unchanged; classifiers only. */
  top1Agreement?: number;
}

// mulberry32: small, seeded, the same on every machine.
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INT_TYPES = new Set<TensorDType>(['int8', 'uint8', 'int16', 'int32', 'int64']);

/** Largest index an integer input may take: the size of the table a Gather reads with it (through Casts), else 16. */
function indexRange(graph: onnxProto.onnx.IGraphProto, input: string): number {
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const names = new Set([input]);
  for (const n of graph.node ?? []) if (n.opType === 'Cast' && names.has(n.input?.[0] ?? '')) n.output?.forEach((o) => names.add(o));
  for (const n of graph.node ?? []) {
    if (n.opType !== 'Gather' || !names.has(n.input?.[1] ?? '')) continue;
    const table = inits.get(n.input?.[0] ?? '') ?? (graph.sparseInitializer ?? []).find((s) => s.values?.name === n.input?.[0]);
    const axis = Number(n.attribute?.find((a) => a.name === 'axis')?.i ?? 0);
    const dims = table?.dims?.map(Number);
    if (dims && dims[axis]) return dims[axis]!;
  }
  return 16;
}

function tensorOf(dtype: TensorDType, dims: number[], values: (i: number) => number): ort.Tensor {
  const count = dims.reduce((a, b) => a * b, 1);
  switch (dtype) {
    case 'float32': return new ort.Tensor('float32', Float32Array.from({ length: count }, (_, i) => values(i)), dims);
    case 'float64': return new ort.Tensor('float64', Float64Array.from({ length: count }, (_, i) => values(i)), dims);
    case 'int32': return new ort.Tensor('int32', Int32Array.from({ length: count }, (_, i) => values(i)), dims);
    case 'int64': return new ort.Tensor('int64', BigInt64Array.from({ length: count }, (_, i) => BigInt(Math.trunc(values(i)))), dims);
    case 'int8': return new ort.Tensor('int8', Int8Array.from({ length: count }, (_, i) => values(i)), dims);
    case 'uint8': return new ort.Tensor('uint8', Uint8Array.from({ length: count }, (_, i) => values(i)), dims);
    case 'int16': return new ort.Tensor('int16', Int16Array.from({ length: count }, (_, i) => values(i)), dims);
    case 'bool': return new ort.Tensor('bool', Uint8Array.from({ length: count }, (_, i) => (values(i) ? 1 : 0)), dims);
    default: throw new ModelToolError(`inputs of type ${dtype} are not sampled by prune yet; pass --samples <file.json>`);
  }
}

/** Shape a sample of `spec` runs on: the warmup shape if declared, else 1 for a leading variable dim and 16 for others. */
function concreteShape(manifest: ModelManifest, name: string, shape: readonly number[]): number[] {
  const warm = manifest.warmup.find((w) => w.inputs[name]?.shape)?.inputs[name]?.shape;
  if (warm) return [...warm];
  return shape.map((d, k) => (d >= 0 ? d : k === 0 ? 1 : 16));
}

/**
 * Sample inputs for `manifest` over `graph`: every explicit warmup request, then `count`
 * seeded random ones (floats standard normal, integers uniform over the table they index).
 */
export function sampleInputs(manifest: ModelManifest, graph: onnxProto.onnx.IGraphProto, count: number, seed = 1): SampleFeeds[] {
  const rand = random(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const samples: SampleFeeds[] = [];
  for (const w of manifest.warmup) {
    const names = Object.keys(w.inputs);
    if (!names.length || !manifest.inputs.every((i) => names.includes(i.name) || i.optional)) continue;
    const feeds: SampleFeeds = {};
    for (const spec of manifest.inputs) {
      const t = w.inputs[spec.name];
      const dims = t?.shape ? [...t.shape] : concreteShape(manifest, spec.name, spec.shape);
      feeds[spec.name] = tensorOf(spec.dtype, dims, (i) => (t ? (t.fill ? t.data[0]! : t.data[i] ?? 0) : spec.default ?? 0));
    }
    samples.push(feeds);
  }
  const ranges = new Map(manifest.inputs.map((spec) => [spec.name, INT_TYPES.has(spec.dtype) ? indexRange(graph, spec.name) : 0]));
  for (let s = 0; s < count; s++) {
    const feeds: SampleFeeds = {};
    for (const spec of manifest.inputs) {
      const dims = concreteShape(manifest, spec.name, spec.shape);
      if (spec.source === 'constant') {
        const v = spec.value;
        feeds[spec.name] = tensorOf(spec.dtype, dims, (i) => (typeof v === 'number' ? v : v[i] ?? 0));
      } else if (spec.dtype === 'bool') feeds[spec.name] = tensorOf('bool', dims, () => (rand() < 0.5 ? 1 : 0));
      else if (INT_TYPES.has(spec.dtype)) feeds[spec.name] = tensorOf(spec.dtype, dims, () => Math.floor(rand() * ranges.get(spec.name)!));
      else feeds[spec.name] = tensorOf(spec.dtype, dims, normal);
    }
    samples.push(feeds);
  }
  return samples;
}

/**
 * Sample inputs from a JSON file: an array of objects, input name → `{dims, data}` (or a
 * flat number array for an input of the declared shape without variable dims).
 */
export async function readSamplesFile(path: string, manifest: ModelManifest): Promise<SampleFeeds[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ModelToolError(`--samples ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!Array.isArray(parsed) || !parsed.length) throw new ModelToolError(`--samples ${path}: expected a non-empty JSON array of {input: {dims, data}} objects`);
  return parsed.map((entry, k) => {
    const feeds: SampleFeeds = {};
    for (const spec of manifest.inputs) {
      const raw = (entry as Record<string, unknown>)?.[spec.name];
      const value = Array.isArray(raw) ? { dims: spec.shape, data: raw } : (raw as { dims?: number[]; data?: number[] } | undefined);
      if (!value || !Array.isArray(value.data) || !Array.isArray(value.dims) || value.dims.some((d) => !Number.isInteger(d) || d < 0)) {
        throw new ModelToolError(`--samples ${path}: sample ${k} lacks input "${spec.name}" as {dims, data} with concrete dims`);
      }
      const count = value.dims.reduce((a, b) => a * b, 1);
      if (value.data.length !== count) throw new ModelToolError(`--samples ${path}: sample ${k} input "${spec.name}" has ${value.data.length} values for dims [${value.dims}]`);
      feeds[spec.name] = tensorOf(spec.dtype, value.dims, (i) => Number(value.data![i]));
    }
    return feeds;
  });
}

/** Top label per batch row of a classification tensor (one unit per label, or one unit for two labels). */
function topLabels(t: ort.Tensor, labels: number, activation: string): number[] {
  const data = t.data as Float32Array;
  const unit = data.length === (Number(t.dims[0] ?? 1) || 1) && labels === 2;
  if (unit) return Array.from(data, (v) => (v > (activation === 'sigmoid' ? 0 : 0.5) ? 1 : 0));
  const rows = Math.max(1, data.length / labels);
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < labels; c++) if (data[r * labels + c]! > data[r * labels + best]!) best = c;
    out.push(best);
  }
  return out;
}

/** Runs both graphs over the samples on onnxruntime-node and measures how they differ. */
export async function measureAgreement(original: Uint8Array, pruned: Uint8Array, samples: readonly SampleFeeds[], manifest: ModelManifest): Promise<Agreement> {
  const a = await ort.InferenceSession.create(original);
  const b = await ort.InferenceSession.create(pruned);
  try {
    let maxAbsDelta = 0;
    let maxAbsReference = 0;
    let same = 0;
    let rows = 0;
    const meaning = manifest.output;
    for (const feeds of samples) {
      let ra: ort.InferenceSession.OnnxValueMapType;
      try {
        ra = await a.run(feeds);
      } catch (error) {
        const shapes = Object.entries(feeds).map(([name, t]) => `${name} [${t.dims}]`).join(', ');
        throw new ModelToolError(`the original graph does not run on the sample inputs (${shapes}): ${(error as Error).message.split('\n')[0]}; declare a warmup shape in model.json or pass --samples`);
      }
      const rb = await b.run(feeds);
      for (const name of a.outputNames) {
        const ea = ra[name]!;
        const eb = rb[name];
        if (!eb || eb.dims.join(',') !== ea.dims.join(',')) throw new Error(`output "${name}" changed shape: [${eb?.dims}] vs [${ea.dims}]`);
        if (typeof ea.data[0] === 'string') continue;
        const da = ea.data as ArrayLike<number | bigint>;
        const db = eb.data as ArrayLike<number | bigint>;
        for (let i = 0; i < da.length; i++) {
          const x = Number(da[i]);
          const d = Math.abs(x - Number(db[i]));
          maxAbsDelta = Math.max(maxAbsDelta, Number.isNaN(d) ? Infinity : d);
          maxAbsReference = Math.max(maxAbsReference, Math.abs(x));
        }
      }
      if (meaning.kind === 'classification') {
        const ta = topLabels(ra[meaning.tensor]!, meaning.labels.length, meaning.activation);
        const tb = topLabels(rb[meaning.tensor]!, meaning.labels.length, meaning.activation);
        ta.forEach((label, i) => (same += label === tb[i] ? 1 : 0));
        rows += ta.length;
      }
    }
    const relativeDelta = maxAbsReference > 0 ? maxAbsDelta / maxAbsReference : maxAbsDelta > 0 ? Infinity : 0;
    return { samples: samples.length, maxAbsDelta, maxAbsReference, relativeDelta, ...(meaning.kind === 'classification' ? { top1Agreement: rows ? same / rows : 1 } : {}) };
  } finally {
    await a.release();
    await b.release();
  }
}
