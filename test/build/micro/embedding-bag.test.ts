// The embedding bag's blocked loops (build/micro/embedding-bag.ts): rows of a static size are
// summed LANES elements per pass over the ids with the sums in locals, tables from 1 MB are
// touched ahead, longer rows keep the per-id loop. Each shape against onnxruntime-node over id
// lists of every parity (empty, one, odd, even, long, negative ids), and the out-of-range error.
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { GraphBuilder } from '../../../build/onnx/builder.ts';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { Random } from './property-harness.ts';

const TOLERANCE = 1e-5;
const LENGTHS = [0, 1, 2, 3, 17, 64, 1001];

interface Bag {
  rows: number;
  rowDims: number[];
  /** A constant multiplied into every gathered row (broadcast over the ids): its dims. */
  scaleDims?: number[];
  reduce: 'ReduceMean' | 'ReduceSum';
}

function bagGraph(r: Random, bag: Bag): Uint8Array {
  const g = new GraphBuilder('bag');
  g.input('ids', 'int64', [1, 'L']);
  const rowSize = bag.rowDims.reduce((a, b) => a * b, 1);
  const table = g.initializer('table', { dtype: 'float32', dims: [bag.rows, ...bag.rowDims], data: r.floats(bag.rows * rowSize, -0.25, 0.25) });
  let rows = g.node('Gather', [table, 'ids'])[0]!;
  if (bag.scaleDims) {
    const n = bag.scaleDims.reduce((a, b) => a * b, 1);
    rows = g.node('Mul', [rows, g.initializer('scale', { dtype: 'float32', dims: bag.scaleDims, data: r.floats(n, 0.5, 2) })])[0]!;
  }
  const [y] = g.node(bag.reduce, [rows, g.initializer('axes', { dtype: 'int64', dims: [1], data: [1] })], 1, { keepdims: { int: 0 } });
  g.output(y!, 'float32', [1, ...bag.rowDims]);
  return g.encode(18);
}

/** Compiles the bag and checks it against onnxruntime-node on every length; returns the module's source. */
async function check(bag: Bag, seed: number): Promise<string> {
  const r = new Random(seed);
  const bytes = bagGraph(r, bag);
  const { source } = compileOnnxToModule(bytes, { name: 'bag' });
  const micro = await importMicroModule(source, 'bag');
  const session = await ort.InferenceSession.create(bytes);
  // Long lists are averaged: onnxruntime sums in float32, which cannot resolve 1e-5 on long sums.
  for (const length of bag.reduce === 'ReduceSum' ? LENGTHS.filter((l) => l <= 64) : LENGTHS) {
    const ids = BigInt64Array.from(r.ints(length, -bag.rows, bag.rows - 1), BigInt);
    const expected = (await session.run({ ids: new ort.Tensor('int64', ids, [1, length]) }))[session.outputNames[0]!]!;
    const got = micro.run({ ids: { dtype: 'int64', dims: [1, length], data: ids } })[session.outputNames[0]!]!;
    expect(got.dims, `length ${length}`).toEqual(expected.dims.map(Number));
    const e = expected.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(e[i]! - Number(got.data[i])));
    expect(worst, `length ${length}`).toBeLessThanOrEqual(TOLERANCE);
  }
  await session.release();
  return source;
}

/** The per-id form: every id's row added into the accumulator buffer element by element. */
const PER_ID_SUM = /_acc\d+\[i\] \+= /;

describe('embedding bag: blocked sums vs onnxruntime-node', () => {
  test('a 8192 x 32 float table (1 MB): rows touched ahead, 4 blocks of 8 sums in locals', async () => {
    const source = await check({ rows: 8192, rowDims: [32], reduce: 'ReduceMean' }, 1);
    expect(source).toContain('touch += ');
    expect(source.match(/let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;/g)).toHaveLength(4);
    expect(source).not.toMatch(PER_ID_SUM);
  });

  test('13 elements a row (a block of 8, then of 5), a small table: not touched', async () => {
    const source = await check({ rows: 40, rowDims: [13], reduce: 'ReduceSum' }, 2);
    expect(source).toContain('let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0;');
    expect(source).not.toContain('touch');
    expect(source).not.toMatch(PER_ID_SUM);
  });

  test('rows of 2 x 3 times a constant broadcast over the first row dim', async () => {
    const source = await check({ rows: 50, rowDims: [2, 3], scaleDims: [3], reduce: 'ReduceMean' }, 3);
    expect(source).not.toMatch(PER_ID_SUM);
  });

  test('rows of 3 x 2 times a constant broadcast over the last row dim', async () => {
    await check({ rows: 50, rowDims: [3, 2], scaleDims: [3, 1], reduce: 'ReduceSum' }, 4);
  });

  test('rows over 256 elements keep the per-id loop', async () => {
    const source = await check({ rows: 30, rowDims: [300], reduce: 'ReduceMean' }, 5);
    expect(source).toMatch(PER_ID_SUM);
  });

  test('an id out of range is bad input naming the Gather; the next call is unaffected', async () => {
    const r = new Random(6);
    const bytes = bagGraph(r, { rows: 8192, rowDims: [32], reduce: 'ReduceMean' });
    const micro = await importMicroModule(compileOnnxToModule(bytes, { name: 'bag' }).source, 'bag');
    const feed = (ids: number[]) => ({ ids: { dtype: 'int64' as const, dims: [1, ids.length], data: BigInt64Array.from(ids, BigInt) } });
    const before = micro.run(feed([3, -1, 7]));
    expect(() => micro.run(feed([3, 8192, 7]))).toThrow(/index 8192 is out of range for a dimension of 8192/);
    expect(() => micro.run(feed([-8193]))).toThrow(/out of range/);
    expect(micro.run(feed([3, -1, 7]))).toEqual(before);
  });
});
