// Property tests of every op the micro compiler supports: seeded random shapes (broadcasting,
// symbolic dims, empty tensors), attributes, weights and inputs; the generated module must
// match onnxruntime-web within 1e-5 absolute (integers exactly).
import { describe, expect, test } from 'vitest';
import type { GraphBuilder } from '../../../build/onnx/builder.ts';
import type { Tensor, TensorDType } from '../../../core/engine/types.ts';
import { buildCase, checkCase, maybeSymbolic, Random, size, tensor, type PropertyCase } from './property-harness.ts';

const CASES_PER_OP = 20;
/** CI runs seed 0; MICRO_PROPERTY_SEED=<n> explores other cases (a failure names its op and case). */
const SEED = Number(process.env.MICRO_PROPERTY_SEED ?? 0);
type Feed = (name: string, t: Tensor, declared?: Array<number | string>) => string;
type Generator = (r: Random, i: number) => PropertyCase;

const ONNX_TYPE: Record<TensorDType, number> = { float32: 1, uint8: 2, int8: 3, int16: 5, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };

function randomTensor(r: Random, dtype: TensorDType, dims: number[]): Tensor {
  const n = size(dims);
  switch (dtype) {
    case 'float32': return tensor(dtype, dims, r.floats(n));
    case 'int8': return tensor(dtype, dims, r.ints(n, -128, 127));
    case 'uint8': return tensor(dtype, dims, r.ints(n, 0, 255));
    default: return tensor(dtype, dims, r.ints(n, -50, 50));
  }
}

/** Shapes that broadcast to a random output shape (some dims 1, some ranks shorter). */
function broadcastPair(r: Random): [number[], number[]] {
  const out = r.shape(r.int(0, 4), 4, r.bool(0.1) ? 0 : 1);
  const derive = () => {
    const rank = r.int(0, out.length);
    return out.slice(out.length - rank).map((d) => (r.bool(0.3) ? 1 : d));
  };
  return [derive(), derive()];
}

function binaryCase(op: string, dtype: 'float32' | 'int32'): Generator {
  return (r, i) =>
    buildCase(`${op}-${dtype}-${i}`, 17, (g, feed) => {
      const [da, db] = broadcastPair(r);
      const a = randomTensor(r, dtype, da);
      let b = randomTensor(r, dtype, db);
      if (op === 'Div') {
        const n = size(db);
        b = dtype === 'float32'
          ? tensor(dtype, db, Array.from({ length: n }, () => (r.bool() ? 1 : -1) * (0.5 + 1.5 * r.next())))
          : tensor(dtype, db, Array.from({ length: n }, () => (r.bool() ? 1 : -1) * r.int(1, 9)));
      }
      // A constant operand sometimes, so import-time folding meets run-time values.
      const bName = r.bool(0.3) ? g.initializer('b', { dtype, dims: db, data: b.data as Float32Array }) : feed('b', b, maybeSymbolic(r, db, 'B'));
      const [y] = g.node(op, [feed('a', a, maybeSymbolic(r, da, 'A')), bName]);
      return [{ name: y!, dtype, rank: Math.max(da.length, db.length) }];
    });
}

function unaryCase(op: string): Generator {
  return (r, i) =>
    buildCase(`${op}-${i}`, 17, (g, feed) => {
      const dims = r.shape(r.int(0, 4), 5, r.bool(0.1) ? 0 : 1);
      const x = tensor('float32', dims, r.floats(size(dims), -6, 6));
      const [y] = g.node(op, [feed('x', x, maybeSymbolic(r, dims, 'X'))]);
      return [{ name: y!, dtype: 'float32', rank: dims.length }];
    });
}

