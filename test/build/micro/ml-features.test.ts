// The ai.onnx.ml feature ops sklearn-onnx pipelines emit around a model (Imputer, Binarizer,
// ArrayFeatureExtractor, LabelEncoder), compiled by the micro engine and compared with
// onnxruntime-node on random rows with NaN, exact replaced values and repeated keys; then the
// refusals (string tensors, engine-dependent defaults) and the errors onnxruntime raises too.
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import onnxProto from 'onnx-proto';
import { decodeModel, GraphBuilder, type AttributeValue, type OnnxDType } from '../../../build/onnx/builder.ts';
import type { Tensor, TensorMap } from '../../../core/engine/types.ts';
import { ensembleAttributes, ML_DOMAIN, randomRows, runOnOrtNode } from './ml-graphs.ts';
import { tensorMismatch } from './oracle.ts';
import { Random } from './property-harness.ts';

const ROWS = 128;
const F = 5;

interface OneNode {
  op: string;
  attrs: Record<string, AttributeValue>;
  input?: OnnxDType;
  output: OnnxDType;
  outShape?: Array<number | string>;
  mlOpset?: number;
  /** A second input: constant indices (initializer) or a graph input of int64 indices. */
  indices?: { constant: number[] } | { input: number };
}

function graph(c: OneNode): Uint8Array {
  const g = new GraphBuilder(c.op);
  g.input('X', c.input ?? 'float32', ['N', F]);
  const inputs = ['X'];
  if (c.indices && 'constant' in c.indices) inputs.push(g.initializer('idx', { dtype: 'int64', dims: [c.indices.constant.length], data: c.indices.constant }));
  if (c.indices && 'input' in c.indices) inputs.push(g.input('idx', 'int64', [c.indices.input]));
  g.node(c.op, inputs, ['Y'], c.attrs, ML_DOMAIN);
  g.output('Y', c.output, c.outShape ?? ['N', F]);
  return g.encode(17, 'edgeinfer-test', { [ML_DOMAIN]: c.mlOpset ?? 2 });
}

/** Rows of grid values, values in between, NaN; `ints` rounds them to small integers (no NaN). */
function rows(seed: number, dtype: OnnxDType, nanRate = 0.15): Tensor {
  const x = randomRows(new Random(seed), ROWS, F, nanRate);
  if (dtype === 'int64') return { dtype: 'int64', dims: [ROWS, F], data: BigInt64Array.from(x, (v) => BigInt(Number.isNaN(v) ? 0 : Math.round(v * 2))) };
  return { dtype: 'float32', dims: [ROWS, F], data: x };
}

async function compare(c: OneNode, feeds: TensorMap): Promise<number> {
  const bytes = graph(c);
  const expected = await runOnOrtNode(bytes, feeds, ['Y']);
  const module = await importMicroModule(compileOnnxToModule(bytes, { name: c.op }).source, c.op);
  const actual = module.run(feeds);
  expect(tensorMismatch(expected.Y!, actual.Y!, 0), c.op).toBeNull();
  return expected.Y!.data.length;
}

const floats = (values: number[]): AttributeValue => ({ floats: values });
const ints = (values: number[]): AttributeValue => ({ ints: values });

describe('Imputer vs onnxruntime-node', () => {
  const cases: Array<{ label: string; c: OneNode; nan?: number }> = [
    { label: 'NaN → one value per feature (sklearn SimpleImputer)', c: { op: 'Imputer', attrs: { imputed_value_floats: floats([0.5, -1, 2, 0.25, 7]), replaced_value_float: { float: NaN } }, output: 'float32' } },
    { label: 'NaN → a single value', c: { op: 'Imputer', attrs: { imputed_value_floats: floats([3]), replaced_value_float: { float: NaN } }, output: 'float32' } },
    { label: '0 → per-feature values (NaN stays NaN)', c: { op: 'Imputer', attrs: { imputed_value_floats: floats([1, 2, 3, 4, 5]), replaced_value_float: { float: 0 } }, output: 'float32' } },
    { label: 'a value count neither 1 nor the feature count: onnxruntime uses the first', c: { op: 'Imputer', attrs: { imputed_value_floats: floats([9, 8]), replaced_value_float: { float: -1 } }, output: 'float32' } },
    { label: 'int64: -1 → per-feature values', c: { op: 'Imputer', input: 'int64', attrs: { imputed_value_int64s: ints([10, 20, 30, 40, 50]), replaced_value_int64: { int: -1 } }, output: 'int64' } },
  ];
  cases.forEach(({ label, c }, i) => {
    test(label, async () => {
      const x = rows(50 + i, c.input ?? 'float32');
      expect(await compare(c, { X: x })).toBe(ROWS * F);
    });
  });
});

