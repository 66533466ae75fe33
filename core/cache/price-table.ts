// List prices the cache policy (and the benchmarks) reason with, in US dollars. One
// editable table: change a number here (or pass a table in config) and every cost figure
// follows. Sources: the providers' pricing pages as copied in shared/DESIGN.md, late 2026.

/** Prices per unit, in US dollars. */
export interface PriceTable {
  /** Upstash Redis pay-as-you-go, per command (about $0.20 per 100K = $2 per 1M). */
  redisCommandUsd: number;
  /** One edge invocation (Lambda@Edge $0.60 per 1M; Vercel $0.60 per 1M beyond the included million). */
  edgeRequestUsd: number;
  /** One regional Lambda request (x86, $0.20 per 1M). */
  regionalRequestUsd: number;
  /** Regional Lambda compute, per GB-second (x86, $0.0000166667). */
  regionalGbSecondUsd: number;
  /** Memory of the regional function, GB. */
  regionalMemoryGb: number;
  /** Billed duration of one regional call when none was observed yet, milliseconds. */
  regionalBilledMs: number;
  /** When and where these numbers were read. */
  source: string;
}

/** Defaults from shared/DESIGN.md (public list prices, late 2026). */
export const DEFAULT_PRICE_TABLE: PriceTable = {
  redisCommandUsd: 2 / 1_000_000,
  edgeRequestUsd: 0.6 / 1_000_000,
  regionalRequestUsd: 0.2 / 1_000_000,
  regionalGbSecondUsd: 0.0000166667,
  regionalMemoryGb: 1,
  regionalBilledMs: 20,
  source: 'shared/DESIGN.md cost table (Upstash, AWS Lambda, Lambda@Edge, Vercel list prices, late 2026)',
};

/** Price of one regional call that runs for `billedMs` (request fee plus GB-seconds). */
export function regionalCallUsd(prices: PriceTable, billedMs = prices.regionalBilledMs): number {
  return prices.regionalRequestUsd + prices.regionalGbSecondUsd * prices.regionalMemoryGb * (Math.max(1, billedMs) / 1000);
}

/** Dollars per call → dollars per million calls, rounded to cents of a cent for reports. */
export function perMillion(usdPerCall: number): number {
  return Math.round(usdPerCall * 1_000_000 * 10_000) / 10_000;
}
