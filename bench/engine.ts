// Benchmark (not a test): the micro engine vs ort-web vs ort-node on the example edge model,
// in one process, on the same test-split messages, interleaved in blocks so machine noise
// hits every engine alike. Cold = import → first prediction (micro: import of the generated
// module, engine load, first run; ORT: import, engine creation, session load, first run).
// Also bundles the micro engine + generated module (and + core handler) with esbuild and
// reports gzip sizes. Usage: npm run bench:engine [-- model-name=spam-edge] [--iterations N] [--root DIR]
// Last line: one JSON object.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { compileOnnxToModule } from '../build/micro/compile.ts';
import type { MicroModule } from '../core/engine/micro/types.ts';
import type { EngineSession, TensorMap } from '../core/engine/types.ts';
import { machineLine, summarize } from './stats.ts';
import { loadModelAndTestFeeds } from './test-feeds.ts';
import { classificationTensor } from '../core/model/manifest.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { iterations: { type: 'string', default: '6000' }, root: { type: 'string' } },
});
const modelName = positionals[0] ?? 'spam-edge';
const iterations = Number(values.iterations);
const { manifest, bytes, inputName, feeds } = await loadModelAndTestFeeds(modelName, values.root);
const ms = (from: number) => performance.now() - from;
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

// Build step (not part of cold start): compile once, write the module where an import can find it.
let t = performance.now();
const compiled = compileOnnxToModule(bytes, { name: `${manifest.name}@${manifest.version}` });
const compileMs = ms(t);
const tempDir = mkdtempSync(join(tmpdir(), 'bench-micro-'));
const moduleFile = (k: number) => {
  const file = join(tempDir, `model-${k}.mjs`);
  writeFileSync(file, compiled.source);
  return file;
};

/** Micro cold start: a fresh copy of the generated module each time, so V8 parses and runs it anew. */
async function coldMicro(k: number): Promise<{ totalMs: number; importMs: number; loadMs: number; firstRunMs: number; session: EngineSession; module: MicroModule }> {
  const file = moduleFile(k);
  // The engine itself is a few hundred lines of core code, already in the bundle; what is cold
  // is the generated module (parse, constant decoding, import-time folding) and the first run.
  const { createMicroEngine } = await import('../core/engine/micro/micro-engine.ts');
  let t0 = performance.now();
  const module = (await import(pathToFileURL(file).href)) as MicroModule;
  const importMs = ms(t0);
  t0 = performance.now();
  const session = await createMicroEngine({ modules: { [module.metadata.sourceSha256]: module } }).load(bytes, manifest);
  const loadMs = ms(t0);
  t0 = performance.now();
  await session.run(feeds[0]!);
  const firstRunMs = ms(t0);
  return { totalMs: importMs + loadMs + firstRunMs, importMs, loadMs, firstRunMs, session, module };
}

async function coldOrtWeb() {
  // Read outside the timing (edge runtimes get it bundled), without loading onnxruntime-web early.
  const wasmBinary = new Uint8Array(readFileSync(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm')));
  const t0 = performance.now();
  const { createOrtWebEngine } = await import('../core/engine/ort-web/ort-web-engine.ts');
  const session = await (await createOrtWebEngine({ wasmBinary })).load(bytes, manifest);
  await session.run(feeds[0]!);
  return { totalMs: ms(t0), session };
}

async function coldOrtNode() {
  const t0 = performance.now();
  const { createOrtNodeEngine } = await import('../core/engine/ort-node/ort-node-engine.ts');
  const session = await (await createOrtNodeEngine()).load(bytes, manifest);
  await session.run(feeds[0]!);
  return { totalMs: ms(t0), session };
}

/**
 * Micro cold start in a fresh Node process (plain node, no tsx): import of the generated
 * module → first prediction, as an edge isolate sees it once its bundle is parsed.
 */
function coldMicroFreshProcess(): number {
  const file = moduleFile(1000);
  const ids = Array.from(feeds[0]![inputName]!.data as Int32Array);
  const script = `const t0 = performance.now();
const m = await import(${JSON.stringify(pathToFileURL(file).href)});
m.run({ ${JSON.stringify(inputName)}: { dtype: 'int32', dims: [1, ${ids.length}], data: Int32Array.from(${JSON.stringify(ids)}) } });
console.log(performance.now() - t0);`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: {} }).trim());
}
const freshColds = Array.from({ length: 7 }, () => coldMicroFreshProcess());
const freshCold = summarize(freshColds, 2);