function softmaxCase(op: string): Generator {
  return (r, i) => {
    const opset = r.bool(0.25) ? 11 : 13;
    return buildCase(`${op}-opset${opset}-${i}`, opset, (g, feed) => {
      const dims = r.shape(r.int(1, 4), 5);
      const axis = r.int(-dims.length, dims.length - 1);
      const x = tensor('float32', dims, r.floats(size(dims), -8, 8));
      const [y] = g.node(op, [feed('x', x, maybeSymbolic(r, dims, 'X'))], 1, { axis: { int: axis } });
      return [{ name: y!, dtype: 'float32', rank: dims.length }];
    });
  };
}

const gatherCase: Generator = (r, i) =>
  buildCase(`Gather-${i}`, 17, (g, feed) => {
    const dims = r.shape(r.int(1, 3), 5);
    const axis = r.int(-dims.length, dims.length - 1);
    const n = dims[(axis + dims.length) % dims.length]!;
    const dataType = r.pick(['float32', 'int8'] as const);
    const idxType = r.pick(['int32', 'int64'] as const);
    const idxDims = r.shape(r.int(0, 2), 4, r.bool(0.2) ? 0 : 1);
    const data = randomTensor(r, dataType, dims);
    const idx = tensor(idxType, idxDims, r.ints(size(idxDims), -n, n - 1));
    const dataName = r.bool(0.5) ? g.initializer('data', { dtype: dataType, dims, data: data.data as Float32Array }) : feed('data', data);
    const [y] = g.node('Gather', [dataName, feed('idx', idx, maybeSymbolic(r, idxDims, 'I'))], 1, { axis: { int: axis } });
    return [{ name: y!, dtype: dataType, rank: dims.length - 1 + idxDims.length }];
  });

function reduceCase(op: string): Generator {
  return (r, i) => {
    const opset = op === 'ReduceMean' && r.bool(0.3) ? 13 : 18;
    return buildCase(`${op}-opset${opset}-${i}`, opset, (g, feed) => {
      const dims = r.shape(r.int(1, 4), 5, r.bool(0.1) ? 0 : 1);
      const dtype: TensorDType = op === 'ReduceSum' && r.bool(0.3) ? 'int32' : 'float32';
      // onnxruntime 1.30 ignores negative axes when the input is empty (its empty-input path does
      // not normalise them), so empty inputs get non-negative axes here; the micro engine follows the spec.
      const empty = dims.includes(0);
      const axes = dims.map((_, k) => k).filter(() => r.bool(0.4)).map((k) => (!empty && r.bool(0.3) ? k - dims.length : k));
      const keepdims = r.bool() ? 1 : 0;
      const opsetTakesInput = op === 'ReduceSum' || opset >= 18;
      // noop_with_empty_axes came with the axes input (ReduceSum 13, ReduceMean 18).
      const noop = opsetTakesInput && axes.length === 0 && r.bool(0.3) ? 1 : 0;
      const x = randomTensor(r, dtype, dims);
      const attrs: Parameters<GraphBuilder['node']>[3] = { keepdims: { int: keepdims } };
      if (noop) attrs.noop_with_empty_axes = { int: 1 };
      const inputs = [feed('x', x, maybeSymbolic(r, dims, 'X'))];
      if (axes.length > 0) {
        if (opsetTakesInput) inputs.push(g.initializer('axes', { dtype: 'int64', dims: [axes.length], data: axes }));
        else attrs.axes = { ints: axes };
      }
      const [y] = g.node(op, inputs, 1, attrs);
      const reduced = axes.length === 0 ? (noop ? 0 : dims.length) : new Set(axes.map((a) => (a + dims.length) % dims.length)).size;
      return [{ name: y!, dtype, rank: keepdims || noop ? dims.length : dims.length - reduced }];
    });
  };
}

