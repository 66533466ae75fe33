// Test helper for the micro compiler's property tests: a seeded generator of shapes and
// data, and a runner that compiles a graph, runs it on the generated module and on
// onnxruntime-web, and reports every output that differs beyond 1e-5.
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { GraphBuilder, type OnnxDType } from '../../../build/onnx/builder.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import type { Tensor, TensorDType, TensorMap } from '../../../core/engine/types.ts';
import type { TensorSpec } from '../../../core/model/manifest.ts';
import { runOnOrtWeb, tensorMismatch } from './oracle.ts';

/** mulberry32: deterministic, so a failing case reproduces from its seed. */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  shape(rank: number, max = 4, min = 1): number[] {
    return Array.from({ length: rank }, () => this.int(min, max));
  }
  floats(n: number, lo = -2, hi = 2): Float32Array {
    return Float32Array.from({ length: n }, () => lo + (hi - lo) * this.next());
  }
  ints(n: number, lo: number, hi: number): number[] {
    return Array.from({ length: n }, () => this.int(lo, hi));
  }
}

export const size = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** A tensor of `dtype` from plain numbers. */
export function tensor(dtype: TensorDType, dims: number[], values: ArrayLike<number>): Tensor {
  switch (dtype) {
    case 'float32': return { dtype, dims, data: Float32Array.from(values) };
    case 'int32': return { dtype, dims, data: Int32Array.from(values) };
    case 'int8': return { dtype, dims, data: Int8Array.from(values) };
    case 'uint8': return { dtype, dims, data: Uint8Array.from(values) };
    case 'int64': return { dtype, dims, data: BigInt64Array.from(Array.from(values), (v) => BigInt(v)) };
    default: throw new Error(`property cases do not generate ${dtype} tensors (the micro compiler does not take them)`);
  }
}

/** One generated graph with its feeds. */
export interface PropertyCase {
  label: string;
  bytes: Uint8Array;
  feeds: TensorMap;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/**
 * Builds a case: `build` declares feeds with `feed` (declared dims may be symbolic) and
 * returns the outputs with their dtypes and ranks.
 */
export function buildCase(
  label: string,
  opset: number,
  build: (g: GraphBuilder, feed: (name: string, t: Tensor, declared?: Array<number | string>) => string) => Array<{ name: string; dtype: TensorDType; rank: number }>,
): PropertyCase {
  const g = new GraphBuilder(label.replace(/\W/g, '_'));
  const feeds: TensorMap = {};
  const inputs: TensorSpec[] = [];
  const outs = build(g, (name, t, declared) => {
    const shape = declared ?? [...t.dims];
    g.input(name, t.dtype as OnnxDType, shape);
    feeds[name] = t;
    inputs.push({ name, dtype: t.dtype, shape: shape.map((d) => (typeof d === 'number' ? d : -1)) });
    return name;
  });
  const outputs: TensorSpec[] = outs.map((o, i) => {
    g.output(o.name, o.dtype as OnnxDType, Array.from({ length: o.rank }, (_, k) => `out${i}_${k}`));
    return { name: o.name, dtype: o.dtype, shape: Array.from({ length: o.rank }, () => -1) };
  });
  return { label, bytes: g.encode(opset), feeds, inputs, outputs };
}

/** Declared dims of a feed: each dim made symbolic (its own name) with probability `p`. */
export function maybeSymbolic(r: Random, dims: number[], prefix: string, p = 0.4): Array<number | string> {
  return dims.map((d, k) => (r.bool(p) ? `${prefix}${k}` : d));
}

/** Compiles and runs a case on both engines; returns a description per mismatching output. */
export async function checkCase(c: PropertyCase): Promise<string[]> {
  const problems: string[] = [];
  const expected = await runOnOrtWeb(c.bytes, c.feeds, c.inputs, c.outputs);
  const compiled = compileOnnxToModule(c.bytes, { name: c.label });
  const module = await importMicroModule(compiled.source, 'property');
  const actual = module.run(c.feeds);
  for (const o of c.outputs) {
    const a = actual[o.name];
    const e = expected[o.name];
    if (!a || !e) {
      problems.push(`${c.label}: output ${o.name} missing`);
      continue;
    }
    const problem = tensorMismatch(e, a, 1e-5);
    if (problem) problems.push(`${c.label} → ${o.name}: ${problem}`);
  }
  return problems;
}
