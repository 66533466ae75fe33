// Local mode of the client: the edge model compiled ahead of time (build/micro) runs in the
// browser or Node, with the preprocessing and the confidence policy the server uses, so a
// local answer is the server's edge answer and a local escalation is the server's.
import type { MicroModule } from '../core/engine/micro/types.ts';
import { requireTextPreprocessing, classificationTensor, type ModelManifest } from '../core/model/manifest.ts';
import { createPreprocessor, type Preprocessor } from '../core/preprocess/index.ts';
import { edgeConfidencePolicy, type CascadeConfig } from '../core/router/cascade.ts';
import { assessConfidence, type ConfidenceAssessment, type ConfidencePolicy } from '../core/router/confidence.ts';

/** One local classification of token ids. */
export interface LocalClassification {
  label: string;
  /** Probability per label. */
  scores: Record<string, number>;
  /** What the cascade's policy concluded: not confident means the server would escalate. */
  confidence: ConfidenceAssessment;
}

/** The edge model, ready to run in the client. */
export interface LocalModel {
  readonly manifest: ModelManifest;
  /** The policy the server's cascade applies to this model (same function, same inputs). */
  readonly policy: ConfidencePolicy;
  readonly preprocessor: Preprocessor;
  /** Runs the model on ids (synchronous: the generated module is plain JavaScript). */
  classify(ids: Int32Array): LocalClassification;
}

/**
 * Wraps a generated micro module and its model.json. Refuses a module compiled from another
 * .onnx than the manifest names (a stale bundle would answer with the wrong model).
 * `cascade` mirrors the server's cascade config when it overrides the measure.
 */
export function createLocalModel(
  manifest: ModelManifest,
  module: MicroModule,
  cascade?: Pick<CascadeConfig, 'measure' | 'models'>,
): LocalModel {
  const label = `${manifest.name}@${manifest.version}`;
  if (module.metadata.sourceSha256 !== manifest.sha256) {
    throw new Error(`${label}: the compiled module was built from ${module.metadata.sourceSha256.slice(0, 12)}…, model.json names ${manifest.sha256.slice(0, 12)}…; rebuild the client bundle`);
  }
  const input = manifest.inputs[0];
  if (!input) throw new Error(`${label}: model.json declares no input`);
  const policy = edgeConfidencePolicy(manifest, cascade);
  const preprocessor = createPreprocessor(requireTextPreprocessing(manifest));
  return {
    manifest,
    policy,
    preprocessor,
    classify(ids) {
      const outputs = module.run({ [input.name]: { dtype: 'int32', dims: [1, ids.length], data: ids } });
      const probabilities = outputs[classificationTensor(manifest)];
      if (!probabilities || probabilities.data.length !== manifest.labels.length) {
        throw new Error(`${label}: output "${classificationTensor(manifest)}" should hold ${manifest.labels.length} probabilities`);
      }
      const values = Array.from(probabilities.data as ArrayLike<number>, Number);
      const confidence = assessConfidence(values, policy);
      // Null prototype: labels come from model files ("__proto__" is a label like any other).
      const scores = Object.create(null) as Record<string, number>;
      manifest.labels.forEach((name, i) => (scores[name] = values[i] as number));
      return { label: manifest.labels[confidence.best] as string, scores, confidence };
    },
  };
}
