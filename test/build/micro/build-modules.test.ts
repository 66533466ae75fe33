// The build:micro step over a real model repository on disk: compiles `auto`/`micro` models,
// skips `ort` ones, records why a graph did not compile, and writes an index module that
// the micro engine serves from without any compiler at run time.
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { buildMicroModules } from '../../../build/micro/build-modules.ts';
import { GraphBuilder } from '../../../build/onnx/builder.ts';
import { createMicroEngine, microModuleKey } from '../../../core/engine/micro/micro-engine.ts';
import type { MicroModule } from '../../../core/engine/micro/types.ts';
import type { ModelManifest } from '../../../core/model/manifest.ts';
import { shapeEchoBytes, shapeEchoManifest } from '../../helpers/shape-echo-graph.ts';
import { buildQuantizedBagModel } from '../../core/engine/quantized-bag-graph.ts';

function writeModel(root: string, bytes: Uint8Array, manifest: ModelManifest): ModelManifest {
  const dir = join(root, manifest.name, manifest.version);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), bytes);
  const full = { ...manifest, sha256: createHash('sha256').update(bytes).digest('hex') };
  writeFileSync(join(dir, 'model.json'), JSON.stringify(full));
  return full;
}

function erfBytes(): Uint8Array {
  const g = new GraphBuilder('erf');
  g.input('ids', 'int32', [1, 'n']);
  const [f] = g.node('Cast', ['ids'], 1, { to: { int: 1 } });
  g.node('Det', [f!], ['probabilities']);
  g.output('probabilities', 'float32', [1, 'n']);
  return new Uint8Array(g.encode(17));
}

describe('npm run build:micro', () => {
  test('compiles auto and micro models, skips ort, records failures, and the index serves them', async () => {
    const root = mkdtempSync(join(tmpdir(), 'micro-build-'));
    const models = join(root, 'models');
    const out = join(root, 'dist');
    const bag = buildQuantizedBagModel(7);
    const auto = writeModel(models, bag.bytes, { ...bag.manifest, name: 'bag-auto', engine: 'auto' });
    const micro = writeModel(models, buildQuantizedBagModel(8).bytes, { ...bag.manifest, name: 'bag-micro', engine: 'micro' });
    writeModel(models, buildQuantizedBagModel(9).bytes, { ...bag.manifest, name: 'bag-ort', engine: 'ort' });
    const erf = writeModel(models, erfBytes(), { ...bag.manifest, name: 'erf-auto', engine: 'auto', outputs: [{ name: 'probabilities', dtype: 'float32', shape: [1, -1] }] });

    const result = await buildMicroModules(models, out);
    const status = Object.fromEntries(result.entries.map((e) => [e.model, e.status]));
    expect(status).toEqual({ 'bag-auto@1': 'compiled', 'bag-micro@1': 'compiled', 'bag-ort@1': 'skipped', 'erf-auto@1': 'failed' });
    expect(result.failed).toBe(false);
    expect(result.entries.find((e) => e.model === 'erf-auto@1')!.reason).toMatch(/op Det/);
    expect(result.entries.find((e) => e.model === 'bag-auto@1')!.moduleGzipBytes).toBeGreaterThan(1000);

    const index = (await import(pathToFileURL(result.index).href)) as {
      microModules: Record<string, MicroModule>;
      microCompileFailures: Record<string, string>;
    };
    expect(Object.keys(index.microModules).sort()).toEqual([microModuleKey(auto.sha256, auto), microModuleKey(micro.sha256, micro)].sort());
    expect(index.microCompileFailures[microModuleKey(erf.sha256, erf)]).toMatch(/node "Det_1" uses op Det/);

    const engine = createMicroEngine({ modules: index.microModules, compileFailures: index.microCompileFailures });
    const session = await engine.load(bag.bytes, auto);
    const out1 = await session.run({ ids: { dtype: 'int32', dims: [1, 3], data: Int32Array.of(1, 2, 3) } });
    const ref = bag.reference(Int32Array.of(1, 2, 3));
    expect(out1.probabilities!.data[0]).toBeCloseTo(ref.probabilities[0]!, 5);
    await expect(engine.load(erfBytes(), erf)).rejects.toThrow(/this build carries no micro module for it: .*op Det/);
  });

  test('two versions sharing one .onnx but declaring different input shapes get a module each, and each serves its own shape', async () => {
    const root = mkdtempSync(join(tmpdir(), 'micro-build-'));
    const models = join(root, 'models');
    const bytes = shapeEchoBytes();
    const four = writeModel(models, bytes, shapeEchoManifest('1', 4));
    const eight = writeModel(models, bytes, shapeEchoManifest('2', 8));
    expect(four.sha256).toBe(eight.sha256);
    const result = await buildMicroModules(models, join(root, 'dist'));
    expect(result.entries.map((e) => e.status)).toEqual(['compiled', 'compiled']);
    const index = (await import(pathToFileURL(result.index).href)) as { microModules: Record<string, MicroModule> };
    // Keyed by the sha alone, the second entry overwrote the first: version 1 ran the module compiled for [1,8].
    expect(Object.keys(index.microModules)).toHaveLength(2);
    const engine = createMicroEngine({ modules: index.microModules });
    for (const [manifest, n] of [[four, 4], [eight, 8]] as const) {
      const session = await engine.load(bytes, manifest);
      const out = await session.run({ x: { dtype: 'float32', dims: [1, n], data: new Float32Array(n).fill(3) } });
      expect(Array.from(out.dims!.data as Float32Array), manifest.version).toEqual([1, n]);
      expect(Array.from(out.sq!.data as Float32Array)).toEqual(new Array(n).fill(9));
    }
  });

  test('a model that requires micro and does not compile fails the build', async () => {
    const root = mkdtempSync(join(tmpdir(), 'micro-build-'));
    const bag = buildQuantizedBagModel(7);
    writeModel(join(root, 'models'), erfBytes(), { ...bag.manifest, name: 'erf-micro', engine: 'micro', outputs: [{ name: 'probabilities', dtype: 'float32', shape: [1, -1] }] });
    const result = await buildMicroModules(join(root, 'models'), join(root, 'dist'));
    expect(result.failed).toBe(true);
    expect(result.entries[0]!.status).toBe('failed');
  });
});
