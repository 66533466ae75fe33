// Point-in-time correctness of the flights views on a constructed case: a training row sees
// only flights of days before its own, so neither its own outcome nor any later one leaks into
// its features; the online rows (materialization) are the same computation as of a later day,
// and an entity with nothing in its window reads exactly the declared defaults.
import { describe, expect, it } from 'vitest';
import { tabularDefaults, type TabularFeatureView } from '../../../core/features/declarations.ts';
import { loadFeatureRepository } from '../../../features/index.ts';
import type { Flights } from '../../../models/training/flights-data.ts';
import { countView, historicalFeatures, PRIOR_DELAY_RATE, PRIOR_WEIGHT, valuesAsOf } from '../../../models/training/flights-features.ts';
import { computeFlightViewRows } from '../../../models/training/materialize-features.ts';

/** Flights from [day, hour, delay, origin, destination] tuples (airports by index into AIRPORTS). */
const AIRPORTS = ['AAA', 'BBB', 'CCC'];
function flightsOf(rows: Array<[number, number, number, number, number]>): Flights {
  const n = rows.length;
  const f: Flights = {
    size: n,
    airports: AIRPORTS,
    day: Int16Array.from(rows, (r) => r[0]),
    hour: Uint8Array.from(rows, (r) => r[1]),
    dayOfWeek: Uint8Array.from(rows, (r) => r[0] % 7),
    delay: Int16Array.from(rows, (r) => r[2]),
    distance: Int16Array.from(rows, () => 500),
    origin: Uint16Array.from(rows, (r) => r[3]),
    destination: Uint16Array.from(rows, (r) => r[4]),
  };
  return f;
}
const rate = (delayed: number, flights: number) => (delayed + PRIOR_DELAY_RATE * PRIOR_WEIGHT) / (flights + PRIOR_WEIGHT);

describe('flights views, point in time', () => {
  const repo = loadFeatureRepository();
  const origin = repo.view('origin_airport') as TabularFeatureView;
  const route = repo.view('route') as TabularFeatureView;
  // AAA: day 0 two flights (one late), day 1 one on time, day 2 one very late, day 40 one on time.
  const flights = flightsOf([
    [0, 8, 30, 0, 1],
    [0, 9, 0, 0, 1],
    [1, 8, 0, 0, 2],
    [2, 8, 120, 0, 1],
    [2, 9, 200, 1, 0],
    [40, 8, 0, 0, 1],
  ]);
  const counts = new Map([origin, route].map((v) => [v.name, countView(flights, v)] as const));
  const refs = ['origin_airport.delay_rate_28d', 'origin_airport.delay_rate_1d', 'origin_airport.log_flights_28d', 'route.delay_rate_28d'];
  const features = historicalFeatures(flights, counts, refs, [0, 1, 2, 3, 4, 5]);
  const row = (r: number) => Array.from(features.subarray(r * refs.length, (r + 1) * refs.length));

  it('a row of the first day sees nothing: the declared defaults, not its own delay', () => {
    expect(row(0)).toEqual(Array.from(Float32Array.from([0.2, 0.2, 0, 0.2])));
    // Same day, same features: the 8:00 flight's delay does not reach the 9:00 one.
    expect(row(1)).toEqual(row(0));
  });

  it('day 1 sees day 0 only; day 2 sees days 0–1, never its own 120-minute delay', () => {
    expect(row(2)).toEqual(Array.from(Float32Array.from([rate(1, 2), rate(1, 2), Math.log1p(2), PRIOR_DELAY_RATE])));
    // Route AAA|BBB as of day 2: the two flights of day 0 (one late).
    expect(row(3)).toEqual(Array.from(Float32Array.from([rate(1, 3), rate(0, 1), Math.log1p(3), rate(1, 2)])));
    // Another origin on day 2: BBB has no history yet.
    expect(row(4)).toEqual(Array.from(Float32Array.from([0.2, 0.2, 0, 0.2])));
  });

  it('the 28-day window forgets: day 40 sees none of days 0–2', () => {
    expect(row(5)).toEqual(Array.from(Float32Array.from([0.2, 0.2, 0, 0.2])));
  });

  it('changing a later outcome never changes an earlier row', () => {
    const changed = flightsOf([
      [0, 8, 30, 0, 1],
      [0, 9, 0, 0, 1],
      [1, 8, 0, 0, 2],
      [2, 8, 0, 0, 1],
      [2, 9, 0, 1, 0],
      [40, 8, 999, 0, 1],
    ]);
    const again = historicalFeatures(changed, new Map([origin, route].map((v) => [v.name, countView(changed, v)] as const)), refs, [0, 1, 2, 3, 4, 5]);
    expect(Array.from(again)).toEqual(Array.from(features));
  });

  it('online rows are the same values as of the day after the data; empty windows are left to the defaults', () => {
    const rows = computeFlightViewRows(flights, origin, 3);
    expect(rows.map((r) => r.entity)).toEqual(['AAA', 'BBB']);
    expect(JSON.parse(rows[0]?.value as string)).toEqual(valuesAsOf(counts.get('origin_airport')!, 0, 3));
    expect(JSON.parse(rows[0]?.value as string)).toEqual({ delay_rate_28d: rate(2, 4), delay_rate_1d: rate(1, 1), log_flights_28d: Math.log1p(4) });
    expect(rows[0]?.key).toBe('f:origin_airport:1:AAA');
    // --since: only entities with flights on days [since, asOf): both flew on day 2; only AAA between days 30 and 40.
    expect(computeFlightViewRows(flights, origin, 3, 2).map((r) => r.entity)).toEqual(['AAA', 'BBB']);
    expect(computeFlightViewRows(flights, origin, 41, 30).map((r) => r.entity)).toEqual(['AAA']);
    // Nothing in the window as of day 35: no rows, and the formula at zero flights is the declared default.
    expect(computeFlightViewRows(flights, origin, 35)).toEqual([]);
    expect(valuesAsOf(counts.get('origin_airport')!, 1, 35)).toEqual(tabularDefaults(origin));
    expect(computeFlightViewRows(flights, route, 3).map((r) => r.key)).toEqual(['f:route:1:AAA%7CBBB', 'f:route:1:AAA%7CCCC', 'f:route:1:BBB%7CAAA']);
  });
});
