// The committed example models: they load through the verified loader, their test-split
// accuracy recomputed with onnxruntime-node equals what model.json claims and meets the
// bars, and the edge graph stays small and within the micro engine's op list.
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { FsModelSource } from '../../adapters/node/fs-model-source.ts';
import { decodeModel } from '../../build/onnx/builder.ts';
import { requireTextPreprocessing, type ModelManifest } from '../../core/model/manifest.ts';
import { loadVerifiedModel } from '../../core/model/repository.ts';
import { createPreprocessor } from '../../core/preprocess/index.ts';
import { LABELS, loadSplits } from '../../models/training/dataset.ts';
import { binaryMetrics, round } from '../../models/training/metrics.ts';

/** Ops the micro engine compiles (issue on the micro engine). */
const MICRO_OPS = new Set([
  'Gather', 'ReduceSum', 'ReduceMean', 'Gemm', 'MatMul', 'MatMulInteger', 'DynamicQuantizeLinear',
  'QuantizeLinear', 'DequantizeLinear', 'Add', 'Sub', 'Mul', 'Div', 'Relu', 'Sigmoid', 'Tanh',
  'Softmax', 'LogSoftmax', 'Reshape', 'Flatten', 'Concat', 'Cast', 'Squeeze', 'Unsqueeze',
  'Identity', 'Clip', 'ArgMax',
]);

interface Evaluated {
  manifest: ModelManifest;
  bytes: Uint8Array;
  predictions: number[];
  firstOutputs: Record<string, ort.Tensor>;
}

async function evaluateOnTestSplit(name: string): Promise<Evaluated> {
  const { manifest, bytes } = await loadVerifiedModel(new FsModelSource(), name, '1');
  const preprocessor = createPreprocessor(requireTextPreprocessing(manifest));
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic', intraOpNumThreads: 1 });
  const predictions: number[] = [];
  let firstOutputs: Record<string, ort.Tensor> = {};
  for (const message of loadSplits().test) {
    const ids = preprocessor.toIds(message.text);
    const out = await session.run({ ids: new ort.Tensor('int32', ids, [1, ids.length]) });
    if (predictions.length === 0) firstOutputs = out;
    const p = out.probabilities?.data as Float32Array;
    predictions.push((p[1] as number) > (p[0] as number) ? 1 : 0);
  }
  await session.release();
  return { manifest, bytes, predictions, firstOutputs };
}

const labels = () => loadSplits().test.map((m) => m.label);

describe('spam-edge@1', () => {
  let edge: Evaluated;
  beforeAll(async () => {
    edge = await evaluateOnTestSplit('spam-edge');
  });

  it('declares ids int32 [1,-1] → probabilities float32 [1,2] in label order, engine auto', () => {
    expect(edge.manifest.inputs).toEqual([{ name: 'ids', dtype: 'int32', shape: [1, -1], source: 'text', text: 'ids', optional: false }]);
    expect(edge.manifest.outputs).toEqual([{ name: 'probabilities', dtype: 'float32', shape: [1, 2] }]);
    expect(edge.manifest.labels).toEqual([...LABELS]);
    expect(edge.manifest.engine).toBe('auto');
    expect(edge.manifest.preprocessing).toMatchObject({ id: 'email-hash', version: 1 });
    expect(edge.firstOutputs.probabilities?.dims).toEqual([1, 2]);
  });

  it('scores on the test split through onnxruntime exactly what model.json says, above the bar', () => {
    const m = binaryMetrics(edge.predictions, labels());
    const claimed = edge.manifest.metrics as Record<string, number>;
    expect(m.correct).toBe(claimed.testCorrect);
    expect(round(m.accuracy, 4)).toBe(claimed.testAccuracy);
    expect(round(m.spamF1, 4)).toBe(claimed.testSpamF1);
    expect(round(m.spamPrecision, 4)).toBe(claimed.testSpamPrecision);
    expect(round(m.spamRecall, 4)).toBe(claimed.testSpamRecall);
    expect(m.accuracy).toBeGreaterThanOrEqual(0.975);
    expect(Math.abs(claimed.int8CostPoints as number)).toBeLessThanOrEqual(0.2);
    expect(Math.abs((claimed.fp32TestAccuracy as number) - (claimed.testAccuracy as number)) * 100).toBeLessThanOrEqual(0.2 + 1e-9);
  });

  it('is at most 300 KB of int8 weights, built only from ops the micro engine compiles', () => {
    expect(edge.bytes.length).toBeLessThanOrEqual(300 * 1024);
    expect((edge.manifest.metrics as Record<string, number>).modelBytes).toBe(edge.bytes.length);
    const graph = decodeModel(edge.bytes).graph;
    const ops = new Set(graph?.node?.map((n) => n.opType as string));
    expect([...ops].filter((op) => !MICRO_OPS.has(op))).toEqual([]);
    expect(ops.has('DequantizeLinear')).toBe(true);
    const table = graph?.initializer?.find((t) => t.name === 'embedding_int8');
    expect(table?.dataType).toBe(3); // INT8
    expect(table?.dims?.map(Number)).toEqual([8192, 16]);
  });
});

describe('spam-regional@1', () => {
  let regional: Evaluated;
  beforeAll(async () => {
    regional = await evaluateOnTestSplit('spam-regional');
  });

  it('declares probabilities [1,2] and the penultimate embedding [1,H], engine ort', () => {
    const hidden = (regional.manifest.training as Record<string, number>).hidden as number;
    expect(regional.manifest.inputs).toEqual([{ name: 'ids', dtype: 'int32', shape: [1, -1], source: 'text', text: 'ids', optional: false }]);
    expect(regional.manifest.outputs).toEqual([
      { name: 'probabilities', dtype: 'float32', shape: [1, 2] },
      { name: 'embedding', dtype: 'float32', shape: [1, hidden] },
    ]);
    expect(regional.manifest.engine).toBe('ort');
    expect(regional.firstOutputs.embedding?.dims).toEqual([1, hidden]);
    expect(regional.firstOutputs.embedding?.type).toBe('float32');
  });

  it('scores on the test split through onnxruntime exactly what model.json says, above the bar and the edge model', async () => {
    const m = binaryMetrics(regional.predictions, labels());
    const claimed = regional.manifest.metrics as Record<string, number>;
    expect(m.correct).toBe(claimed.testCorrect);
    expect(round(m.accuracy, 4)).toBe(claimed.testAccuracy);
    expect(round(m.spamF1, 4)).toBe(claimed.testSpamF1);
    expect(m.accuracy).toBeGreaterThanOrEqual(0.988);
    const { manifest: edge } = await loadVerifiedModel(new FsModelSource(), 'spam-edge', '1');
    expect(m.accuracy).toBeGreaterThan((edge.metrics as Record<string, number>).testAccuracy as number);
  });

  it('stays light enough for the repository and a Lambda zip', () => {
    expect(regional.bytes.length).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect((regional.manifest.metrics as Record<string, number>).modelBytes).toBe(regional.bytes.length);
  });
});
