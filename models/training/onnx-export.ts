// Writes trained fastText models as ONNX graphs (opset 17) with the project's GraphBuilder.
// Input `ids` int32 [1, sequence]; output `probabilities` float32 [1, classes]. The int8
// graph uses only ops the micro engine compiles (Gather, Cast, Unsqueeze, Mul, ReduceMean,
// DequantizeLinear, MatMul, Add, Relu, Softmax).
import { GraphBuilder } from '../../build/onnx/builder.ts';
import type { FastTextWeights } from './fasttext.ts';
import type { QuantizedFastText, QuantizedMatrix } from './quantize.ts';

/** Name of the graph input holding the token ids. */
export const IDS_INPUT = 'ids';
/** Name of the class-probability output. */
export const PROBABILITIES_OUTPUT = 'probabilities';
/** Name of the penultimate-layer output (regional model). */
export const EMBEDDING_OUTPUT = 'embedding';
/** Symbolic name of the variable sequence dimension. */
export const SEQUENCE_DIM = 'sequence';

/** int8 weights → DequantizeLinear with per-axis scales (zero points 0). */
function dequantized(graph: GraphBuilder, name: string, m: QuantizedMatrix): string {
  const groups = m.scales.length;
  const values = graph.initializer(`${name}_int8`, { dtype: 'int8', dims: [m.rows, m.cols], data: m.values });
  const scales = graph.initializer(`${name}_scale`, { dtype: 'float32', dims: [groups], data: m.scales });
  const zeros = graph.initializer(`${name}_zero_point`, { dtype: 'int8', dims: [groups], data: new Int8Array(groups) });
  return graph.node('DequantizeLinear', [values, scales, zeros], [`${name}_dequantized`], { axis: { int: m.axis } })[0] as string;
}

/**
 * The edge graph: Gather int8 rows and their scales → Cast · scale → ReduceMean over the
 * sequence → DequantizeLinear(W1) MatMul + b1 → Relu → DequantizeLinear(W2) MatMul + b2 → Softmax.
 */
export function exportQuantizedFastText(model: QuantizedFastText, graphName: string): Uint8Array {
  const { classes } = model.config;
  const g = new GraphBuilder(graphName);
  const ids = g.input(IDS_INPUT, 'int32', [1, SEQUENCE_DIM]);
  const table = g.initializer('embedding_int8', { dtype: 'int8', dims: [model.embedding.rows, model.embedding.cols], data: model.embedding.values });
  const rowScales = g.initializer('embedding_row_scale', { dtype: 'float32', dims: [model.embedding.rows], data: model.embedding.scales });
  const axis2 = g.initializer('axis_2', { dtype: 'int64', dims: [1], data: [2] });
  const [rowsInt8] = g.node('Gather', [table, ids], ['rows_int8'], { axis: { int: 0 } }) as [string];
  const [rowsFloat] = g.node('Cast', [rowsInt8], ['rows_unscaled'], { to: { int: 1 } }) as [string];
  const [scales] = g.node('Gather', [rowScales, ids], ['rows_scale'], { axis: { int: 0 } }) as [string];
  const [scales3d] = g.node('Unsqueeze', [scales, axis2], ['rows_scale_3d']) as [string];
  const [rows] = g.node('Mul', [rowsFloat, scales3d], ['rows']) as [string];
  const [bag] = g.node('ReduceMean', [rows], ['bag'], { axes: { ints: [1] }, keepdims: { int: 0 } }) as [string];

  const w1 = dequantized(g, 'w1', model.w1);
  const b1 = g.initializer('b1', { dtype: 'float32', dims: [model.b1.length], data: model.b1 });
  const [hiddenLinear] = g.node('MatMul', [bag, w1], ['hidden_linear']) as [string];
  const [hiddenPre] = g.node('Add', [hiddenLinear, b1], ['hidden_pre']) as [string];
  const [hidden] = g.node('Relu', [hiddenPre], ['hidden']) as [string];

  const w2 = dequantized(g, 'w2', model.w2);
  const b2 = g.initializer('b2', { dtype: 'float32', dims: [model.b2.length], data: model.b2 });
  const [logitsLinear] = g.node('MatMul', [hidden, w2], ['logits_linear']) as [string];
  const [logits] = g.node('Add', [logitsLinear, b2], ['logits']) as [string];
  g.node('Softmax', [logits], [PROBABILITIES_OUTPUT], { axis: { int: 1 } });
  g.output(PROBABILITIES_OUTPUT, 'float32', [1, classes]);
  return g.encode(17);
}

/**
 * The fp32 graph: Gather → ReduceMean → Gemm → Relu (optionally exposed as `embedding`)
 * → Gemm → Softmax.
 */
export function exportFloatFastText(model: FastTextWeights, graphName: string, options: { embeddingOutput: boolean }): Uint8Array {
  const { buckets, dim, hidden, classes } = model.config;
  const g = new GraphBuilder(graphName);
  const ids = g.input(IDS_INPUT, 'int32', [1, SEQUENCE_DIM]);
  const table = g.initializer('embedding_table', { dtype: 'float32', dims: [buckets, dim], data: model.embedding });
  const [rows] = g.node('Gather', [table, ids], ['rows'], { axis: { int: 0 } }) as [string];
  const [bag] = g.node('ReduceMean', [rows], ['bag'], { axes: { ints: [1] }, keepdims: { int: 0 } }) as [string];
  const w1 = g.initializer('w1', { dtype: 'float32', dims: [dim, hidden], data: model.w1 });
  const b1 = g.initializer('b1', { dtype: 'float32', dims: [hidden], data: model.b1 });
  const [hiddenPre] = g.node('Gemm', [bag, w1, b1], ['hidden_pre']) as [string];
  const hiddenName = options.embeddingOutput ? EMBEDDING_OUTPUT : 'hidden';
  const [hiddenOut] = g.node('Relu', [hiddenPre], [hiddenName]) as [string];
  const w2 = g.initializer('w2', { dtype: 'float32', dims: [hidden, classes], data: model.w2 });
  const b2 = g.initializer('b2', { dtype: 'float32', dims: [classes], data: model.b2 });
  const [logits] = g.node('Gemm', [hiddenOut, w2, b2], ['logits']) as [string];
  g.node('Softmax', [logits], [PROBABILITIES_OUTPUT], { axis: { int: 1 } });
  g.output(PROBABILITIES_OUTPUT, 'float32', [1, classes]);
  if (options.embeddingOutput) g.output(EMBEDDING_OUTPUT, 'float32', [1, hidden]);
  return g.encode(17);
}