const gemmCase: Generator = (r, i) =>
  buildCase(`Gemm-${i}`, 17, (g, feed) => {
    const [M, K, N] = [r.int(1, 6), r.int(1, 7), r.int(1, 6)];
    const transA = r.int(0, 1);
    const transB = r.int(0, 1);
    const a = tensor('float32', transA ? [K, M] : [M, K], r.floats(M * K));
    const b = tensor('float32', transB ? [N, K] : [K, N], r.floats(K * N));
    const attrs: Parameters<GraphBuilder['node']>[3] = { transA: { int: transA }, transB: { int: transB } };
    if (r.bool()) attrs.alpha = { float: r.pick([0.5, 1, 2.25]) };
    if (r.bool()) attrs.beta = { float: r.pick([0, 0.5, 1, -1.5]) };
    const inputs = [feed('a', a, maybeSymbolic(r, [...a.dims], 'A')), r.bool() ? g.initializer('b', { dtype: 'float32', dims: [...b.dims], data: b.data as Float32Array }) : feed('b', b)];
    const cShape = r.pick([null, [], [N], [1, N], [M, 1], [M, N]] as const);
    if (cShape) inputs.push(feed('c', tensor('float32', [...cShape], r.floats(size(cShape)))));
    const [y] = g.node('Gemm', inputs, 1, attrs);
    return [{ name: y!, dtype: 'float32', rank: 2 }];
  });

function matmulShapes(r: Random): [number[], number[], number] {
  const [M, K, N] = [r.int(1, 5), r.int(1, 6), r.int(1, 5)];
  const b1 = r.int(1, 3);
  const b2 = r.int(2, 3);
  switch (r.int(0, 6)) {
    case 0: return [[M, K], [K, N], 2];
    case 1: return [[K], [K, N], 1];
    case 2: return [[M, K], [K], 1];
    case 3: return [[b1, M, K], [K, N], 3];
    case 4: return [[b2, M, K], [b2, K, N], 3];
    case 5: return [[1, b2, M, K], [b1, 1, K, N], 4];
    default: return [[K], [K], 0];
  }
}

const matmulCase: Generator = (r, i) =>
  buildCase(`MatMul-${i}`, 17, (g, feed) => {
    const [da, db, rank] = matmulShapes(r);
    const a = tensor('float32', da, r.floats(size(da)));
    const b = tensor('float32', db, r.floats(size(db)));
    const bName = r.bool() ? g.initializer('b', { dtype: 'float32', dims: db, data: b.data as Float32Array }) : feed('b', b, maybeSymbolic(r, db, 'B', 0.2));
    const [y] = g.node('MatMul', [feed('a', a, maybeSymbolic(r, da, 'A')), bName]);
    return [{ name: y!, dtype: 'float32', rank }];
  });

const matmulIntegerCase: Generator = (r, i) =>
  buildCase(`MatMulInteger-${i}`, 17, (g, feed) => {
    const [M, K, N] = [r.int(1, 5), r.int(1, 8), r.int(1, 5)];
    const batched = r.bool(0.3);
    const aType = r.pick(['uint8', 'int8'] as const);
    const bType = aType === 'int8' ? 'int8' : r.pick(['uint8', 'int8'] as const);
    const da = batched ? [2, M, K] : [M, K];
    const a = randomTensor(r, aType, da);
    const b = randomTensor(r, bType, [K, N]);
    const inputs = [feed('a', a, maybeSymbolic(r, da, 'A')), g.initializer('b', { dtype: bType, dims: [K, N], data: b.data as Int8Array })];
    const zp = (dtype: 'uint8' | 'int8', n: number) => (dtype === 'uint8' ? r.ints(n, 0, 255) : r.ints(n, -128, 127));
    const withA = r.bool();
    const bMode = r.pick(['none', 'scalar', 'column'] as const);
    inputs.push(withA ? g.initializer('az', { dtype: aType, dims: [], data: zp(aType, 1) }) : '');
    if (bMode !== 'none') inputs.push(g.initializer('bz', { dtype: bType, dims: bMode === 'scalar' ? [] : [N], data: zp(bType, bMode === 'scalar' ? 1 : N) }));
    while (inputs[inputs.length - 1] === '') inputs.pop();
    const [y] = g.node('MatMulInteger', inputs);
    return [{ name: y!, dtype: 'int32', rank: da.length }];
  });

