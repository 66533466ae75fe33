// `npm run models`: split the SpamAssassin corpus, train the example models, quantize the
// edge one, write models/<name>/<version>/{model.onnx, model.json}, and check each graph
// through onnxruntime-node against the training code's own forward pass. Deterministic:
// two runs write byte-identical files.
// Usage: npx tsx models/training/build-models.ts [--out DIR] (default: the repository's models/)
//        [--prune=POINTS]: prune, then quantize the int8 model within POINTS of calibration accuracy
//        [--only=NAME@VERSION,...]: build only these (default: every spec, v1 and v2 of both spam models)
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EMAIL_HASH_ID } from '../../core/preprocess/index.ts';
import { parseManifest } from '../../core/model/manifest.ts';
import { LABELS, loadSplits } from './dataset.ts';
import { argmax, forward, type Example, type FastTextWeights } from './fasttext.ts';
import { binaryMetrics, rocAuc, round, type BinaryMetrics } from './metrics.ts';
import { EMBEDDING_OUTPUT, exportFloatFastText, exportQuantizedFastText, IDS_INPUT, PROBABILITIES_OUTPUT } from './onnx-export.ts';
import { probabilitiesWithOrt } from './ort-eval.ts';
import { formatPruneTable, pruneBudgetFromArgs, pruneThenQuantize, pruningRecord, type PruneResult } from './prune.ts';
import { dequantizeFastText, quantizeFastText } from './quantize.ts';
import { SPAM_SPECS, type ModelSpec } from './specs.ts';
import { headerlessExamples, toExamples, toTrainingExamples, trainFloatGraph } from './train-graphs.ts';

const { values: args } = parseArgs({ options: { out: { type: 'string' }, prune: { type: 'string' }, only: { type: 'string' } } });
const PRUNE_BUDGET = args.prune === undefined ? undefined : pruneBudgetFromArgs([`--prune=${args.prune}`]);
const MODELS_DIR = args.out ?? join(dirname(fileURLToPath(import.meta.url)), '..');

/** Predictions and the largest probability gap between the JS forward pass and ORT. */
interface Evaluation {
  metrics: BinaryMetrics;
  /** ROC AUC of the spam probability (onnxruntime's). */
  auc: number;
  maxAbsDifference: number;
  disagreements: number;
}

function jsPredictions(weights: FastTextWeights, examples: Example[]): Float64Array[] {
  return examples.map((e) => forward(weights, e.ids).probabilities);
}

async function evaluate(bytes: Uint8Array, weights: FastTextWeights, examples: Example[]): Promise<Evaluation> {
  const viaOrt = await probabilitiesWithOrt(bytes, examples.map((e) => e.ids));
  const viaJs = jsPredictions(weights, examples);
  let maxAbsDifference = 0;
  let disagreements = 0;
  viaOrt.forEach((p, i) => {
    const q = viaJs[i] as Float64Array;
    for (let c = 0; c < p.length; c++) maxAbsDifference = Math.max(maxAbsDifference, Math.abs((p[c] as number) - (q[c] as number)));
    if (argmax(p) !== argmax(q)) disagreements++;
  });
  const metrics = binaryMetrics(
    viaOrt.map((p) => argmax(p)),
    examples.map((e) => e.label),
  );
  const auc = rocAuc(
    viaOrt.map((p) => p[1] as number),
    examples.map((e) => e.label),
  );
  return { metrics, auc, maxAbsDifference, disagreements };
}

const percent = (x: number) => `${(x * 100).toFixed(2)} %`;

function accuracyOf(weights: FastTextWeights, examples: Example[]): number {
  let correct = 0;
  for (const e of examples) if (argmax(forward(weights, e.ids).probabilities) === e.label) correct++;
  return correct / examples.length;
}

/** What `npm run calibrate` wrote into a model.json: cascade.threshold and metrics.cascade. */
interface Calibration {
  threshold: number | null;
  record?: unknown;
}

/**
 * The calibration already in an existing model.json, kept when the new graph is
 * byte-identical to the one it was calibrated for (so a rerun rewrites the same file);
 * none otherwise.
 */
function keptCalibration(manifestPath: string, sha256: string): Calibration {
  if (!existsSync(manifestPath)) return { threshold: null };
  try {
    const previous = parseManifest(readFileSync(manifestPath, 'utf8'), manifestPath);
    if (previous.sha256 !== sha256 || previous.cascade.threshold === null) return { threshold: null };
    console.log(`   same graph as before: keeping cascade.threshold ${previous.cascade.threshold} from npm run calibrate`);
    const record = previous.metrics?.cascade;
    return record === undefined ? { threshold: previous.cascade.threshold } : { threshold: previous.cascade.threshold, record };
  } catch {
    return { threshold: null };
  }
}

