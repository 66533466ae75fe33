// A fastText-style classifier trained with plain SGD: mean of hashed-id embeddings →
// one ReLU hidden layer → softmax. The weights are laid out as the ONNX graph reads them
// (row-major [in, out]), so export is a copy.
import { createPrng, shuffleInPlace } from './prng.ts';

/** Shape and schedule of one training run. */
export interface FastTextConfig {
  /** Rows of the embedding table (= preprocessing buckets). */
  buckets: number;
  /** Embedding width. */
  dim: number;
  /** Width of the ReLU hidden layer. */
  hidden: number;
  /** Number of classes. */
  classes: number;
  epochs: number;
  /** Initial SGD step; decays linearly to 0 over the run (as fastText does). */
  learningRate: number;
  /** Extra factor on the embedding step: each row sees few updates, so it learns faster. */
  embeddingLearningRateScale: number;
  /** L2 penalty on the dense weights (not on the sparse embedding). */
  weightDecay: number;
  seed: number;
}

/** fp32 weights: embedding [buckets, dim], w1 [dim, hidden], w2 [hidden, classes]. */
export interface FastTextWeights {
  config: FastTextConfig;
  embedding: Float32Array;
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

/** One training example: preprocessed ids and class index. */
export interface Example {
  ids: Int32Array;
  label: number;
}

/** Reported after each epoch; `evaluate` lets the caller measure on held-out data. */
export interface EpochReport {
  epoch: number;
  meanLoss: number;
  seconds: number;
}

/** Forward activations of one example. */
export interface Forward {
  bag: Float64Array;
  hiddenPre: Float64Array;
  hidden: Float64Array;
  probabilities: Float64Array;
}

function uniform(length: number, scale: number, next: () => number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (next() * 2 - 1) * scale;
  return out;
}

/** Fresh weights: small uniform embedding (fastText's ±1/dim), Glorot-uniform dense layers. */
export function initWeights(config: FastTextConfig): FastTextWeights {
  const prng = createPrng(config.seed);
  const next = () => prng.next();
  const { buckets, dim, hidden, classes } = config;
  return {
    config,
    embedding: uniform(buckets * dim, 1 / dim, next),
    w1: uniform(dim * hidden, Math.sqrt(6 / (dim + hidden)), next),
    b1: new Float32Array(hidden),
    w2: uniform(hidden * classes, Math.sqrt(6 / (hidden + classes)), next),
    b2: new Float32Array(classes),
  };
}

/** Mean embedding of `ids` → hidden → softmax, in float64 arithmetic over the float32 weights. */
export function forward(weights: FastTextWeights, ids: Int32Array): Forward {
  const { dim, hidden, classes } = weights.config;
  const { embedding, w1, b1, w2, b2 } = weights;
  const bag = new Float64Array(dim);
  for (let t = 0; t < ids.length; t++) {
    const row = (ids[t] as number) * dim;
    for (let d = 0; d < dim; d++) bag[d] = (bag[d] as number) + (embedding[row + d] as number);
  }
  for (let d = 0; d < dim; d++) bag[d] = (bag[d] as number) / ids.length;
  const hiddenPre = new Float64Array(hidden);
  const hiddenOut = new Float64Array(hidden);
  for (let j = 0; j < hidden; j++) hiddenPre[j] = b1[j] as number;
  for (let d = 0; d < dim; d++) {
    const x = bag[d] as number;
    const base = d * hidden;
    for (let j = 0; j < hidden; j++) hiddenPre[j] = (hiddenPre[j] as number) + x * (w1[base + j] as number);
  }
  for (let j = 0; j < hidden; j++) hiddenOut[j] = Math.max(0, hiddenPre[j] as number);
  const probabilities = new Float64Array(classes);
  for (let c = 0; c < classes; c++) probabilities[c] = b2[c] as number;
  for (let j = 0; j < hidden; j++) {
    const h = hiddenOut[j] as number;
    if (h === 0) continue;
    for (let c = 0; c < classes; c++) probabilities[c] = (probabilities[c] as number) + h * (w2[j * classes + c] as number);
  }
  softmaxInPlace(probabilities);
  return { bag, hiddenPre, hidden: hiddenOut, probabilities };
}

function softmaxInPlace(values: Float64Array): void {
  let max = -Infinity;
  for (const v of values) max = Math.max(max, v);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    values[i] = Math.exp((values[i] as number) - max);
    sum += values[i] as number;
  }
  for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) / sum;
}