const dynamicQuantizeCase: Generator = (r, i) =>
  buildCase(`DynamicQuantizeLinear-${i}`, 17, (g, feed) => {
    const dims = r.shape(r.int(1, 3), 6);
    const [lo, hi] = r.pick([[-2, 2], [0.1, 3], [-5, -0.2], [-0.01, 0.02]] as const);
    const x = tensor('float32', dims, r.floats(size(dims), lo, hi));
    const [y, s, z] = g.node('DynamicQuantizeLinear', [feed('x', x, maybeSymbolic(r, dims, 'X'))], 3);
    return [{ name: y!, dtype: 'uint8', rank: dims.length }, { name: s!, dtype: 'float32', rank: 0 }, { name: z!, dtype: 'uint8', rank: 0 }];
  });

const quantizeCase: Generator = (r, i) =>
  buildCase(`QuantizeLinear-${i}`, 13, (g, feed) => {
    const dims = r.shape(r.int(1, 3), 5);
    const perAxis = r.bool(0.4);
    const axis = r.int(-dims.length, dims.length - 1);
    const channels = perAxis ? dims[(axis + dims.length) % dims.length]! : 1;
    const scales = Array.from({ length: channels }, () => r.pick([0.25, 0.5, 0.0625, 0.013, 0.2]));
    // Multiples of half a quantum produce exact ties, where rounding to even matters.
    const x = tensor('float32', dims, Array.from({ length: size(dims) }, () => (r.bool() ? r.int(-600, 600) * 0.03125 : -3 + 6 * r.next())));
    const zType = r.pick(['none', 'uint8', 'int8'] as const);
    const inputs = [feed('x', x, maybeSymbolic(r, dims, 'X')), g.initializer('s', { dtype: 'float32', dims: perAxis ? [channels] : [], data: scales })];
    if (zType !== 'none') {
      inputs.push(g.initializer('z', { dtype: zType, dims: perAxis ? [channels] : [], data: zType === 'uint8' ? r.ints(channels, 0, 255) : r.ints(channels, -20, 20) }));
    }
    const [y] = g.node('QuantizeLinear', inputs, 1, perAxis ? { axis: { int: axis } } : {});
    return [{ name: y!, dtype: zType === 'int8' ? 'int8' : 'uint8', rank: dims.length }];
  });

const dequantizeCase: Generator = (r, i) =>
  buildCase(`DequantizeLinear-${i}`, 13, (g, feed) => {
    const dims = r.shape(r.int(1, 3), 5);
    const xType = r.pick(['int8', 'uint8', 'int32'] as const);
    const perAxis = r.bool(0.4);
    const axis = r.int(-dims.length, dims.length - 1);
    const channels = perAxis ? dims[(axis + dims.length) % dims.length]! : 1;
    const x = randomTensor(r, xType, dims);
    const scale = g.initializer('s', { dtype: 'float32', dims: perAxis ? [channels] : [], data: r.floats(channels, 0.001, 0.1) });
    const constant = r.bool(0.3);
    const xName = constant ? g.initializer('xq', { dtype: xType, dims, data: x.data as Int8Array }) : feed('x', x, maybeSymbolic(r, dims, 'X'));
    const inputs = [xName, scale];
    if (xType !== 'int32' && r.bool()) {
      inputs.push(g.initializer('z', { dtype: xType, dims: perAxis ? [channels] : [], data: xType === 'uint8' ? r.ints(channels, 0, 255) : r.ints(channels, -128, 127) }));
    }
    const [y] = g.node('DequantizeLinear', inputs, 1, perAxis ? { axis: { int: axis } } : {});
    if (constant) {
      // Folded at import; add a run-time input so the graph still has one.
      const [z] = g.node('Add', [y!, feed('zero', tensor('float32', [1], [0]))]);
      return [{ name: z!, dtype: 'float32', rank: dims.length }];
    }
    return [{ name: y!, dtype: 'float32', rank: dims.length }];
  });

