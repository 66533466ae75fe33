// The flights example as the tests and benchmarks that serve it set it up: its two models
// copied into a repository of their own (so a test may edit a model.json), its declared views
// (flights and flights-embeddings sources) materialized into Redis through the Upstash REST
// protocol, real June (test split) flights as request fields, and the answer's shape.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODELS_ROOT } from '../../adapters/node/fs-model-source.ts';
import { createUpstashRemoteCache } from '../../core/cache/remote-cache.ts';
import { loadFeatureRepository } from '../../features/index.ts';
import { FLIGHT_SPLITS, type Flights } from '../../models/training/flights-data.ts';
import { computeRows, writeRows } from '../../models/training/materialize-features.ts';
import type { Prng } from '../../models/training/prng.ts';

export const FLIGHTS_MODELS = ['flights-edge', 'flights-regional'] as const;

/** A /v1/predict answer of a flights model (the fields these tests read). */
export interface FlightAnswer {
  label: string;
  scores: Record<string, number>;
  model: { name: string };
  tier: string;
  degraded: boolean;
  reason?: string;
  cached?: boolean;
  cache?: { level: string | null };
  escalation?: { cause: string; outcome: string };
  features?: Record<string, { entity: string | null; source: string; values?: Record<string, number>; vector?: number[]; codec?: string }>;
}

/** A temp model repository holding copies of the flights models; returns its root. */
export function copyFlightsModels(tmpPrefix: string): string {
  const root = mkdtempSync(join(tmpdir(), tmpPrefix));
  for (const name of FLIGHTS_MODELS) cpSync(join(DEFAULT_MODELS_ROOT, name), join(root, name), { recursive: true });
  return root;
}

/** Computes every flights view from vega-datasets and writes it through the REST server at `url`; returns the rows by view. */
export async function materializeFlightViews(url: string, token: string): Promise<Awaited<ReturnType<typeof computeRows>>> {
  const writer = createUpstashRemoteCache({ url, token, budgetMs: 30_000, autoPipelining: false });
  const views = [...loadFeatureRepository().views.values()].filter((v) => v.source.kind === 'flights' || v.source.kind === 'flights-embeddings');
  const materialized = await computeRows(views);
  for (const { view, rows } of materialized) await writeRows(writer, rows, view.ttlSeconds, 1000);
  return materialized;
}

/** Flight `i` as the request fields of the flights models. */
export function flightFields(flights: Flights, i: number): { origin: string; destination: string; hour: number; day_of_week: number; distance: number } {
  return {
    origin: flights.airports[flights.origin[i] as number] as string,
    destination: flights.airports[flights.destination[i] as number] as string,
    hour: flights.hour[i] as number,
    day_of_week: flights.dayOfWeek[i] as number,
    distance: flights.distance[i] as number,
  };
}

/** The fields of a flight drawn uniformly from the test split (June), by `prng`. */
export function drawTestFlight(flights: Flights, prng: Prng): ReturnType<typeof flightFields> {
  let i: number;
  do i = Math.floor(prng.next() * flights.size);
  while ((flights.day[i] as number) < FLIGHT_SPLITS.test.from);
  return flightFields(flights, i);
}
