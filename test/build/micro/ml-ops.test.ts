// ai.onnx.ml ops compiled by the micro engine against onnxruntime-node on random ensembles
// (written here with the repo's builder, in sklearn-onnx's layout): every node mode, NaN with
// and without missing_value_tracks_true, rows exactly on split values, every aggregate and
// post transform, base values, the two-class special cases, *_as_tensor attributes, string
// labels behind a ZipMap; then the linear models, Scaler and Normalizer.
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { MicroCompileError } from '../../../build/micro/errors.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import type { AttributeValue } from '../../../build/onnx/builder.ts';
import { ensemble5Attributes, ensembleAttributes, randomRows, randomTrees, runOnOrtNode, singleNodeGraph, type RandomTreesOptions } from './ml-graphs.ts';
import { tensorMismatch } from './oracle.ts';
import { Random } from './property-harness.ts';

const TOLERANCE = 1e-4;
const ROWS = 128;
const ALL_MODES = ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ'];

async function compareWithOrt(bytes: Uint8Array, features: number, outputs: string[], seed: number): Promise<{ checked: number }> {
  const compiled = compileOnnxToModule(bytes, { name: 'ml-test' });
  const module = await importMicroModule(compiled.source, 'ml');
  const r = new Random(seed);
  const X = randomRows(r, ROWS, features);
  const feeds = { X: { dtype: 'float32' as const, dims: [ROWS, features], data: X } };
  const expected = await runOnOrtNode(bytes, feeds, outputs);
  const actual = module.run(feeds);
  let checked = 0;
  for (const name of outputs) {
    const e = expected[name]!;
    const a = actual[name];
    expect(a, `output ${name}`).toBeDefined();
    // Labels exact, scores within the tolerance.
    expect(tensorMismatch(e, a!, e.dtype === 'int64' ? 0 : TOLERANCE), `output ${name}`).toBeNull();
    checked += e.data.length;
  }
  return { checked };
}

interface RegressorCase {
  label: string;
  trees: Partial<RandomTreesOptions>;
  attrs?: Record<string, AttributeValue>;
  asTensor?: boolean;
}

const REGRESSORS: RegressorCase[] = [
  { label: 'SUM, one target, BRANCH_LEQ (sklearn layout)', trees: { modes: ['BRANCH_LEQ'] } },
  { label: 'AVERAGE, one target, base value', trees: {}, attrs: { aggregate_function: { string: 'AVERAGE' }, base_values: { floats: [0.75] } } },
  { label: 'MIN over 3 targets, mixed modes', trees: { targets: 3, modes: ALL_MODES, perLeaf: 2 }, attrs: { aggregate_function: { string: 'MIN' } } },
  { label: 'MAX over 3 targets, base values', trees: { targets: 3, modes: ALL_MODES }, attrs: { aggregate_function: { string: 'MAX' }, base_values: { floats: [0.1, -0.2, 0.3] } } },
  { label: 'SUM, 3 targets, SOFTMAX', trees: { targets: 3 }, attrs: { post_transform: { string: 'SOFTMAX' } } },
  { label: 'SUM, 3 targets, LOGISTIC', trees: { targets: 3, modes: ['BRANCH_GT', 'BRANCH_EQ'] }, attrs: { post_transform: { string: 'LOGISTIC' } } },
  { label: 'SUM, 3 targets, SOFTMAX_ZERO, sparse leaves', trees: { targets: 3, perLeaf: 1 }, attrs: { post_transform: { string: 'SOFTMAX_ZERO' } } },
  { label: 'SUM, 2 targets, PROBIT, weights in (0, 0.5)', trees: { targets: 2, weights: [0.0, 0.1] }, attrs: { post_transform: { string: 'PROBIT' } } },
  // Scores stay below 0.3: within ~1e-3 of 0.5, onnxruntime's float32 erfinv approximation steps by 1e-3 per ulp.
  { label: 'one target, PROBIT', trees: { weights: [0.0, 0.06], trees: 5 }, attrs: { post_transform: { string: 'PROBIT' } } },
  { label: 'missing values track true everywhere', trees: { missingTrue: 1, modes: ALL_MODES } },
  { label: '*_as_tensor (double) thresholds and weights', trees: { modes: ['BRANCH_LT'] }, asTensor: true },
];

