// Benchmark (not a test) of feature assembly on the request path, flights example: real Redis
// behind the local Upstash REST server, the declared views (features/*.json) materialized from
// vega-datasets, the flights-edge signature's three inputs (10 view values, 3 request fields,
// the airport embedding), requests drawn from real June flights. Measures, interleaved:
//  - L1 hit: every view of the request already decoded in the isolate;
//  - L2: every view from Redis (L1 off), one MGET however many views;
//  - round trips per request, counted by the assembler.
// The L2 read runs under the production default budget (15 ms, what the edge uses unless
// EDGEINFER_CACHE_BUDGET_MS says otherwise); a read over it is served on defaults and counted
// as degraded, and its time is the budget. --budget-ms sets another (e.g. 1000 to see the
// uncut latency tail of this machine).
// Circuit breaker: production opens L2's after 3 failures in 5 s and skips every read for 2 s.
// In this sequential loop a skipped read takes microseconds, so once open the rest of the run
// fits inside those 2 s and every request is served on defaults, its "latency" ~0 (before this
// fix: warm-up shared the measured remote, a few slow first calls on a loaded machine opened it,
// and a run reported L2 p50 0.008 ms with 2000 of 2000 degraded). So warm-up (JIT of client and
// REST server, the connection, filling L1) goes through its own remote with a 1 s budget, and the
// measured remote never opens its circuit: every measured read is a real call cut at the budget.
// The breaker under Redis faults is bench:faults' subject.
// A read over the budget is served on defaults at the budget, but its request runs on in the
// background (core/cache/remote-cache.ts, up to --straggler-ms, production default 1000) so its
// keep-alive connection is kept; --straggler-ms 0 aborts it at the budget (the behaviour before,
// where each miss cost the next call a new connection). The result counts reads degraded right
// after a degraded one and the connections the REST server accepted during the measured loop.
// --tls puts a local HTTPS proxy (self-signed certificate made with openssl, trusted by this
// process only) in front of the REST server, so a new connection costs a TLS handshake as
// to real Upstash; connections are then counted at the proxy.
// Usage: npm run bench:features -- [--iterations 2000] [--seed 7] [--budget-ms 15] [--straggler-ms 1000] [--tls]
// Last line: one JSON object.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startUpstashRestServer } from '../adapters/upstash-rest-local/server.ts';
import { createUpstashRemoteCache, DEFAULT_REDIS_BUDGET_MS } from '../core/cache/remote-cache.ts';
import { DEFAULT_STRAGGLER_TIMEOUT_MS } from '../core/upstash/stragglers.ts';
import { createFeatureAssembler, type FeatureInputSpec } from '../core/features/feature-assembler.ts';
import { loadFeatureRepository } from '../features/index.ts';
import { DEFAULT_MODELS_ROOT } from '../adapters/node/fs-model-source.ts';
import { resolveModelRef } from './model-ref.ts';
import { loadFlights } from '../models/training/flights-data.ts';
import { drawTestFlight, materializeFlightViews } from '../test/helpers/flights-example.ts';
import { createPrng } from '../models/training/prng.ts';
import { machineLine, summarize } from './stats.ts';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '2000' }, seed: { type: 'string', default: '7' }, 'budget-ms': { type: 'string', default: String(DEFAULT_REDIS_BUDGET_MS) }, 'straggler-ms': { type: 'string', default: String(DEFAULT_STRAGGLER_TIMEOUT_MS) }, tls: { type: 'boolean', default: false } } });
const stragglerTimeoutMs = Number(values['straggler-ms']);
const budgetMs = Number(values['budget-ms']);
const iterations = Number(values.iterations);
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const token = 'bench-features';

const flightsEdge = await resolveModelRef('flights-edge', DEFAULT_MODELS_ROOT);
const manifest = JSON.parse(readFileSync(join(flightsEdge.dir, 'model.json'), 'utf8')) as { inputs: Array<{ source: string }> };
const inputs = manifest.inputs.filter((i): i is FeatureInputSpec => i.source === 'features' || i.source === 'embedding');
const repository = loadFeatureRepository();
const rest = await startUpstashRestServer({ port: 0, token, redisUrl });

