// Entry bundled (IIFE) into Vercel's edge-runtime by ort-web-edge-runtime.test.ts: exposes
// one global that creates the ort-web engine from what the host injected and runs a model.
// Values cross the VM boundary as strings and plain arrays (typed arrays from the host
// realm would fail ORT's instanceof checks).
import { createOrtWebEngine, type OrtWebEngineOptions } from '../../../core/engine/ort-web/ort-web-engine.ts';
import type { ModelManifest } from '../../../core/model/manifest.ts';

declare const ORT_WASM_MODULE: WebAssembly.Module | undefined;
declare const ORT_WASM_BASE64: string | undefined;

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Runs `model` on each id list; answers JSON {wasmSource, outputs: {name: number[]}[]} or {error}. */
async function runOrtWeb(modelBase64: string, manifestJson: string, idLists: number[][]): Promise<string> {
  try {
    const options: OrtWebEngineOptions =
      typeof ORT_WASM_MODULE !== 'undefined' ? { wasmModule: ORT_WASM_MODULE } : { wasmBinary: fromBase64(ORT_WASM_BASE64 ?? '') };
    const engine = await createOrtWebEngine(options);
    const manifest = JSON.parse(manifestJson) as ModelManifest;
    const session = await engine.load(fromBase64(modelBase64), manifest);
    const outputs: Array<Record<string, number[]>> = [];
    for (const ids of idLists) {
      const out = await session.run({ [manifest.inputs[0]!.name]: { dtype: 'int32', dims: [1, ids.length], data: Int32Array.from(ids) } });
      outputs.push(Object.fromEntries(Object.entries(out).map(([name, t]) => [name, Array.from(t.data as Float32Array)])));
    }
    await session.release();
    return JSON.stringify({ wasmSource: engine.wasmSource, outputs });
  } catch (error) {
    return JSON.stringify({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
}

(globalThis as unknown as { runOrtWeb: typeof runOrtWeb }).runOrtWeb = runOrtWeb;
