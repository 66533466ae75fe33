// Benchmark (not a test): what edgeinfer/client costs and saves. Builds the client bundles
// (esbuild, minified ESM, gzip -9) and runs the built client in Node against the local
// server over the whole test split, in local mode and in server mode:
//   sizes       client alone, edge model module, client + model in one bundle
//   offload     share of predictions the endpoint no longer sees in local mode
//   payload     request body bytes for every test message: ids vs the text they stand for
//   latency     local answer (preprocess + micro model, in-process) vs a server-mode round
//               trip over localhost (no network leg: a real PoP adds tens of ms)
// Usage: npm run bench:client [-- --rounds R]. Last line: one JSON object.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalServer } from '../adapters/node/server.ts';
import { buildClient } from '../build/client/build-client.ts';
import type * as ClientModule from '../client/index.ts';
import { loadSplits } from '../models/training/dataset.ts';
import { machineLine, summarize } from './stats.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const rounds = Number(values.rounds);

console.log(await machineLine());
// The spam example: the messages below are its test split.
const build = await buildClient({ model: 'spam-edge' });
const lib = (await import(pathToFileURL(join(build.outDir, build.client.file)).href)) as typeof ClientModule;
const bundled = await import(pathToFileURL(join(build.outDir, build.model.file)).href);
const kb = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;
for (const b of [build.client, build.model, build.clientWithModel]) {
  console.log(`${b.file.padEnd(32)} ${String(kb(b.bytes)).padStart(7)} KB  ${String(kb(b.gzipBytes)).padStart(6)} KB gzip`);
}

// The prediction cache is off: repeated rounds would otherwise be L1 hits on the server.
const server = await startLocalServer({ port: 0, log: () => {}, demo: false, cache: { EDGEINFER_CACHE_POLICY: 'off' } });
try {
  const test = loadSplits().test;
  const local = lib.createClient({ endpoint: server.url, local: lib.createLocalModel(bundled.manifest, bundled.module) });
  const remote = lib.createClient({ endpoint: server.url });
  const localMs: number[] = [];
  const localRemoteMs: number[] = [];
  const remoteMs: number[] = [];
  const failures: Record<string, number> = {};
  const run = async (client: ClientModule.EdgeInferClient, text: string, into: (ms: number, answeredBy: string) => void) => {
    const t0 = performance.now();
    try {
      const answer = await client.predict(text);
      into(performance.now() - t0, answer.answeredBy);
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'error';
      failures[code] = (failures[code] ?? 0) + 1;
    }
  };
  // Warm both paths (JIT, first metadata fetch) before measuring.
  for (const m of test.slice(0, 20)) {
    await run(local, m.text, () => {});
    await run(remote, m.text, () => {});
  }
  const before = { local: local.stats(), remote: remote.stats() };
  for (let r = 0; r < rounds; r++) {
    for (const m of test) {
      await run(local, m.text, (ms, by) => (by === 'local' ? localMs : localRemoteMs).push(ms));
      await run(remote, m.text, (ms) => remoteMs.push(ms));
    }
  }
  const diff = (a: ClientModule.ClientStats, b: ClientModule.ClientStats) => ({
    predictions: a.predictions - b.predictions,
    answeredLocally: a.answeredLocally - b.answeredLocally,
    endpointRequests: a.endpointRequests - b.endpointRequests,
    textRequests: a.textRequests - b.textRequests,
  });
  const L = diff(local.stats(), before.local);
  const R = diff(remote.stats(), before.remote);
  const offload = L.answeredLocally / L.predictions;
  // The bodies the two forms would send for every test message (UTF-8 bytes of the JSON).
  const utf8 = new TextEncoder();
  const bodies = { ids: [] as number[], text: [] as number[] };
  for (const m of test) {
    const { ids, preprocessing } = await remote.preprocess(m.text);
    bodies.ids.push(utf8.encode(JSON.stringify({ ids: Array.from(ids), preprocessing, model: 'spam-edge' })).byteLength);
    bodies.text.push(utf8.encode(JSON.stringify({ text: m.text, model: 'spam-edge' })).byteLength);
  }
  const result = {
    bench: 'client',
    testMessages: test.length,
    rounds,
    bundle: {
      clientGzipBytes: build.client.gzipBytes,
      clientBytes: build.client.bytes,
      modelGzipBytes: build.model.gzipBytes,
      clientWithModelGzipBytes: build.clientWithModel.gzipBytes,
      clientWithModelBytes: build.clientWithModel.bytes,
      clientGoalMet: build.client.gzipBytes <= 50 * 1024,
    },
    localMode: { ...L, endpointShareAvoided: Math.round(offload * 10000) / 10000 },
    serverMode: { ...R, requestsPerPrediction: Math.round((R.endpointRequests / R.predictions) * 1000) / 1000 },
    payloadBytes: { ids: summarize(bodies.ids, 0), text: summarize(bodies.text, 0) },
    latencyMs: { localAnswer: summarize(localMs), localModeEscalated: summarize(localRemoteMs), serverMode: summarize(remoteMs) },
    failures,
  };
  console.log(
    `local mode: ${L.answeredLocally}/${L.predictions} answered in the client (${(offload * 100).toFixed(1)} % the endpoint no longer sees); ` +
      `server mode: ${R.endpointRequests} requests for ${R.predictions} predictions (${R.textRequests} text retries after text_required)`,
  );
  console.log(`request body p50 bytes: ids ${result.payloadBytes.ids.p50}, text ${result.payloadBytes.text.p50}`);
  console.log(`latency p50/p99 ms: local ${result.latencyMs.localAnswer.p50}/${result.latencyMs.localAnswer.p99}, server mode ${result.latencyMs.serverMode.p50}/${result.latencyMs.serverMode.p99} (localhost)`);
  console.log(JSON.stringify(result));
} finally {
  await server.close();
}
