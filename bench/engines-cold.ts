// Benchmark (not a test): ort-web vs ort-node on one model, side by side in one process.
// Cold: module import, engine creation (ort-web: WASM compile + instantiate), session load
// and first run, each engine measured in a fresh state. Warm: session.run p50/p99 on real
// test-split messages, the two engines interleaved in blocks so machine noise hits both.
// Usage: npx tsx bench/engines-cold.ts [model-name=spam-edge] [--iterations N] [--root DIR]
// Last line: one JSON object.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Engine, EngineSession } from '../core/engine/types.ts';
import { summarize } from './stats.ts';
import { loadModelAndTestFeeds } from './test-feeds.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { iterations: { type: 'string', default: '5000' }, root: { type: 'string' } },
});
const modelName = positionals[0] ?? 'spam-edge';
const iterations = Number(values.iterations);
const { manifest, bytes, inputName, feeds } = await loadModelAndTestFeeds(modelName, values.root);

const ms = (from: number) => performance.now() - from;
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

interface Cold {
  importMs: number;
  createMs: number;
  loadMs: number;
  firstRunMs: number;
  totalMs: number;
}

/** Import → engine creation → session load → first run, each step timed. */
async function coldStart<E extends Engine>(importEngine: () => Promise<() => Promise<E>>): Promise<{ cold: Cold; session: Awaited<ReturnType<E['load']>> }> {
  let t = performance.now();
  const createEngine = await importEngine();
  const importMs = ms(t);
  t = performance.now();
  const engine = await createEngine();
  const createMs = ms(t);
  t = performance.now();
  const session = (await engine.load(bytes, manifest)) as Awaited<ReturnType<E['load']>>;
  const loadMs = ms(t);
  t = performance.now();
  await session.run(feeds[0]!);
  const firstRunMs = ms(t);
  return { cold: { importMs, createMs, loadMs, firstRunMs, totalMs: importMs + createMs + loadMs + firstRunMs }, session };
}

async function coldWeb(): Promise<{ cold: Cold; session: EngineSession }> {
  // Read outside the timings (edge runtimes get it bundled), and without importing
  // adapters/node/ort-wasm-binary.ts, which would load onnxruntime-web before the clock starts.
  const wasmBinary = new Uint8Array(await readFile(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm')));
  return coldStart(async () => {
    const { createOrtWebEngine } = await import('../core/engine/ort-web/ort-web-engine.ts');
    return () => createOrtWebEngine({ wasmBinary });
  });
}

async function coldNode(): Promise<{ cold: Cold; session: EngineSession; provider: string }> {
  const { cold, session } = await coldStart(async () => (await import('../core/engine/ort-node/ort-node-engine.ts')).createOrtNodeEngine);
  return { cold, session, provider: session.executionProvider };
}

const rssBefore = process.memoryUsage().rss;
const web = await coldWeb();
const rssAfterWeb = process.memoryUsage().rss;
const node = await coldNode();
const rssAfterNode = process.memoryUsage().rss;

// Warm: both sessions run the same inputs, alternating in blocks of 100.
const sessions = { 'ort-web': web.session, 'ort-node': node.session } as const;
const samples: Record<keyof typeof sessions, number[]> = { 'ort-web': [], 'ort-node': [] };
for (let i = 0; i < 200; i++) for (const s of Object.values(sessions)) await s.run(feeds[i % feeds.length]!); // warm-up
const block = 100;
for (let start = 0; start < iterations; start += block) {
  for (const name of Object.keys(sessions) as Array<keyof typeof sessions>) {
    const session = sessions[name];
    for (let i = start; i < Math.min(iterations, start + block); i++) {
      const t = performance.now();
      await session.run(feeds[i % feeds.length]!);
      samples[name].push((performance.now() - t) * 1000);
    }
  }
}
const warm = Object.fromEntries(
  Object.entries(samples).map(([name, list]) => {
    const s = summarize(list, 1);
    return [name, { p50Us: s.p50, p99Us: s.p99, n: s.n }];
  }),
) as Record<keyof typeof sessions, { p50Us: number; p99Us: number; n: number }>;
await web.session.release();
await node.session.release();

const meanIds = feeds.reduce((a, f) => a + (f[inputName]!.data as Int32Array).length, 0) / feeds.length;
const roundCold = (c: Cold) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, round(v, 2)]));
const result = {
  bench: 'engines-cold',
  model: `${manifest.name}@${manifest.version}`,
  modelBytes: bytes.length,
  messages: feeds.length,
  meanIds: round(meanIds, 1),
  machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', platform: `${process.platform}-${process.arch}`, loadAvg1m: round(loadavg()[0]!, 2) },
  cold: { 'ort-web': roundCold(web.cold), 'ort-node': roundCold(node.cold) },
  rssMb: {
    before: round(rssBefore / 2 ** 20, 1),
    afterOrtWeb: round(rssAfterWeb / 2 ** 20, 1),
    afterOrtNode: round(rssAfterNode / 2 ** 20, 1),
  },
  warm,
  ratios: {
    coldWebOverNode: round(web.cold.totalMs / node.cold.totalMs, 2),
    warmP50WebOverNode: round(warm['ort-web'].p50Us / warm['ort-node'].p50Us, 2),
    warmP99WebOverNode: round(warm['ort-web'].p99Us / warm['ort-node'].p99Us, 2),
  },
  ortNodeProvider: node.provider,
};
console.log(`model ${result.model} (${bytes.length} bytes), ${feeds.length} test-split messages, mean ${result.meanIds} ids`);
for (const name of ['ort-web', 'ort-node'] as const) {
  const c = result.cold[name];
  console.log(
    `${name.padEnd(8)} cold ${c.totalMs} ms (import ${c.importMs}, create ${c.createMs}, load ${c.loadMs}, first run ${c.firstRunMs}) | ` +
      `warm p50 ${warm[name].p50Us} µs p99 ${warm[name].p99Us} µs (n=${warm[name].n})`,
  );
}
console.log(JSON.stringify(result));
