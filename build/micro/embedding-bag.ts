// The embedding bag's loops when its row is small and static (fastText-style text models:
// Reduce over the ids of element-wise(Gather(table, ids))). Measured on a 65536 x 32 fp32
// table and ~1600 ids per call, the plain form (for each id, acc[i] += row[i] over a
// Float64Array) is bound by the accumulator's loads and stores and by cache misses on rows
// spread over an 8 MB table, one row at a time. Here instead:
// - one pass checks the ids, keeps each row's offset and touches every cache line of the row,
//   so the misses of many rows are in flight together (the loop body is a few loads);
// - then, per block of LANES row elements, one pass over the ids with that many accumulators
//   in locals, two rows per step (two float32 values sum exactly in a double, so the sum is
//   the plain form's up to the last bit almost always; parity is held to 1e-4 in tests).
import { BYTES_OF_DTYPE, type Dim, type ModuleWriter, type Value } from './module-writer.ts';

/** Row elements summed per pass over the ids (accumulators held in locals). */
const LANES = 8;
/** Rows longer than this keep the plain loop (the blocks are unrolled into code). */
const MAX_UNROLLED_ROW = 256;
/** Tables from this size are touched ahead (smaller ones stay in L2 between calls). */
const TOUCH_FROM_BYTES = 1 << 20;

export interface BagGather {
  table: Value;
  /** Rows of the table (its first dim). */
  rows: Dim;
  /** Dims of a table row. */
  rowDims: readonly Dim[];
  /** The Gather node, named in the out-of-range error. */
  node: string;
}

export interface BagLeaf {
  /** Index into `gathers` for a gathered leaf; undefined for a value broadcast over the ids. */
  gather?: number;
  buf: string;
  /** The leaf's row dims (aligned right to the output row; 1 where it broadcasts). */
  rowDims: readonly Dim[];
}

export interface BagPlan {
  w: ModuleWriter;
  ids: string;
  count: Dim;
  rowDims: readonly Dim[];
  gathers: readonly BagGather[];
  leaves: readonly BagLeaf[];
  /** The element's expression from its leaves' reads (in `leaves` order). */
  expr: (reads: string[]) => string;
  /** Accumulators (rowSize doubles): the row's sums land here. */
  acc: string;
}

/** The loops summing every id's row into `acc`, or undefined (nothing emitted or declared) where the row is not small and static. */
export function blockedBagLines(plan: BagPlan): string[] | undefined {
  const { w, ids, count, gathers, leaves, acc } = plan;
  if (!plan.rowDims.every((d): d is number => typeof d === 'number')) return undefined;
  const rowDims = plan.rowDims as number[];
  const rowSize = rowDims.reduce((a, b) => a * b, 1);
  if (rowSize > MAX_UNROLLED_ROW || rowSize === 0) return undefined;
  if (!leaves.every((l) => l.rowDims.every((d) => typeof d === 'number'))) return undefined;
  if (!gathers.every((g) => g.rowDims.every((d) => typeof d === 'number'))) return undefined;
  // Each leaf's offset within its row for every element of the output row (0 where it broadcasts).
  const offsets = leaves.map((l) => {
    const dims = [...Array<number>(rowDims.length - l.rowDims.length).fill(1), ...(l.rowDims as number[])];
    const strides = dims.map((_, k) => dims.slice(k + 1).reduce((a, b) => a * b, 1));
    return Array.from({ length: rowSize }, (_, linear) => {
      let rest = linear;
      let offset = 0;
      for (let k = rowDims.length - 1; k >= 0; k--) {
        const i = rest % rowDims[k]!;
        rest = (rest - i) / rowDims[k]!;
        if (dims[k] !== 1) offset += i * strides[k]!;
      }
      return offset;
    });
  });

  const bases = gathers.map(() => w.alloc('int32', [count]));
  const touched = gathers.map((g) => {
    const elements = w.prod(g.table.dims);
    return typeof elements === 'number' && elements * BYTES_OF_DTYPE[g.table.dtype] >= TOUCH_FROM_BYTES;
  });
  const lines: string[] = [];
  const touching = touched.some(Boolean);
  // The touches' sum is stored where nothing reads it, so the compiler keeps the loads.
  const sink = touching ? w.scratch(1) : '';
  if (touching) lines.push('let touch = 0;');
  lines.push(`for (let bag = 0; bag < ${count}; bag++) {`, `  const id = ${ids}[bag];`);
  gathers.forEach((g, m) => {
    const R = (g.rowDims as number[]).reduce((a, b) => a * b, 1);
    lines.push(
      `  const j${m} = id < 0 ? id + ${g.rows} : id;`,
      `  if (!(j${m} >= 0 && j${m} < ${g.rows})) fail("bad_input", "node " + ${w.nodeRef(g.node)} + ": index " + id + " is out of range for a dimension of " + ${g.rows});`,
      `  const r${m} = j${m} * ${R};`,
      `  ${bases[m]}[bag] = r${m};`,
    );
    if (touched[m]) {
      const perLine = Math.max(1, 64 / BYTES_OF_DTYPE[g.table.dtype]);
      const at = new Set<number>();
      for (let k = 0; k < R; k += perLine) at.add(k);
      at.add(R - 1);
      lines.push(`  touch += ${[...at].map((k) => `${g.table.buf}[r${m}${k === 0 ? '' : ` + ${k}`}]`).join(' + ')};`);
    }
  });
  lines.push('}');
  if (touching) lines.push(`${sink}[0] = touch;`);

  const read = (row: string) => (lane: number) =>
    leaves.map((l, k) => {
      const offset = offsets[k]![lane]!;
      if (l.gather === undefined) return `${l.buf}[${offset}]`;
      return `${gathers[l.gather]!.table.buf}[${row}${l.gather}${offset === 0 ? '' : ` + ${offset}`}]`;
    });
  const loadRows = (row: string, at: string) => gathers.map((_, m) => `const ${row}${m} = ${bases[m]}[${at}];`).join(' ');
  for (let start = 0; start < rowSize; start += LANES) {
    const lanes = Array.from({ length: Math.min(LANES, rowSize - start) }, (_, k) => start + k);
    const first = read('p');
    const second = read('q');
    lines.push(
      '{',
      `  let ${lanes.map((_, k) => `a${k} = 0`).join(', ')};`,
      '  let bag = 0;',
      `  for (; bag + 1 < ${count}; bag += 2) {`,
      `    ${loadRows('p', 'bag')} ${loadRows('q', 'bag + 1')}`,
      ...lanes.map((lane, k) => `    a${k} += ${plan.expr(first(lane))} + ${plan.expr(second(lane))};`),
      '  }',
      `  if (bag < ${count}) {`,
      `    ${loadRows('p', 'bag')}`,
      ...lanes.map((lane, k) => `    a${k} += ${plan.expr(first(lane))};`),
      '  }',
      `  ${lanes.map((lane, k) => `${acc}[${lane}] = a${k};`).join(' ')}`,
      '}',
    );
  }
  return lines;
}