describe('Binarizer vs onnxruntime-node', () => {
  test('threshold 0.25, exact threshold values included', async () => {
    const x = rows(60, 'float32', 0);
    expect(await compare({ op: 'Binarizer', attrs: { threshold: { float: 0.25 } }, output: 'float32' }, { X: x })).toBe(ROWS * F);
  });

  test('NaN input fails on both engines (bad input for the micro module)', async () => {
    const c: OneNode = { op: 'Binarizer', attrs: { threshold: { float: 0 } }, output: 'float32' };
    const feeds = { X: rows(61, 'float32', 0.2) };
    await expect(runOnOrtNode(graph(c), feeds, ['Y'])).rejects.toThrow(/NaN/);
    const module = await importMicroModule(compileOnnxToModule(graph(c), { name: 'b' }).source, 'b');
    expect(() => module.run(feeds)).toThrow(expect.objectContaining({ code: 'bad_input', message: expect.stringMatching(/Binarizer input is NaN/) }));
  });

  test('a missing threshold is refused (onnxruntime and the ONNX spec read it differently)', () => {
    expect(() => compileOnnxToModule(graph({ op: 'Binarizer', attrs: {}, output: 'float32' }), { name: 'b' })).toThrow(/node "Binarizer_0" \(op Binarizer\): threshold is not set.*set it explicitly/);
  });
});

describe('ArrayFeatureExtractor vs onnxruntime-node', () => {
  test('constant indices, out of order and repeated', async () => {
    const c: OneNode = { op: 'ArrayFeatureExtractor', attrs: {}, output: 'float32', outShape: ['N', 4], indices: { constant: [4, 0, 2, 2] } };
    expect(await compare(c, { X: rows(70, 'float32') })).toBe(ROWS * 4);
  });

  test('constant contiguous indices (one block copy per row), int64 data', async () => {
    const c: OneNode = { op: 'ArrayFeatureExtractor', attrs: {}, input: 'int64', output: 'int64', outShape: ['N', 3], indices: { constant: [1, 2, 3] } };
    expect(await compare(c, { X: rows(71, 'int64') })).toBe(ROWS * 3);
  });

  test('indices as a graph input; an index out of range fails on both engines', async () => {
    const c: OneNode = { op: 'ArrayFeatureExtractor', attrs: {}, output: 'float32', outShape: ['N', 3], indices: { input: 3 } };
    const x = rows(72, 'float32');
    expect(await compare(c, { X: x, idx: { dtype: 'int64', dims: [3], data: BigInt64Array.from([3n, 1n, 4n]) } })).toBe(ROWS * 3);
    const bad = { X: x, idx: { dtype: 'int64' as const, dims: [3], data: BigInt64Array.from([0n, 5n, 1n]) } };
    await expect(runOnOrtNode(graph(c), bad, ['Y'])).rejects.toThrow(/out of range/);
    const module = await importMicroModule(compileOnnxToModule(graph(c), { name: 'a' }).source, 'a');
    expect(() => module.run(bad)).toThrow(expect.objectContaining({ code: 'bad_input' }));
  });

  test('a constant index past the features is refused at compile time', () => {
    const c: OneNode = { op: 'ArrayFeatureExtractor', attrs: {}, output: 'float32', outShape: ['N', 1], indices: { constant: [5] } };
    expect(() => compileOnnxToModule(graph(c), { name: 'a' })).toThrow(/index 5 is out of range for 5 features/);
  });
});

