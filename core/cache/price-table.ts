// List prices every cost figure is computed from (the cache policy, the benchmarks, the
// per-prediction cost in core/telemetry), in US dollars. This is the one file to edit when
// prices change or differ for your account: each price carries its source and the date it
// was read. `DEFAULT_PRICE_TABLE` (what the cache policy reasons with) is derived from it.

/** One list price: dollars per unit, where the number came from and when it was read. */
export interface ListPrice {
  usd: number;
  /** What one unit is ("request", "GB-second", "command", ...). */
  per: string;
  source: string;
  /** When the number was read (YYYY-MM). */
  date: string;
  /** True when no pricing page gave this number and it is an assumption: check it for your plan. */
  assumed?: boolean;
}

/** Where the edge half of a request runs. */
export type EdgeProvider = 'vercel-edge' | 'netlify-edge' | 'lambda-edge';

/** List prices per provider. Edit the numbers here; everything else follows. */
export const PROVIDER_PRICES = {
  'vercel-edge': {
    request: {
      usd: 0.6 / 1_000_000,
      per: 'invocation',
      source: 'Vercel functions pricing (edge runtime included): $0.60 per 1M invocations beyond the included million; copied in shared/DESIGN.md',
      date: '2026-11',
    },
  },
  'netlify-edge': {
    request: {
      usd: 2 / 1_000_000,
      per: 'invocation',
      source:
        'docs.netlify.com/edge-functions/usage-and-billing: invocations are metered, extra usage packages beyond the plan; the package price is not stated there, $2 per 1M assumed',
      date: '2026-11',
      assumed: true,
    },
  },
  'lambda-edge': {
    request: { usd: 0.6 / 1_000_000, per: 'request', source: 'AWS Lambda@Edge pricing: $0.60 per 1M requests; copied in shared/DESIGN.md', date: '2026-11' },
    gbSecond: { usd: 0.00005001, per: 'GB-second', source: 'AWS Lambda@Edge pricing: $0.00005001 per GB-second; copied in shared/DESIGN.md', date: '2026-11' },
  },
  'regional-lambda': {
    request: { usd: 0.2 / 1_000_000, per: 'request', source: 'AWS Lambda pricing (x86): $0.20 per 1M requests; copied in shared/DESIGN.md', date: '2026-11' },
    gbSecond: { usd: 0.0000166667, per: 'GB-second', source: 'AWS Lambda pricing (x86): $0.0000166667 per GB-second; copied in shared/DESIGN.md', date: '2026-11' },
  },
  upstash: {
    command: { usd: 2 / 1_000_000, per: 'command', source: 'Upstash Redis pay-as-you-go: $0.20 per 100K commands; copied in shared/DESIGN.md', date: '2026-11' },
  },
} as const satisfies Record<string, Record<string, ListPrice>>;

/** Prices per unit, in US dollars, as the cache policy and the cost attribution use them. */
export interface PriceTable {
  /** Upstash Redis pay-as-you-go, per command (about $0.20 per 100K = $2 per 1M). */
  redisCommandUsd: number;
  /** One edge invocation (Lambda@Edge $0.60 per 1M; Vercel $0.60 per 1M beyond the included million). */
  edgeRequestUsd: number;
  /** Edge compute per GB-second (Lambda@Edge bills it; 0 where the provider bills invocations only). */
  edgeGbSecondUsd?: number;
  /** Memory of the edge function, GB (Lambda@Edge viewer triggers: 0.125). */
  edgeMemoryGb?: number;
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

/** The price table for an edge provider (list prices from PROVIDER_PRICES). */
export function priceTableFor(provider: EdgeProvider, memory: { edgeMemoryGb?: number; regionalMemoryGb?: number } = {}): PriceTable {
  const edge = PROVIDER_PRICES[provider];
  const regional = PROVIDER_PRICES['regional-lambda'];
  return {
    redisCommandUsd: PROVIDER_PRICES.upstash.command.usd,
    edgeRequestUsd: edge.request.usd,
    edgeGbSecondUsd: 'gbSecond' in edge ? edge.gbSecond.usd : 0,
    edgeMemoryGb: memory.edgeMemoryGb ?? 0.128,
    regionalRequestUsd: regional.request.usd,
    regionalGbSecondUsd: regional.gbSecond.usd,
    regionalMemoryGb: memory.regionalMemoryGb ?? 1,
    regionalBilledMs: 20,
    source: `core/cache/price-table.ts PROVIDER_PRICES (${provider}, regional Lambda x86, Upstash pay-as-you-go; list prices read ${regional.request.date})`,
  };
}

/** Defaults: Lambda@Edge's request fee (the same $0.60 per 1M as Vercel), x86 regional Lambda, Upstash. */
export const DEFAULT_PRICE_TABLE: PriceTable = { ...priceTableFor('lambda-edge'), edgeGbSecondUsd: 0 };

/** Price of one regional call that runs for `billedMs` (request fee plus GB-seconds). */
export function regionalCallUsd(prices: PriceTable, billedMs = prices.regionalBilledMs): number {
  return prices.regionalRequestUsd + prices.regionalGbSecondUsd * prices.regionalMemoryGb * (Math.max(1, billedMs) / 1000);
}

/** Dollars per call → dollars per million calls, rounded to cents of a cent for reports. */
export function perMillion(usdPerCall: number): number {
  return Math.round(usdPerCall * 1_000_000 * 10_000) / 10_000;
}
