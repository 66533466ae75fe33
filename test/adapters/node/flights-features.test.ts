// The flights example through the node server, real Redis behind the local Upstash REST
// server: the declared views and the airport embedding materialized, POST /v1/predict with
// request fields and "explain": true assembles every view in one round trip (L2, then L1),
// unknown airports get the declared defaults; the REST server stopped under load: every
// request still answered 200, each degraded with reason features_unavailable; started again:
// features return without restarting the service.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../../../adapters/node/server.ts';
import { startUpstashRestServer, type UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { copyFlightsModels, materializeFlightViews, type FlightAnswer } from '../../helpers/flights-example.ts';
import { redisAvailable, TEST_REDIS_URL } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startLocalUpstash } from '../../helpers/upstash-local.ts';

const hasRedis = await redisAvailable('flights example through the node server');

describe.skipIf(!hasRedis)('flights example: features and embeddings from the edge cache', () => {
  let rest: UpstashRestServer;
  let server: LocalServer;
  let stored: Map<string, string>;
  const ask = async (fields: Record<string, string | number>) => {
    const response = await fetch(`${server.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'flights-edge', fields, explain: true }) });
    return { status: response.status, answer: (await response.json()) as FlightAnswer };
  };
  const flight = (origin: string, destination: string) => ({ origin, destination, hour: 17, day_of_week: 1, distance: 733 });

  beforeAll(async () => {
    rest = await startLocalUpstash();
    stored = new Map();
    for (const { view, rows } of await materializeFlightViews(rest.url, LOCAL_UPSTASH_TOKEN)) for (const row of rows) stored.set(`${view.name}/${row.entity}`, row.value);
    const root = copyFlightsModels('edgeinfer-flights-');
    server = await startLocalServer({
      modelsRoot: root,
      port: 0,
      log: () => {},
      cache: { UPSTASH_REDIS_REST_URL: rest.url, UPSTASH_REDIS_REST_TOKEN: LOCAL_UPSTASH_TOKEN, EDGEINFER_CACHE_BUDGET_MS: '1000' },
    });
  }, 240_000);
  afterAll(async () => {
    await server?.close();
    await rest?.close();
  });

  it('every view from L2 in one round trip, then from L1; the values are the materialized ones', async () => {
    const first = await ask(flight('ORD', 'LGA'));
    expect(first.status).toBe(200);
    expect(first.answer).toMatchObject({ model: { name: 'flights-edge' }, degraded: false });
    expect(['on_time', 'delayed']).toContain(first.answer.label);
    expect((first.answer.scores.on_time as number) + (first.answer.scores.delayed as number)).toBeCloseTo(1, 5);
    const f = first.answer.features as NonNullable<FlightAnswer['features']>;
    expect(Object.keys(f).sort()).toEqual(['airport_embedding', 'departure_hour', 'dest_airport', 'origin_airport', 'route']);
    expect(f.route).toEqual({ entity: 'ORD|LGA', source: 'l2', values: JSON.parse(stored.get('route/ORD|LGA') as string) });
    expect(f.origin_airport?.values).toEqual(JSON.parse(stored.get('origin_airport/ORD') as string));
    expect(f.airport_embedding).toMatchObject({ entity: 'ORD', source: 'l2', codec: 'int8' });
    expect(f.airport_embedding?.vector).toHaveLength(8);
    const again = await ask(flight('ORD', 'LGA'));
    expect(Object.values(again.answer.features ?? {}).map((v) => v.source)).toEqual(['l1', 'l1', 'l1', 'l1', 'l1']);
    expect(again.answer.scores).toEqual(first.answer.scores);
  });

  it('unknown airports: the declared defaults, still answered', async () => {
    const { status, answer } = await ask(flight('ZZZ', 'YYY'));
    expect(status).toBe(200);
    expect(answer.degraded).toBe(false);
    expect(answer.features?.origin_airport).toEqual({ entity: 'ZZZ', source: 'default', values: { delay_rate_28d: 0.2, delay_rate_1d: 0.2, log_flights_28d: 0 } });
    expect(answer.features?.airport_embedding?.vector).toEqual(new Array(8).fill(0));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/edgeinfer_feature_absent_entities_total [1-9]/);
    expect(metrics).toMatch(/edgeinfer_feature_values_total\{source="l2"\} [1-9]/);
  });

  it('REST server stopped under load: 100 % answered, each degraded features_unavailable; back: features return without a restart', async () => {
    const port = new URL(rest.url).port;
    await rest.close();
    // Airports whose values are not in L1 yet, so each request needs L2.
    const airports = [...new Set([...stored.keys()].filter((k) => k.startsWith('origin_airport/')).map((k) => k.split('/')[1] as string))].filter((a) => a !== 'ORD').slice(0, 40);
    const answers = await Promise.all(airports.map((a) => ask(flight(a, 'ATL'))));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    for (const { answer } of answers) expect(answer).toMatchObject({ degraded: true, reason: 'features_unavailable' });
    rest = await startUpstashRestServer({ port: Number(port), token: LOCAL_UPSTASH_TOKEN, redisUrl: TEST_REDIS_URL });
    // The circuit breaker retries after its half-open delay; poll instead of sleeping a fixed time.
    let back: FlightAnswer | undefined;
    for (let i = 0; i < 40 && !(back && !back.degraded); i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      back = (await ask(flight(airports[i % airports.length] as string, 'DEN'))).answer;
    }
    expect(back).toMatchObject({ degraded: false });
    expect(back?.features?.origin_airport?.source).toBe('l2');
  });
});
