// Prune, then quantize (FastText.zip's recipe for small text classifiers): rank embedding
// rows by how much the training data leans on them (frequency × L2 norm), drop the least
// important rows (zeroed: the hashed id then contributes nothing), quantize the rest to int8,
// and keep the smallest model whose calibration accuracy stays within a budget of the
// unpruned one. Dropped rows are runs of zeros, which gzip removes from the deployed
// bundle; the graph, and so every engine, stay unchanged. Chosen on calibration only.
import { gzipSync } from 'node:zlib';
import { argmax, forward, type Example, type FastTextWeights } from './fasttext.ts';
import { exportQuantizedFastText } from './onnx-export.ts';
import { dequantizeFastText, quantizeFastText, type QuantizedFastText } from './quantize.ts';

/** One point of the size vs accuracy sweep. */
export interface PrunePoint {
  keptRows: number;
  keptFraction: number;
  calibrationAccuracy: number;
  /** Accuracy lost against the unpruned int8 model, in percentage points. */
  costPoints: number;
  onnxBytes: number;
  onnxGzipBytes: number;
}

export interface PruneOptions {
  /** Largest calibration accuracy loss accepted, in percentage points (e.g. 0.5). */
  budgetPoints: number;
  /** Fractions of rows to try keeping (1 = no pruning is always tried). */
  keepFractions?: readonly number[];
}

export interface PruneResult {
  table: PrunePoint[];
  chosen: PrunePoint;
  quantized: QuantizedFastText;
  /** The chosen rows in fp32, before quantization (the fp32 twin of the pruned model). */
  prunedFp32: FastTextWeights;
  /** fp32 weights the chosen int8 graph effectively runs with. */
  served: FastTextWeights;
  bytes: Uint8Array;
}

const DEFAULT_FRACTIONS = [1, 0.75, 0.5, 0.35, 0.25, 0.15, 0.1, 0.05];

/** Importance of each embedding row: how often training ids hit it × the row's L2 norm. */
export function rowImportance(weights: FastTextWeights, train: readonly Example[]): Float64Array {
  const { buckets, dim } = weights.config;
  const hits = new Float64Array(buckets);
  for (const e of train) for (const id of e.ids) hits[id]! += 1;
  const importance = new Float64Array(buckets);
  for (let r = 0; r < buckets; r++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += weights.embedding[r * dim + d]! ** 2;
    importance[r] = hits[r]! * Math.sqrt(norm);
  }
  return importance;
}

/** A copy of `weights` with every embedding row outside the `keep` most important zeroed. */
export function keepTopRows(weights: FastTextWeights, importance: Float64Array, keep: number): FastTextWeights {
  const { buckets, dim } = weights.config;
  // Ties broken by row index, so the result is deterministic.
  const order = Array.from({ length: buckets }, (_, r) => r).sort((a, b) => importance[b]! - importance[a]! || a - b);
  const embedding = new Float32Array(weights.embedding.length);
  for (const r of order.slice(0, keep)) embedding.set(weights.embedding.subarray(r * dim, (r + 1) * dim), r * dim);
  return { ...weights, embedding };
}

function accuracy(weights: FastTextWeights, examples: readonly Example[]): number {
  let correct = 0;
  for (const e of examples) if (argmax(forward(weights, e.ids).probabilities) === e.label) correct++;
  return correct / examples.length;
}