describe('TreeEnsembleRegressor vs onnxruntime-node', () => {
  REGRESSORS.forEach((c, i) => {
    test(c.label, async () => {
      const o: RandomTreesOptions = { trees: 12, depth: 5, features: 6, modes: ['BRANCH_LEQ', 'BRANCH_LT'], missingTrue: 0.3, targets: 1, weights: [-1, 1], ...c.trees };
      const nodes = randomTrees(new Random(100 + i), o);
      const attrs = { ...ensembleAttributes(nodes, 'target', c.asTensor), n_targets: { int: o.targets }, ...c.attrs };
      const bytes = singleNodeGraph('TreeEnsembleRegressor', o.features, attrs, [{ name: 'variable', dtype: 'float32', shape: ['N', o.targets] }], ['variable']);
      const { checked } = await compareWithOrt(bytes, o.features, ['variable'], 200 + i);
      expect(checked).toBe(ROWS * o.targets);
    });
  });
});

interface ClassifierCase {
  label: string;
  classes: number;
  trees: Partial<RandomTreesOptions>;
  attrs?: Record<string, AttributeValue>;
  /** Leaves weigh only this class (sklearn-onnx's binary gradient boosting). */
  onlyClass?: number;
}

const CLASSIFIERS: ClassifierCase[] = [
  { label: '3 classes, probabilities as weights (random forest layout)', classes: 3, trees: { weights: [0, 0.1] } },
  { label: '3 classes, SOFTMAX, base values (gradient boosting layout)', classes: 3, trees: { modes: ALL_MODES }, attrs: { post_transform: { string: 'SOFTMAX' }, base_values: { floats: [0.2, -0.1, 0.05] } } },
  { label: '4 classes, LOGISTIC, sparse leaves', classes: 4, trees: { perLeaf: 2 }, attrs: { post_transform: { string: 'LOGISTIC' } } },
  { label: '3 classes, SOFTMAX_ZERO, one class per leaf', classes: 3, trees: { perLeaf: 1 }, attrs: { post_transform: { string: 'SOFTMAX_ZERO' } } },
  { label: '2 classes, both weighted (random forest binary)', classes: 2, trees: { weights: [0, 0.1] } },
  { label: '2 classes, both weighted, SOFTMAX', classes: 2, trees: {}, attrs: { post_transform: { string: 'SOFTMAX' } } },
  { label: '2 classes, one weighted, LOGISTIC, one base value (gradient boosting binary)', classes: 2, onlyClass: 0, trees: {}, attrs: { post_transform: { string: 'LOGISTIC' }, base_values: { floats: [-0.3] } } },
  { label: '2 classes, class 1 probability as class id 0 (sklearn-onnx binary random forest)', classes: 2, onlyClass: 0, trees: { weights: [0, 0.1] } },
  { label: '2 classes, one weighted (id 1), positive weights, NONE', classes: 2, onlyClass: 1, trees: { weights: [0, 0.1] } },
  { label: '2 classes, one weighted, mixed weights, base values for both', classes: 2, onlyClass: 1, trees: {}, attrs: { base_values: { floats: [0.1, 0.2] } } },
  { label: '2 classes, one weighted (id 0), base values for both', classes: 2, onlyClass: 0, trees: {}, attrs: { base_values: { floats: [0.1, 0.2] } } },
  { label: '2 classes, one weighted (id 1), PROBIT', classes: 2, onlyClass: 1, trees: { weights: [0, 0.1] }, attrs: { post_transform: { string: 'PROBIT' } } },
  { label: '4 classes, SOFTMAX, 2 trees of one class per leaf (unscored classes)', classes: 4, trees: { perLeaf: 1, trees: 2, depth: 2 }, attrs: { post_transform: { string: 'SOFTMAX' } } },
  { label: '2 classes, one weighted, mixed weights, NONE', classes: 2, onlyClass: 0, trees: {} },
];

