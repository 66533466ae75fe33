// Property tests of the compiler's fusion: element-wise chains computed inside their single
// reader (reductions, other element-wise ops) or materialised for readers that cannot fuse,
// and the embedding-bag kernel (Gather → element-wise → Reduce over the ids) in the shapes
// fastText-style exports take. Same oracle and tolerance as the per-op tests. Values stay in
// ranges where float32 resolves 1e-5 (|outputs| well below 100): beyond that, two correct
// float32 summation orders already differ by more than 1e-5.
import { describe, expect, test } from 'vitest';
import type { GraphBuilder } from '../../../build/onnx/builder.ts';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { buildCase, checkCase, maybeSymbolic, Random, size, tensor, type PropertyCase } from './property-harness.ts';

const CASES = 40;
/** CI runs seed 0; MICRO_PROPERTY_SEED=<n> explores other cases. */
const SEED = Number(process.env.MICRO_PROPERTY_SEED ?? 0);

/** A random element-wise chain over x, then a random reader of it. */
function chainCase(r: Random, i: number): PropertyCase {
  return buildCase(`chain-${i}`, 18, (g, feed) => {
    const dims = r.shape(r.int(1, 3), 5);
    let value = feed('x', tensor('float32', dims, r.floats(size(dims), -1, 1)), maybeSymbolic(r, dims, 'X'));
    const steps = r.int(1, 4);
    for (let s = 0; s < steps; s++) {
      const op = r.pick(['Add', 'Mul', 'Sub', 'Div', 'Relu', 'Sigmoid', 'Tanh', 'Clip', 'CastRound'] as const);
      const other = () => {
        const od = dims.slice(r.int(0, dims.length)).map((d) => (r.bool(0.4) ? 1 : d));
        const data = Array.from({ length: size(od) }, () => (r.bool() ? 1 : -1) * (0.7 + 0.6 * r.next()));
        return r.bool() ? g.initializer(`k${s}`, { dtype: 'float32', dims: od, data }) : feed(`k${s}`, tensor('float32', od, data));
      };
      if (op === 'Relu' || op === 'Sigmoid' || op === 'Tanh') [value] = g.node(op, [value]) as [string];
      else if (op === 'Clip') [value] = g.node('Clip', [value, g.initializer(`lo${s}`, { dtype: 'float32', dims: [], data: [-0.7] }), g.initializer(`hi${s}`, { dtype: 'float32', dims: [], data: [0.9] })]) as [string];
      else if (op === 'CastRound') {
        const [scaled] = g.node('Mul', [value, g.initializer(`ten${s}`, { dtype: 'float32', dims: [], data: [10] })]);
        const [asInt] = g.node('Cast', [scaled!], 1, { to: { int: 6 } });
        const [back] = g.node('Cast', [asInt!], 1, { to: { int: 1 } });
        [value] = g.node('Mul', [back!, g.initializer(`tenth${s}`, { dtype: 'float32', dims: [], data: [0.1] })]) as [string];
      } else [value] = g.node(op, [value, other()]) as [string];
    }
    const reader = r.pick(['ReduceSum', 'ReduceMean', 'Softmax', 'MatMul', 'Identity', 'output'] as const);
    if (reader === 'output') return [{ name: value, dtype: 'float32', rank: dims.length }];
    if (reader === 'Softmax') return [{ name: g.node('Softmax', [value])[0]!, dtype: 'float32', rank: dims.length }];
    if (reader === 'Identity') return [{ name: g.node('Relu', g.node('Identity', [value]))[0]!, dtype: 'float32', rank: dims.length }];
    if (reader === 'MatMul') {
      const K = dims[dims.length - 1]!;
      const w = g.initializer('w', { dtype: 'float32', dims: [K, 3], data: r.floats(K * 3, -0.5, 0.5) });
      return [{ name: g.node('MatMul', [value, w])[0]!, dtype: 'float32', rank: dims.length }];
    }
    const axes = dims.map((_, k) => k).filter(() => r.bool(0.5));
    const keepdims = r.int(0, 1);
    const inputs = [value];
    if (axes.length) inputs.push(g.initializer('axes', { dtype: 'int64', dims: [axes.length], data: axes }));
    const [y] = g.node(reader, inputs, 1, { keepdims: { int: keepdims } });
    return [{ name: y!, dtype: 'float32', rank: keepdims ? dims.length : axes.length ? dims.length - axes.length : 0 }];
  });
}

type ScaleMode = 'none' | 'column' | 'row-table' | 'row-unsqueeze' | 'row-reshape';

