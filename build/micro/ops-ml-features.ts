// ai.onnx.ml feature ops that sklearn-onnx pipelines put around a model: Imputer, Binarizer,
// ArrayFeatureExtractor (column selection) and LabelEncoder (numeric keys and values; string
// labels are folded into the classifier before compiling, see rewrite-ml.ts). Semantics follow
// onnxruntime's CPU kernels (imputer.cc, binarizer.cc, array_feature_extractor.cc,
// label_encoder.h), the reference the tests compare with.
import type { ConstTensor, DType } from './model-ir.ts';
import { literal, type Dim } from './module-writer.ts';
import { numbers, strings } from './ops-ml.ts';
import { attr, constValues, mapOp, requireDtype, type OpContext, type OpEmitter } from './ops.ts';

/** Rows and stride of a [N, F] or [F] input (onnxruntime's Imputer reads dims[1] as the stride). */
function rowsAndStride(ctx: OpContext, dims: readonly Dim[]): { rows: Dim; stride: Dim } {
  if (dims.length === 1) return { rows: 1, stride: dims[0]! };
  if (dims.length !== 2) ctx.fail('unsupported_shape', `the input has rank ${dims.length}; the micro engine implements this op for [N, F] and [F] inputs`);
  return { rows: dims[0]!, stride: dims[1]! };
}

const imputer: OpEmitter = (ctx) => {
  const x = ctx.need(0);
  requireDtype(ctx, x, ['float32', 'int64'], 'the input');
  const float = x.dtype === 'float32';
  const imputed = numbers(attr(ctx, float ? 'imputed_value_floats' : 'imputed_value_int64s')) ?? [];
  if (imputed.length === 0) ctx.fail('invalid_model', `a ${x.dtype} input needs ${float ? 'imputed_value_floats' : 'imputed_value_int64s'}`);
  const replacedAttr = attr(ctx, float ? 'replaced_value_float' : 'replaced_value_int64');
  const replaced = typeof replacedAttr === 'number' ? replacedAttr : 0;
  const { rows, stride } = rowsAndStride(ctx, x.dims);
  // onnxruntime: one value per feature when there are exactly `stride` of them, else the first for every feature.
  let value: string;
  if (imputed.length === 1) value = literal(imputed[0]!);
  else if (typeof stride === 'number') value = imputed.length === stride ? `${ctx.w.constant(float ? Float32Array.from(imputed) : Float64Array.from(imputed))}[f]` : literal(imputed[0]!);
  else return ctx.fail('unsupported_shape', `${imputed.length} imputed values need a static feature count`);
  const hit = Number.isNaN(replaced) ? 'v !== v' : `v === ${literal(replaced)}`;
  const y = ctx.output(0, x.dtype, x.dims);
  ctx.w.emit(
    `for (let n = 0; n < ${rows}; n++) {`,
    `  const row = n * ${stride};`,
    `  for (let f = 0; f < ${stride}; f++) {`,
    `    const v = ${x.buf}[row + f];`,
    `    ${y.buf}[row + f] = ${hit} ? ${value} : v;`,
    `  }`,
    `}`,
  );
};

const binarizer: OpEmitter = (ctx) => {
  const x = ctx.raw(0);
  // onnxruntime registers Binarizer for float only.
  requireDtype(ctx, x, ['float32'], 'the input');
  const threshold = attr(ctx, 'threshold');
  if (typeof threshold !== 'number') {
    return ctx.fail('invalid_model', 'threshold is not set: onnxruntime reads a missing threshold as 1.0, the ONNX spec as 0.0, so the answer would depend on the engine; set it explicitly');
  }
  // onnxruntime fails the run on NaN; so does the module (bad input, not a silent 0).
  const fail = ctx.w.helper(
    'mlBinarizerNaN',
    `// onnxruntime's Binarizer refuses NaN input.\nfunction mlBinarizerNaN(node) {\n  fail("bad_input", "node " + node + ": Binarizer input is NaN");\n}`,
  );
  const node = ctx.w.nodeRef(ctx.node.name);
  const t = literal(Math.fround(threshold));
  mapOp(ctx, 'float32', x.dims, [x], ([v]) => `(${v} > ${t} ? 1 : ${v} !== ${v} ? ${fail}(${node}) : 0)`);
};

