// A small multi-layer perceptron for tabular rows, trained with Adam on mini-batches, with an
// optional learned embedding table for one categorical column (the origin airport). Inputs
// are standardized during training; the export folds the standardization into the first
// layer, so the served graph takes raw feature values. Deterministic: seeded init and order.
import { createPrng, shuffleInPlace } from './prng.ts';

/** Shape and schedule of one run. */
export interface MlpConfig {
  /** Dense inputs per row (before the embedding). */
  inputs: number;
  /** Widths of the ReLU hidden layers. */
  hidden: number[];
  /** Learned embedding: rows (categories) and width; absent → none (or fed as input, frozen). */
  embedding?: { rows: number; dims: number };
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** L2 penalty on the dense weights. */
  weightDecay: number;
  seed: number;
}

/** Trained weights: layer l maps [in_l] → [out_l], row-major [in, out] as MatMul reads it. */
export interface MlpWeights {
  config: MlpConfig;
  /** Per dense input: mean and standard deviation on the training rows. */
  mean: Float64Array;
  std: Float64Array;
  layers: Array<{ w: Float64Array; b: Float64Array; in: number; out: number }>;
  /** [rows, dims] when the config asks for a learned embedding. */
  embedding?: Float64Array;
}

/** Training rows: dense values row-major [n, inputs], labels 0/1, and the category of each row for the embedding. */
export interface MlpData {
  x: Float32Array;
  y: Uint8Array;
  /** Category index per row (embedding lookup); or fixed vectors per row, row-major [n, dims], for a frozen embedding. */
  category?: Uint16Array;
  frozenEmbedding?: Float32Array;
  frozenDims?: number;
}

function layerSizes(config: MlpConfig, extraInputs: number): number[] {
  return [config.inputs + extraInputs, ...config.hidden, 2];
}

/** Trains on `data`; `report` is called after each epoch with the mean loss. */
export function trainMlp(config: MlpConfig, data: MlpData, report: (epoch: number, loss: number) => void = () => {}): MlpWeights {
  const n = data.y.length;
  const d = config.inputs;
  const prng = createPrng(config.seed);
  const embDims = config.embedding?.dims ?? data.frozenDims ?? 0;
  const sizes = layerSizes(config, embDims);
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (data.x[i * d + j] as number);
  for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) std[j] = (std[j] as number) + ((data.x[i * d + j] as number) - (mean[j] as number)) ** 2;
  for (let j = 0; j < d; j++) std[j] = Math.sqrt((std[j] as number) / n) || 1;

  const layers = sizes.slice(1).map((out, l) => {
    const inn = sizes[l] as number;
    const scale = Math.sqrt(2 / inn); // He init for ReLU layers
    const w = new Float64Array(inn * out);
    for (let k = 0; k < w.length; k++) w[k] = (prng.next() * 2 - 1) * scale * Math.sqrt(3) * (l === sizes.length - 2 ? 0.5 : 1);
    return { w, b: new Float64Array(out), in: inn, out };
  });
  const embedding = config.embedding ? new Float64Array(config.embedding.rows * config.embedding.dims).map(() => (prng.next() * 2 - 1) * 0.1) : undefined;

  // Adam state per parameter array.
  const params: Float64Array[] = [...layers.flatMap((L) => [L.w, L.b]), ...(embedding ? [embedding] : [])];
  const m = params.map((p) => new Float64Array(p.length));
  const v = params.map((p) => new Float64Array(p.length));
  const grads = params.map((p) => new Float64Array(p.length));
  const beta1 = 0.9;
  const beta2 = 0.999;
  let step = 0;

  const order = Array.from({ length: n }, (_, i) => i);
  const acts = sizes.map((s) => new Float64Array(s));
  const deltas = sizes.map((s) => new Float64Array(s));
  const touchedRows = new Set<number>();
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    shuffleInPlace(order, prng);
    let lossSum = 0;
    const lr = config.learningRate * (1 - epoch / config.epochs) ** 0.5;
    for (let start = 0; start < n; start += config.batchSize) {
      const end = Math.min(n, start + config.batchSize);
      for (const g of grads) g.fill(0);
      touchedRows.clear();
      for (let t = start; t < end; t++) {
        const i = order[t] as number;
        lossSum += forwardRow(layers, mean, std, data, i, embedding, embDims, acts);
        // Backward: softmax cross-entropy, then ReLU layers.
        const L = layers.length;
        const out = acts[L] as Float64Array;
        const delta = deltas[L] as Float64Array;
        delta[0] = (out[0] as number) - (data.y[i] === 0 ? 1 : 0);
        delta[1] = (out[1] as number) - (data.y[i] === 1 ? 1 : 0);
        for (let l = L - 1; l >= 0; l--) {
          const layer = layers[l] as MlpWeights['layers'][number];
          const gw = grads[2 * l] as Float64Array;
          const gb = grads[2 * l + 1] as Float64Array;
          const input = acts[l] as Float64Array;
          const dOut = deltas[l + 1] as Float64Array;
          const dIn = deltas[l] as Float64Array;
          dIn.fill(0);
          for (let o = 0; o < layer.out; o++) gb[o] = (gb[o] as number) + (dOut[o] as number);
          for (let k = 0; k < layer.in; k++) {
            const a = input[k] as number;
            let sum = 0;
            for (let o = 0; o < layer.out; o++) {
              const dv = dOut[o] as number;
              gw[k * layer.out + o] = (gw[k * layer.out + o] as number) + a * dv;
              sum += (layer.w[k * layer.out + o] as number) * dv;
            }
            // ReLU derivative for hidden activations; the input layer keeps the raw gradient (for the embedding).
            dIn[k] = l === 0 || a > 0 ? sum : 0;
          }
        }
        if (embedding && data.category) {
          const row = data.category[i] as number;
          const gE = grads[grads.length - 1] as Float64Array;
          const d0 = deltas[0] as Float64Array;
          for (let k = 0; k < embDims; k++) gE[row * embDims + k] = (gE[row * embDims + k] as number) + (d0[d + k] as number);
          touchedRows.add(row);
        }
      }
      const size = end - start;
      step++;
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      params.forEach((p, pi) => {
        const g = grads[pi] as Float64Array;
        const mm = m[pi] as Float64Array;
        const vv = v[pi] as Float64Array;
        const isEmbedding = embedding !== undefined && pi === params.length - 1;
        const decay = pi % 2 === 0 && !isEmbedding ? config.weightDecay : 0;
        const update = (k: number) => {
          const gk = (g[k] as number) / size + decay * (p[k] as number);
          mm[k] = beta1 * (mm[k] as number) + (1 - beta1) * gk;
          vv[k] = beta2 * (vv[k] as number) + (1 - beta2) * gk * gk;
          p[k] = (p[k] as number) - (lr * ((mm[k] as number) / c1)) / (Math.sqrt((vv[k] as number) / c2) + 1e-8);
        };
        if (isEmbedding) {
          // Sparse: only the rows this batch used (lazy Adam, as embedding tables usually are).
          for (const row of [...touchedRows].sort((a, b) => a - b)) for (let k = 0; k < embDims; k++) update(row * embDims + k);
        } else for (let k = 0; k < p.length; k++) update(k);
      });
    }
    report(epoch + 1, lossSum / n);
  }
  return { config, mean, std, layers, ...(embedding ? { embedding } : {}) };
}