// Micro first: its cold start must not profit from anything ORT loaded.
const microColds = [];
for (let k = 0; k < 7; k++) microColds.push(await coldMicro(k));
const microCold = microColds[0]!;
const microColdMedian = summarize(microColds.map((c) => c.totalMs)).p50;
const web = await coldOrtWeb();
const node = await coldOrtNode();

// Parity on every message before timing anything.
let mismatches = 0;
let maxDiff = 0;
for (const feed of feeds) {
  const [a, b] = [await microCold.session.run(feed), await web.session.run(feed)];
  const pa = a[classificationTensor(manifest)]!.data as Float32Array;
  const pb = b[classificationTensor(manifest)]!.data as Float32Array;
  for (let i = 0; i < pa.length; i++) {
    const d = Math.abs(pa[i]! - pb[i]!);
    maxDiff = Math.max(maxDiff, d);
    if (!(d <= 1e-5)) mismatches++;
  }
}

// Warm: all engines on the same messages, in blocks of 100, rotating.
const bare = microCold.module;
const runners: Record<string, (f: TensorMap) => unknown> = {
  micro: (f) => microCold.session.run(f),
  'micro (module.run)': (f) => bare.run(f),
  'ort-web': (f) => web.session.run(f),
  'ort-node': (f) => node.session.run(f),
};
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(runners).map((k) => [k, []]));
for (let i = 0; i < 500; i++) for (const run of Object.values(runners)) await run(feeds[i % feeds.length]!);
const block = 100;
for (let start = 0; start < iterations; start += block) {
  for (const [name, run] of Object.entries(runners)) {
    const list = samples[name]!;
    for (let i = start; i < Math.min(iterations, start + block); i++) {
      const t0 = performance.now();
      await run(feeds[i % feeds.length]!);
      list.push((performance.now() - t0) * 1000);
    }
  }
}
const warm = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v, 2)]));

