// SVMClassifier and SVMRegressor compiled by the micro engine against onnxruntime-node on
// random models (support vectors, dual coefficients, rho, Platt's prob_a/prob_b) in the layout
// sklearn-onnx writes for SVC / SVR / OneClassSVM / LinearSVC: every kernel, with and without
// probabilities, 2 to 4 classes, the liblinear (no support vector) form, NaN rows included.
// Real models trained by libsvm on real data: ml-real-graphs.test.ts.
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import type { AttributeValue } from '../../../build/onnx/builder.ts';
import { randomRows, runOnOrtNode, singleNodeGraph } from './ml-graphs.ts';
import { tensorMismatch } from './oracle.ts';
import { Random } from './property-harness.ts';

const ROWS = 160;
const F = 4;
const TOLERANCE = 1e-4;

const uniform = (r: Random, n: number, lo: number, hi: number) => Array.from({ length: n }, () => Math.fround(lo + r.next() * (hi - lo)));

async function compare(bytes: Uint8Array, outputs: string[], seed: number): Promise<{ checked: number; labels: number }> {
  const module = await importMicroModule(compileOnnxToModule(bytes, { name: 'svm' }).source, 'svm');
  const X = randomRows(new Random(seed), ROWS, F, 0.03);
  const feeds = { X: { dtype: 'float32' as const, dims: [ROWS, F], data: X } };
  const expected = await runOnOrtNode(bytes, feeds, outputs);
  const actual = module.run(feeds);
  let checked = 0;
  let labels = 0;
  for (const name of outputs) {
    const e = expected[name]!;
    expect(tensorMismatch(e, actual[name]!, e.dtype === 'int64' ? 0 : TOLERANCE), name).toBeNull();
    checked += e.data.length;
    if (e.dtype === 'int64') labels += new Set(Array.from(e.data as BigInt64Array)).size;
  }
  return { checked, labels };
}

interface ClassifierCase {
  label: string;
  classes: number;
  kernel: 'LINEAR' | 'POLY' | 'RBF' | 'SIGMOID';
  params?: number[];
  proba?: boolean;
  post?: string;
  /** liblinear layout: coefficients per class, no support vectors. */
  linear?: 'mixed' | 'positive';
}

const CLASSIFIERS: ClassifierCase[] = [
  { label: '3 classes, RBF, decision values', classes: 3, kernel: 'RBF', params: [0.7, 0, 3] },
  { label: '3 classes, RBF, probabilities (SVC(probability=True))', classes: 3, kernel: 'RBF', params: [0.5, 0, 3], proba: true },
  { label: '4 classes, POLY degree 3, probabilities', classes: 4, kernel: 'POLY', params: [0.4, 1, 3], proba: true },
  { label: '4 classes, POLY degree 2, decision values, SOFTMAX', classes: 4, kernel: 'POLY', params: [0.3, 0.5, 2], post: 'SOFTMAX' },
  { label: '3 classes, SIGMOID, decision values, LOGISTIC', classes: 3, kernel: 'SIGMOID', params: [0.2, -0.3, 0], post: 'LOGISTIC' },
  { label: '3 classes, LINEAR kernel, probabilities', classes: 3, kernel: 'LINEAR', proba: true },
  { label: '2 classes, RBF, decision value, NONE', classes: 2, kernel: 'RBF', params: [0.3, 0, 3] },
  { label: '2 classes, RBF, decision value, LOGISTIC', classes: 2, kernel: 'RBF', params: [0.6, 0, 3], post: 'LOGISTIC' },
  { label: '2 classes, RBF, decision value, SOFTMAX_ZERO', classes: 2, kernel: 'RBF', params: [0.9, 0, 3], post: 'SOFTMAX_ZERO' },
  { label: '2 classes, POLY degree 4, probabilities', classes: 2, kernel: 'POLY', params: [0.25, 1, 4], proba: true },
  { label: 'liblinear, 3 classes, SOFTMAX', classes: 3, kernel: 'LINEAR', linear: 'mixed', post: 'SOFTMAX' },
  { label: 'liblinear, 2 classes, mixed weights', classes: 2, kernel: 'LINEAR', linear: 'mixed' },
  { label: 'liblinear, 2 classes, positive weights', classes: 2, kernel: 'LINEAR', linear: 'positive' },
];

