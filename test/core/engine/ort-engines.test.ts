// ort-web and ort-node on a seeded quantized graph: both match a float64 JavaScript
// reference and each other within 1e-5, outputs are owned by the caller, and every ORT
// failure comes back as an EngineError naming the model, never as a crash.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeOrtWebEngine } from '../../../adapters/node/ort-wasm-binary.ts';
import { GraphBuilder } from '../../../build/onnx/builder.ts';
import { createOrtNodeEngine, type OrtNodeEngine } from '../../../core/engine/ort-node/ort-node-engine.ts';
import { EngineError } from '../../../core/engine/ort-session.ts';
import { ORT_WEB_INIT_MODEL, type OrtWebEngine } from '../../../core/engine/ort-web/ort-web-engine.ts';
import type { EngineSession, Tensor } from '../../../core/engine/types.ts';
import { buildQuantizedBagModel, randomIdSequences } from './quantized-bag-graph.ts';

const model = buildQuantizedBagModel();
const sequences = randomIdSequences(120);
const idsTensor = (ids: Int32Array): Tensor => ({ dtype: 'int32', dims: [1, ids.length], data: ids });

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

let web: OrtWebEngine;
let node: OrtNodeEngine;
let webSession: EngineSession;
let nodeSession: EngineSession;

beforeAll(async () => {
  web = await createNodeOrtWebEngine();
  node = await createOrtNodeEngine();
  webSession = await web.load(model.bytes, model.manifest);
  nodeSession = await node.load(model.bytes, model.manifest);
});

afterAll(async () => {
  await webSession?.release();
  await nodeSession?.release();
});

describe('ort-web and ort-node on a quantized bag-of-ids graph', () => {
  it('embeds an init model that is exactly what the graph builder writes', () => {
    const g = new GraphBuilder('warmup');
    g.input('x', 'float32', [1]);
    g.node('Identity', ['x'], ['y']);
    g.output('y', 'float32', [1]);
    expect(Array.from(ORT_WEB_INIT_MODEL)).toEqual(Array.from(g.encode(13)));
  });

  it('reports how each engine runs', () => {
    expect(web.name).toBe('ort-web');
    expect(web.wasmSource).toBe('binary');
    expect(web.ortVersion).toBe('1.30.0');
    expect(node.name).toBe('ort-node');
    expect(node.executionProvider).toBe('cpu');
    expect(node.intraOpNumThreads).toBe(1);
  });

  it('both engines match a float64 reference and each other within 1e-5 on 120 id sequences', async () => {
    let webVsNode = 0;
    let webVsReference = 0;
    let nodeVsReference = 0;
    const spamScores = new Set<number>();
    for (const ids of sequences) {
      const w = await webSession.run({ ids: idsTensor(ids) });
      const n = await nodeSession.run({ ids: idsTensor(ids) });
      const ref = model.reference(ids);
      for (const name of ['probabilities', 'hidden'] as const) {
        expect(w[name]!.dtype).toBe('float32');
        expect(w[name]!.dims).toEqual(n[name]!.dims);
        webVsNode = Math.max(webVsNode, maxAbsDiff(w[name]!.data as Float32Array, n[name]!.data as Float32Array));
        webVsReference = Math.max(webVsReference, maxAbsDiff(w[name]!.data as Float32Array, ref[name]));
        nodeVsReference = Math.max(nodeVsReference, maxAbsDiff(n[name]!.data as Float32Array, ref[name]));
      }
      expect(w.probabilities!.dims).toEqual([1, 2]);
      const [ham, spam] = w.probabilities!.data as Float32Array;
      expect(ham! + spam!).toBeCloseTo(1, 6);
      spamScores.add(Math.round(spam! * 1e4));
    }
    expect(webVsNode).toBeLessThanOrEqual(1e-5);
    expect(webVsReference).toBeLessThanOrEqual(1e-5);
    expect(nodeVsReference).toBeLessThanOrEqual(1e-5);
    // The inputs really exercise the graph: scores vary from sequence to sequence.
    expect(spamScores.size).toBeGreaterThan(50);
  });

  it('returns only the requested outputs, and results survive later runs', async () => {
    for (const session of [webSession, nodeSession]) {
      const first = await session.run({ ids: idsTensor(sequences[0]!) }, ['probabilities']);
      expect(Object.keys(first)).toEqual(['probabilities']);
      const kept = Array.from(first.probabilities!.data as Float32Array);
      await session.run({ ids: idsTensor(sequences[1]!) });
      await session.run({ ids: idsTensor(sequences[2]!) });
      expect(Array.from(first.probabilities!.data as Float32Array)).toEqual(kept);
      expect(kept).not.toEqual(Array.from((await session.run({ ids: idsTensor(sequences[1]!) })).probabilities!.data as Float32Array));
    }
  });

  it('gives each of 60 concurrent runs on one session its own answer', async () => {
    for (const session of [webSession, nodeSession]) {
      const batch = sequences.slice(0, 60);
      const outs = await Promise.all(batch.map((ids) => session.run({ ids: idsTensor(ids) }, ['probabilities'])));
      outs.forEach((out, i) => {
        expect(maxAbsDiff(out.probabilities!.data as Float32Array, model.reference(batch[i]!).probabilities)).toBeLessThanOrEqual(1e-5);
      });
    }
  });

  it('accepts a typed-array view into a larger buffer', async () => {
    const backing = new Int32Array([999, ...sequences[3]!, 999]);
    const view = backing.subarray(1, backing.length - 1);
    for (const session of [webSession, nodeSession]) {
      const fromView = await session.run({ ids: idsTensor(view) }, ['probabilities']);
      const fromCopy = await session.run({ ids: idsTensor(Int32Array.from(sequences[3]!)) }, ['probabilities']);
      expect(Array.from(fromView.probabilities!.data as Float32Array)).toEqual(Array.from(fromCopy.probabilities!.data as Float32Array));
    }
  });
});

