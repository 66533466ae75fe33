// Benchmark (not a test): the edge model's int8 graph (the version the training's edge spec writes, what is served) vs
// its fp32 twin, on every engine that runs it (micro, ort-web, ort-node), in one process:
// warm latency p50/p99 on the same test-split messages interleaved in blocks, model and
// generated-module sizes, test-split accuracy, and the largest probability gap int8 vs fp32.
// The fp32 twin is not kept in models/ (npm start serves everything there): it is retrained
// here with the build's own code (trainQuantizedTwins, the edge spec only, seeded), and the
// retrained int8 bytes must hash to model.json's sha256 and the twin's accuracy must equal
// model.json's metrics.fp32TestAccuracy, or the bench stops: that proves the twin is the true one.
// Usage: npm run bench:quantization [-- --iterations N]. Last line: one JSON object.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { FsModelSource } from '../adapters/node/fs-model-source.ts';
import { compileOnnxToModule } from '../build/micro/compile.ts';
import { createMicroEngine, microModuleKey } from '../core/engine/micro/micro-engine.ts';
import type { MicroModule } from '../core/engine/micro/types.ts';
import { createOrtNodeEngine } from '../core/engine/ort-node/ort-node-engine.ts';
import { createOrtWebEngine } from '../core/engine/ort-web/ort-web-engine.ts';
import type { Engine, EngineSession, Tensor, TensorMap } from '../core/engine/types.ts';
import { requireTextPreprocessing, classificationTensor, type ModelManifest } from '../core/model/manifest.ts';
import { loadVerifiedModel } from '../core/model/repository.ts';
import { createPreprocessor } from '../core/preprocess/index.ts';
import { loadSplits } from '../models/training/dataset.ts';
import { EDGE_SPEC } from '../models/training/specs.ts';
import { trainQuantizedTwins } from '../models/training/train-graphs.ts';
import { machineLine, summarize } from './stats.ts';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '6000' } } });
const iterations = Number(values.iterations);
const round = (x: number, digits = 4) => Number(x.toFixed(digits));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const gzip = (b: Uint8Array | string) => gzipSync(b, { level: 9 }).length;

// The served int8 model, sha-checked against its model.json on load.
const { manifest, bytes: servedBytes } = await loadVerifiedModel(new FsModelSource(), EDGE_SPEC.name, EDGE_SPEC.version);
const recorded = manifest.metrics as { testAccuracy: number; fp32TestAccuracy: number };

// Rebuild both graphs with the build's code; the int8 one must be the served file, byte for byte.
let t0 = performance.now();
const { fp32Bytes, int8Bytes } = trainQuantizedTwins(EDGE_SPEC);
const trainSeconds = (performance.now() - t0) / 1000;
if (sha256(int8Bytes) !== manifest.sha256) {
  throw new Error(`retrained int8 sha256 ${sha256(int8Bytes)} ≠ model.json ${manifest.sha256}: training is not reproducing models/${EDGE_SPEC.name}; run npm run models`);
}
const variants = {
  int8: { bytes: servedBytes, manifest },
  // Same inputs, outputs and labels; only the bytes (and so the sha the micro engine keys on) differ.
  fp32: { bytes: fp32Bytes, manifest: { ...manifest, sha256: sha256(fp32Bytes) } as ModelManifest },
};
type Precision = keyof typeof variants;
const PRECISIONS = Object.keys(variants) as Precision[];

// Micro: compile each graph (build step), import the generated modules.
const tempDir = mkdtempSync(join(tmpdir(), 'bench-quant-'));
const compiled = Object.fromEntries(
  PRECISIONS.map((p) => {
    const c = compileOnnxToModule(variants[p].bytes, { name: `${manifest.name}@${manifest.version} ${p}` });
    return [p, c];
  }),
) as Record<Precision, ReturnType<typeof compileOnnxToModule>>;
const modules: Record<string, MicroModule> = {};
for (const p of PRECISIONS) {
  const file = join(tempDir, `${p}.mjs`);
  writeFileSync(file, compiled[p].source);
  modules[microModuleKey(variants[p].manifest.sha256, variants[p].manifest)] = (await import(pathToFileURL(file).href)) as MicroModule;
}
rmSync(tempDir, { recursive: true, force: true });

