// quantize-graph.ts on small generated graphs: the per-channel scales and rounding, the opsets
// without per-axis DequantizeLinear (Cast + Mul), and a weight also read by a non-weight op
// (left fp32); onnxruntime-node and the micro engine both run the result.
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { quantizeGraph, quantizeSymmetricInt8 } from '../../../build/model-tools/quantize-graph.ts';
import { decodeModel, GraphBuilder } from '../../../build/onnx/builder.ts';
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
});