/** fastText-style embedding bags: int8 or float tables, row or column scales, ids of rank 1 or 2. */
function bagCase(r: Random, i: number): PropertyCase {
  const scaleMode = r.pick(['none', 'column', 'row-table', 'row-unsqueeze', 'row-reshape'] as const satisfies readonly ScaleMode[]);
  return buildCase(`bag-${scaleMode}-${i}`, 18, (g, feed) => {
    const [V, D] = [r.int(1, 60), r.int(1, 12)];
    const ranked2 = r.bool(0.7);
    const kind = r.pick(['ReduceMean', 'ReduceSum'] as const);
    // Long lists are averaged (as fastText does); sums stay short so float32 resolves 1e-5.
    const L = kind === 'ReduceSum' ? r.pick([0, 1, r.int(2, 30)]) : r.pick([0, 1, r.int(2, 30), 300]);
    const idsType = r.pick(['int32', 'int64'] as const);
    const idsDims = ranked2 ? [1, L] : [L];
    const ids = feed('ids', tensor(idsType, idsDims, r.ints(L, -V, V - 1)), ranked2 ? [1, 'L'] : ['L']);
    // An int8 table always comes with scales (raw int8 means reach magnitudes where float32 cannot resolve 1e-5).
    const int8Table = scaleMode !== 'none' && r.bool(0.7);
    const table = g.initializer('table', int8Table ? { dtype: 'int8', dims: [V, D], data: r.ints(V * D, -127, 127) } : { dtype: 'float32', dims: [V, D], data: r.floats(V * D, -0.25, 0.25) });
    let rows = g.node('Gather', [table, ids])[0]!;
    if (int8Table) rows = g.node('Cast', [rows], 1, { to: { int: 1 } })[0]!;
    const p = idsDims.length;
    if (scaleMode === 'column') {
      rows = g.node('Mul', [rows, g.initializer('colScale', { dtype: 'float32', dims: [D], data: r.floats(D, 0.001, 0.01) })])[0]!;
    } else if (scaleMode !== 'none') {
      const perRow = r.floats(V, 0.001, 0.01);
      let scale: string;
      if (scaleMode === 'row-table') {
        scale = g.node('Gather', [g.initializer('rowScale', { dtype: 'float32', dims: [V, 1], data: perRow }), ids])[0]!;
      } else {
        const picked = g.node('Gather', [g.initializer('rowScale', { dtype: 'float32', dims: [V], data: perRow }), ids])[0]!;
        scale = scaleMode === 'row-unsqueeze'
          ? g.node('Unsqueeze', [picked, g.initializer('ax', { dtype: 'int64', dims: [1], data: [p] })])[0]!
          : g.node('Reshape', [picked, g.initializer('shape', { dtype: 'int64', dims: [p + 1], data: ranked2 ? [1, -1, 1] : [-1, 1] })])[0]!;
      }
      rows = g.node('Mul', [rows, scale])[0]!;
    }
    if (r.bool(0.3)) rows = g.node('Add', [rows, g.initializer('shift', { dtype: 'float32', dims: [1, D], data: r.floats(D, -0.1, 0.1) })])[0]!;
    const keepdims = r.int(0, 1);
    const [bag] = g.node(kind, [rows, g.initializer('axes', { dtype: 'int64', dims: [1], data: [p - 1] })], 1, { keepdims: { int: keepdims } });
    const bagRank = keepdims ? p + 1 : p;
    if (r.bool(0.5)) return [{ name: bag!, dtype: 'float32', rank: bagRank }];
    const w = g.initializer('w', { dtype: 'float32', dims: [D, 2], data: r.floats(D * 2) });
    const [logits] = g.node('MatMul', [bag!, w] as string[]);
    return [{ name: g.node('Softmax', [logits!])[0]!, dtype: 'float32', rank: bagRank }];
  });
}

describe('micro compiler fusion vs onnxruntime-web (seeded)', () => {
  test(`${CASES} random element-wise chains and their readers`, async () => {
    const r = new Random(0xc4a1 + SEED * 104729);
    const problems: string[] = [];
    for (let i = 0; i < CASES; i++) problems.push(...(await checkCase(chainCase(r, i))));
    expect(problems).toEqual([]);
  });

  test(`${CASES} embedding bags (row/column scales, rank-1/2 ids, empty and long id lists)`, async () => {
    const r = new Random(0xba6 + SEED * 104729);
    const problems: string[] = [];
    for (let i = 0; i < CASES; i++) problems.push(...(await checkCase(bagCase(r, i))));
    expect(problems).toEqual([]);
  });

  test('the bag kernel reads the table in place: no buffer for the gathered rows', () => {
    const r = new Random(1);
    let c: PropertyCase;
    do c = bagCase(r, 0);
    while (!c.label.startsWith('bag-row-unsqueeze'));
    const { source } = compileOnnxToModule(c.bytes, { name: 'bag' });
    expect(source).toContain('for (let bag = 0; bag <');
    expect(source).not.toMatch(/let t\d+ = new Int8Array\(0\)/);
  });
});

export type { GraphBuilder };
