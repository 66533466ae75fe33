// Training → ONNX bytes for one model spec, shared by `npm run models` (build-models.ts) and the
// benches that need a graph the repository does not keep: the edge model's fp32 twin is
// trained and evaluated at build time but only its int8 sibling is written to models/ (and
// everything under models/ is served), so bench/quantization.ts rebuilds both from here.
import { emailToIds } from '../../core/preprocess/index.ts';
import { parseMessage } from '../../core/preprocess/email-hash.ts';
import { LABELS, loadSplits, type LabeledMessage } from './dataset.ts';
import { trainFastText, type EpochReport, type Example, type FastTextConfig, type FastTextWeights } from './fasttext.ts';
import { exportFloatFastText, exportQuantizedFastText } from './onnx-export.ts';
import { pruneThenQuantize } from './prune.ts';
import { quantizeFastText } from './quantize.ts';
import type { ModelSpec } from './specs.ts';

/** Messages → training examples with the spec's preprocessing (the serving code path). */
export function toExamples(messages: LabeledMessage[], spec: ModelSpec): Example[] {
  return messages.map((m) => ({ ids: emailToIds(m.text, spec.preprocessing, spec.preprocessingVersion), label: m.label }));
}

/**
 * Training examples plus header-less views of each message, with its label: the body alone,
 * and its opening (the first sentences, up to 200 characters). The corpus holds whole RFC 822
 * messages only, so without these a short text typed by a user, with no headers, lies outside
 * everything the model saw (it scored "see you at lunch?" as spam). Evaluation stays on whole
 * messages; only training sees the views.
 */
export function toTrainingExamples(messages: LabeledMessage[], spec: ModelSpec): Example[] {
  const examples = toExamples(messages, spec);
  const { bodies, openings } = spec.augment;
  if (!bodies && !openings) return examples;
  for (const m of messages) {
    const body = parseMessage(m.text).body.trim();
    if (body.length === 0) continue;
    if (bodies) examples.push({ ids: emailToIds(body, spec.preprocessing, spec.preprocessingVersion), label: m.label });
    const opening = openings ? openingOf(body, 200) : '';
    if (opening.length > 0 && opening.length < body.length) examples.push({ ids: emailToIds(opening, spec.preprocessing, spec.preprocessingVersion), label: m.label });
  }
  return examples;
}

/**
 * Header-less copies of messages as evaluation examples: `body` (the body alone) or
 * `opening` (its first sentences, up to 200 characters). Messages with an empty body are left out.
 */
export function headerlessExamples(messages: LabeledMessage[], spec: ModelSpec, view: 'body' | 'opening'): Example[] {
  const out: Example[] = [];
  for (const m of messages) {
    const body = parseMessage(m.text).body.trim();
    if (body.length === 0) continue;
    out.push({ ids: emailToIds(view === 'body' ? body : openingOf(body, 200), spec.preprocessing, spec.preprocessingVersion), label: m.label });
  }
  return out;
}

/** The first sentences of `text` within `chars` characters (at least the first `chars`), whitespace collapsed. */
function openingOf(text: string, chars: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= chars) return flat;
  const cut = flat.slice(0, chars);
  const end = Math.max(cut.lastIndexOf('. '), cut.lastIndexOf('? '), cut.lastIndexOf('! '));
  return end > 20 ? cut.slice(0, end + 1) : cut;
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
 * the fp32 twin and the int8 model it quantizes to (the one written to models/). A spec that
 * prunes (spec.prune) gives its pruned fp32 twin, as build-models.ts does.
 */
export function trainQuantizedTwins(spec: ModelSpec): { fp32Bytes: Uint8Array; int8Bytes: Uint8Array } {
  if (!spec.quantized) throw new Error(`${spec.name}: not a quantized spec, it has no int8 twin`);
  const splits = loadSplits();
  const train = toTrainingExamples(splits.train, spec);
  const { fp32, fp32Bytes } = trainFloatGraph(spec, train);
  if (spec.prune) {
    const pruned = pruneThenQuantize(fp32, train, toExamples(splits.calibration, spec), spec.prune, spec.name);
    return { fp32Bytes: exportFloatFastText(pruned.prunedFp32, spec.name, { embeddingOutput: spec.embeddingOutput }), int8Bytes: pruned.bytes };
  }
  return { fp32Bytes, int8Bytes: exportQuantizedFastText(quantizeFastText(fp32), spec.name) };
}
