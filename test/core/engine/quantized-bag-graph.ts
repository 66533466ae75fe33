// A small seeded fastText-like graph for engine tests, covering the ops the example models
// use: int8 Gather → Cast → Mul (row scale) → ReduceMean → DequantizeLinear weights → MatMul
// → Add → Relu → MatMul → Add → Softmax. Same seed → same bytes.
import { GraphBuilder } from '../../../build/onnx/builder.ts';
import { normaliseManifest, type ModelManifest } from '../../../core/model/manifest.ts';
import { seededRandom } from '../../../models/training/prng.ts';

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
export { seededRandom };

export const BAG = { buckets: 512, dims: 16, hidden: 24, classes: 2 } as const;

/** Builds the graph; inputs `ids` int32 [1, n]; outputs `probabilities` [1, 2] and `hidden` [1, 24]. */
export function buildQuantizedBagModel(seed = 7): {
  bytes: Uint8Array;
  manifest: ModelManifest;
  /** The same computation in float64 JavaScript, as an engine-independent reference. */
  reference(ids: Int32Array): { probabilities: number[]; hidden: number[] };
} {
  const rand = seededRandom(seed);
  const int8s = (n: number) => Int8Array.from({ length: n }, () => Math.round(rand() * 254) - 127);
  const floats = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
  const { buckets, dims, hidden, classes } = BAG;

  const g = new GraphBuilder('quantized_bag');
  g.input('ids', 'int32', [1, 'tokens']);
  const embQ = int8s(buckets * dims);
  const embScale = Float32Array.from({ length: dims }, () => 0.002 + rand() * 0.01);
  const w1Q = int8s(dims * hidden);
  const w1Scale = Float32Array.from({ length: hidden }, () => 0.005 + rand() * 0.02);
  const b1 = floats(hidden, 0.1);
  const w2 = floats(hidden * classes, 1);
  const b2 = floats(classes, 0.1);
  g.initializer('emb_q', { dtype: 'int8', dims: [buckets, dims], data: embQ });
  g.initializer('emb_scale', { dtype: 'float32', dims: [dims], data: embScale });
  g.initializer('w1_q', { dtype: 'int8', dims: [dims, hidden], data: w1Q });
  g.initializer('w1_scale', { dtype: 'float32', dims: [hidden], data: w1Scale });
  g.initializer('w1_zero', { dtype: 'int8', dims: [hidden], data: new Int8Array(hidden) });
  g.initializer('b1', { dtype: 'float32', dims: [hidden], data: b1 });
  g.initializer('w2', { dtype: 'float32', dims: [hidden, classes], data: w2 });
  g.initializer('b2', { dtype: 'float32', dims: [classes], data: b2 });

  const [rows] = g.node('Gather', ['emb_q', 'ids'], 1, { axis: { int: 0 } });
  const [rowsF] = g.node('Cast', [rows!], 1, { to: { int: 1 } });
  const [scaled] = g.node('Mul', [rowsF!, 'emb_scale']);
  const [bag] = g.node('ReduceMean', [scaled!], 1, { axes: { ints: [1] }, keepdims: { int: 0 } });
  const [w1] = g.node('DequantizeLinear', ['w1_q', 'w1_scale', 'w1_zero'], 1, { axis: { int: 1 } });
  const [h] = g.node('MatMul', [bag!, w1!]);
  const [hb] = g.node('Add', [h!, 'b1']);
  g.node('Relu', [hb!], ['hidden']);
  const [logits] = g.node('MatMul', ['hidden', 'w2']);
  const [lb] = g.node('Add', [logits!, 'b2']);
  g.node('Softmax', [lb!], ['probabilities'], { axis: { int: -1 } });
  g.output('probabilities', 'float32', [1, classes]);
  g.output('hidden', 'float32', [1, hidden]);
  // protobufjs hands back a Node Buffer, whose slice() is a view: copy into a plain Uint8Array.
  const bytes = new Uint8Array(g.encode(17));

  const manifest: ModelManifest = normaliseManifest({
    name: 'quantized-bag',
    version: '1',
    file: 'model.onnx',
    sha256: '0'.repeat(64),
    inputs: [{ name: 'ids', dtype: 'int32', shape: [1, -1] }],
    outputs: [
      { name: 'probabilities', dtype: 'float32', shape: [1, classes] },
      { name: 'hidden', dtype: 'float32', shape: [1, hidden] },
    ],
    probabilitiesOutput: 'probabilities',
    labels: ['ham', 'spam'],
    preprocessing: { id: 'email-hash', version: 1, params: {} },
    engine: 'ort',
    cascade: { threshold: null },
    cache: { ttlSeconds: 60 },
  }, 'quantized-bag test manifest');
  const reference = (ids: Int32Array) => {
    const mean = new Array<number>(dims).fill(0);
    for (const id of ids) for (let d = 0; d < dims; d++) mean[d]! += (embQ[id * dims + d]! * embScale[d]!) / ids.length;
    const hiddenOut = Array.from({ length: hidden }, (_, j) => {
      let sum = b1[j]!;
      for (let d = 0; d < dims; d++) sum += mean[d]! * w1Q[d * hidden + j]! * w1Scale[j]!;
      return Math.max(0, sum);
    });
    const logits = Array.from({ length: classes }, (_, c) => {
      let sum = b2[c]!;
      for (let j = 0; j < hidden; j++) sum += hiddenOut[j]! * w2[j * classes + c]!;
      return sum;
    });
    const max = Math.max(...logits);
    const exps = logits.map((l) => Math.exp(l - max));
    const total = exps.reduce((a, b) => a + b, 0);
    return { probabilities: exps.map((e) => e / total), hidden: hiddenOut };
  };
  return { bytes, manifest, reference };
}

/** Seeded random id sequences of 1..maxLength ids in [0, buckets). */
export function randomIdSequences(count: number, seed = 11, maxLength = 200): Int32Array[] {
  const rand = seededRandom(seed);
  return Array.from({ length: count }, () =>
    Int32Array.from({ length: 1 + Math.floor(rand() * maxLength) }, () => Math.floor(rand() * BAG.buckets)),
  );
}
