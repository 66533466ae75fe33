// The micro engine: runs models compiled ahead of time by build/micro into plain ES modules
// (no runtime, no WASM, no eval). Edge bundles hand it the generated modules they import;
// the Node server may also give it a `compile` hook that builds modules at load time.
import { declaredInputShapes, type ModelManifest } from '../../model/manifest.ts';
import { EngineError, errorMessage, modelLabel } from '../ort-session.ts';
import type { Engine, EngineSession, TensorMap } from '../types.ts';
import type { MicroModule } from './types.ts';

/** Where the micro engine finds compiled modules. */
export interface MicroEngineOptions {
  /**
   * Generated modules, keyed by {@link microModuleKey} (the .onnx's SHA-256 and the input shapes
   * the module was specialised on); a function
   * imports its module when the model first loads (a module decodes its weights when it is
   * evaluated: a bundle of several models then decodes only the ones asked for).
   */
  modules?: Readonly<Record<string, MicroModuleSource>>;
  /** Why a model did not compile at build time, by {@link microModuleKey} (shown when it is asked for). */
  compileFailures?: Readonly<Record<string, string>>;
  /** Compiles a model missing from `modules` (Node only: the compiler is build code). */
  compile?: (modelBytes: Uint8Array, manifest: ModelManifest) => Promise<MicroModule>;
}

/** A generated module, or a function importing it on first use. */
export type MicroModuleSource = MicroModule | (() => Promise<MicroModule>);

/** The micro engine. */
export interface MicroEngine extends Engine {
  readonly name: 'micro';
}

/**
 * The key a compiled module is found by: the hex SHA-256 of its .onnx plus the input shapes
 * model.json declares, which build/micro/compile-model.ts specialises the graph on (the only
 * manifest field the compile reads besides the name). Two model versions sharing one .onnx but
 * declaring different shapes get a module each; with no fixed dim declared it is the SHA-256.
 */
export function microModuleKey(sha256: string, manifest: Pick<ModelManifest, 'inputs'>): string {
  const shapes = declaredInputShapes(manifest);
  const names = Object.keys(shapes).sort();
  return names.length ? `${sha256} ${JSON.stringify(names.map((name) => [name, shapes[name]]))}` : sha256;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

function checkAgainstManifest(module: MicroModule, manifest: ModelManifest): void {
  const model = modelLabel(manifest);
  for (const [kind, declared, actual] of [
    ['input', manifest.inputs, module.metadata.inputs],
    ['output', manifest.outputs, module.metadata.outputs],
  ] as const) {
    for (const spec of declared) {
      const found = actual.find((a) => a.name === spec.name);
      if (!found) {
        throw new EngineError(
          'model_mismatch',
          `${model}: model.json declares ${kind} "${spec.name}" that the compiled graph lacks (graph ${kind}s: ${actual.map((a) => `"${a.name}"`).join(', ')}) [micro]`,
        );
      }
      if (found.dtype !== spec.dtype) {
        throw new EngineError('model_mismatch', `${model}: ${kind} "${spec.name}" is ${spec.dtype} in model.json but ${found.dtype} in the graph [micro]`);
      }
    }
  }
  // A module specialised on other sizes than model.json declares would refuse the requests
  // validated against them (a dim the module left variable takes any size).
  for (const [name, shape] of Object.entries(declaredInputShapes(manifest))) {
    const compiledShape = module.metadata.inputs.find((a) => a.name === name)!.shape;
    if (compiledShape.length !== shape.length || shape.some((d, i) => d !== -1 && compiledShape[i] !== -1 && compiledShape[i] !== d)) {
      throw new EngineError('model_mismatch', `${model}: input "${name}" is declared [${shape.join(',')}] in model.json but the micro module was compiled for [${compiledShape.join(',')}] [micro]`);
    }
  }
}

function createSession(module: MicroModule, manifest: ModelManifest): EngineSession {
  const model = modelLabel(manifest);
  const declaredOutputs = manifest.outputs.map((o) => o.name);
  let released = false;
  return {
    async run(feeds: TensorMap, outputNames: readonly string[] = declaredOutputs): Promise<TensorMap> {
      if (released) throw new EngineError('session_released', `${model}: micro session was released; load the model again`);
      let all: TensorMap;
      try {
        all = module.run(feeds);
      } catch (error) {
        throw new EngineError('run_failed', `${model}: micro run failed: ${errorMessage(error)}`, { cause: error });
      }
      const out: TensorMap = {};
      for (const name of outputNames) {
        const tensor = all[name];
        if (!tensor) throw new EngineError('run_failed', `${model}: micro run has no output "${name}"`);
        out[name] = tensor;
      }
      return out;
    },
    async release(): Promise<void> {
      released = true;
    },
  };
}

/**
 * Creates the micro engine. `load` finds the module compiled from exactly these bytes for the
 * declared input shapes (by {@link microModuleKey}) and rejects, naming the reason, when there is none: the registry's `auto` choice
 * then falls back to ORT and reports why.
 */
export function createMicroEngine(options: MicroEngineOptions = {}): MicroEngine {
  const compiled = new Map<string, Promise<MicroModule>>();
  const deferred = new Map<string, () => Promise<MicroModule>>();
  for (const [key, m] of Object.entries(options.modules ?? {})) {
    if (typeof m === 'function') deferred.set(key, m);
    else compiled.set(key, Promise.resolve(m));
  }
  return {
    name: 'micro',
    async load(modelBytes: Uint8Array, manifest: ModelManifest): Promise<EngineSession> {
      const model = modelLabel(manifest);
      // No bytes: the source held none because the build verified them against manifest.sha256
      // and bundled the module compiled from them (core/model/embedded-source.ts).
      const sha = modelBytes.length === 0 ? manifest.sha256 : await sha256Hex(modelBytes);
      const key = microModuleKey(sha, manifest);
      let pending = compiled.get(key);
      const importModule = pending ? undefined : deferred.get(key);
      if (importModule) compiled.set(key, (pending = importModule()));
      if (!pending) {
        const failure = options.compileFailures?.[key];
        if (failure) throw new EngineError('model_load_failed', `${model}: this build carries no micro module for it: ${failure}`);
        if (!options.compile) {
          throw new EngineError(
            'model_load_failed',
            `${model}: this build has no micro module compiled from sha256 ${sha.slice(0, 12)}… (run \`npm run build:micro\` and bundle its output)`,
          );
        }
        pending = options.compile(modelBytes, manifest);
        compiled.set(key, pending);
        // A failed compile is remembered, so the reason stays the same on every load.
      }
      let module: MicroModule;
      try {
        module = await pending;
      } catch (error) {
        throw new EngineError('model_load_failed', `${model}: micro cannot run it: ${errorMessage(error)}`, { cause: error });
      }
      if (module.metadata.sourceSha256 !== sha) {
        throw new EngineError('model_mismatch', `${model}: the micro module was compiled from sha256 ${module.metadata.sourceSha256}, not ${sha}`);
      }
      checkAgainstManifest(module, manifest);
      return createSession(module, manifest);
    },
  };
}
