// Import-time element-wise chains (#14, cold start): int8 weights dequantized as Cast → Mul by
// per-channel scales (npm run quantize's opset-9 form, PaddleOCR cls) are computed in one loop
// at import, without a buffer for the Cast, and the module still matches onnxruntime-node.
import * as ort from 'onnxruntime-node';
import { expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { GraphBuilder } from '../../../build/onnx/builder.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { Random } from './property-harness.ts';

test('Cast → Mul over int8 weights runs at import as one loop (no Cast buffer); a run-time reader still gets them materialised once', async () => {
  const r = new Random(9);
  const [k, n] = [48, 40];
  const g = new GraphBuilder('dq');
  g.input('x', 'float32', [1, k]);
  g.initializer('wq', { dtype: 'int8', dims: [k, n], data: Int8Array.from({ length: k * n }, () => r.int(-127, 127)) });
  g.initializer('scale', { dtype: 'float32', dims: [1, n], data: Float32Array.from({ length: n }, () => 0.001 + r.next() * 0.02) });
  g.node('Cast', ['wq'], ['wf'], { to: { int: 1 } });
  g.node('Mul', ['wf', 'scale'], ['W']);
  g.node('MatMul', ['x', 'W'], ['y']);
  g.output('y', 'float32', [1, n]);
  const bytes = new Uint8Array(g.encode(9));
  const { source } = compileOnnxToModule(bytes, { name: 'dq', precompute: false });
  // One buffer of k * n floats (the dequantized weights), not two.
  expect(source.match(new RegExp(`new Float32Array\\(${k * n}\\)`, 'g'))?.length).toBe(1);
  const init = source.slice(source.indexOf('// Computed once at import'), source.indexOf('export function run'));
  // Read as DequantizeLinear by the scales' axis (build/micro/rewrite.ts castMulAsDequantize): one loop over the int8 constant.
  expect(init).toMatch(/\(_c\d+\[i\] - z\) \* s/);
  expect(init).not.toMatch(/Math\.fround\(_c\d+\[/);
  const micro = await importMicroModule(source, 'dq');
  const session = await ort.InferenceSession.create(bytes);
  let worst = 0;
  for (let i = 0; i < 50; i++) {
    const x = Float32Array.from({ length: k }, () => r.next() * 4 - 2);
    const want = (await session.run({ x: new ort.Tensor('float32', x, [1, k]) })).y!.data as Float32Array;
    const got = micro.run({ x: { dtype: 'float32', dims: [1, k], data: x } }).y!.data as Float32Array;
    for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(want[j]! - got[j]!));
  }
  await session.release();
  expect(worst).toBeLessThanOrEqual(1e-5);
});
