// What one prediction cost, attributed by the path it took (cache hit, edge, escalated),
// from the price table in core/cache/price-table.ts (the one file of list prices).
import { type PriceTable, regionalCallUsd } from '../cache/price-table.ts';

/** How a prediction was answered, for cost and counts. */
export type PredictionPath = 'cache_hit' | 'edge' | 'escalated';

/** What the cost of one prediction depends on. */
export interface CostFacts {
  /** Wall time of the request at the edge, ms (Lambda@Edge bills duration). */
  totalMs: number;
  /** Duration of the regional call when one was made, ms. */
  regionalMs?: number;
  /** Redis commands the request sent (GET, and SET after a miss). */
  redisCommands: number;
}

/** Dollars for one prediction: the edge invocation, edge compute, the regional call, Redis commands. */
export function predictionCostUsd(prices: PriceTable, facts: CostFacts): number {
  let usd = prices.edgeRequestUsd + prices.redisCommandUsd * facts.redisCommands;
  const edgeGbSecond = prices.edgeGbSecondUsd ?? 0;
  // Lambda@Edge rounds duration up to the next millisecond.
  if (edgeGbSecond > 0) usd += edgeGbSecond * (prices.edgeMemoryGb ?? 0.128) * (Math.ceil(Math.max(1, facts.totalMs)) / 1000);
  if (facts.regionalMs !== undefined) usd += regionalCallUsd(prices, Math.ceil(facts.regionalMs));
  return usd;
}

/** Redis commands implied by what L2 did: a hit is one GET, a miss a GET and the SET after it, a failed call one. */
export function redisCommandsFor(l2: string | undefined): number {
  if (l2 === 'hit' || l2 === 'over_budget' || l2 === 'unavailable') return 1;
  if (l2 === 'miss') return 2;
  return 0;
}
