// quantize-graph.ts on small generated graphs: the per-channel scales and rounding, the opsets
// without per-axis DequantizeLinear (Cast + Mul), and a weight also read by a non-weight op
// (left fp32), Conv → BatchNormalization folded before quantizing (the micro module then carries
// int8, at opset 9 too); onnxruntime-node and the micro engine both run the result.
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { quantizeGraph, quantizeSymmetricInt8 } from '../../../build/model-tools/quantize-graph.ts';
import { decodeModel, GraphBuilder } from '../../../build/onnx/builder.ts';
import { gzipSync } from 'node:zlib';
import { Random } from '../micro/property-harness.ts';

const r = new Random(77);

function matmulGraph(opset: number, alsoAdd: boolean): { bytes: Uint8Array; w: Float32Array } {
  const g = new GraphBuilder('q');
  g.input('x', 'float32', [1, 32]);
  const w = r.floats(32 * 16, -2, 2);
  g.initializer('w', { dtype: 'float32', dims: [32, 16], data: w });
  g.node('MatMul', ['x', 'w'], ['y']);
  g.output('y', 'float32', [1, 16]);
  if (alsoAdd) {
    g.input('z', 'float32', [32, 16]);
    g.node('Add', ['z', 'w'], ['s']);
    g.output('s', 'float32', [32, 16]);
  }
  return { bytes: g.encode(opset), w };
}

