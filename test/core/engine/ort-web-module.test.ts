// ort-web from a precompiled WebAssembly.Module, the way Vercel Edge supplies it: with
// compiling from bytes refused for the whole initialisation (as Vercel's runtime does), the
// engine still starts and computes the same numbers. Own file: ORT's WASM runtime is
// initialised once per process (vitest runs each file in its own fork).
import { afterAll, describe, expect, it } from 'vitest';
import { readOrtWasmBinary } from '../../../adapters/node/ort-wasm-binary.ts';
import { createOrtWebEngine } from '../../../core/engine/ort-web/ort-web-engine.ts';
import { buildQuantizedBagModel, randomIdSequences } from './quantized-bag-graph.ts';

const realWebAssembly = {
  compile: WebAssembly.compile,
  instantiate: WebAssembly.instantiate,
  compileStreaming: WebAssembly.compileStreaming,
  instantiateStreaming: WebAssembly.instantiateStreaming,
  Module: WebAssembly.Module,
};

/** Makes every way of compiling bytes throw, like a runtime with WASM code generation disallowed. */
function refuseCompilingFromBytes(): { refused: string[]; instantiate: typeof WebAssembly.instantiate } {
  const refused: string[] = [];
  const refuse = (what: string) => {
    refused.push(what);
    throw new WebAssembly.CompileError(`${what}: Wasm code generation disallowed by embedder`);
  };
  WebAssembly.compile = (() => refuse('compile')) as typeof WebAssembly.compile;
  WebAssembly.compileStreaming = (() => refuse('compileStreaming')) as typeof WebAssembly.compileStreaming;
  WebAssembly.instantiateStreaming = (() => refuse('instantiateStreaming')) as typeof WebAssembly.instantiateStreaming;
  WebAssembly.instantiate = ((source: unknown, imports?: WebAssembly.Imports) => {
    if (source instanceof realWebAssembly.Module) return realWebAssembly.instantiate(source, imports);
    return new Promise(() => refuse('instantiate(bytes)'));
  }) as typeof WebAssembly.instantiate;
  return { refused, instantiate: WebAssembly.instantiate };
}

afterAll(() => Object.assign(WebAssembly, realWebAssembly));

describe('ort-web with a precompiled WebAssembly.Module', () => {
  it('initialises without compiling bytes and matches the reference within 1e-5', async () => {
    const wasmModule = await WebAssembly.compile(await readOrtWasmBinary());
    const { refused, instantiate } = refuseCompilingFromBytes();
    const engine = await createOrtWebEngine({ wasmModule });
    expect(engine.wasmSource).toBe('module');
    expect(refused).toEqual([]);
    // The engine's instantiate hook is gone once initialisation is over.
    expect(WebAssembly.instantiate).toBe(instantiate);
    await expect(WebAssembly.instantiate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))).rejects.toThrow('code generation disallowed');

    const model = buildQuantizedBagModel();
    const session = await engine.load(model.bytes, model.manifest);
    let maxDiff = 0;
    for (const ids of randomIdSequences(40, 23)) {
      const out = await session.run({ ids: { dtype: 'int32', dims: [1, ids.length], data: ids } });
      const ref = model.reference(ids);
      const probabilities = out.probabilities!.data as Float32Array;
      for (let i = 0; i < 2; i++) maxDiff = Math.max(maxDiff, Math.abs(probabilities[i]! - ref.probabilities[i]!));
    }
    expect(maxDiff).toBeLessThanOrEqual(1e-5);
    await session.release();
  });

  it('later engines in the same isolate reuse the runtime and ignore their options', async () => {
    const again = await createOrtWebEngine({ wasmBinary: new Uint8Array([1, 2, 3]) });
    expect(again.wasmSource).toBe('module');
  });
});
