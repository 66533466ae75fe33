// The ort-node engine: onnxruntime-node's native CPU (or CUDA) runtime, for the regional
// Lambda tier and the local server. Node-only: imported by adapters/node and the regional
// Lambda, never by the core's generic code (edge bundles must not see a native addon).
import * as ort from 'onnxruntime-node';
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

/** Execution providers this engine knows how to ask for. */
export type OrtNodeExecutionProvider = 'cuda' | 'cpu';

/** Options of the ort-node engine. */
export interface OrtNodeEngineOptions {
  /** Threads inside one operator; 1 by default (Lambda gives a small share of a core per invocation). */
  intraOpNumThreads?: number;
  /**
   * Providers to try, in order, until a session loads. Default `['cpu']`: ask for 'cuda'
   * only where the host has a GPU and the CUDA provider library (the adapter decides; AWS
   * Lambda has none). A provider that fails once is not tried again by this engine.
   */
  executionProviders?: readonly OrtNodeExecutionProvider[];
}

/** A loaded ort-node session, with the provider that runs it. */
export interface OrtNodeSession extends EngineSession {
  readonly executionProvider: OrtNodeExecutionProvider;
}

/** The ort-node engine, plus what it runs on. */
export interface OrtNodeEngine extends Engine {
  readonly name: 'ort-node';
  readonly ortVersion: string;
  readonly intraOpNumThreads: number;
  /** Provider of the last successful load (`undefined` before the first). */
  readonly executionProvider: OrtNodeExecutionProvider | undefined;
  /** Why each provider that was tried and skipped failed. */
  readonly providerFailures: Partial<Record<OrtNodeExecutionProvider, string>>;
  load(modelBytes: Uint8Array, manifest: ModelManifest): Promise<OrtNodeSession>;
}

const OrtTensor = ort.Tensor as unknown as OrtTensorConstructor;

/** Creates the ort-node engine. Rejects when the native binding is unusable. */
export async function createOrtNodeEngine(options: OrtNodeEngineOptions = {}): Promise<OrtNodeEngine> {
  const intraOpNumThreads = options.intraOpNumThreads ?? 1;
  if (!Number.isInteger(intraOpNumThreads) || intraOpNumThreads < 1) {
    throw new EngineError('engine_init_failed', `ort-node: intraOpNumThreads must be an integer ≥ 1, got ${intraOpNumThreads}`);
  }
  const wanted = options.executionProviders?.length ? [...options.executionProviders] : (['cpu'] as OrtNodeExecutionProvider[]);
  let available: string[];
  try {
    available = ort.listSupportedBackends().map((b) => b.name);
  } catch (error) {
    throw new EngineError('engine_init_failed', `ort-node: the onnxruntime-node binding does not load: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const providerFailures: Partial<Record<OrtNodeExecutionProvider, string>> = {};
  for (const provider of wanted) {
    if (!available.includes(provider)) providerFailures[provider] = `not in this onnxruntime-node build (has: ${available.join(', ')})`;
  }
  const candidates = () => wanted.filter((p) => !providerFailures[p]);
  if (candidates().length === 0) {
    throw new EngineError('engine_init_failed', `ort-node: none of the execution providers ${wanted.join(', ')} is available`);
  }

  let lastProvider: OrtNodeExecutionProvider | undefined;
  const engine: OrtNodeEngine = {
    name: 'ort-node',
    ortVersion: ort.env.versions.node ?? ort.env.versions.common,
    intraOpNumThreads,
    get executionProvider() {
      return lastProvider;
    },
    providerFailures,
    async load(modelBytes: Uint8Array, manifest: ModelManifest): Promise<OrtNodeSession> {
      const model = modelLabel(manifest);
      let session: ort.InferenceSession | undefined;
      let provider: OrtNodeExecutionProvider | undefined;
      let loadError: unknown;
      for (const candidate of candidates()) {
        try {
          session = await ort.InferenceSession.create(modelBytes, {
            executionProviders: [candidate],
            // The default ('all') rewrites DequantizeLinear+MatMul into MatMulNBits and drifts
            // ~3e-3 from the exact result; 'basic' stays within 1e-7 (shared/DESIGN.md).
            graphOptimizationLevel: 'basic',
            intraOpNumThreads,
            interOpNumThreads: 1,
            executionMode: 'sequential',
          });
          provider = candidate;
          break;
        } catch (error) {
          loadError = error;
          // A provider that cannot even be attached (no GPU, no provider library) is skipped
          // from now on; a model the CPU cannot parse is the model's fault, not the provider's.
          if (candidate !== 'cpu' && /ExecutionProvider|shared library|provider/i.test(errorMessage(error))) {
            providerFailures[candidate] = errorMessage(error);
            continue;
          }
          break;
        }
      }
      if (!session || !provider) {
        throw new EngineError('model_load_failed', `${model}: ort-node cannot load the model: ${errorMessage(loadError)}`, {
          cause: loadError,
        });
      }
      const ortSession = session as unknown as OrtInferenceSessionLike;
      const engineSession = await createOrtEngineSession(ortSession, manifest, 'ort-node', OrtTensor);
      lastProvider = provider;
      return { ...engineSession, executionProvider: provider };
    },
  };
  return engine;
}