/** Trains, exports, verifies and writes one model; returns the problems against its bars. */
async function buildModel(spec: ModelSpec): Promise<string[]> {
  const started = performance.now();
  const splits = loadSplits();
  console.log(`\n== ${spec.name}@${spec.version}: preprocessing (${EMAIL_HASH_ID}@${spec.preprocessingVersion})`);
  const train = toTrainingExamples(splits.train, spec);
  const calibration = toExamples(splits.calibration, spec);
  const test = toExamples(splits.test, spec);
  const meanIds = train.reduce((n, e) => n + e.ids.length, 0) / train.length;
  console.log(`   ${train.length} train / ${calibration.length} calibration / ${test.length} test, ${meanIds.toFixed(0)} ids per message on average`);

  const { config, fp32, fp32Bytes } = trainFloatGraph(spec, train, (report, weights) => {
    console.log(
      `   epoch ${String(report.epoch).padStart(2)}/${spec.training.epochs}  loss ${report.meanLoss.toFixed(4)}  ` +
        `calibration ${percent(accuracyOf(weights, calibration))}  (${report.seconds.toFixed(1)} s)`,
    );
  });

  let bytes = fp32Bytes;
  let served = fp32;
  let fp32Test: Evaluation | undefined;
  let pruning: PruneResult | undefined;
  const pruneOptions = !spec.quantized ? undefined : PRUNE_BUDGET !== undefined ? { budgetPoints: PRUNE_BUDGET } : spec.prune;
  if (spec.quantized) {
    if (pruneOptions) {
      pruning = pruneThenQuantize(fp32, train, calibration, pruneOptions, spec.name);
      console.log(`   prune, then quantize (calibration budget ${pruneOptions.budgetPoints} points):\n${formatPruneTable(pruning)}`);
    }
    const int8 = pruning ? pruning.quantized : quantizeFastText(fp32);
    served = dequantizeFastText(int8);
    bytes = exportQuantizedFastText(int8, spec.name);
    // The fp32 twin keeps the same rows, so int8CostPoints stays the cost of int8 alone.
    const twin = pruning ? pruning.prunedFp32 : fp32;
    fp32Test = await evaluate(pruning ? exportFloatFastText(twin, spec.name, { embeddingOutput: spec.embeddingOutput }) : fp32Bytes, twin, test);
  }
  const testEval = await evaluate(bytes, served, test);
  const calibrationEval = await evaluate(bytes, served, calibration);
  // A text typed without headers: the test split's bodies alone and their openings.
  const bodyOnlyEval = await evaluate(bytes, served, headerlessExamples(splits.test, spec, 'body'));
  const openingEval = await evaluate(bytes, served, headerlessExamples(splits.test, spec, 'opening'));
  console.log(`   header-less test copies: body only ${percent(bodyOnlyEval.metrics.accuracy)}, opening (≤ 200 chars) ${percent(openingEval.metrics.accuracy)}`);
  for (const [split, e] of [['test', testEval], ['calibration', calibrationEval]] as const) {
    console.log(`   ORT vs JS forward (${split}): max |Δp| ${e.maxAbsDifference.toExponential(2)}, ${e.disagreements} differing predictions`);
    if (e.disagreements > 0) throw new Error(`${spec.name}: onnxruntime and the JS forward pass disagree on ${e.disagreements} ${split} messages`);
  }

  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const dir = join(MODELS_DIR, spec.name, spec.version);
  const calibrated = keptCalibration(join(dir, 'model.json'), sha256);
  const m = testEval.metrics;
  const int8CostPoints = fp32Test ? round((fp32Test.metrics.accuracy - m.accuracy) * 100, 2) : undefined;
  // model.json in its first format (top-level labels + probabilitiesOutput), which the core's
  // parser maps onto the normalised form; parseManifest below checks what is written.
  const manifest = {
    name: spec.name,
    version: spec.version,
    file: 'model.onnx',
    sha256,
    inputs: [{ name: IDS_INPUT, dtype: 'int32', shape: [1, -1] }],
    outputs: [
      { name: PROBABILITIES_OUTPUT, dtype: 'float32', shape: [1, LABELS.length] },
      ...(spec.embeddingOutput ? [{ name: EMBEDDING_OUTPUT, dtype: 'float32' as const, shape: [1, config.hidden] }] : []),
    ],
    probabilitiesOutput: PROBABILITIES_OUTPUT,
    labels: [...LABELS],
    preprocessing: { id: EMAIL_HASH_ID, version: spec.preprocessingVersion, params: spec.preprocessing },
    engine: spec.engine,
    role: spec.role,
    cascade: { threshold: calibrated.threshold, ...(spec.cascadeTo ? { regional: spec.cascadeTo } : {}) },
    cache: { ttlSeconds: 3600 },
    metrics: {
      evaluatedWith: 'onnxruntime-node, graphOptimizationLevel basic',
      testSize: m.size,
      testCorrect: m.correct,
      testAccuracy: round(m.accuracy, 4),
      testAuc: round(testEval.auc, 5),
      testSpamPrecision: round(m.spamPrecision, 4),
      testSpamRecall: round(m.spamRecall, 4),
      testSpamF1: round(m.spamF1, 4),
      calibrationAccuracy: round(calibrationEval.metrics.accuracy, 4),
      testBodyOnlyAccuracy: round(bodyOnlyEval.metrics.accuracy, 4),
      testOpeningAccuracy: round(openingEval.metrics.accuracy, 4),
      ...(fp32Test ? { fp32TestAccuracy: round(fp32Test.metrics.accuracy, 4), int8CostPoints } : {}),
      modelBytes: bytes.length,
      ...(calibrated.record === undefined ? {} : { cascade: calibrated.record }),
    },
    training: {
      algorithm: 'fastText-style: mean embedding bag, ReLU hidden layer, softmax; SGD with linear learning-rate decay',
      weights: spec.quantized
        ? 'int8 symmetric: embedding per row, dense layers per output channel; biases fp32'
        : 'fp32',
      ...(pruning && pruneOptions ? { pruning: pruningRecord(pruning, pruneOptions.budgetPoints, config.buckets) } : {}),
      dim: config.dim,
      hidden: config.hidden,
      epochs: config.epochs,
      learningRate: config.learningRate,
      embeddingLearningRateScale: config.embeddingLearningRateScale,
      weightDecay: config.weightDecay,
      seed: config.seed,
      split: {
        method: 'sha256(checksum) mod 100: < 70 train, < 85 calibration, else test',
        train: train.length,
        calibration: calibration.length,
        test: test.length,
      },
    },
  };
  const json = `${JSON.stringify(manifest, null, 2)}\n`;
  parseManifest(json, `${spec.name}/${spec.version}/model.json`);

  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), bytes);
  writeFileSync(join(dir, 'model.json'), json);

  console.log(
    `   test accuracy ${percent(m.accuracy)} (${m.correct}/${m.size}), AUC ${testEval.auc.toFixed(5)}, spam P ${m.spamPrecision.toFixed(4)} R ${m.spamRecall.toFixed(4)} F1 ${m.spamF1.toFixed(4)}; ` +
      `calibration ${percent(calibrationEval.metrics.accuracy)}`,
  );
  if (fp32Test) console.log(`   fp32 twin test accuracy ${percent(fp32Test.metrics.accuracy)}; int8 cost ${int8CostPoints} points`);
  console.log(`   wrote ${dir}/model.onnx (${bytes.length} bytes, sha256 ${sha256.slice(0, 12)}…) in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const problems: string[] = [];
  if (m.accuracy < spec.bars.minTestAccuracy) problems.push(`${spec.name}: test accuracy ${percent(m.accuracy)} < ${percent(spec.bars.minTestAccuracy)}`);
  if (int8CostPoints !== undefined && spec.bars.maxInt8CostPoints !== undefined && Math.abs(int8CostPoints) > spec.bars.maxInt8CostPoints) {
    problems.push(`${spec.name}: int8 differs from fp32 by ${int8CostPoints} points (> ${spec.bars.maxInt8CostPoints})`);
  }
  if (bytes.length > spec.bars.maxModelBytes) problems.push(`${spec.name}: model.onnx is ${bytes.length} bytes (> ${spec.bars.maxModelBytes})`);
  return problems;
}

const started = performance.now();
const problems: string[] = [];
const only = args.only?.split(',');
const unknown = only?.filter((id) => !SPAM_SPECS.some((s) => `${s.name}@${s.version}` === id));
if (unknown?.length) throw new Error(`--only: no spec ${unknown.join(', ')}; known: ${SPAM_SPECS.map((s) => `${s.name}@${s.version}`).join(', ')}`);
for (const spec of SPAM_SPECS) if (!only || only.includes(`${spec.name}@${spec.version}`)) problems.push(...(await buildModel(spec)));
console.log(`\nnpm run models: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (problems.length > 0) {
  for (const p of problems) console.error(`BAR MISSED: ${p}`);
  process.exitCode = 1;
}
