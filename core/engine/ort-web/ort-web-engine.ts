// The ort-web engine: onnxruntime-web's WASM backend through `onnxruntime-web/wasm`
// (dist/ort.wasm.bundle.min.mjs, the entry whose Emscripten glue is bundled in, so it runs
// in V8 isolates, Deno and Node without a run-time import()). The caller supplies the WASM
// runtime, because edge runtimes have no file system and Vercel refuses to compile WASM
// from bytes at run time. Pitfalls it avoids: shared/DESIGN.md, "Measured here".
import * as ort from 'onnxruntime-web/wasm';
import type { ModelManifest } from '../../model/manifest.ts';
import {
  EngineError,
  createOrtEngineSession,
  errorMessage,
  modelLabel,
  type OrtInferenceSessionLike,
  type OrtTensorConstructor,
} from '../ort-session.ts';
import type { Engine, EngineSession } from '../types.ts';

/**
 * The WASM file `onnxruntime-web/wasm` needs (in onnxruntime-web/dist/): the SIMD build,
 * run single-threaded. Bundlers and adapters ship this file and nothing else.
 */
export const ORT_WEB_WASM_FILE = 'ort-wasm-simd-threaded.wasm';

/** How the WASM runtime reaches ORT: one of the two is required. */
export interface OrtWebEngineOptions {
  /** Bytes of ort-wasm-simd-threaded.wasm (Node, Deno, Netlify, Lambda@Edge). */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /**
   * The same file, already compiled (Vercel Edge: `import m from './x.wasm?module'`),
   * for runtimes that refuse to compile WASM from bytes.
   */
  wasmModule?: WebAssembly.Module;
}

/** The ort-web engine, plus what it initialised with. */
export interface OrtWebEngine extends Engine {
  readonly name: 'ort-web';
  /** How the WASM runtime was supplied to this isolate's ORT. */
  readonly wasmSource: 'binary' | 'module';
  /** onnxruntime-web version in use. */
  readonly ortVersion: string;
}

/**
 * A 93-byte ONNX model (y = Identity(x), float32 [1], opset 13) loaded once at engine
 * creation: ORT only initialises its WASM runtime when the first session is created, and
 * this makes a broken runtime fail at engine creation, where the registry records why.
 * Written by build/onnx/builder.ts; a test checks it still matches the builder's output.
 */
export const ORT_WEB_INIT_MODEL = new Uint8Array([
  8, 8, 18, 9, 101, 100, 103, 101, 105, 110, 102, 101, 114, 58, 72, 10, 28, 10, 1, 120, 18, 1, 121, 26, 10, 73, 100, 101, 110,
  116, 105, 116, 121, 95, 48, 34, 8, 73, 100, 101, 110, 116, 105, 116, 121, 18, 6, 119, 97, 114, 109, 117, 112, 90, 15, 10, 1,
  120, 18, 10, 10, 8, 8, 1, 18, 4, 10, 2, 8, 1, 98, 15, 10, 1, 121, 18, 10, 10, 8, 8, 1, 18, 4, 10, 2, 8, 1, 66, 4, 10, 0, 16,
  13,
]);

const OrtTensor = ort.Tensor as unknown as OrtTensorConstructor;

// ORT's WASM calls (InferenceSession.create, run, release) save the one Emscripten stack of
// the isolate, allocate their arguments on it and await before restoring it (wasm-core-impl.ts
// `run`). Two such calls in flight overwrite each other's pointers: runs fail with
// "failed to call OrtRun(). ERROR_CODE: 0, ERROR_MESSAGE: " or never settle. The WASM runtime
// is single-threaded anyway, so every call waits its turn: no throughput is lost.
let turn: Promise<unknown> = Promise.resolve();

/** Runs `call` once every ORT call queued before it has settled. */
function exclusive<T>(call: () => Promise<T>): Promise<T> {
  const result = turn.then(call);
  turn = result.catch(() => undefined);
  return result;
}

/** The session with its run and release taking turns with every other ORT call of the isolate. */
function serialised(session: ort.InferenceSession): OrtInferenceSessionLike {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run: (feeds, fetches) => exclusive(() => session.run(feeds as ort.InferenceSession.FeedsType, fetches as string[])) as unknown as ReturnType<OrtInferenceSessionLike['run']>,
    release: () => exclusive(() => session.release()),
  };
}

// ORT's WASM runtime is a per-isolate singleton (its Emscripten module and env.wasm flags
// are module state), so initialisation happens once and every engine shares it.
let runtime: Promise<'binary' | 'module'> | undefined;