/** Sweeps the keep fractions and picks the smallest model within the budget. */
export function pruneThenQuantize(fp32: FastTextWeights, train: readonly Example[], calibration: readonly Example[], options: PruneOptions, graphName: string): PruneResult {
  const importance = rowImportance(fp32, train);
  const buckets = fp32.config.buckets;
  const fractions = [...new Set([1, ...(options.keepFractions ?? DEFAULT_FRACTIONS)])].sort((a, b) => b - a);
  const candidates: Array<PrunePoint & { quantized: QuantizedFastText; prunedFp32: FastTextWeights; served: FastTextWeights; bytes: Uint8Array }> = [];
  let baseline = Number.NaN;
  for (const fraction of fractions) {
    const keptRows = Math.max(1, Math.round(buckets * fraction));
    const prunedFp32 = keepTopRows(fp32, importance, keptRows);
    const quantized = quantizeFastText(prunedFp32);
    const served = dequantizeFastText(quantized);
    const bytes = exportQuantizedFastText(quantized, graphName);
    const calibrationAccuracy = accuracy(served, calibration);
    if (fraction === 1) baseline = calibrationAccuracy;
    candidates.push({
      keptRows,
      keptFraction: fraction,
      calibrationAccuracy,
      costPoints: Math.round((baseline - calibrationAccuracy) * 1e4) / 100,
      onnxBytes: bytes.length,
      onnxGzipBytes: gzipSync(bytes, { level: 9 }).length,
      quantized,
      prunedFp32,
      served,
      bytes,
    });
  }
  const within = candidates.filter((c) => c.costPoints <= options.budgetPoints);
  const chosen = within.reduce((best, c) => (c.onnxGzipBytes < best.onnxGzipBytes ? c : best), within[0]!);
  const strip = ({ quantized: _q, prunedFp32: _p, served: _s, bytes: _b, ...point }: (typeof candidates)[number]): PrunePoint => point;
  return { table: candidates.map(strip), chosen: strip(chosen), quantized: chosen.quantized, prunedFp32: chosen.prunedFp32, served: chosen.served, bytes: chosen.bytes };
}

/** The sweep as a printable table, the chosen row marked. */
export function formatPruneTable(result: Pick<PruneResult, 'table' | 'chosen'>): string {
  const lines = ['   kept rows   fraction  calibration  cost (pts)  onnx bytes  onnx gzip'];
  for (const p of result.table) {
    const mark = p.keptRows === result.chosen.keptRows ? '  ← chosen' : '';
    lines.push(
      `   ${String(p.keptRows).padStart(9)}  ${p.keptFraction.toFixed(2).padStart(9)}  ${(p.calibrationAccuracy * 100).toFixed(2).padStart(10)} %  ${p.costPoints.toFixed(2).padStart(10)}  ${String(p.onnxBytes).padStart(10)}  ${String(p.onnxGzipBytes).padStart(9)}${mark}`,
    );
  }
  return lines.join('\n');
}

/**
 * `--prune` (budget 0.5 points) or `--prune=<points>` / `--prune <points>` among the
 * arguments of `npm run models`; undefined when absent (no pruning).
 */
export function pruneBudgetFromArgs(argv: readonly string[]): number | undefined {
  const at = argv.findIndex((a) => a === '--prune' || a.startsWith('--prune='));
  if (at < 0) return undefined;
  const arg = argv[at]!;
  const text = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[at + 1] && !argv[at + 1]!.startsWith('--') ? argv[at + 1]! : '0.5';
  const budget = Number(text);
  if (!Number.isFinite(budget) || budget < 0) throw new Error(`--prune takes a budget in accuracy points ≥ 0 (e.g. --prune=0.5), got "${text}"`);
  return budget;
}

/** What model.json keeps about the chosen point. */
export function pruningRecord(result: Pick<PruneResult, 'table' | 'chosen'>, budgetPoints: number, totalRows: number): Record<string, unknown> {
  return {
    method: 'prune, then quantize: rows ranked by training frequency × L2 norm, the least important zeroed; smallest gzip within the calibration budget',
    budgetPoints,
    keptRows: result.chosen.keptRows,
    totalRows,
    calibrationAccuracy: Math.round(result.chosen.calibrationAccuracy * 1e4) / 1e4,
    costPoints: result.chosen.costPoints,
    onnxGzipBytes: result.chosen.onnxGzipBytes,
    sweep: result.table.map((p) => ({ keptRows: p.keptRows, calibrationAccuracy: Math.round(p.calibrationAccuracy * 1e4) / 1e4, onnxGzipBytes: p.onnxGzipBytes })),
  };
}
