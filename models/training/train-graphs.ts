// Training → ONNX bytes for one model spec, shared by `npm run models` (build-models.ts) and the
// benches that need a graph the repository does not keep: the edge model's fp32 twin is
// trained and evaluated at build time but only its int8 sibling is written to models/ (and
// everything under models/ is served), so bench/quantization.ts rebuilds both from here.
import { emailToIds } from '../../core/preprocess/index.ts';
import { LABELS, loadSplits, type LabeledMessage } from './dataset.ts';
import { trainFastText, type EpochReport, type Example, type FastTextConfig, type FastTextWeights } from './fasttext.ts';
import { exportFloatFastText, exportQuantizedFastText } from './onnx-export.ts';
import { quantizeFastText } from './quantize.ts';
import type { ModelSpec } from './specs.ts';

/** Messages → training examples with the spec's preprocessing (the serving code path). */
export function toExamples(messages: LabeledMessage[], spec: ModelSpec): Example[] {
  return messages.map((m) => ({ ids: emailToIds(m.text, spec.preprocessing), label: m.label }));
}

/** A trained fp32 model, its config and its exported ONNX graph. */
export interface FloatGraph {
  config: FastTextConfig;
  fp32: FastTextWeights;
  fp32Bytes: Uint8Array;
}

/** Trains the spec from scratch (seeded: same examples → same bytes) and exports the fp32 graph. */
export function trainFloatGraph(
  spec: ModelSpec,
  train: Example[],
  onEpoch?: (report: EpochReport, weights: FastTextWeights) => void,
): FloatGraph {
  const config: FastTextConfig = { ...spec.training, buckets: spec.preprocessing.buckets, classes: LABELS.length };
  const fp32 = trainFastText(config, train, onEpoch);
  return { config, fp32, fp32Bytes: exportFloatFastText(fp32, spec.name, { embeddingOutput: spec.embeddingOutput }) };
}

/**
 * Both graphs of a quantized spec exactly as `npm run models` builds them without --prune:
 * the fp32 twin and the int8 model it quantizes to (the one written to models/).
 */
export function trainQuantizedTwins(spec: ModelSpec): { fp32Bytes: Uint8Array; int8Bytes: Uint8Array } {
  if (!spec.quantized) throw new Error(`${spec.name}: not a quantized spec, it has no int8 twin`);
  const { fp32, fp32Bytes } = trainFloatGraph(spec, toExamples(loadSplits().train, spec));
  return { fp32Bytes, int8Bytes: exportQuantizedFastText(quantizeFastText(fp32), spec.name) };
}