function classifierGraph(c: ClassifierCase, seed: number, labels: 'int' | 'string' = 'int', zipmap = false): { bytes: Uint8Array; features: number } {
  const o: RandomTreesOptions = { trees: 10, depth: 5, features: 5, modes: ['BRANCH_LEQ'], missingTrue: 0.2, targets: c.classes, weights: [-1, 1], ...c.trees };
  const nodes = randomTrees(new Random(seed), o);
  if (c.onlyClass !== undefined) for (const n of nodes) if (n.weights) n.weights = [[c.onlyClass, n.weights[0]![1]]];
  const classLabels: Record<string, AttributeValue> =
    labels === 'int' ? { classlabels_int64s: { ints: Array.from({ length: c.classes }, (_, k) => 10 + k * 3) } } : { classlabels_strings: { strings: Array.from({ length: c.classes }, (_, k) => `class-${k}`) } };
  const attrs = { ...ensembleAttributes(nodes, 'class'), ...classLabels, ...c.attrs };
  const outputs = [
    ...(labels === 'int' ? [{ name: 'label', dtype: 'int64' as const, shape: ['N'] }] : []),
    { name: 'probabilities', dtype: 'float32' as const, shape: ['N', c.classes] },
  ];
  return { bytes: singleNodeGraph('TreeEnsembleClassifier', o.features, attrs, zipmap ? [] : outputs, ['label', 'probabilities']), features: o.features };
}

describe('TreeEnsembleClassifier vs onnxruntime-node', () => {
  CLASSIFIERS.forEach((c, i) => {
    test(c.label, async () => {
      const { bytes, features } = classifierGraph(c, 300 + i);
      const { checked } = await compareWithOrt(bytes, features, ['label', 'probabilities'], 400 + i);
      expect(checked).toBe(ROWS * (1 + c.classes));
    });
  });

  test('string labels: the label output is refused when asked for, dropped with only the probabilities served', async () => {
    const c = CLASSIFIERS[0]!;
    const { bytes, features } = classifierGraph(c, 300, 'string');
    const { checked } = await compareWithOrt(bytes, features, ['probabilities'], 500);
    expect(checked).toBe(ROWS * c.classes);
  });
});

describe('TreeEnsemble (ai.onnx.ml opset 5) vs onnxruntime-node', () => {
  // aggregate_function 0 AVERAGE, 1 SUM, 2 MIN, 3 MAX; post_transform 0 NONE, 1 SOFTMAX, 2 LOGISTIC, 3 SOFTMAX_ZERO, 4 PROBIT.
  const cases: Array<{ label: string; targets: number; aggregate: number; post: number; modes: string[] }> = [
    { label: 'SUM, one target, BRANCH_LEQ', targets: 1, aggregate: 1, post: 0, modes: ['BRANCH_LEQ'] },
    { label: 'AVERAGE, 3 targets, mixed modes', targets: 3, aggregate: 0, post: 0, modes: ALL_MODES },
    { label: 'MIN, 2 targets', targets: 2, aggregate: 2, post: 0, modes: ['BRANCH_LT', 'BRANCH_GTE'] },
    { label: 'MAX, 3 targets, SOFTMAX_ZERO', targets: 3, aggregate: 3, post: 3, modes: ALL_MODES },
    // Sets of grid values: non-negative ones (onnxruntime unrolls them into BRANCH_EQ chains) and negative ones (its big-set path).
    { label: 'BRANCH_MEMBER only (categorical splits), SUM', targets: 1, aggregate: 1, post: 0, modes: ['BRANCH_MEMBER'] },
    { label: 'BRANCH_MEMBER mixed with every other mode, AVERAGE, 2 targets', targets: 2, aggregate: 0, post: 0, modes: [...ALL_MODES, 'BRANCH_MEMBER', 'BRANCH_MEMBER'] },
  ];
  const graph5 = async (c: (typeof cases)[number], seed: number): Promise<Uint8Array> => {
    const nodes = randomTrees(new Random(seed), { trees: 8, depth: 4, features: 5, modes: c.modes, missingTrue: 0.3, targets: c.targets, perLeaf: 1, weights: [-1, 1] });
    const { GraphBuilder } = await import('../../../build/onnx/builder.ts');
    const g = new GraphBuilder('te5');
    g.input('X', 'float32', ['N', 5]);
    g.node('TreeEnsemble', ['X'], ['Y'], ensemble5Attributes(nodes, c.aggregate, c.post, c.targets), 'ai.onnx.ml');
    g.output('Y', 'float32', ['N', c.targets]);
    return g.encode(21, 'edgeinfer-test', { 'ai.onnx.ml': 5 });
  };
  cases.forEach((c, i) => {
    test(c.label, async () => {
      const { checked } = await compareWithOrt(await graph5(c, 600 + i), 5, ['Y'], 700 + i);
      expect(checked).toBe(ROWS * c.targets);
    });
  });

  test('post_transform SOFTMAX (1) and LOGISTIC (2) are refused: onnxruntime reads them swapped', async () => {
    for (const post of [1, 2]) {
      const bytes = await graph5({ label: '', targets: 3, aggregate: 1, post, modes: ['BRANCH_LEQ'] }, 650);
      expect(() => compileOnnxToModule(bytes, { name: 'x' })).toThrow(/read as (LOGISTIC|SOFTMAX) by onnxruntime.*Softmax or Sigmoid node/);
    }
  });
});