function factorShape(r: Random, total: number): number[] {
  const rank = r.int(1, 4);
  const dims = Array<number>(rank).fill(1);
  let rest = total;
  for (let p = 2; rest > 1; ) {
    if (rest % p === 0) {
      dims[r.int(0, rank - 1)]! *= p;
      dims[r.int(0, rank - 1)]; // keep the stream aligned across branches
      rest /= p;
    } else p++;
  }
  return dims;
}

const reshapeCase: Generator = (r, i) =>
  buildCase(`Reshape-${i}`, 17, (g, feed) => {
    const dims = r.shape(r.int(1, 4), 4);
    const target: number[] = factorShape(r, size(dims));
    target.forEach((d, k) => {
      if (dims[k] === d && r.bool(0.3)) target[k] = 0;
    });
    if (r.bool(0.6)) target[r.int(0, target.length - 1)] = -1;
    const x = tensor('float32', dims, r.floats(size(dims)));
    const shape = g.initializer('shape', { dtype: 'int64', dims: [target.length], data: target });
    const [y] = g.node('Reshape', [feed('x', x, maybeSymbolic(r, dims, 'X')), shape]);
    const [z] = g.node('Relu', [y!]); // a consumer, so the view is read through its new dims
    return [{ name: z!, dtype: 'float32', rank: target.length }, { name: y!, dtype: 'float32', rank: target.length }];
  });

const flattenCase: Generator = (r, i) =>
  buildCase(`Flatten-${i}`, 17, (g, feed) => {
    const dims = r.shape(r.int(1, 4), 4);
    const axis = r.int(-dims.length, dims.length);
    const x = tensor('float32', dims, r.floats(size(dims)));
    const [y] = g.node('Flatten', [feed('x', x, maybeSymbolic(r, dims, 'X'))], 1, { axis: { int: axis } });
    return [{ name: y!, dtype: 'float32', rank: 2 }];
  });

const concatCase: Generator = (r, i) =>
  buildCase(`Concat-${i}`, 17, (g, feed) => {
    const dims = r.shape(r.int(1, 3), 4);
    const axis = r.int(-dims.length, dims.length - 1);
    const a = (axis + dims.length) % dims.length;
    const dtype = r.pick(['float32', 'int32'] as const);
    const names = Array.from({ length: r.int(1, 3) }, (_, j) => {
      const d = dims.map((v, k) => (k === a ? r.int(0, 3) : v));
      return feed(`x${j}`, randomTensor(r, dtype, d), maybeSymbolic(r, d, `X${j}_`, 0.3).map((v, k) => (k === a || typeof v === 'number' ? v : `S${k}`)));
    });
    const [y] = g.node('Concat', names, 1, { axis: { int: axis } });
    return [{ name: y!, dtype, rank: dims.length }];
  });

const CASTS: Array<[TensorDType, TensorDType]> = [
  ['float32', 'int32'], ['int32', 'float32'], ['float32', 'int8'], ['int8', 'float32'], ['uint8', 'float32'], ['float32', 'uint8'],
  ['int64', 'float32'], ['float32', 'int64'], ['int32', 'int64'], ['int64', 'int32'], ['uint8', 'int32'], ['int8', 'int32'],
];
const castCase: Generator = (r, i) =>
  buildCase(`Cast-${i}`, 17, (g, feed) => {
    const [from, to] = CASTS[i % CASTS.length]!;
    const dims = r.shape(r.int(0, 3), 5);
    const n = size(dims);
    const values = from === 'float32' ? r.floats(n, to === 'uint8' ? 0 : -100, 100) : randomTensor(r, from, dims).data;
    const x = tensor(from, dims, Array.from(values as ArrayLike<number | bigint>, Number));
    const [y] = g.node('Cast', [feed('x', x, maybeSymbolic(r, dims, 'X'))], 1, { to: { int: ONNX_TYPE[to] } });
    return [{ name: y!, dtype: to, rank: dims.length }];
  });