/** Forward pass of row `i`; fills `acts` (acts[0] = standardized input) and returns the log loss. */
function forwardRow(
  layers: MlpWeights['layers'],
  mean: Float64Array,
  std: Float64Array,
  data: MlpData,
  i: number,
  embedding: Float64Array | undefined,
  embDims: number,
  acts: Float64Array[],
): number {
  const d = mean.length;
  const input = acts[0] as Float64Array;
  for (let j = 0; j < d; j++) input[j] = ((data.x[i * d + j] as number) - (mean[j] as number)) / (std[j] as number);
  if (embedding && data.category) {
    const row = data.category[i] as number;
    for (let k = 0; k < embDims; k++) input[d + k] = embedding[row * embDims + k] as number;
  } else if (data.frozenEmbedding) {
    for (let k = 0; k < embDims; k++) input[d + k] = data.frozenEmbedding[i * embDims + k] as number;
  }
  for (let l = 0; l < layers.length; l++) {
    const layer = layers[l] as MlpWeights['layers'][number];
    const a = acts[l] as Float64Array;
    const z = acts[l + 1] as Float64Array;
    for (let o = 0; o < layer.out; o++) z[o] = layer.b[o] as number;
    for (let k = 0; k < layer.in; k++) {
      const ak = a[k] as number;
      if (ak === 0) continue;
      for (let o = 0; o < layer.out; o++) z[o] = (z[o] as number) + ak * (layer.w[k * layer.out + o] as number);
    }
    if (l < layers.length - 1) for (let o = 0; o < layer.out; o++) z[o] = Math.max(0, z[o] as number);
  }
  const out = acts[layers.length] as Float64Array;
  const max = Math.max(out[0] as number, out[1] as number);
  const e0 = Math.exp((out[0] as number) - max);
  const e1 = Math.exp((out[1] as number) - max);
  out[0] = e0 / (e0 + e1);
  out[1] = e1 / (e0 + e1);
  const p = Math.min(1 - 1e-12, Math.max(1e-12, out[data.y[i] as number] as number));
  return -Math.log(p);
}

/** P(delayed) for every row of `data` (labels ignored). */
export function predictMlp(weights: MlpWeights, data: MlpData): Float64Array {
  const embDims = weights.config.embedding?.dims ?? data.frozenDims ?? 0;
  const sizes = layerSizes(weights.config, embDims);
  const acts = sizes.map((s) => new Float64Array(s));
  const out = new Float64Array(data.y.length);
  for (let i = 0; i < data.y.length; i++) {
    forwardRow(weights.layers, weights.mean, weights.std, data, i, weights.embedding, embDims, acts);
    out[i] = (acts[sizes.length - 1] as Float64Array)[1] as number;
  }
  return out;
}

/**
 * The first layer with the standardization folded in: x·W' + b' = ((x − μ)/σ)·W + b for the
 * dense inputs; embedding inputs pass as they are.
 */
export function foldedFirstLayer(weights: MlpWeights): { w: Float32Array; b: Float32Array } {
  const first = weights.layers[0] as MlpWeights['layers'][number];
  const d = weights.mean.length;
  const w = new Float32Array(first.w.length);
  const b = Float32Array.from(first.b);
  const bias = Float64Array.from(first.b);
  for (let k = 0; k < first.in; k++) {
    const sigma = k < d ? (weights.std[k] as number) : 1;
    const mu = k < d ? (weights.mean[k] as number) : 0;
    for (let o = 0; o < first.out; o++) {
      const scaled = (first.w[k * first.out + o] as number) / sigma;
      w[k * first.out + o] = scaled;
      bias[o] = (bias[o] as number) - mu * scaled;
    }
  }
  bias.forEach((x, o) => (b[o] = x));
  return { w, b };
}