const arrayFeatureExtractor: OpEmitter = (ctx) => {
  const x = ctx.need(0);
  requireDtype(ctx, x, ['float32', 'int32', 'int64'], 'the input');
  if (x.dims.length === 0) ctx.fail('invalid_model', 'the input is a scalar');
  const indices = ctx.need(1);
  requireDtype(ctx, indices, ['int64'], 'the indices');
  const stride = x.dims[x.dims.length - 1]!;
  const count = ctx.w.prod(indices.dims);
  if (count === 0) ctx.fail('invalid_model', 'no index to select');
  // onnxruntime: a 1-D input gives [1, k].
  const outer = x.dims.length === 1 ? 1 : ctx.w.prod(x.dims.slice(0, -1));
  const dims = x.dims.length === 1 ? [1, count] : [...x.dims.slice(0, -1), count];
  const w = ctx.w;
  if (indices.data) {
    const list = constValues(ctx, 1, 'the indices');
    for (const i of list) {
      // onnxruntime checks only the upper bound; a negative index would read outside the row.
      if (!Number.isInteger(i) || i < 0) ctx.fail('invalid_model', `index ${i} is negative`);
      if (typeof stride === 'number' && i >= stride) ctx.fail('invalid_model', `index ${i} is out of range for ${stride} features`);
    }
    const max = Math.max(...list);
    if (typeof stride !== 'number') w.emitScoped(`if (${stride} <= ${max}) fail("bad_input", "node " + ${w.nodeRef(ctx.node.name)} + ": index ${max} is out of range for " + ${stride} + " features");`);
    const y = ctx.output(0, x.dtype, dims);
    // Contiguous columns copy as one block per row.
    const contiguous = list.every((v, k) => v === list[0]! + k);
    if (contiguous) {
      w.emit(`for (let n = 0; n < ${outer}; n++) ${y.buf}.set(${x.buf}.subarray(n * ${stride} + ${list[0]}, n * ${stride} + ${list[0]! + list.length}), n * ${list.length});`);
    } else {
      const idx = w.constant(Int32Array.from(list));
      w.emit(`for (let n = 0; n < ${outer}; n++) for (let j = 0; j < ${list.length}; j++) ${y.buf}[n * ${list.length} + j] = ${x.buf}[n * ${stride} + ${idx}[j]];`);
    }
    return;
  }
  const y = ctx.output(0, x.dtype, dims);
  w.emit(
    `for (let j = 0; j < ${count}; j++) {`,
    `  const i = ${indices.buf}[j];`,
    `  if (!(i >= 0 && i < ${stride})) fail("bad_input", "node " + ${w.nodeRef(ctx.node.name)} + ": index " + i + " is out of range for " + ${stride} + " features");`,
    `}`,
    `for (let n = 0; n < ${outer}; n++) for (let j = 0; j < ${count}; j++) ${y.buf}[n * ${count} + j] = ${x.buf}[n * ${stride} + ${indices.buf}[j]];`,
  );
};

/** A LabelEncoder key or value list: the attribute form (opset 2+) or the opset-4 tensor form. */
function encoderList(ctx: OpContext, side: 'keys' | 'values'): { dtype: DType | 'string'; values: number[] } | undefined {
  const floats = numbers(attr(ctx, `${side}_floats`));
  if (floats) return { dtype: 'float32', values: floats };
  const ints = numbers(attr(ctx, `${side}_int64s`));
  if (ints) return { dtype: 'int64', values: ints };
  if (strings(ctx, `${side}_strings`)) return { dtype: 'string', values: [] };
  const tensor = attr(ctx, `${side}_tensor`);
  if (tensor && typeof tensor === 'object' && 'dtype' in tensor) {
    const t = tensor as ConstTensor;
    if (t.dtype !== 'float32' && t.dtype !== 'int64') ctx.fail('unsupported_dtype', `${side}_tensor is ${t.dtype}; the micro engine maps float and int64 keys and values only`);
    return { dtype: t.dtype, values: Array.from(t.data as ArrayLike<number>) };
  }
  return undefined;
}