const squeezeCase: Generator = (r, i) =>
  buildCase(`Squeeze-${i}`, 13, (g, feed) => {
    const base = r.shape(r.int(0, 3), 4, 2);
    const dims = [...base];
    const ones: number[] = [];
    for (let k = 0, n = r.int(1, 3); k < n; k++) dims.splice(r.int(0, dims.length), 0, 1);
    dims.forEach((d, k) => d === 1 && ones.push(k));
    const axes = ones.filter(() => r.bool(0.7)).map((k) => (r.bool(0.3) ? k - dims.length : k));
    const x = tensor('float32', dims, r.floats(size(dims)));
    // Without axes, Squeeze needs every dim known at compile time (the micro engine refuses otherwise).
    const inputs = [feed('x', x, dims.map((d, k) => (axes.length > 0 && d !== 1 && r.bool(0.4) ? `X${k}` : d)))];
    if (axes.length) inputs.push(g.initializer('axes', { dtype: 'int64', dims: [axes.length], data: axes }));
    const [y] = g.node('Squeeze', inputs);
    return [{ name: y!, dtype: 'float32', rank: dims.length - (axes.length || ones.length) }];
  });

const unsqueezeCase: Generator = (r, i) =>
  buildCase(`Unsqueeze-${i}`, 13, (g, feed) => {
    const dims = r.shape(r.int(0, 3), 4);
    const outRank = dims.length + r.int(1, 2);
    // Distinct output positions: a random permutation's prefix.
    const positions = Array.from({ length: outRank }, (_, k) => k);
    for (let k = outRank - 1; k > 0; k--) {
      const j = r.int(0, k);
      [positions[k], positions[j]] = [positions[j]!, positions[k]!];
    }
    const axes = positions.slice(0, outRank - dims.length);
    const x = tensor('float32', dims, r.floats(size(dims)));
    const axesName = g.initializer('axes', { dtype: 'int64', dims: [axes.length], data: axes.map((a) => (r.bool(0.3) ? a - (dims.length + axes.length) : a)) });
    const [y] = g.node('Unsqueeze', [feed('x', x, maybeSymbolic(r, dims, 'X')), axesName]);
    const [z] = g.node('Sigmoid', [y!]);
    return [{ name: z!, dtype: 'float32', rank: dims.length + axes.length }];
  });

const identityCase: Generator = (r, i) =>
  buildCase(`Identity-${i}`, 17, (g, feed) => {
    const dtype = r.pick(['float32', 'int32', 'int8', 'int64'] as const);
    const dims = r.shape(r.int(0, 3), 4);
    const [y] = g.node('Identity', [feed('x', randomTensor(r, dtype, dims), maybeSymbolic(r, dims, 'X'))]);
    return [{ name: y!, dtype, rank: dims.length }];
  });

const clipCase: Generator = (r, i) =>
  buildCase(`Clip-${i}`, 13, (g, feed) => {
    const dtype = r.pick(['float32', 'int32'] as const);
    const dims = r.shape(r.int(0, 3), 5);
    const x = randomTensor(r, dtype, dims);
    const bound = (name: string, v: number) =>
      r.bool() ? g.initializer(name, { dtype, dims: [], data: [v] }) : feed(name, tensor(dtype, [], [v]));
    const lo = dtype === 'float32' ? -0.5 - r.next() : r.int(-30, 0);
    const hi = dtype === 'float32' ? 0.5 + r.next() : r.int(0, 30);
    const mode = r.pick(['both', 'min', 'max', 'none'] as const);
    const inputs = [feed('x', x, maybeSymbolic(r, dims, 'X'))];
    if (mode === 'both' || mode === 'min') inputs.push(bound('lo', lo));
    else if (mode === 'max') inputs.push('');
    if (mode === 'both' || mode === 'max') inputs.push(bound('hi', hi));
    const [y] = g.node('Clip', inputs);
    return [{ name: y!, dtype, rank: dims.length }];
  });