describe('LabelEncoder vs onnxruntime-node', () => {
  const keysF = [-1.5, -1, 0, 0.25, 1, 2, 0.25];
  const keysI = [-3, -2, 0, 1, 2, 4, 1];
  const cases: Array<{ label: string; c: OneNode }> = [
    { label: 'int64 → float (opset 2), a repeated key keeps its first value', c: { op: 'LabelEncoder', input: 'int64', attrs: { keys_int64s: ints(keysI), values_floats: floats([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 9]), default_float: { float: -7 } }, output: 'float32' } },
    { label: 'float → int64 (opset 2), default -1', c: { op: 'LabelEncoder', attrs: { keys_floats: floats(keysF), values_int64s: ints([1, 2, 3, 4, 5, 6, 7]) }, output: 'int64' } },
    {
      label: 'int64 → int64 (opset 4, tensor attributes)',
      c: {
        op: 'LabelEncoder', input: 'int64', output: 'int64', mlOpset: 4,
        attrs: { keys_tensor: { tensor: { dtype: 'int64', dims: [7], data: keysI } }, values_tensor: { tensor: { dtype: 'int64', dims: [7], data: [10, 20, 30, 40, 50, 60, 70] } }, default_tensor: { tensor: { dtype: 'int64', dims: [1], data: [99] } } },
      },
    },
    {
      label: 'float → float (opset 4, tensor attributes), default -0',
      c: { op: 'LabelEncoder', output: 'float32', mlOpset: 4, attrs: { keys_tensor: { tensor: { dtype: 'float32', dims: [7], data: keysF } }, values_tensor: { tensor: { dtype: 'float32', dims: [7], data: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7] } } } },
    },
  ];
  cases.forEach(({ label, c }, i) => {
    test(label, async () => {
      expect(await compare(c, { X: rows(80 + i, c.input ?? 'float32') })).toBe(ROWS * F);
    });
  });

  test('string keys or values at the graph boundary are refused with the fix', () => {
    const g = new GraphBuilder('le');
    g.input('X', 'int64', ['N']);
    g.node('LabelEncoder', ['X'], ['Y'], { keys_int64s: ints([0, 1]), values_strings: { strings: ['a', 'b'] } }, ML_DOMAIN);
    g.stringOutput('Y', ['N']);
    expect(() => compileOnnxToModule(g.encode(17, 'edgeinfer-test', { [ML_DOMAIN]: 2 }), { name: 'le' })).toThrow(/"engine": "ort"|string/);
  });
});