/** Binary search over sorted keys; returns the value of `x`, or `dflt`. */
const LOOKUP = `// LabelEncoder: keys sorted ascending (duplicates removed, the first kept, as onnxruntime's map does).
// NaN matches no key (NaN keys are refused at compile time).
function mlLookup(keys, values, x, dflt) {
  if (x !== x) return dflt;
  let lo = 0;
  let hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const k = keys[mid];
    if (k < x) lo = mid + 1;
    else if (k > x) hi = mid - 1;
    else return values[mid];
  }
  return dflt;
}`;

const labelEncoder: OpEmitter = (ctx) => {
  const x = ctx.raw(0);
  const stringFix =
    'the serving core carries numeric tensors only; a string label of a classifier that the encoder maps to numbers is folded at compile time, any other string tensor needs the encoding moved out of the graph (declare labels in model.json "output.labels")';
  if (strings(ctx, 'classes_strings')) ctx.fail('unsupported_dtype', `LabelEncoder opset 1 maps strings to int64 and back; ${stringFix}`);
  const keys = encoderList(ctx, 'keys');
  const values = encoderList(ctx, 'values');
  if (!keys || !values) return ctx.fail('invalid_model', 'LabelEncoder needs keys_* and values_* (or keys_tensor and values_tensor)');
  if (keys.dtype === 'string' || values.dtype === 'string') ctx.fail('unsupported_dtype', `its ${keys.dtype === 'string' ? 'keys' : 'values'} are strings; ${stringFix}`);
  const keyType = keys.dtype as DType;
  const valueType = values.dtype as DType;
  if (x.dtype !== keyType) ctx.fail('invalid_model', `the input is ${x.dtype} but the keys are ${keyType}`);
  if (keys.values.length !== values.values.length) ctx.fail('invalid_model', `${keys.values.length} keys and ${values.values.length} values`);
  if (keys.values.some(Number.isNaN)) {
    ctx.fail('unsupported_op', 'a NaN key matches NaN input in ai.onnx.ml opset 4 and nothing before it, and the micro engine does not read the ml opset; replace NaN with an Imputer before the encoder and drop the NaN key');
  }
  const dfltAttr = valueType === 'float32' ? attr(ctx, 'default_float') : attr(ctx, 'default_int64');
  const dfltTensor = attr(ctx, 'default_tensor');
  let dflt = valueType === 'float32' ? -0 : -1;
  if (typeof dfltAttr === 'number') dflt = dfltAttr;
  if (dfltTensor && typeof dfltTensor === 'object' && 'dtype' in dfltTensor && (dfltTensor as ConstTensor).data.length > 0) dflt = (dfltTensor as ConstTensor).data[0]!;
  // Sorted unique keys, the first value of a repeated key kept.
  const seen = new Map<number, number>();
  keys.values.forEach((k, i) => {
    const key = keyType === 'float32' ? Math.fround(k) : k;
    if (!seen.has(key)) seen.set(key, valueType === 'float32' ? Math.fround(values.values[i]!) : values.values[i]!);
  });
  const sorted = [...seen.keys()].sort((a, b) => a - b);
  const w = ctx.w;
  const lookup = w.helper('mlLookup', LOOKUP);
  const keyArr = w.constant(keyType === 'float32' ? Float32Array.from(sorted) : Float64Array.from(sorted));
  const valArr = w.constant(valueType === 'float32' ? Float32Array.from(sorted.map((k) => seen.get(k)!)) : Float64Array.from(sorted.map((k) => seen.get(k)!)));
  mapOp(ctx, valueType, x.dims, [x], ([v]) => `${lookup}(${keyArr}, ${valArr}, ${v}, ${literal(dflt)})`);
};

export const ML_FEATURE_EMITTERS: Record<string, OpEmitter> = {
  'ai.onnx.ml.Imputer': imputer,
  'ai.onnx.ml.Binarizer': binarizer,
  'ai.onnx.ml.ArrayFeatureExtractor': arrayFeatureExtractor,
  'ai.onnx.ml.LabelEncoder': labelEncoder,
};