/**
 * Hands ORT a precompiled module. ORT 1.30 does not pass Emscripten's `instantiateWasm`
 * hook through (wasm-factory.ts builds the module config itself), but with `wasmBinary`
 * set its glue calls `WebAssembly.instantiate(new Uint8Array(wasmBinary), imports)`. So we
 * give it a placeholder buffer and, for the duration of initialisation only, answer that
 * one call by instantiating the precompiled module instead: no bytes are compiled.
 */
async function initialiseWithModule(wasmModule: WebAssembly.Module): Promise<void> {
  const placeholder = new ArrayBuffer(8);
  const original = WebAssembly.instantiate;
  let redirected = false;
  const patched = function instantiate(source: unknown, imports?: WebAssembly.Imports): Promise<unknown> {
    const isPlaceholder = source === placeholder || (ArrayBuffer.isView(source) && source.buffer === placeholder);
    if (!isPlaceholder) return (original as (s: unknown, i?: WebAssembly.Imports) => Promise<unknown>)(source, imports);
    redirected = true;
    return original(wasmModule, imports).then((instance) => ({ instance, module: wasmModule }));
  };
  WebAssembly.instantiate = patched as typeof WebAssembly.instantiate;
  ort.env.wasm.wasmBinary = placeholder;
  try {
    await createInitSession();
  } finally {
    WebAssembly.instantiate = original;
  }
  if (!redirected) {
    throw new Error(
      `onnxruntime-web ${ort.env.versions.web} did not instantiate through WebAssembly.instantiate; ` +
        'the wasmModule hook in core/engine/ort-web needs updating for this version',
    );
  }
}

async function createInitSession(): Promise<void> {
  await exclusive(async () => {
    const session = await ort.InferenceSession.create(ORT_WEB_INIT_MODEL);
    await session.release();
  });
}

async function initialiseRuntime(options: OrtWebEngineOptions): Promise<'binary' | 'module'> {
  // One thread (edge isolates have no workers or SharedArrayBuffer) and no proxy worker:
  // otherwise ORT looks for its script URL and fails with "cannot determine the script source URL".
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  if (options.wasmModule) {
    await initialiseWithModule(options.wasmModule);
    return 'module';
  }
  ort.env.wasm.wasmBinary = options.wasmBinary;
  await createInitSession();
  return 'binary';
}

/**
 * Creates the ort-web engine. The first call in an isolate initialises ORT's WASM runtime
 * from the supplied binary or module (a few hundred ms: compile + instantiate); later calls
 * reuse it and ignore their options. Rejects with an EngineError saying why ORT cannot run.
 */
export async function createOrtWebEngine(options: OrtWebEngineOptions = {}): Promise<OrtWebEngine> {
  if (!runtime && !options.wasmModule && !options.wasmBinary) {
    // A caller mistake, not an ORT failure: leave the runtime uninitialised so a corrected call can still succeed.
    throw new EngineError(
      'engine_init_failed',
      `ort-web: no WASM runtime supplied: pass wasmBinary (the bytes of ${ORT_WEB_WASM_FILE}) or wasmModule (that file, compiled)`,
    );
  }
  runtime ??= initialiseRuntime(options);
  let wasmSource: 'binary' | 'module';
  try {
    wasmSource = await runtime;
  } catch (error) {
    // ORT marks a failed initialisation as permanent (wasm-factory.ts `aborted`), so the
    // rejection stays cached: retrying in this isolate cannot succeed.
    throw new EngineError(
      'engine_init_failed',
      `ort-web: cannot initialise onnxruntime-web ${ort.env.versions.web} WASM runtime ` +
        `(expects ${ORT_WEB_WASM_FILE} from the same onnxruntime-web version): ${errorMessage(error)}`,
      { cause: error },
    );
  }
  return {
    name: 'ort-web',
    wasmSource,
    ortVersion: ort.env.versions.web ?? 'unknown',
    async load(modelBytes: Uint8Array, manifest: ModelManifest): Promise<EngineSession> {
      let session: ort.InferenceSession;
      try {
        // 'basic', the level ort-node must use (its extended optimizers fuse DequantizeLinear+
        // MatMul and drift ~3e-3), so both engines run the same graph: parity by construction.
        session = await exclusive(() => ort.InferenceSession.create(modelBytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'basic' }));
      } catch (error) {
        throw new EngineError('model_load_failed', `${modelLabel(manifest)}: ort-web cannot load the model: ${errorMessage(error)}`, {
          cause: error,
        });
      }
      return createOrtEngineSession(serialised(session), manifest, 'ort-web', OrtTensor);
    },
  };
}