function classifierAttrs(c: ClassifierCase, r: Random): Record<string, AttributeValue> {
  const pairs = (c.classes * (c.classes - 1)) / 2;
  const attrs: Record<string, AttributeValue> = { kernel_type: { string: c.kernel }, classlabels_ints: { ints: Array.from({ length: c.classes }, (_, k) => 5 + 2 * k) }, post_transform: { string: c.post ?? 'NONE' } };
  attrs.kernel_params = { floats: c.params ?? [0, 0, 0] };
  if (c.linear) {
    attrs.coefficients = { floats: c.linear === 'positive' ? uniform(r, c.classes * F, 0, 0.4) : uniform(r, c.classes * F, -1, 1) };
    attrs.rho = { floats: uniform(r, 1, -0.3, 0.3) };
    return attrs;
  }
  const perClass = Array.from({ length: c.classes }, () => 2 + Math.floor(r.next() * 4));
  const vectors = perClass.reduce((a, b) => a + b, 0);
  attrs.vectors_per_class = { ints: perClass };
  attrs.support_vectors = { floats: uniform(r, vectors * F, -2, 2) };
  attrs.coefficients = { floats: uniform(r, (c.classes - 1) * vectors, -1, 1) };
  attrs.rho = { floats: uniform(r, pairs, -0.1, 0.1) };
  if (c.proba) {
    attrs.prob_a = { floats: uniform(r, pairs, -3, -0.5) };
    attrs.prob_b = { floats: uniform(r, pairs, -0.3, 0.3) };
  }
  return attrs;
}

describe('SVMClassifier vs onnxruntime-node', () => {
  CLASSIFIERS.forEach((c, i) => {
    test(c.label, async () => {
      const pairs = (c.classes * (c.classes - 1)) / 2;
      const width = c.proba || c.linear ? c.classes : c.classes > 2 ? pairs : 2;
      const bytes = singleNodeGraph('SVMClassifier', F, classifierAttrs(c, new Random(1000 + i)), [
        { name: 'label', dtype: 'int64', shape: ['N'] },
        { name: 'probabilities', dtype: 'float32', shape: ['N', width] },
      ], ['label', 'probabilities'], 1);
      const { checked, labels } = await compare(bytes, ['label', 'probabilities'], 1100 + i);
      expect(checked).toBe(ROWS * (1 + width));
      // The random models are not degenerate: more than one class wins.
      expect(labels).toBeGreaterThan(1);
    });
  });

  test('PROBIT on two classes without probabilities is refused (onnxruntime leaves a score unset)', () => {
    const attrs = classifierAttrs({ label: '', classes: 2, kernel: 'RBF', params: [1, 0, 3] }, new Random(5));
    const bytes = singleNodeGraph('SVMClassifier', F, { ...attrs, post_transform: { string: 'PROBIT' } }, [{ name: 'probabilities', dtype: 'float32', shape: ['N', 2] }], ['label', 'probabilities'], 1);
    expect(() => compileOnnxToModule(bytes, { name: 'x' })).toThrow(/node "SVMClassifier_0" \(op SVMClassifier\): PROBIT.*"engine": "ort"/);
  });
});

describe('SVMRegressor vs onnxruntime-node', () => {
  const cases: Array<{ label: string; kernel: string; params?: number[]; vectors: number; oneClass?: boolean }> = [
    { label: 'RBF (SVR)', kernel: 'RBF', params: [0.5, 0, 3], vectors: 12 },
    { label: 'POLY degree 2', kernel: 'POLY', params: [0.3, 1, 2], vectors: 9 },
    { label: 'SIGMOID', kernel: 'SIGMOID', params: [0.2, 0.1, 0], vectors: 7 },
    { label: 'LINEAR kernel', kernel: 'LINEAR', vectors: 6 },
    { label: 'liblinear form (no support vectors)', kernel: 'LINEAR', vectors: 0 },
    { label: 'one-class (OneClassSVM), RBF', kernel: 'RBF', params: [0.8, 0, 3], vectors: 10, oneClass: true },
  ];
  cases.forEach((c, i) => {
    test(c.label, async () => {
      const r = new Random(1200 + i);
      const attrs: Record<string, AttributeValue> = { kernel_type: { string: c.kernel }, n_supports: { int: c.vectors }, rho: { floats: uniform(r, 1, -0.5, 0.5) } };
      attrs.kernel_params = { floats: c.params ?? [0, 0, 0] };
      if (c.vectors > 0) {
        attrs.support_vectors = { floats: uniform(r, c.vectors * F, -2, 2) };
        attrs.coefficients = { floats: uniform(r, c.vectors, -1, 1) };
      } else attrs.coefficients = { floats: uniform(r, F, -1, 1) };
      if (c.oneClass) attrs.one_class = { int: 1 };
      const bytes = singleNodeGraph('SVMRegressor', F, attrs, [{ name: 'variable', dtype: 'float32', shape: ['N', 1] }], ['variable'], 1);
      const { checked } = await compare(bytes, ['variable'], 1300 + i);
      expect(checked).toBe(ROWS);
    });
  });
});
