// Summary statistics shared by the benchmarks: nearest-rank quantiles over raw samples.

/** p50/p90/p99/mean/min/max of samples (any unit), n = sample count. */
export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/** Nearest-rank quantile of an ascending array, q in [0, 1]. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Summarises samples; values are rounded to `digits` decimals. */
export function summarize(samples: readonly number[], digits = 3): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const factor = 10 ** digits;
  const round = (v: number) => Math.round(v * factor) / factor;
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return {
    n: sorted.length,
    p50: round(quantile(sorted, 0.5)),
    p90: round(quantile(sorted, 0.9)),
    p99: round(quantile(sorted, 0.99)),
    mean: round(mean),
    min: round(sorted[0] ?? Number.NaN),
    max: round(sorted.at(-1) ?? Number.NaN),
  };
}

/** One line naming the machine and runtime, printed at the top of every bench. */
export async function machineLine(): Promise<string> {
  const os = await import('node:os');
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  return `machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; runtime: Node ${process.version} ${process.arch}`;
}