describe('ZipMap and refusals', () => {
  test('a ZipMap output (seq(map)) is served as its input, the probabilities tensor', async () => {
    const o = { trees: 4, depth: 3, features: 5, modes: ['BRANCH_LEQ'], missingTrue: 0, targets: 3, weights: [0, 0.25] as [number, number] };
    const nodes = randomTrees(new Random(7), o);
    const { GraphBuilder } = await import('../../../build/onnx/builder.ts');
    const build = (zipmap: boolean): Uint8Array => {
      const g = new GraphBuilder('zipmap');
      g.input('X', 'float32', ['N', 5]);
      g.node('TreeEnsembleClassifier', ['X'], ['label', 'probabilities'], { ...ensembleAttributes(nodes, 'class'), classlabels_strings: { strings: ['a', 'b', 'c'] } }, 'ai.onnx.ml');
      if (zipmap) {
        g.node('ZipMap', ['probabilities'], ['output_probability'], { classlabels_strings: { strings: ['a', 'b', 'c'] } }, 'ai.onnx.ml');
        g.sequenceOfMapsOutput('output_probability', 'string');
      } else g.output('probabilities', 'float32', ['N', 3]);
      return g.encode(17, 'edgeinfer-test', { 'ai.onnx.ml': 1 });
    };
    const compiled = compileOnnxToModule(build(true), { name: 'zipmap' });
    expect(compiled.metadata.outputs).toEqual([{ name: 'probabilities', dtype: 'float32', shape: [-1, 3] }]);
    expect(compiled.metadata.ops).not.toHaveProperty('ai.onnx.ml.ZipMap');
    // onnxruntime-node cannot return a seq(map): the reference runs the same graph without the ZipMap.
    const module = await importMicroModule(compiled.source, 'zipmap');
    const X = randomRows(new Random(8), ROWS, 5);
    const feeds = { X: { dtype: 'float32' as const, dims: [ROWS, 5], data: X } };
    const expected = await runOnOrtNode(build(false), feeds, ['probabilities']);
    expect(tensorMismatch(expected.probabilities!, module.run(feeds).probabilities!, TOLERANCE)).toBeNull();
  });

  test('an unknown node mode and a PROBIT binary case are refused with the fix', () => {
    const nodes = randomTrees(new Random(10), { trees: 2, depth: 2, features: 3, modes: ['BRANCH_MEMBER'], missingTrue: 0, targets: 2, weights: [0, 1] });
    const outputs = [{ name: 'probabilities', dtype: 'float32' as const, shape: ['N', 2] }];
    const member = singleNodeGraph('TreeEnsembleClassifier', 3, { ...ensembleAttributes(nodes, 'class'), classlabels_int64s: { ints: [0, 1] } }, outputs, ['label', 'probabilities']);
    expect(() => compileOnnxToModule(member, { name: 'x' })).toThrow(/node "TreeEnsembleClassifier_0" \(op TreeEnsembleClassifier\): node mode "BRANCH_MEMBER".*"engine": "ort"/);
    const leq = randomTrees(new Random(10), { trees: 2, depth: 2, features: 3, modes: ['BRANCH_LEQ'], missingTrue: 0, targets: 2, weights: [0, 1] });
    for (const n of leq) if (n.weights) n.weights = [[0, n.weights[1]![1]]];
    const probit = singleNodeGraph('TreeEnsembleClassifier', 3, { ...ensembleAttributes(leq, 'class'), classlabels_int64s: { ints: [0, 1] }, post_transform: { string: 'PROBIT' } }, outputs, ['label', 'probabilities']);
    expect(() => compileOnnxToModule(probit, { name: 'x' })).toThrow(/PROBIT on two classes.*LOGISTIC or NONE/);
  });
});