describe('a string label mapped by a LabelEncoder is folded into the classifier', () => {
  // A small forest with string labels; its label goes through a LabelEncoder to numbers.
  const nodes = (() => {
    const a = { tree: 0, id: 0, feature: 0, value: 0, mode: 'BRANCH_LEQ', trueId: 1, falseId: 2, missingTrue: 0 };
    const b = { tree: 0, id: 1, feature: 1, value: 0.5, mode: 'BRANCH_LEQ', trueId: 3, falseId: 4, missingTrue: 0 };
    const leaf = (id: number, k: number) => ({ tree: 0, id, feature: 0, value: 0, mode: 'LEAF', trueId: 0, falseId: 0, missingTrue: 0, weights: [[k, 1]] as Array<[number, number]> });
    return [a, b, leaf(2, 2), leaf(3, 0), leaf(4, 1)];
  })();
  const build = (encoder: Record<string, AttributeValue>, out: OnnxDType, mlOpset: number, extraReader = false): Uint8Array => {
    const g = new GraphBuilder('fold');
    g.input('X', 'float32', ['N', F]);
    g.node('TreeEnsembleClassifier', ['X'], ['label', 'probabilities'], { ...ensembleAttributes(nodes, 'class'), classlabels_strings: { strings: ['cat', 'dog', 'eel'] } }, ML_DOMAIN);
    g.node('LabelEncoder', ['label'], ['Y'], encoder, ML_DOMAIN);
    if (extraReader) {
      g.node('Identity', ['label'], ['label_copy']);
      g.stringOutput('label_copy', ['N']);
    }
    g.output('Y', out, ['N']);
    return g.encode(17, 'edgeinfer-test', { [ML_DOMAIN]: mlOpset });
  };
  const cases: Array<{ label: string; encoder: Record<string, AttributeValue>; out: OnnxDType; mlOpset: number }> = [
    { label: 'keys_strings → values_int64s (opset 2), a label missing from the keys gets the default', encoder: { keys_strings: { strings: ['eel', 'cat'] }, values_int64s: ints([7, 3]), default_int64: { int: -5 } }, out: 'int64', mlOpset: 2 },
    { label: 'keys_strings → values_floats (opset 2)', encoder: { keys_strings: { strings: ['dog', 'eel', 'cat'] }, values_floats: floats([0.5, 1.5, 2.5]) }, out: 'float32', mlOpset: 2 },
    { label: 'classes_strings (opset 1): the position of the label', encoder: { classes_strings: { strings: ['eel', 'dog'] }, default_int64: { int: 9 }, default_string: { string: '_' } }, out: 'int64', mlOpset: 1 },
  ];
  cases.forEach(({ label, encoder, out, mlOpset }, i) => {
    test(label, async () => {
      const bytes = build(encoder, out, mlOpset);
      const feeds = { X: rows(90 + i, 'float32') };
      const expected = await runOnOrtNode(bytes, feeds, ['Y']);
      const compiled = compileOnnxToModule(bytes, { name: 'fold' });
      const module = await importMicroModule(compiled.source, 'fold');
      expect(tensorMismatch(expected.Y!, module.run(feeds).Y!, 0)).toBeNull();
      expect(new Set(Array.from(expected.Y!.data as ArrayLike<number | bigint>, Number)).size).toBe(3);
    });
  });

  test('a string label that another node reads too stays refused', () => {
    const bytes = build({ keys_strings: { strings: ['cat'] }, values_int64s: ints([1]) }, 'int64', 2, true);
    expect(() => compileOnnxToModule(bytes, { name: 'fold' })).toThrow(/"engine": "ort"/);
  });
});

describe('what stays refused, with the fix', () => {
  test('a Cast to double (sklearn-onnx pipelines on float64 data): the micro engine computes in float32', () => {
    const g = new GraphBuilder('double');
    g.input('X', 'float32', ['N', F]);
    g.node('Cast', ['X'], ['D'], { to: { int: 11 } });
    g.node('Cast', ['D'], ['Y'], { to: { int: 1 } });
    g.output('Y', 'float32', ['N', F]);
    expect(() => compileOnnxToModule(g.encode(17, 'edgeinfer-test', { [ML_DOMAIN]: 1 }), { name: 'd' })).toThrow(/node "Cast_0".*double.*"engine": "ort"/);
  });

  test('a string graph input (a LabelEncoder over request strings): the serving core carries numbers only', () => {
    const g = new GraphBuilder('strings');
    g.input('X', 'int64', ['N']);
    g.node('LabelEncoder', ['X'], ['Y'], { keys_strings: { strings: ['a', 'b'] }, values_int64s: ints([0, 1]) }, ML_DOMAIN);
    g.output('Y', 'int64', ['N']);
    // The builder writes numeric inputs only: the input becomes a string tensor in the decoded model.
    const model = decodeModel(g.encode(17, 'edgeinfer-test', { [ML_DOMAIN]: 2 }));
    model.graph!.input![0]!.type!.tensorType!.elemType = 8;
    const bytes = onnxProto.onnx.ModelProto.encode(model).finish();
    expect(() => compileOnnxToModule(bytes, { name: 's' })).toThrow(/"X".*string.*"engine": "ort"/);
  });
});
