// Global pools as shared module functions (ops-nn.ts globalPoolSource): every GlobalAveragePool
// (GlobalMaxPool) node of a module calls one function, already optimised at import; results vs
// onnxruntime-node over variable spatial dims.
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { GraphBuilder } from '../../../build/onnx/builder.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { Random } from './property-harness.ts';

const TOLERANCE = 1e-5;

describe('global pools: one shared function per kind, vs onnxruntime-node', () => {
  test('two GlobalAveragePools and two GlobalMaxPools over 4-D and 3-D inputs, variable dims', async () => {
    const r = new Random(57);
    const g = new GraphBuilder('pools');
    g.input('x', 'float32', ['N', 5, 'H', 'W']);
    g.input('z', 'float32', [1, 3, 'T']);
    g.node('GlobalAveragePool', ['x'], ['a']);
    g.node('GlobalMaxPool', ['x'], ['m']);
    g.node('GlobalAveragePool', ['z'], ['a3']);
    g.node('GlobalMaxPool', ['z'], ['m3']);
    g.output('a', 'float32', ['N', 5, 1, 1]);
    g.output('m', 'float32', ['N', 5, 1, 1]);
    g.output('a3', 'float32', [1, 3, 1]);
    g.output('m3', 'float32', [1, 3, 1]);
    const bytes = new Uint8Array(g.encode(13));
    const { source } = compileOnnxToModule(bytes, { name: 'pools' });
    const runBody = source.slice(source.indexOf('export function run('));
    for (const name of ['globalAvgPool', 'globalMaxPool']) {
      expect(source.split(`function ${name}(`)).toHaveLength(2);
      expect(runBody.split(`${name}(`)).toHaveLength(3);
    }
    const reference = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
    const micro = await importMicroModule(source, 'pools');
    let worst = 0;
    for (const [N, H, W, T] of [[1, 1, 1, 1], [2, 3, 7, 5], [1, 24, 48, 100]]) {
      const xd = [N!, 5, H!, W!];
      const zd = [1, 3, T!];
      const x = Float32Array.from({ length: N! * 5 * H! * W! }, () => r.next() * 8 - 4);
      const z = Float32Array.from({ length: 3 * T! }, () => r.next() * 8 - 4);
      const want = await reference.run({ x: new ort.Tensor('float32', x, xd), z: new ort.Tensor('float32', z, zd) });
      const got = micro.run({ x: { dtype: 'float32', dims: xd, data: x }, z: { dtype: 'float32', dims: zd, data: z } });
      for (const o of ['a', 'm', 'a3', 'm3']) {
        expect(got[o]!.dims).toEqual(want[o]!.dims.map(Number));
        const e = want[o]!.data as Float32Array;
        for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(e[i]! - Number(got[o]!.data[i])));
      }
    }
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
  });
});