/** One SGD step on one example; returns its loss (before the step). */
function step(weights: FastTextWeights, example: Example, lr: number): number {
  const { dim, hidden, classes, embeddingLearningRateScale, weightDecay } = weights.config;
  const { embedding, w1, b1, w2, b2 } = weights;
  const f = forward(weights, example.ids);
  const loss = -Math.log(Math.max(f.probabilities[example.label] as number, 1e-12));

  const gradLogits = Float64Array.from(f.probabilities);
  gradLogits[example.label] = (gradLogits[example.label] as number) - 1;

  // Hidden gradient uses w2 before it is updated.
  const gradHidden = new Float64Array(hidden);
  for (let j = 0; j < hidden; j++) {
    if ((f.hiddenPre[j] as number) <= 0) continue;
    let g = 0;
    for (let c = 0; c < classes; c++) g += (w2[j * classes + c] as number) * (gradLogits[c] as number);
    gradHidden[j] = g;
  }
  const decay = 1 - lr * weightDecay;
  for (let j = 0; j < hidden; j++) {
    const h = f.hidden[j] as number;
    for (let c = 0; c < classes; c++) {
      const k = j * classes + c;
      w2[k] = (w2[k] as number) * decay - lr * h * (gradLogits[c] as number);
    }
  }
  for (let c = 0; c < classes; c++) b2[c] = (b2[c] as number) - lr * (gradLogits[c] as number);

  const gradBag = new Float64Array(dim);
  for (let d = 0; d < dim; d++) {
    const x = f.bag[d] as number;
    const base = d * hidden;
    let g = 0;
    for (let j = 0; j < hidden; j++) {
      const gh = gradHidden[j] as number;
      g += (w1[base + j] as number) * gh;
      w1[base + j] = (w1[base + j] as number) * decay - lr * x * gh;
    }
    gradBag[d] = g;
  }
  for (let j = 0; j < hidden; j++) b1[j] = (b1[j] as number) - lr * (gradHidden[j] as number);

  // The bag is a mean, so each occurrence of an id receives 1/n of the bag gradient. The
  // scaled rate is meant for whole messages (hundreds of ids); a short text (a few ids) would
  // take steps of the order of the rate itself and diverge, so n counts as at least 64.
  const embeddingStep = (lr * embeddingLearningRateScale) / Math.max(example.ids.length, 64);
  for (let t = 0; t < example.ids.length; t++) {
    const row = (example.ids[t] as number) * dim;
    for (let d = 0; d < dim; d++) embedding[row + d] = (embedding[row + d] as number) - embeddingStep * (gradBag[d] as number);
  }
  return loss;
}

/**
 * Trains from scratch: seeded init, a seeded shuffle per epoch, linear learning-rate decay.
 * Same config and examples → same weights, bit for bit.
 */
export function trainFastText(
  config: FastTextConfig,
  examples: Example[],
  onEpoch: (report: EpochReport, weights: FastTextWeights) => void = () => {},
): FastTextWeights {
  const weights = initWeights(config);
  const shuffler = createPrng(config.seed ^ 0x5eed);
  const order = examples.map((_, i) => i);
  const totalSteps = config.epochs * examples.length;
  let done = 0;
  for (let epoch = 1; epoch <= config.epochs; epoch++) {
    const started = performance.now();
    shuffleInPlace(order, shuffler);
    let lossSum = 0;
    for (const index of order) {
      const lr = config.learningRate * (1 - done / totalSteps);
      lossSum += step(weights, examples[index] as Example, lr);
      done++;
    }
    onEpoch({ epoch, meanLoss: lossSum / examples.length, seconds: (performance.now() - started) / 1000 }, weights);
  }
  return weights;
}

/** Index of the largest probability (ties → lower index, as ArgMax does). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}