const wasmBinary = new Uint8Array(readFileSync(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm')));
const engines: Record<string, Engine> = {
  micro: createMicroEngine({ modules }),
  'ort-web': await createOrtWebEngine({ wasmBinary }),
  'ort-node': await createOrtNodeEngine(),
};
const sessions: Record<string, { engine: string; precision: Precision; session: EngineSession }> = {};
for (const [engine, e] of Object.entries(engines)) {
  for (const p of PRECISIONS) sessions[`${engine} ${p}`] = { engine, precision: p, session: await e.load(variants[p].bytes, variants[p].manifest) };
}

const inputName = manifest.inputs[0]!.name;
const preprocessor = createPreprocessor(requireTextPreprocessing(manifest));
const test = loadSplits().test;
const feeds: TensorMap[] = test.map((m) => {
  const ids = preprocessor.toIds(m.text);
  return { [inputName]: { dtype: 'int32', dims: [1, ids.length], data: ids } as Tensor };
});

// Every session on every test message: accuracy, and the probability gaps.
const probabilities: Record<string, Float32Array[]> = {};
for (const [key, { session }] of Object.entries(sessions)) {
  probabilities[key] = [];
  for (const feed of feeds) probabilities[key].push(Float32Array.from((await session.run(feed))[classificationTensor(manifest)]!.data as Float32Array));
}
const argmax = (p: Float32Array) => (p[1]! > p[0]! ? 1 : 0);
const accuracy = (key: string) => probabilities[key]!.filter((p, i) => argmax(p) === test[i]!.label).length / test.length;
function gap(a: string, b: string): { maxAbsDiff: number; differingPredictions: number } {
  let maxAbsDiff = 0;
  let differingPredictions = 0;
  probabilities[a]!.forEach((pa, i) => {
    const pb = probabilities[b]![i]!;
    for (let c = 0; c < pa.length; c++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(pa[c]! - pb[c]!));
    if (argmax(pa) !== argmax(pb)) differingPredictions++;
  });
  return { maxAbsDiff, differingPredictions };
}
// model.json's metrics were measured with onnxruntime-node (basic optimisation), as ort-node runs here.
const recomputed = { int8: round(accuracy('ort-node int8')), fp32: round(accuracy('ort-node fp32')) };
if (recomputed.fp32 !== recorded.fp32TestAccuracy || recomputed.int8 !== recorded.testAccuracy) {
  throw new Error(`test accuracy fp32 ${recomputed.fp32} / int8 ${recomputed.int8} ≠ model.json fp32TestAccuracy ${recorded.fp32TestAccuracy} / testAccuracy ${recorded.testAccuracy}: not the true twin`);
}

// Warm: all six sessions on the same messages, in blocks of 100, rotating.
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(sessions).map((k) => [k, []]));
for (let i = 0; i < 500; i++) for (const { session } of Object.values(sessions)) await session.run(feeds[i % feeds.length]!);
const block = 100;
for (let start = 0; start < iterations; start += block) {
  for (const [key, { session }] of Object.entries(sessions)) {
    const list = samples[key]!;
    for (let i = start; i < Math.min(iterations, start + block); i++) {
      const t = performance.now();
      await session.run(feeds[i % feeds.length]!);
      list.push((performance.now() - t) * 1000);
    }
  }
}
for (const { session } of Object.values(sessions)) await session.release();

const rows = Object.entries(sessions).map(([key, { engine, precision }]) => {
  const s = summarize(samples[key]!, 2);
  return { engine, precision, p50_us: s.p50, p90_us: s.p90, p99_us: s.p99, n: s.n, test_accuracy: round(accuracy(key)) };
});
const engineNames = Object.keys(engines);
const perEngine = engineNames.map((engine) => {
  const row = (p: Precision) => rows.find((r) => r.engine === engine && r.precision === p)!;
  const g = gap(`${engine} int8`, `${engine} fp32`);
  return {
    engine,
    int8_p50_us: row('int8').p50_us,
    fp32_p50_us: row('fp32').p50_us,
    ratio_int8_over_fp32_p50: round(row('int8').p50_us / row('fp32').p50_us, 3),
    int8_p99_us: row('int8').p99_us,
    fp32_p99_us: row('fp32').p99_us,
    max_abs_prob_diff_int8_vs_fp32: g.maxAbsDiff,
    differing_predictions_int8_vs_fp32: g.differingPredictions,
  };
});
// Engines against each other on the same graph (the parity the engine tests assert at 1e-5).
const crossEngine = PRECISIONS.map((p) => ({ precision: p, micro_vs_ort_web: gap(`micro ${p}`, `ort-web ${p}`).maxAbsDiff, micro_vs_ort_node: gap(`micro ${p}`, `ort-node ${p}`).maxAbsDiff }));
const sizeOf = (p: Precision) => ({
  onnx_bytes: variants[p].bytes.length,
  onnx_gzip_bytes: gzip(variants[p].bytes),
  micro_module_bytes: compiled[p].source.length,
  micro_module_gzip_bytes: gzip(compiled[p].source),
  sha256: variants[p].manifest.sha256,
});
const sizes = { int8: sizeOf('int8'), fp32: sizeOf('fp32') };

console.log(await machineLine());
console.log(`model ${manifest.name}@${manifest.version}: int8 served file vs fp32 twin retrained in ${trainSeconds.toFixed(1)} s (edge spec, seed ${EDGE_SPEC.training.seed})`);
console.log(`retrained int8 sha256 ${manifest.sha256.slice(0, 12)}… = model.json (deterministic build); fp32 twin sha256 ${sizes.fp32.sha256.slice(0, 12)}…`);
console.log(`test accuracy (ort-node, ${test.length} messages): fp32 ${recomputed.fp32} = model.json fp32TestAccuracy, int8 ${recomputed.int8} = testAccuracy`);
for (const p of PRECISIONS) {
  const s = sizes[p];
  console.log(`${p}: onnx ${s.onnx_bytes} B (gzip ${s.onnx_gzip_bytes} B), micro module ${s.micro_module_bytes} B (gzip ${s.micro_module_gzip_bytes} B)`);
}
console.log('');
console.log(`${'engine'.padEnd(10)} ${'graph'.padEnd(5)} ${'p50 µs'.padStart(8)} ${'p90 µs'.padStart(8)} ${'p99 µs'.padStart(8)} ${'n'.padStart(6)} ${'accuracy'.padStart(9)}`);
for (const r of rows) console.log(`${r.engine.padEnd(10)} ${r.precision.padEnd(5)} ${String(r.p50_us).padStart(8)} ${String(r.p90_us).padStart(8)} ${String(r.p99_us).padStart(8)} ${String(r.n).padStart(6)} ${String(r.test_accuracy).padStart(9)}`);
for (const e of perEngine) console.log(`${e.engine}: int8/fp32 p50 ${e.ratio_int8_over_fp32_p50}; max |Δp| int8 vs fp32 ${e.max_abs_prob_diff_int8_vs_fp32.toExponential(2)}, ${e.differing_predictions_int8_vs_fp32} differing predictions`);
for (const c of crossEngine) console.log(`${c.precision}: max |Δp| micro vs ort-web ${c.micro_vs_ort_web.toExponential(2)}, micro vs ort-node ${c.micro_vs_ort_node.toExponential(2)}`);
console.log(
  JSON.stringify({
    bench: 'quantization',
    model: `${manifest.name}@${manifest.version}`,
    messages: feeds.length,
    iterations,
    retrain_seconds: round(trainSeconds, 1),
    int8_sha256_matches_model_json: true,
    fp32_test_accuracy: recomputed.fp32,
    int8_test_accuracy: recomputed.int8,
    fp32_matches_model_json: true,
    sizes,
    rows,
    per_engine: perEngine,
    cross_engine: crossEngine,
    node: process.version,
  }),
);
