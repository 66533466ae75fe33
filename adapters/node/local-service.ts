// The embedded defaults of the local server: models from the repository's models/ folder,
// ONNX Runtime engines (native ort-node first, ort-web as fallback), no Redis, no AWS.
// Tests and benchmarks build the same service through this function.
import { createOrtNodeEngine } from '../../core/engine/ort-node/ort-node-engine.ts';
import { EngineRegistry } from '../../core/engine/registry.ts';
import type { EngineName } from '../../core/engine/types.ts';
import { createInferenceService, type InferenceService, type InferenceServiceOptions } from '../../core/handler.ts';
import { DEFAULT_MODELS_ROOT, FsModelSource } from './fs-model-source.ts';
import { createNodeOrtWebEngine } from './ort-wasm-binary.ts';

/** Options of the local service; every field has an embedded default. */
export interface LocalServiceOptions {
  /** Model repository root (default: models/ of this repository). */
  modelsRoot?: string;
  /** ORT engines in order of preference (default: ort-node, then ort-web). */
  ortPreference?: EngineName[];
  config?: InferenceServiceOptions['config'];
}

/** Reads EDGEINFER_* variables into local service options. */
export function localServiceOptionsFromEnv(env: NodeJS.ProcessEnv): LocalServiceOptions {
  const options: LocalServiceOptions = {};
  if (env.EDGEINFER_MODELS_DIR) options.modelsRoot = env.EDGEINFER_MODELS_DIR;
  if (env.EDGEINFER_ORT_ENGINE === 'ort-web') options.ortPreference = ['ort-web', 'ort-node'];
  if (env.EDGEINFER_MAX_BODY_BYTES) options.config = { maxBodyBytes: Number(env.EDGEINFER_MAX_BODY_BYTES) };
  return options;
}

/** Builds the service with local engines and the file-system model repository. */
export function createLocalService(options: LocalServiceOptions = {}): InferenceService {
  const engines = new EngineRegistry();
  engines.register('ort-node', () => createOrtNodeEngine());
  engines.register('ort-web', () => createNodeOrtWebEngine());
  return createInferenceService({
    models: new FsModelSource(options.modelsRoot ?? DEFAULT_MODELS_ROOT),
    engines,
    ortPreference: options.ortPreference ?? ['ort-node', 'ort-web'],
    config: options.config,
  });
}
