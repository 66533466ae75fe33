// run()'s node blocks of the same code up to buffers, dims and integers share one top-level
// function (compile.ts sharedNodeBlock): a net's repeated blocks run code V8 optimised on the
// earlier ones. Results vs onnxruntime-node, and the sharing itself.
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { GraphBuilder } from '../../../build/onnx/builder.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { Random } from './property-harness.ts';

describe('repeated node blocks share one function (compile.ts sharedNodeBlock)', () => {
  test('four residual steps h + h * c_k over 3 and 5 channels, variable length: two functions, vs onnxruntime-node', async () => {
    const r = new Random(73);
    const g = new GraphBuilder('shared-blocks');
    g.input('x', 'float32', [1, 3, 'T']);
    g.input('z', 'float32', [1, 5, 'T']);
    const steps = (input: string, C: number, tag: string) => {
      let h = input;
      for (let k = 0; k < 4; k++) {
        g.initializer(`${tag}c${k}`, { dtype: 'float32', dims: [1, C, 1], data: Float32Array.from({ length: C }, () => r.next() - 0.5) });
        g.node('Mul', [h, `${tag}c${k}`], [`${tag}m${k}`]);
        g.node('Add', [h, `${tag}m${k}`], [`${tag}h${k}`]);
        h = `${tag}h${k}`;
      }
      return h;
    };
    g.node('Identity', [steps('x', 3, 'a')], ['y']);
    g.node('Identity', [steps('z', 5, 'b')], ['w']);
    g.output('y', 'float32', [1, 3, 'T']);
    g.output('w', 'float32', [1, 5, 'T']);
    const bytes = new Uint8Array(g.encode(13));
    const { source } = compileOnnxToModule(bytes, { name: 'shared-blocks' });
    const runBody = source.slice(source.indexOf('export function run('), source.indexOf('\n}\n', source.indexOf('export function run(')));
    const calls = [...runBody.matchAll(/^ {2}(node\$\d+)\(/gm)].map((m) => m[1]!);
    const counts = new Map<string, number>();
    for (const c of calls) counts.set(c, (counts.get(c) ?? 0) + 1);
    // Eight steps (the channel counts are integers of the code, the constants buffers): at most a few functions, one called for several steps.
    expect(calls.length).toBeGreaterThanOrEqual(8);
    expect(Math.max(...counts.values())).toBeGreaterThanOrEqual(6);
    const reference = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
    const micro = await importMicroModule(source, 'shared-blocks');
    let worst = 0;
    for (const T of [1, 7, 40]) {
      const x = Float32Array.from({ length: 3 * T }, () => r.next() * 4 - 2);
      const z = Float32Array.from({ length: 5 * T }, () => r.next() * 4 - 2);
      const want = await reference.run({ x: new ort.Tensor('float32', x, [1, 3, T]), z: new ort.Tensor('float32', z, [1, 5, T]) });
      const got = micro.run({ x: { dtype: 'float32', dims: [1, 3, T], data: x }, z: { dtype: 'float32', dims: [1, 5, T], data: z } });
      for (const o of ['y', 'w']) {
        const e = want[o]!.data as Float32Array;
        for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(e[i]! - Number(got[o]!.data[i])));
      }
    }
    expect(worst).toBeLessThanOrEqual(1e-5);
  });
});
