// The micro engine in Vercel's own edge-runtime with string and WASM code generation
// disallowed, as in production: the engine and the generated spam-edge module, bundled
// together (IIFE, as edge-runtime runs scripts), answer test-split messages as ort-node does.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgeRuntime } from 'edge-runtime';
import { build } from 'esbuild';
import { expect, test } from 'vitest';
import { FsModelSource } from '../../../../adapters/node/fs-model-source.ts';
import { compileOnnxToModule } from '../../../../build/micro/compile.ts';
import { createOrtNodeEngine } from '../../../../core/engine/ort-node/ort-node-engine.ts';
import { loadVerifiedModel } from '../../../../core/model/repository.ts';
import { requireTextPreprocessing } from '../../../../core/model/manifest.ts';
import { createPreprocessor } from '../../../../core/preprocess/index.ts';
import { loadSplits } from '../../../../models/training/dataset.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

test('spam-edge on the micro engine inside edge-runtime (no eval, no WASM) matches ort-node within 1e-5', async () => {
  const model = await loadVerifiedModel(new FsModelSource(), 'spam-edge', '1');
  const dir = mkdtempSync(join(tmpdir(), 'micro-edge-'));
  writeFileSync(join(dir, 'model.mjs'), compileOnnxToModule(model.bytes, { name: 'spam-edge@1' }).source);
  const bundled = await build({
    stdin: {
      contents: `
import { createMicroEngine, microModuleKey } from './core/engine/micro/micro-engine.ts';
import * as model from ${JSON.stringify(join(dir, 'model.mjs'))};
const engine = createMicroEngine({ modules: { [microModuleKey(model.metadata.sourceSha256, ${JSON.stringify(model.manifest)})]: model } });
function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
// Values cross the VM boundary as strings and plain arrays.
globalThis.runMicro = async (modelBase64, manifestJson, idLists) => {
  try {
    const session = await engine.load(fromBase64(modelBase64), JSON.parse(manifestJson));
    const out = [];
    for (const ids of idLists) out.push(Array.from((await session.run({ ids: { dtype: 'int32', dims: [1, ids.length], data: Int32Array.from(ids) } })).probabilities.data));
    return JSON.stringify({ out });
  } catch (error) {
    return JSON.stringify({ error: String(error && error.message) });
  }
};`,
      resolveDir: ROOT,
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  const runtime = new EdgeRuntime({ codeGeneration: { strings: false, wasm: false } });
  expect(() => runtime.evaluate('eval("1")')).toThrow(/Code generation from strings disallowed/);
  runtime.evaluate(bundled.outputFiles[0]!.text);

  const preprocessor = createPreprocessor(requireTextPreprocessing(model.manifest));
  const idLists = loadSplits().test.slice(0, 150).map((m) => Array.from(preprocessor.toIds(m.text)));
  idLists.push([]); // an empty id list, too
  const call = `runMicro(${JSON.stringify(Buffer.from(model.bytes).toString('base64'))}, ${JSON.stringify(JSON.stringify(model.manifest))}, ${JSON.stringify(idLists)})`;
  const result = JSON.parse(await runtime.evaluate<Promise<string>>(call)) as { out?: number[][]; error?: string };
  expect(result.error).toBeUndefined();
  expect(result.out).toHaveLength(idLists.length);

  const session = await (await createOrtNodeEngine()).load(model.bytes, model.manifest);
  let maxDiff = 0;
  for (const [i, ids] of idLists.entries()) {
    const want = (await session.run({ ids: { dtype: 'int32', dims: [1, ids.length], data: Int32Array.from(ids) } })).probabilities!.data as Float32Array;
    for (let k = 0; k < 2; k++) maxDiff = Math.max(maxDiff, Math.abs(result.out![i]![k]! - want[k]!));
  }
  await session.release();
  expect(maxDiff).toBeLessThanOrEqual(1e-5);
});
