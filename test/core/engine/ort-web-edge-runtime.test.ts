// ort-web inside Vercel's own edge-runtime with WASM code generation disallowed, as in
// production: handed the precompiled module it runs spam-edge and matches ort-node within
// 1e-5 on real test-split messages; handed bytes it fails with a clear error (why Vercel
// builds must pass `wasmModule`).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EdgeRuntime } from 'edge-runtime';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { FsModelSource } from '../../../adapters/node/fs-model-source.ts';
import { ortWasmPath } from '../../../adapters/node/ort-wasm-binary.ts';
import { createOrtNodeEngine } from '../../../core/engine/ort-node/ort-node-engine.ts';
import { loadVerifiedModel, type VerifiedModel } from '../../../core/model/repository.ts';
import { createPreprocessor } from '../../../core/preprocess/index.ts';
import { loadSplits } from '../../../models/training/dataset.ts';
import { requireTextPreprocessing } from '../../../core/model/manifest.ts';

let bundle: string;
let wasmBytes: Buffer<ArrayBuffer>;
let model: VerifiedModel;
let idLists: number[][];

beforeAll(async () => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./ort-web-edge-entry.ts', import.meta.url))],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  bundle = result.outputFiles[0]!.text;
  wasmBytes = readFileSync(ortWasmPath()) as Buffer<ArrayBuffer>;
  model = await loadVerifiedModel(new FsModelSource(), 'spam-edge', '1');
  const preprocessor = createPreprocessor(requireTextPreprocessing(model.manifest));
  idLists = loadSplits().test.slice(0, 40).map((m) => Array.from(preprocessor.toIds(m.text)));
});

function edgeRuntime(globals: Record<string, unknown>): EdgeRuntime {
  const runtime = new EdgeRuntime({
    codeGeneration: { strings: false, wasm: false },
    extend: (context) => Object.assign(context, globals),
  });
  runtime.evaluate(bundle);
  return runtime;
}

async function runInEdge(runtime: EdgeRuntime): Promise<{ wasmSource?: string; outputs?: Array<Record<string, number[]>>; error?: string }> {
  const call = `runOrtWeb(${JSON.stringify(Buffer.from(model.bytes).toString('base64'))}, ${JSON.stringify(JSON.stringify(model.manifest))}, ${JSON.stringify(idLists)})`;
  return JSON.parse(await runtime.evaluate<Promise<string>>(call));
}

describe('ort-web in edge-runtime with WASM code generation disallowed', () => {
  it('the runtime really refuses to compile WASM from bytes', async () => {
    const runtime = edgeRuntime({});
    await expect(runtime.evaluate(`WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))`)).rejects.toThrow(
      'Wasm code generation disallowed',
    );
  });

  it('runs spam-edge from a precompiled module and matches ort-node within 1e-5', async () => {
    const wasmModule = await WebAssembly.compile(wasmBytes);
    const result = await runInEdge(edgeRuntime({ ORT_WASM_MODULE: wasmModule }));
    expect(result.error).toBeUndefined();
    expect(result.wasmSource).toBe('module');
    expect(result.outputs).toHaveLength(idLists.length);

    const session = await (await createOrtNodeEngine()).load(model.bytes, model.manifest);
    let maxDiff = 0;
    for (const [i, ids] of idLists.entries()) {
      const expected = await session.run({ ids: { dtype: 'int32', dims: [1, ids.length], data: Int32Array.from(ids) } });
      const got = result.outputs![i]!.probabilities!;
      const want = expected.probabilities!.data as Float32Array;
      expect(got).toHaveLength(2);
      for (let k = 0; k < 2; k++) maxDiff = Math.max(maxDiff, Math.abs(got[k]! - want[k]!));
    }
    await session.release();
    expect(maxDiff).toBeLessThanOrEqual(1e-5);
  });

  it('handed bytes instead, it fails with a clear error rather than crashing', async () => {
    const result = await runInEdge(edgeRuntime({ ORT_WASM_BASE64: wasmBytes.toString('base64') }));
    expect(result.outputs).toBeUndefined();
    expect(result.error).toMatch(/^EngineError: ort-web: cannot initialise onnxruntime-web 1\.30\.0 WASM runtime .*Wasm code generation disallowed/);
  });
});