describe('quantizeGraph', () => {
  it('symmetric int8: one scale per channel = max|w| / 127, |error| ≤ scale / 2', () => {
    const data = Float32Array.of(1, -0.5, 0.25, 254, -127, 0);
    const { q, scales, maxError } = quantizeSymmetricInt8(data, [2, 3], 0);
    expect([...scales]).toEqual([Math.fround(1 / 127), Math.fround(254 / 127)]);
    expect([...q]).toEqual([127, -64, 32, 127, -64, 0]); // -63.5 rounds half to even
    expect(maxError).toBeLessThanOrEqual(Math.max(...scales) / 2 + 1e-6);
  });

  it.each([11, 13, 17])('opset %i, per-channel: the graph runs in onnxruntime-node and micro, close to fp32', async (opset) => {
    const { bytes, w } = matmulGraph(opset, false);
    const model = decodeModel(bytes);
    const result = quantizeGraph(model, { perChannel: true, minElements: 16 });
    expect(result.weights).toMatchObject([{ name: 'w', ops: ['MatMul'], axis: 1 }]);
    const ops = model.graph!.node!.map((n) => n.opType);
    expect(ops).toEqual(opset >= 13 ? ['DequantizeLinear', 'MatMul'] : ['Cast', 'Mul', 'MatMul']);
    const out = onnxProto.onnx.ModelProto.encode(model).finish();
    expect(out.length).toBeLessThan(bytes.length / 2);
    const x = r.floats(32, -1, 1);
    const fp32 = await ort.InferenceSession.create(bytes);
    // 'basic': at its default level onnxruntime fuses DequantizeLinear → MatMul into an integer
    // kernel that also quantizes x per call (as quantize_dynamic's graphs), which moves outputs by ~1e-2.
    const int8 = await ort.InferenceSession.create(out, { graphOptimizationLevel: 'basic' });
    const want = (await fp32.run({ x: new ort.Tensor('float32', x, [1, 32]) })).y!.data as Float32Array;
    const got = (await int8.run({ x: new ort.Tensor('float32', x, [1, 32]) })).y!.data as Float32Array;
    const micro = await importMicroModule(compileOnnxToModule(out, { name: `q${opset}` }).source, `q${opset}`);
    const m = micro.run({ x: { dtype: 'float32', dims: [1, 32], data: x } }).y!.data as Float32Array;
    const maxW = Math.max(...w.map(Math.abs));
    for (let i = 0; i < 16; i++) {
      expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(32 * (maxW / 127 / 2)); // ≤ K · half a step
      expect(Math.abs(m[i]! - got[i]!)).toBeLessThanOrEqual(1e-5);
      expect(got[i]).not.toBe(want[i]); // it really changed the weights
    }
  });

  it('leaves a weight fp32 when another op reads it, and tensors under minElements', () => {
    const shared = decodeModel(matmulGraph(17, true).bytes);
    const result = quantizeGraph(shared, { perChannel: true });
    expect(result.weights).toEqual([]);
    expect(result.skipped[0]).toMatchObject({ name: 'w', reason: expect.stringMatching(/also read by Add/) });
    const small = quantizeGraph(decodeModel(matmulGraph(17, false).bytes), { perChannel: false, minElements: 1000 });
    expect(small.weights).toEqual([]);
    expect(small.skipped[0]!.reason).toMatch(/512 elements, under --min-elements 1000/);
  });

  /** x → Conv(32 out of 16 channels, 3x3) → BatchNormalization → Relu, every parameter a constant. */
  function convBnGraph(opset: number): Uint8Array {
    const g = new GraphBuilder('convbn');
    g.input('x', 'float32', [1, 16, 12, 12]);
    g.initializer('w', { dtype: 'float32', dims: [32, 16, 3, 3], data: r.floats(32 * 16 * 9, -0.5, 0.5) });
    g.initializer('b', { dtype: 'float32', dims: [32], data: r.floats(32, -0.1, 0.1) });
    g.initializer('gamma', { dtype: 'float32', dims: [32], data: r.floats(32, 0.5, 2) });
    g.initializer('beta', { dtype: 'float32', dims: [32], data: r.floats(32, -0.5, 0.5) });
    g.initializer('mean', { dtype: 'float32', dims: [32], data: r.floats(32, -0.2, 0.2) });
    g.initializer('var', { dtype: 'float32', dims: [32], data: r.floats(32, 0.1, 3) });
    g.node('Conv', ['x', 'w', 'b'], ['c'], { pads: { ints: [1, 1, 1, 1] } });
    g.node('BatchNormalization', ['c', 'gamma', 'beta', 'mean', 'var'], ['n'], { epsilon: { float: 1e-3 } });
    g.node('Relu', ['n'], ['y']);
    g.output('y', 'float32', [1, 32, 12, 12]);
    return g.encode(opset);
  }

  it.each([9, 13])('opset %i: BatchNormalization is folded into the Conv before quantizing; both engines run it, and the micro module carries int8', async (opset) => {
    const bytes = convBnGraph(opset);
    const model = decodeModel(bytes);
    const result = quantizeGraph(model, { perChannel: true });
    expect(result.folded).toEqual([{ conv: expect.any(String), batchNorm: expect.any(String) }]);
    const ops = model.graph!.node!.map((n) => n.opType);
    expect(ops).not.toContain('BatchNormalization');
    expect(result.weights).toMatchObject([{ ops: ['Conv'], axis: 0 }]);
    // Nothing of the BN or the unfolded weight is left in the graph.
    expect(model.graph!.initializer!.map((t) => t.name)).not.toEqual(expect.arrayContaining(['gamma']));
    expect(model.graph!.initializer!.filter((t) => t.dataType === 1).reduce((n, t) => n + (t.dims ?? []).reduce((a: number, d) => a * Number(d), 1), 0)).toBeLessThanOrEqual(64);
    const out = onnxProto.onnx.ModelProto.encode(model).finish();
    const x = r.floats(16 * 144, -1, 1);
    const feeds = { x: new ort.Tensor('float32', x, [1, 16, 12, 12]) };
    const want = (await (await ort.InferenceSession.create(bytes)).run(feeds)).y!.data as Float32Array;
    const got = (await (await ort.InferenceSession.create(out, { graphOptimizationLevel: 'basic' })).run(feeds)).y!.data as Float32Array;
    const fp32Module = compileOnnxToModule(bytes, { name: `bn${opset}` }).source;
    const int8Module = compileOnnxToModule(out, { name: `bn${opset}q` }).source;
    const m = (await importMicroModule(int8Module, `bn${opset}q`)).run({ x: { dtype: 'float32', dims: [1, 16, 12, 12], data: x } }).y!.data as Float32Array;
    let delta = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      expect(Math.abs(m[i]! - got[i]!)).toBeLessThanOrEqual(1e-4);
      delta = Math.max(delta, Math.abs(got[i]! - want[i]!));
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    expect(delta).toBeGreaterThan(0);
    expect(delta / scale).toBeLessThanOrEqual(0.02);
    // 4608 weights: int8 in the module (below opset 13 as Cast + Mul, which the compiler must not turn back into fp32 constants).
    const ratio = gzipSync(int8Module).length / gzipSync(fp32Module).length;
    console.log(`opset ${opset}: int8/fp32 module gzip ${ratio.toFixed(3)}`);
    expect(ratio).toBeLessThanOrEqual(0.5);
  });
});