/** An HTTPS proxy to the REST server (keep-alive both sides); counts the TLS connections it accepts. */
async function startTlsProxy(target: string) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-features-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const key = readFileSync(join(dir, 'key.pem'));
  const cert = readFileSync(join(dir, 'cert.pem'));
  rmSync(dir, { recursive: true, force: true });
  const agent = new Agent({ keepAlive: true });
  const upstream = new URL(target);
  let connections = 0;
  const server = createHttpsServer({ key, cert }, (req, res) => {
    const forward = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Trust the self-signed certificate in this process (the bench's own proxy only).
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () => (server.closeAllConnections(), agent.destroy(), new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}
const tls = values.tls ? await startTlsProxy(rest.url) : undefined;
const url = tls?.url ?? rest.url;
const connectionCount = () => (tls ?? rest).connections();
try {
  await materializeFlightViews(rest.url, token);
  const flights = await loadFlights();
  const prng = createPrng(Number(values.seed));
  const requests = Array.from({ length: iterations }, () => drawTestFlight(flights, prng));
  // Warm-up remote: same URL, client code and connection pool, its own breaker, a budget no warm-up call misses.
  const warmupRemote = createUpstashRemoteCache({ url, token, budgetMs: 1_000 });
  const ping = await warmupRemote.warm();
  if (ping.status !== 'ok') throw new Error(`the local REST server does not answer PING within 1 s (${ping.message}); is Redis up at ${redisUrl}?`);
  const warmupCold = createFeatureAssembler({ repository, remote: warmupRemote, l1MaxEntries: 0 });
  for (const r of requests.slice(0, 200)) await warmupCold.assemble(inputs, r); // JIT and connection warm-up
  // The L1 side reads L2 only to fill L1 here; in the measured loop it must not read L2 at all (round trips 0, checked below).
  const warm = createFeatureAssembler({ repository, remote: warmupRemote });
  for (const r of requests) await warm.assemble(inputs, r);
  const unfilled = warm.stats().unavailable;
  if (unfilled > 0) throw new Error(`filling L1: ${unfilled} reads failed even with a 1 s budget; the REST server or Redis is not healthy`);
  // The measured L2 side: the budget under test, a circuit that never opens (see the top).
  const remote = createUpstashRemoteCache({ url, token, budgetMs, stragglerTimeoutMs, circuit: { failures: Number.MAX_SAFE_INTEGER, windowMs: 60_000, halfOpenAfterMs: 0 } });
  const cold = createFeatureAssembler({ repository, remote, l1MaxEntries: 0 });
  const warmBefore = warm.stats();
  const coldBefore = cold.stats();
  const l1: number[] = [];
  const l2: number[] = [];
  const fromSources = { l1: 0, l2: 0, default: 0 };
  // A read over the budget straight after another one (the connection a cut read drops costs the next a new one).
  let missAfterMiss = 0;
  let previousMissed = false;
  const afterMiss: number[] = []; // L2 reads straight after a degraded one: do they pay a new connection?
  const connectionsBefore = connectionCount();
  for (const r of requests) {
    let t = performance.now();
    await warm.assemble(inputs, r);
    l1.push(performance.now() - t);
    t = performance.now();
    const out = await cold.assemble(inputs, r);
    l2.push(performance.now() - t);
    if (previousMissed) afterMiss.push(l2[l2.length - 1] as number);
    if (out.degraded && previousMissed) missAfterMiss++;
    previousMissed = out.degraded !== undefined;
    for (const e of Object.values(out.explain) as Array<{ source: keyof typeof fromSources }>) fromSources[e.source]++;
  }
  const warmStats = warm.stats();
  const coldStats = cold.stats();
  const result = {
    machine: await machineLine(),
    iterations,
    budgetMs,
    stragglerTimeoutMs,
    views: new Set(inputs.flatMap((i) => (i.source === 'embedding' ? [i.view] : i.features.map((f) => f.split('.')[0])))).size,
    l1HitMs: summarize(l1, 4),
    l2Ms: summarize(l2, 3),
    ratioL2toL1P50: Math.round((summarize(l2).p50 / summarize(l1, 4).p50) * 10) / 10,
    roundTripsPerRequest: {
      l1: (warmStats.roundTrips - warmBefore.roundTrips) / iterations,
      l2: (coldStats.roundTrips - coldBefore.roundTrips) / iterations,
    },
    l2ValuesBySource: fromSources,
    redisCommandsPerL2Request: 1,
    degradedL2: coldStats.unavailable - coldBefore.unavailable,
    // Why measured L2 reads were served on defaults: over the budget (their time is the budget) or failed.
    l2Skipped: { overBudget: remote.stats().overBudget, failed: remote.stats().errors, stragglers: remote.stats().stragglers, stragglersAborted: remote.stats().stragglersAborted },
    degradedRightAfterDegraded: missAfterMiss,
    l2AfterDegradedMs: afterMiss.length ? summarize(afterMiss, 3) : null,
    // TCP connections the REST server accepted during the measured loop (keep-alive: ~0 when no read is cut).
    newConnections: connectionCount() - connectionsBefore,
    tls: Boolean(tls),
  };
  console.log(`feature assembly, flights-edge signature (${result.views} views), ${iterations} June requests, L2 budget ${budgetMs} ms${tls ? ' over a local TLS proxy' : ''}, stragglers ${stragglerTimeoutMs > budgetMs ? `up to ${stragglerTimeoutMs} ms` : 'off (aborted at the budget)'}, ${result.machine}`);
  console.log(`  L1 hit      p50 ${result.l1HitMs.p50} ms  p99 ${result.l1HitMs.p99} ms  round trips/request ${result.roundTripsPerRequest.l1}`);
  console.log(`  L2 (REST→Redis) p50 ${result.l2Ms.p50} ms  p99 ${result.l2Ms.p99} ms  round trips/request ${result.roundTripsPerRequest.l2}  (${result.ratioL2toL1P50}× L1 at p50)`);
  if (result.l2AfterDegradedMs) console.log(`  L2 read right after a degraded one: p50 ${result.l2AfterDegradedMs.p50} ms  p99 ${result.l2AfterDegradedMs.p99} ms (${afterMiss.length} reads)`);
  console.log(`  L2 values by source: ${JSON.stringify(fromSources)}; degraded: ${result.degradedL2} of ${iterations} (over the budget ${result.l2Skipped.overBudget}, failed ${result.l2Skipped.failed}); right after another degraded ${missAfterMiss}; new connections ${result.newConnections}`);
  console.log(JSON.stringify(result));
} finally {
  await tls?.close();
  await rest.close();
}
