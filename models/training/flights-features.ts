// The flights feature views computed from the data, two ways from one definition: as of a day
// for the online store (materialization), and point in time for training rows (as Feast's
// get_historical_features): a row of day D sees only flights of days before D, never its own
// day or later, so training never reads the future.
import type { FeatureRepository, TabularFeatureView } from '../../core/features/declarations.ts';
import { isDelayed, type Flights } from './flights-data.ts';

/** Which column keys a flights view (its declaration's `source.entity`). */
export type FlightEntityKind = 'origin' | 'destination' | 'route' | 'hour';

/** Rates are smoothed toward this prior (also the declared default of every rate field). */
export const PRIOR_DELAY_RATE = 0.2;
/** Pseudo-flights of the prior: an airport with 2 flights, both late, reads 0.43, not 1. */
export const PRIOR_WEIGHT = 5;

/** Daily flight and delay counts per entity of one view, as prefix sums over days. */
export interface ViewCounts {
  view: TabularFeatureView;
  kind: FlightEntityKind;
  windowDays: number;
  /** Entity keys, as the request path forms them from request fields (route: "ORIG|DEST"). */
  entities: string[];
  /** Entity index of every flight. */
  entityOfRow: Int32Array;
  days: number;
  /** cumFlights[e * (days + 1) + d]: flights of entity e on days < d. */
  cumFlights: Int32Array;
  cumDelayed: Int32Array;
}

/** The flights source of a declared view; throws naming the declaration when it is not one. */
function flightsSource(view: TabularFeatureView): { kind: FlightEntityKind; windowDays: number } {
  const { source } = view;
  const kind = source.entity as FlightEntityKind;
  if (source.kind !== 'flights' || !['origin', 'destination', 'route', 'hour'].includes(kind)) {
    throw new Error(`${view.file}: source must be {"kind": "flights", "entity": "origin" | "destination" | "route" | "hour", "windowDays": n}`);
  }
  const windowDays = source.windowDays as number;
  if (!Number.isInteger(windowDays) || windowDays < 1) throw new Error(`${view.file}: source.windowDays must be an integer ≥ 1`);
  return { kind, windowDays };
}

/** The tabular views whose source is the flights data. */
export function flightViews(repository: FeatureRepository): TabularFeatureView[] {
  return [...repository.views.values()].filter((v): v is TabularFeatureView => v.kind === 'tabular' && v.source.kind === 'flights');
}

/** Counts one view's entities per day. */
export function countView(flights: Flights, view: TabularFeatureView): ViewCounts {
  const { kind, windowDays } = flightsSource(view);
  const entityOfRow = new Int32Array(flights.size);
  const index = new Map<string, number>();
  const entities: string[] = [];
  const idOf = (key: string) => {
    let id = index.get(key);
    if (id === undefined) {
      id = entities.length;
      index.set(key, id);
      entities.push(key);
    }
    return id;
  };
  const airports = flights.airports;
  // Route keys are made once per (origin, destination) pair, not once per row.
  const routeIds = new Map<number, number>();
  for (let i = 0; i < flights.size; i++) {
    const o = flights.origin[i] as number;
    const d = flights.destination[i] as number;
    switch (kind) {
      case 'origin':
        entityOfRow[i] = idOf(airports[o] as string);
        break;
      case 'destination':
        entityOfRow[i] = idOf(airports[d] as string);
        break;
      case 'hour':
        entityOfRow[i] = idOf(String(flights.hour[i]));
        break;
      case 'route': {
        const pair = o * 65_536 + d;
        let id = routeIds.get(pair);
        if (id === undefined) routeIds.set(pair, (id = idOf(`${airports[o]}|${airports[d]}`)));
        entityOfRow[i] = id;
        break;
      }
    }
  }
  let days = 0;
  for (let i = 0; i < flights.size; i++) days = Math.max(days, (flights.day[i] as number) + 1);
  const stride = days + 1;
  const cumFlights = new Int32Array(entities.length * stride);
  const cumDelayed = new Int32Array(entities.length * stride);
  for (let i = 0; i < flights.size; i++) {
    const at = (entityOfRow[i] as number) * stride + (flights.day[i] as number) + 1;
    cumFlights[at] = (cumFlights[at] as number) + 1;
    cumDelayed[at] = (cumDelayed[at] as number) + isDelayed(flights, i);
  }
  for (let e = 0; e < entities.length; e++) {
    for (let d = 1; d <= days; d++) {
      const at = e * stride + d;
      cumFlights[at] = (cumFlights[at] as number) + (cumFlights[at - 1] as number);
      cumDelayed[at] = (cumDelayed[at] as number) + (cumDelayed[at - 1] as number);
    }
  }
  return { view, kind, windowDays, entities, entityOfRow, days, cumFlights, cumDelayed };
}

