// Node-only: finds and reads the WASM runtime the ort-web engine needs from the installed
// onnxruntime-web package, so the local server, tests and benchmarks can create that engine.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { ORT_WEB_WASM_FILE, createOrtWebEngine, type OrtWebEngine } from '../../core/engine/ort-web/ort-web-engine.ts';

/** Absolute path of onnxruntime-web's ort-wasm-simd-threaded.wasm (resolved through the package's exports). */
export function ortWasmPath(): string {
  return createRequire(import.meta.url).resolve(`onnxruntime-web/${ORT_WEB_WASM_FILE}`);
}

/** The bytes of the ort-web WASM runtime. */
export async function readOrtWasmBinary(): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await readFile(ortWasmPath()));
}

/** The ort-web engine with its runtime read from node_modules (`module: true` compiles it first, as Vercel does). */
export async function createNodeOrtWebEngine(options: { module?: boolean } = {}): Promise<OrtWebEngine> {
  const wasmBinary = await readOrtWasmBinary();
  if (options.module) return createOrtWebEngine({ wasmModule: await WebAssembly.compile(wasmBinary) });
  return createOrtWebEngine({ wasmBinary });
}