const argmaxCase: Generator = (r, i) =>
  buildCase(`ArgMax-${i}`, 13, (g, feed) => {
    const dims = r.shape(r.int(1, 3), 5);
    const axis = r.int(-dims.length, dims.length - 1);
    const keepdims = r.int(0, 1);
    const last = r.int(0, 1);
    const dtype = r.pick(['float32', 'int32'] as const);
    // Few distinct values, so ties (and select_last_index) matter.
    const x = tensor(dtype, dims, r.ints(size(dims), -2, 2).map((v) => (dtype === 'float32' ? v * 0.5 : v)));
    const [y] = g.node('ArgMax', [feed('x', x, maybeSymbolic(r, dims, 'X'))], 1, { axis: { int: axis }, keepdims: { int: keepdims }, select_last_index: { int: last } });
    return [{ name: y!, dtype: 'int64', rank: keepdims ? dims.length : dims.length - 1 }];
  });

const constantCase: Generator = (r, i) =>
  buildCase(`Constant-${i}`, 17, (g, feed) => {
    const dims = r.shape(r.int(1, 2), 4);
    const values = r.floats(size(dims));
    const [c] = g.node('Constant', [], 1, { value: { tensor: { dtype: 'float32', dims, data: values } } });
    const [y] = g.node('Mul', [feed('x', tensor('float32', dims, r.floats(size(dims))), maybeSymbolic(r, dims, 'X')), c!]);
    return [{ name: y!, dtype: 'float32', rank: dims.length }];
  });

const GENERATORS: Record<string, Generator> = {
  'Add float32': binaryCase('Add', 'float32'),
  'Add int32': binaryCase('Add', 'int32'),
  'Sub float32': binaryCase('Sub', 'float32'),
  'Sub int32': binaryCase('Sub', 'int32'),
  'Mul float32': binaryCase('Mul', 'float32'),
  'Mul int32': binaryCase('Mul', 'int32'),
  'Div float32': binaryCase('Div', 'float32'),
  'Div int32': binaryCase('Div', 'int32'),
  Relu: unaryCase('Relu'),
  Sigmoid: unaryCase('Sigmoid'),
  Tanh: unaryCase('Tanh'),
  Softmax: softmaxCase('Softmax'),
  LogSoftmax: softmaxCase('LogSoftmax'),
  Gather: gatherCase,
  ReduceSum: reduceCase('ReduceSum'),
  ReduceMean: reduceCase('ReduceMean'),
  Gemm: gemmCase,
  MatMul: matmulCase,
  MatMulInteger: matmulIntegerCase,
  DynamicQuantizeLinear: dynamicQuantizeCase,
  QuantizeLinear: quantizeCase,
  DequantizeLinear: dequantizeCase,
  Reshape: reshapeCase,
  Flatten: flattenCase,
  Concat: concatCase,
  Cast: castCase,
  Squeeze: squeezeCase,
  Unsqueeze: unsqueezeCase,
  Identity: identityCase,
  Clip: clipCase,
  ArgMax: argmaxCase,
  Constant: constantCase,
};

describe('micro compiler vs onnxruntime-web, per op (seeded)', () => {
  Object.entries(GENERATORS).forEach(([op, generate], opIndex) => {
    test(`${op}: ${CASES_PER_OP} random cases within 1e-5`, async () => {
      const r = new Random(0x5eed + opIndex * 7919 + SEED * 104729);
      const problems: string[] = [];
      for (let i = 0; i < CASES_PER_OP; i++) problems.push(...(await checkCase(generate(r, i))));
      expect(problems).toEqual([]);
    });
  });
});