describe('errors name the model and what failed', () => {
  const corrupt = new Uint8Array(model.bytes.subarray(0, 200));
  corrupt.fill(0xff, 20, 120);

  it.each(['web', 'node'] as const)('ort-%s rejects corrupt bytes with a clear error and keeps working', async (which) => {
    const engine = which === 'web' ? web : node;
    const error = await engine.load(corrupt, model.manifest).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('model_load_failed');
    expect((error as Error).message).toMatch(new RegExp(`^quantized-bag@1: ort-${which} cannot load the model: .+`));
    // The process and the engine survive: a good model still loads and runs.
    const session = await engine.load(model.bytes, model.manifest);
    const out = await session.run({ ids: idsTensor(sequences[0]!) }, ['probabilities']);
    expect(maxAbsDiff(out.probabilities!.data as Float32Array, model.reference(sequences[0]!).probabilities)).toBeLessThan(1e-5);
    await session.release();
  });

  it.each(['web', 'node'] as const)('ort-%s rejects empty bytes', async (which) => {
    const engine = which === 'web' ? web : node;
    await expect(engine.load(new Uint8Array(0), model.manifest)).rejects.toThrow(`quantized-bag@1: ort-${which} cannot load the model`);
  });

  it.each(['web', 'node'] as const)('ort-%s refuses a model.json that names outputs the graph lacks', async (which) => {
    const engine = which === 'web' ? web : node;
    const manifest = { ...model.manifest, outputs: [...model.manifest.outputs, { name: 'embedding', dtype: 'float32' as const, shape: [1, 8] }] };
    await expect(engine.load(model.bytes, manifest)).rejects.toThrow(
      'quantized-bag@1: model.json declares output(s) "embedding" that the ONNX graph lacks (graph outputs: "probabilities", "hidden")',
    );
  });

  it.each(['web', 'node'] as const)('ort-%s run errors name the model: unknown output, wrong dtype, missing input', async (which) => {
    const session = which === 'web' ? webSession : nodeSession;
    const ids = idsTensor(sequences[0]!);
    const unknown = await session.run({ ids }, ['nope']).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(EngineError);
    expect((unknown as EngineError).code).toBe('run_failed');
    expect((unknown as Error).message).toMatch(new RegExp(`^quantized-bag@1: ort-${which} run failed: .*nope`));
    const floats: Tensor = { dtype: 'float32', dims: [1, 3], data: new Float32Array([1, 2, 3]) };
    await expect(session.run({ ids: floats })).rejects.toThrow(new RegExp(`^quantized-bag@1: ort-${which} run failed: .+`));
    await expect(session.run({})).rejects.toThrow(new RegExp(`^quantized-bag@1: ort-${which} run failed: .+`));
    // Still usable after the failures.
    const ok = await session.run({ ids });
    expect(ok.probabilities!.dims).toEqual([1, 2]);
  });

  it.each(['web', 'node'] as const)('ort-%s: a released session refuses to run', async (which) => {
    const engine = which === 'web' ? web : node;
    const session = await engine.load(model.bytes, model.manifest);
    await session.release();
    await session.release(); // idempotent
    await expect(session.run({ ids: idsTensor(sequences[0]!) })).rejects.toThrow(
      `quantized-bag@1: ort-${which} session was released; load the model again`,
    );
  });
});