describe('linear models, Scaler, Normalizer vs onnxruntime-node', () => {
  const F = 6;
  const r = new Random(77);
  const coef = (n: number) => Array.from({ length: n }, () => Math.fround(r.next() * 2 - 1));
  const cases: Array<{ label: string; op: string; attrs: Record<string, AttributeValue>; outputs: Array<{ name: string; dtype: 'float32' | 'int64'; shape: Array<number | string> }>; nodeOutputs: string[] }> = [
    { label: 'LinearRegressor, 1 target', op: 'LinearRegressor', attrs: { coefficients: { floats: coef(F) }, intercepts: { floats: [0.5] } }, outputs: [{ name: 'variable', dtype: 'float32', shape: ['N', 1] }], nodeOutputs: ['variable'] },
    { label: 'LinearRegressor, 3 targets', op: 'LinearRegressor', attrs: { coefficients: { floats: coef(3 * F) }, intercepts: { floats: [0.5, -1, 2] }, targets: { int: 3 } }, outputs: [{ name: 'variable', dtype: 'float32', shape: ['N', 3] }], nodeOutputs: ['variable'] },
    ...(['NONE', 'LOGISTIC', 'SOFTMAX', 'SOFTMAX_ZERO'] as const).map((post) => ({
      label: `LinearClassifier, 3 classes, ${post}`, op: 'LinearClassifier',
      attrs: { coefficients: { floats: coef(3 * F) }, intercepts: { floats: [0.1, 0.2, -0.3] }, classlabels_ints: { ints: [4, 5, 9] }, post_transform: { string: post } } as Record<string, AttributeValue>,
      outputs: [{ name: 'label', dtype: 'int64' as const, shape: ['N'] }, { name: 'probabilities', dtype: 'float32' as const, shape: ['N', 3] }], nodeOutputs: ['label', 'probabilities'],
    })),
    ...(['NONE', 'LOGISTIC', 'SOFTMAX', 'SOFTMAX_ZERO'] as const).map((post) => ({
      label: `LinearClassifier, binary (one weight row), ${post}`, op: 'LinearClassifier',
      attrs: { coefficients: { floats: coef(F) }, intercepts: { floats: [0.1] }, classlabels_ints: { ints: [0, 1] }, post_transform: { string: post } } as Record<string, AttributeValue>,
      outputs: [{ name: 'label', dtype: 'int64' as const, shape: ['N'] }, { name: 'probabilities', dtype: 'float32' as const, shape: ['N', 2] }], nodeOutputs: ['label', 'probabilities'],
    })),
    { label: 'Scaler, per feature', op: 'Scaler', attrs: { offset: { floats: coef(F) }, scale: { floats: coef(F) } }, outputs: [{ name: 'Y', dtype: 'float32', shape: ['N', F] }], nodeOutputs: ['Y'] },
    { label: 'Scaler, one offset and scale', op: 'Scaler', attrs: { offset: { floats: [0.25] }, scale: { floats: [3] } }, outputs: [{ name: 'Y', dtype: 'float32', shape: ['N', F] }], nodeOutputs: ['Y'] },
    ...(['MAX', 'L1', 'L2'] as const).map((norm) => ({ label: `Normalizer ${norm}`, op: 'Normalizer', attrs: { norm: { string: norm } } as Record<string, AttributeValue>, outputs: [{ name: 'Y', dtype: 'float32' as const, shape: ['N', F] }], nodeOutputs: ['Y'] })),
  ];
  cases.forEach((c, i) => {
    test(c.label, async () => {
      const bytes = singleNodeGraph(c.op, F, c.attrs, c.outputs, c.nodeOutputs, 1);
      const { checked } = await compareWithOrt(bytes, F, c.outputs.map((o) => o.name), 900 + i);
      expect(checked).toBeGreaterThanOrEqual(ROWS);
    });
  });
});
