// Size budgets: each provider's code-size limit per plan (providers' own docs, see
// shared/DESIGN.md), and the check every build runs on its artifacts. A build that does not
// fit the chosen tier fails with a message naming what to change.

/** How a provider measures an artifact. */
export type SizeMeasure = 'gzip' | 'zip';

/** One plan of a provider. */
export interface SizeTier {
  limitBytes: number;
  measure: SizeMeasure;
}

const MB = 1024 * 1024;

/** Limits per target and tier. */
export const SIZE_LIMITS = {
  vercel: { hobby: { limitBytes: 1 * MB, measure: 'gzip' }, pro: { limitBytes: 2 * MB, measure: 'gzip' }, enterprise: { limitBytes: 4 * MB, measure: 'gzip' } },
  netlify: { default: { limitBytes: 20 * MB, measure: 'gzip' } },
  'lambda-edge-viewer': { default: { limitBytes: 1 * MB, measure: 'zip' } },
  'lambda-edge-origin': { default: { limitBytes: 50 * MB, measure: 'zip' } },
  regional: { default: { limitBytes: 50 * MB, measure: 'zip' } },
} as const satisfies Record<string, Record<string, SizeTier>>;

/** One measured artifact. */
export interface ArtifactSize {
  target: string;
  artifact: string;
  rawBytes: number;
  gzipBytes: number;
  /** Zip size, for targets whose artifact is a zip. */
  zipBytes?: number;
  tier: string;
  measure: SizeMeasure;
  limitBytes: number;
  fits: boolean;
}

/** Human size: KB below a MB, else MB with two decimals. */
export function formatBytes(bytes: number): string {
  return bytes < MB ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / MB).toFixed(2)} MB`;
}

/** Measures an artifact against a tier. */
export function checkSize(target: string, artifact: string, sizes: { rawBytes: number; gzipBytes: number; zipBytes?: number }, tierName: string, tier: SizeTier): ArtifactSize {
  const measured = tier.measure === 'zip' ? (sizes.zipBytes ?? sizes.gzipBytes) : sizes.gzipBytes;
  return { target, artifact, ...sizes, tier: tierName, measure: tier.measure, limitBytes: tier.limitBytes, fits: measured <= tier.limitBytes };
}

/** A printable table of sizes. */
export function formatSizeTable(rows: ArtifactSize[]): string {
  const header = ['target', 'artifact', 'raw', 'gzip', 'zip', 'tier', 'limit', 'fits'];
  const cells = rows.map((r) => [r.target, r.artifact, formatBytes(r.rawBytes), formatBytes(r.gzipBytes), r.zipBytes === undefined ? '' : formatBytes(r.zipBytes), r.tier, `${formatBytes(r.limitBytes)} ${r.measure}`, r.fits ? 'yes' : 'NO']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [header, ...cells].map((c) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** Raised when an artifact does not fit its tier; the message says what to change. */
export class SizeBudgetError extends Error {
  constructor(readonly row: ArtifactSize, advice: string) {
    const measured = row.measure === 'zip' ? (row.zipBytes ?? row.gzipBytes) : row.gzipBytes;
    super(
      `${row.target}/${row.artifact} is ${formatBytes(measured)} ${row.measure}, over the ${formatBytes(row.limitBytes)} limit of tier "${row.tier}": ${advice}`,
    );
    this.name = 'SizeBudgetError';
  }
}

/** One embedded model's share of a function's budget (the pipeline's ModelPlan, placed). */
export interface ModelShare {
  target: string;
  artifact: string;
  model: string;
  engine: string;
  /** Why micro was passed over, when ORT serves the model. */
  microSkipped?: string;
  bundleBytes: number;
  /** Its generated modules gzipped alone (shared dictionary ignored: an upper bound of its cost). */
  gzipBytes: number;
  limitBytes: number;
  measure: SizeMeasure;
  /** Median ms of its micro inference on the build machine (warm, build/engine-choice.ts), where micro serves it. */
  microMs?: number;
}

/** One line per model and function: engine chosen, bytes, share of the size budget. */
export function formatModelShares(rows: ModelShare[]): string {
  if (rows.length === 0) return 'models: none embedded';
  return rows
    .map((r) => {
      const share = ((100 * r.gzipBytes) / r.limitBytes).toFixed(1);
      if (r.engine === 'none') return `model ${r.model} in ${r.target}/${r.artifact}: not embedded (${r.microSkipped ?? 'no engine here'})`;
      const why = r.microSkipped ? ` (not micro: ${r.microSkipped})` : '';
      const ms = r.microMs === undefined ? '' : `; inference ${r.microMs < 10 ? r.microMs.toFixed(2) : r.microMs.toFixed(0)} ms here`;
      return `model ${r.model} in ${r.target}/${r.artifact}: engine ${r.engine}${why}, ${formatBytes(r.bundleBytes)} in the bundle, ${formatBytes(r.gzipBytes)} gzip = ${share}% of the ${formatBytes(r.limitBytes)} ${r.measure} budget${ms}`;
    })
    .join('\n');
}
