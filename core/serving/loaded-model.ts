// A model version that is loaded, verified and warmed up: manifest, preprocessor and an
// engine session behind one `classify` call. A model is ready only after its warmup
// inference succeeded (as in Triton).
import type { EngineRegistry } from '../engine/registry.ts';
import { loadOnPreferredEngine } from '../engine/select.ts';
import type { EngineName, EngineSession, Tensor, TensorMap } from '../engine/types.ts';
import { classificationTensor, requireTextPreprocessing, type ModelManifest } from '../model/manifest.ts';
import { loadVerifiedModel, type ModelSource } from '../model/repository.ts';
import { createPreprocessor, type Preprocessor } from '../preprocess/index.ts';

/** A classification: label, per-label probabilities and every raw output. */
export interface Classification {
  label: string;
  scores: Record<string, number>;
  /** Probability of the winning label. */
  confidence: number;
  outputs: TensorMap;
}

/** A served model version. */
export interface LoadedModel {
  manifest: ModelManifest;
  preprocessor: Preprocessor;
  engine: EngineName;
  /** Engines passed over, with the reason (shown in /v2 metadata). */
  skippedEngines: Array<{ engine: EngineName; reason: string }>;
  /** Milliseconds from reading the files to the end of the warmup inference. */
  loadMs: number;
  /** Runs the model on token ids (already validated against the id range). */
  classifyIds(ids: Int32Array): Promise<Classification>;
  /** Runs the model on raw named tensors (KServe infer), returning every output. */
  run(feeds: TensorMap): Promise<TensorMap>;
  release(): Promise<void>;
}

/** Loads, verifies, selects an engine for and warms up one model version. */
export async function loadModel(
  source: ModelSource,
  name: string,
  version: string,
  registry: EngineRegistry,
  ortPreference: readonly EngineName[],
): Promise<LoadedModel> {
  const t0 = performance.now();
  const { manifest, bytes } = await loadVerifiedModel(source, name, version);
  const preprocessor = createPreprocessor(requireTextPreprocessing(manifest));
  const selected = await loadOnPreferredEngine(manifest, bytes, registry, ortPreference);
  const model = createLoadedModel(manifest, preprocessor, selected.engine, selected.session, selected.skipped);
  // Warmup: a real inference through the same path requests take; failure means not ready.
  try {
    await model.classifyIds(preprocessor.toIds('warmup'));
  } catch (error) {
    await selected.session.release().catch(() => {});
    throw new Error(`${manifest.name}@${manifest.version}: warmup inference failed on ${selected.engine}: ${(error as Error).message}`);
  }
  model.loadMs = performance.now() - t0;
  return model;
}

function createLoadedModel(
  manifest: ModelManifest,
  preprocessor: Preprocessor,
  engine: EngineName,
  session: EngineSession,
  skippedEngines: LoadedModel['skippedEngines'],
): LoadedModel {
  const idsInput = manifest.inputs[0] as ModelManifest['inputs'][number];
  return {
    manifest,
    preprocessor,
    engine,
    skippedEngines,
    loadMs: 0,
    async classifyIds(ids) {
      const feed: Tensor = { dtype: 'int32', dims: [1, ids.length], data: ids };
      const outputs = await session.run({ [idsInput.name]: feed });
      return toClassification(manifest, outputs);
    },
    run: (feeds) => session.run(feeds),
    release: () => session.release(),
  };
}

/** Reads the probabilities output and names the winning label. */
export function toClassification(manifest: ModelManifest, outputs: TensorMap): Classification {
  const tensor = classificationTensor(manifest);
  const probabilities = outputs[tensor];
  if (!probabilities || probabilities.data.length !== manifest.labels.length) {
    throw new Error(
      `${manifest.name}@${manifest.version}: output "${tensor}" should hold ${manifest.labels.length} probabilities`,
    );
  }
  // Null prototype: labels come from model files ("__proto__" is a label like any other).
  const scores = Object.create(null) as Record<string, number>;
  let best = 0;
  for (let i = 0; i < manifest.labels.length; i++) {
    const p = Number(probabilities.data[i]);
    scores[manifest.labels[i] as string] = p;
    if (p > Number(probabilities.data[best])) best = i;
  }
  return { label: manifest.labels[best] as string, scores, confidence: Number(probabilities.data[best]), outputs };
}
