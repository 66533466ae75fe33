// Import-time dequantizing and weight packing as shared module functions (#14, cold start of
// int8 modules; build/micro/import-kernels.ts): a module's top-level code runs interpreted, so
// its import section must call those functions instead of looping over the weights itself;
// the module still matches onnxruntime-node, across span boundaries (tensors and rows longer
// than a span), per-tensor and per-channel scales, zero points, transposed and plain weights;
// a module whose packing all runs at build carries no import kernel.
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { GraphBuilder } from '../../../build/onnx/builder.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { Random } from './property-harness.ts';

interface Case {
  label: string;
  k: number;
  n: number;
  /** Gemm with B as [n, k] (transB), else MatMul with B as [k, n]. */
  transB: boolean;
  dtype: 'int8' | 'uint8';
  /** Per-channel axis of B, or per-tensor. */
  axis: number | null;
  /** Packed straight from the integers (the scale depends on the packed row only), else dequantized, then packed. */
  fused: boolean;
}

const CASES: Case[] = [
  { label: 'MatMul, int8 per output channel (axis 1), zero points', k: 96, n: 40, transB: false, dtype: 'int8', axis: 1, fused: true },
  { label: 'Gemm transB, int8 per output channel (axis 0)', k: 128, n: 32, transB: true, dtype: 'int8', axis: 0, fused: true },
  { label: 'MatMul, uint8 per tensor over 2+ spans, rows longer than a span, a partial lane block', k: 4500, n: 9, transB: false, dtype: 'uint8', axis: null, fused: true },
  { label: 'Gemm transB, per tensor, rows longer than a span', k: 5000, n: 12, transB: true, dtype: 'int8', axis: null, fused: true },
  { label: 'MatMul, int8 per input row (axis 0): dequantized, then packed', k: 96, n: 40, transB: false, dtype: 'int8', axis: 0, fused: false },
];

function graph(r: Random, c: Case): Uint8Array {
  const g = new GraphBuilder('iq');
  g.input('x', 'float32', [1, c.k]);
  const dims = c.transB ? [c.n, c.k] : [c.k, c.n];
  const [lo, hi] = c.dtype === 'int8' ? [-127, 127] : [0, 255];
  const q = Array.from({ length: c.k * c.n }, () => r.int(lo, hi));
  g.initializer('wq', { dtype: c.dtype, dims, data: c.dtype === 'int8' ? Int8Array.from(q) : Uint8Array.from(q) });
  const channels = c.axis === null ? 1 : dims[c.axis]!;
  const scaleDims = c.axis === null ? [] : [channels];
  g.initializer('scale', { dtype: 'float32', dims: scaleDims, data: Float32Array.from({ length: channels }, () => 0.001 + r.next() * 0.02) });
  const zeros = Array.from({ length: channels }, () => (c.dtype === 'int8' ? r.int(-5, 5) : r.int(120, 136)));
  g.initializer('zero', { dtype: c.dtype, dims: scaleDims, data: c.dtype === 'int8' ? Int8Array.from(zeros) : Uint8Array.from(zeros) });
  g.node('DequantizeLinear', ['wq', 'scale', 'zero'], ['W'], c.axis === null ? {} : { axis: { int: c.axis } });
  if (c.transB) g.node('Gemm', ['x', 'W'], ['y'], { transB: { int: 1 } });
  else g.node('MatMul', ['x', 'W'], ['y']);
  g.output('y', 'float32', [1, c.n]);
  return new Uint8Array(g.encode(13));
}

const importSection = (source: string) => source.slice(source.indexOf('// Computed once at import'), source.indexOf('export function run('));