// Size: esbuild bundle (minified ESM) of the micro engine + the generated module, then + the core handler.
const modulePath = moduleFile(99);
async function bundleGzip(extra: string): Promise<{ raw: number; gzip: number }> {
  const result = await build({
    stdin: {
      contents: `import { createMicroEngine } from './core/engine/micro/micro-engine.ts';
import * as model from ${JSON.stringify(modulePath)};
export const engine = createMicroEngine({ modules: { [model.metadata.sourceSha256]: model } });
${extra}`,
      resolveDir: ROOT,
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    // As the provider builds bundle it (build/pipeline.ts): 'neutral' resolves no package main
    // fields, so the core handler's dependencies (e.g. @datadog/sketches-js) did not resolve.
    platform: 'browser',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.contents;
  return { raw: code.length, gzip: gzipSync(code, { level: 9 }).length };
}
const sizeEngine = await bundleGzip('');
let sizeHandler: { raw: number; gzip: number } | { error: string };
try {
  sizeHandler = await bundleGzip(`export { createInferenceService } from './core/handler.ts';`);
} catch (error) {
  sizeHandler = { error: (error as Error).message.split('\n')[0]! };
}
const moduleGzip = gzipSync(compiled.source, { level: 9 }).length;

await microCold.session.release();
await web.session.release();
await node.session.release();

const meanIds = feeds.reduce((a, f) => a + (f[inputName]!.data as Int32Array).length, 0) / feeds.length;
const p50 = (k: string) => warm[k]!.p50;
console.log(await machineLine());
console.log(`model ${manifest.name}@${manifest.version} (${bytes.length} bytes onnx), ${feeds.length} test-split messages, mean ${round(meanIds, 1)} ids`);
console.log(`micro compile (build step): ${round(compileMs, 1)} ms; generated module ${compiled.source.length} bytes, ${moduleGzip} gzip; ${compiled.foldedNodes} nodes folded at import`);
console.log(`parity micro vs ort-web over ${feeds.length} messages: ${mismatches} mismatches over 1e-5 (max |diff| ${maxDiff.toExponential(2)})`);
console.log('');
console.log(`${'engine'.padEnd(20)} ${'cold ms'.padStart(9)} ${'p50 µs'.padStart(9)} ${'p90 µs'.padStart(9)} ${'p99 µs'.padStart(9)} ${'n'.padStart(6)}`);
const coldOf: Record<string, number> = { micro: microColdMedian, 'ort-web': web.totalMs, 'ort-node': node.totalMs };
for (const [name, s] of Object.entries(warm)) {
  const cold = coldOf[name];
  console.log(`${name.padEnd(20)} ${(cold === undefined ? '' : round(cold, 2).toString()).padStart(9)} ${String(s.p50).padStart(9)} ${String(s.p90).padStart(9)} ${String(s.p99).padStart(9)} ${String(s.n).padStart(6)}`);
}
console.log(`micro cold detail (first of ${microColds.length}): import ${round(microCold.importMs, 2)} ms, load ${round(microCold.loadMs, 2)} ms, first run ${round(microCold.firstRunMs, 3)} ms; median of ${microColds.length} fresh imports ${round(microColdMedian, 2)} ms`);
console.log(`micro cold in fresh node processes (import → first prediction), ${freshCold.n} runs: p50 ${freshCold.p50} ms, max ${freshCold.max} ms`);
console.log(`bundle (esbuild, minified ESM): micro engine + module ${sizeEngine.raw} B, gzip ${sizeEngine.gzip} B; + core handler ${'gzip' in sizeHandler ? `${sizeHandler.raw} B, gzip ${sizeHandler.gzip} B` : `failed: ${sizeHandler.error}`}`);
console.log(
  JSON.stringify({
    bench: 'engine',
    model: `${manifest.name}@${manifest.version}`,
    messages: feeds.length,
    iterations,
    mean_ids: round(meanIds, 1),
    micro_p50_us: p50('micro'),
    micro_p99_us: warm.micro!.p99,
    micro_module_run_p50_us: p50('micro (module.run)'),
    ort_web_p50_us: p50('ort-web'),
    ort_web_p99_us: warm['ort-web']!.p99,
    ort_node_p50_us: p50('ort-node'),
    ort_node_p99_us: warm['ort-node']!.p99,
    ratio_micro_over_ort_web: round(p50('micro') / p50('ort-web'), 3),
    ratio_micro_over_ort_node: round(p50('micro') / p50('ort-node'), 3),
    micro_cold_ms: round(microCold.totalMs, 2),
    micro_cold_median_ms: round(microColdMedian, 2),
    micro_cold_fresh_process_p50_ms: freshCold.p50,
    ort_web_cold_ms: round(web.totalMs, 1),
    ort_node_cold_ms: round(node.totalMs, 1),
    micro_compile_ms: round(compileMs, 1),
    micro_module_bytes: compiled.source.length,
    micro_module_gzip_bytes: moduleGzip,
    bundle_micro_engine_and_module_gzip_bytes: sizeEngine.gzip,
    bundle_with_core_handler_gzip_bytes: 'gzip' in sizeHandler ? sizeHandler.gzip : null,
    parity_mismatches: mismatches,
    parity_max_abs_diff: maxDiff,
    node: process.version,
  }),
);