/** Flights and delays of entity `e` on days [from, to) (clamped to the data). */
function windowCounts(c: ViewCounts, e: number, from: number, to: number): { flights: number; delayed: number } {
  const stride = c.days + 1;
  const lo = Math.max(0, Math.min(c.days, from));
  const hi = Math.max(0, Math.min(c.days, to));
  return {
    flights: (c.cumFlights[e * stride + hi] as number) - (c.cumFlights[e * stride + lo] as number),
    delayed: (c.cumDelayed[e * stride + hi] as number) - (c.cumDelayed[e * stride + lo] as number),
  };
}

const rate = (delayed: number, flights: number) => (delayed + PRIOR_DELAY_RATE * PRIOR_WEIGHT) / (flights + PRIOR_WEIGHT);

/**
 * Field values of entity `e` as of the start of day `asOf`: only flights of days before it.
 * An entity without flights in the window gets exactly the declared defaults.
 */
export function valuesAsOf(c: ViewCounts, e: number, asOf: number): Record<string, number> {
  const window = windowCounts(c, e, asOf - c.windowDays, asOf);
  const values: Record<string, number> = {};
  for (const field of c.view.fields) {
    switch (field.name) {
      case 'delay_rate_28d':
        values[field.name] = rate(window.delayed, window.flights);
        break;
      case 'delay_rate_1d': {
        const day = windowCounts(c, e, asOf - 1, asOf);
        values[field.name] = rate(day.delayed, day.flights);
        break;
      }
      case 'log_flights_28d':
        values[field.name] = Math.log1p(window.flights);
        break;
      default:
        throw new Error(`${c.view.file}: field "${field.name}" has no computation in models/training/flights-features.ts (known: delay_rate_28d, delay_rate_1d, log_flights_28d)`);
    }
  }
  return values;
}

/** Flights of entity `e` in its window as of `asOf`: 0 means nothing to store (defaults apply). */
export function flightsInWindow(c: ViewCounts, e: number, asOf: number): number {
  return windowCounts(c, e, asOf - c.windowDays, asOf).flights;
}

/** Flights of entity `e` on days [from, to). */
export function flightsBetween(c: ViewCounts, e: number, from: number, to: number): number {
  return windowCounts(c, e, from, to).flights;
}

/**
 * Point-in-time feature rows (Feast's get_historical_features): for each flight row, the
 * values of `refs` ("view.field") as of the start of that flight's day, row-major
 * [rows × refs]. Values are computed per (entity, day) once and shared by the rows.
 */
export function historicalFeatures(flights: Flights, counts: ReadonlyMap<string, ViewCounts>, refs: readonly string[], rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * refs.length);
  const resolved = refs.map((ref) => {
    const [viewName, field] = ref.split('.') as [string, string];
    const c = counts.get(viewName);
    if (!c) throw new Error(`historicalFeatures: no counts for view "${viewName}" (of "${ref}")`);
    return { c, field };
  });
  const memo = new Map<ViewCounts, Map<number, Record<string, number>>>();
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r] as number;
    const day = flights.day[i] as number;
    resolved.forEach(({ c, field }, j) => {
      let perView = memo.get(c);
      if (!perView) memo.set(c, (perView = new Map()));
      const e = c.entityOfRow[i] as number;
      const key = e * 1024 + day;
      let values = perView.get(key);
      if (!values) perView.set(key, (values = valuesAsOf(c, e, day)));
      out[r * refs.length + j] = values[field] as number;
    });
  }
  return out;
}