describe('import-time dequantize and packing in shared module functions', () => {
  test.each(CASES)('$label: no loop in the import section, matches onnxruntime-node', async (c) => {
    const r = new Random(c.k + c.n);
    const bytes = graph(r, c);
    const { source } = compileOnnxToModule(bytes, { name: c.label });
    const init = importSection(source);
    if (c.fused) {
      expect(init).toMatch(/(?<![\w$])packRowsDequantized\(/);
      // The float weights only in their packed buffer: no dequantized copy.
      expect(init).not.toMatch(/(?<![\w$])dequantize\(/);
      expect(source.match(new RegExp(`new Float32Array\\(${c.k * c.n}\\)`, 'g'))?.length).toBe(1);
    } else {
      expect(init).toMatch(/(?<![\w$])dequantize\(/);
      expect(init).toMatch(/(?<![\w$])packRows\(/);
    }
    // Every per-element loop of import time lives in a function (the old code looped here).
    expect(init).not.toMatch(/\bfor \(/);
    const micro = await importMicroModule(source, c.label);
    // 'basic': with every optimisation ORT may fuse DequantizeLinear → MatMul into a kernel that quantizes x too.
    const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
    let worst = 0;
    for (let i = 0; i < 30; i++) {
      const x = Float32Array.from({ length: c.k }, () => r.next() * 4 - 2);
      const want = (await session.run({ x: new ort.Tensor('float32', x, [1, c.k]) })).y!.data as Float32Array;
      const got = micro.run({ x: { dtype: 'float32', dims: [1, c.k], data: x } }).y!.data as Float32Array;
      for (let j = 0; j < c.n; j++) worst = Math.max(worst, Math.abs(want[j]! - got[j]!));
    }
    await session.release();
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  test.each([
    { label: 'scales per output column [1, n]', scaleDims: [1, 40], rewritten: true },
    { label: 'one scale', scaleDims: [], rewritten: true },
    { label: 'a scale per element (not one axis): stays Cast → Mul', scaleDims: [96, 40], rewritten: false },
  ])('Cast → Mul of int8 weights, $label: matches onnxruntime-node', async ({ scaleDims, rewritten }) => {
    const r = new Random(scaleDims.length + 7);
    const [k, n] = [96, 40];
    const g = new GraphBuilder('cm');
    g.input('x', 'float32', [1, k]);
    g.initializer('wq', { dtype: 'int8', dims: [k, n], data: Int8Array.from({ length: k * n }, () => r.int(-127, 127)) });
    const count = scaleDims.reduce((a, b) => a * b, 1);
    g.initializer('scale', { dtype: 'float32', dims: scaleDims, data: Float32Array.from({ length: count }, () => 0.001 + r.next() * 0.02) });
    g.node('Cast', ['wq'], ['wf'], { to: { int: 1 } });
    g.node('Mul', ['wf', 'scale'], ['W']);
    g.node('MatMul', ['x', 'W'], ['y']);
    g.output('y', 'float32', [1, n]);
    const bytes = new Uint8Array(g.encode(9));
    const { source, metadata } = compileOnnxToModule(bytes, { name: 'cm' });
    expect(metadata.ops.DequantizeLinear !== undefined).toBe(rewritten);
    expect(/(?<![\w$])(?:dequantize|packRowsDequantized)\(/.test(importSection(source))).toBe(rewritten);
    const micro = await importMicroModule(source, 'cm');
    const session = await ort.InferenceSession.create(bytes);
    let worst = 0;
    for (let i = 0; i < 30; i++) {
      const x = Float32Array.from({ length: k }, () => r.next() * 4 - 2);
      const want = (await session.run({ x: new ort.Tensor('float32', x, [1, k]) })).y!.data as Float32Array;
      const got = micro.run({ x: { dtype: 'float32', dims: [1, k], data: x } }).y!.data as Float32Array;
      for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(want[j]! - got[j]!));
    }
    await session.release();
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  test('fp32 weights packed at build: the module carries no import kernel nor its warm-up', () => {
    const r = new Random(3);
    const g = new GraphBuilder('fp');
    g.input('x', 'float32', [1, 96]);
    g.initializer('W', { dtype: 'float32', dims: [96, 40], data: Float32Array.from({ length: 96 * 40 }, () => r.next() - 0.5) });
    g.node('MatMul', ['x', 'W'], ['y']);
    g.output('y', 'float32', [1, 40]);
    const bytes = new Uint8Array(g.encode(13));
    const atBuild = compileOnnxToModule(bytes, { name: 'fp' });
    expect(atBuild.precomputedBlocks).toBeGreaterThan(0);
    expect(atBuild.source).not.toMatch(/function packRow/);
    // Packing at import (precompute off) calls the shared kernel.
    expect(compileOnnxToModule(bytes, { name: 'fp', precompute: false }).source).toMatch(/function packRow/);
  });
});
