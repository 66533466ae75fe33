// Benchmark (not a test): the micro engine vs ort-web vs ort-node on every model in the
// repository (latest version each) and every real third-party graph the tests use
// (test/helpers/third-party-models.ts, thirdPartyBenchGraphs). Per model, in one process:
// parity micro vs ort-node, warm session.run p50/p99 of the three engines interleaved in
// blocks (so machine noise hits every engine alike), the ratio micro / ort-web, the micro
// cold start in fresh Node processes (import of the generated module → first inference,
// plain node, as an edge isolate sees it once its bundle is parsed), interleaved run for run with
// an empty module started the same way (node's own floor), reported as cold minus floor, and the
// module's gzip size.
// Inputs: test-split messages for text models, seeded random data at the declared (or example)
// shapes otherwise. A graph the micro compiler refuses gets its ORT numbers and the reason.
// Usage: npm run bench:engine [-- --models spam-edge@1,spam-edge,alexa] [--seconds 4] [--cold-runs 9] [--cold-runs-large 3]
//        [--root DIR] [--json] [--readme]
// --models: names (latest version) or name@version, comma-separated. --cold-runs-large: cold runs
// of modules of 1 MB gzip or more (outside the cold bar; one run of the largest takes seconds).
// --json prints only the JSON; --readme writes the table into README.md (<!-- engine-table -->).
// Last line: one JSON object.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { FsModelSource } from '../adapters/node/fs-model-source.ts';
import { compileDeclaredModel } from '../build/micro/compile-model.ts';
import { readOnnxGraph } from '../build/micro/model-ir.ts';
import { createMicroEngine, microModuleKey } from '../core/engine/micro/micro-engine.ts';
import type { MicroModule } from '../core/engine/micro/types.ts';
import { createOrtNodeEngine } from '../core/engine/ort-node/ort-node-engine.ts';
import { createOrtWebEngine } from '../core/engine/ort-web/ort-web-engine.ts';
import { TENSOR_DATA_CONSTRUCTORS, type EngineSession, type Tensor, type TensorDType, type TensorMap } from '../core/engine/types.ts';
import { normaliseManifest, textInputs, type ModelManifest } from '../core/model/manifest.ts';
import { compareVersions, latestVersions, loadVerifiedModel } from '../core/model/repository.ts';
import { thirdPartyBenchGraphs } from '../test/helpers/third-party-models.ts';
import { machineLine, summarize } from './stats.ts';
import { seededRandom } from '../models/training/prng.ts';
import { loadModelAndTestFeeds } from './test-feeds.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    models: { type: 'string' },
    seconds: { type: 'string', default: '4' },
    'cold-runs': { type: 'string', default: '9' },
    'cold-runs-large': { type: 'string', default: '3' },
    root: { type: 'string' },
    json: { type: 'boolean', default: false },
    readme: { type: 'boolean', default: false },
  },
});
const secondsPerModel = Number(values.seconds);
const coldRuns = Number(values['cold-runs']);
const coldRunsLarge = Number(values['cold-runs-large']);
/** --models entries: a name (its latest version) or name@version. */
const wanted = values.models ? values.models.split(',').map((s) => s.trim()).filter(Boolean).map((entry) => {
  const at = entry.lastIndexOf('@');
  return at > 0 ? { entry, name: entry.slice(0, at), version: entry.slice(at + 1) } : { entry, name: entry, version: undefined };
}) : null;
const matched = new Set<string>();
/** Whether --models asks for `name` at `version` (`latest`: the version a bare name means). */
const wants = (name: string, version: string, latest: boolean): boolean => {
  if (!wanted) return latest;
  const hits = wanted.filter((w) => w.name === name && (w.version === undefined ? latest : w.version === version));
  for (const h of hits) matched.add(h.entry);
  return hits.length > 0;
};
const say = (line: string) => {
  if (!values.json) console.log(line);
};
const round = (x: number, digits = 3) => Number(x.toFixed(digits));
/** Outputs of micro and ort-node further apart than this count as a mismatch (the parity tests' bar). */
const TOLERANCE = 1e-4;
const FEEDS = 50;

interface BenchModel {
  name: string;
  kind: 'repository' | 'third-party';
  bytes: Uint8Array;
  manifest: ModelManifest;
  feeds: TensorMap[];
}

function randomTensor(next: () => number, dtype: TensorDType, dims: number[], value?: number): Tensor {
  const size = dims.reduce((a, b) => a * b, 1);
  const Ctor = TENSOR_DATA_CONSTRUCTORS[dtype] as new (n: number) => Tensor['data'];
  const data = new Ctor(size);
  for (let i = 0; i < size; i++) {
    const u = value ?? (dtype === 'float32' ? next() * 2 - 1 : dtype === 'bool' ? (next() < 0.5 ? 0 : 1) : Math.floor(next() * 8));
    (data as { [i: number]: number | bigint })[i] = dtype === 'int64' ? BigInt(Math.round(u)) : u;
  }
  return { dtype, dims, data } as Tensor;
}

/** A manifest for a graph without a model.json: its own inputs (at `inputShapes` where given) and outputs, output kind raw. */
function manifestOf(name: string, bytes: Uint8Array, inputShapes: Record<string, number[]> = {}): ModelManifest {
  const graph = readOnnxGraph(bytes);
  const spec = (v: { name: string; dtype: string; dims: readonly (number | string | null)[] }) => ({ name: v.name, dtype: v.dtype, shape: inputShapes[v.name] ?? v.dims.map((d) => (typeof d === 'number' ? d : -1)) });
  const raw = {
    name, version: '1', file: 'model.onnx', sha256: createHash('sha256').update(bytes).digest('hex'),
    inputs: graph.inputs.map((i) => ({ ...spec(i), source: 'request' })), outputs: graph.outputs.map(spec), output: { kind: 'raw' }, batch: { max: 64 },
  };
  return normaliseManifest(raw, `${name} (bench)`);
}

/** Random feeds at the graph's input shapes, variable dims as 1 unless `dims` says otherwise. */
function randomFeeds(bytes: Uint8Array, seed: number, given: Array<{ name: string; dtype: TensorDType; dims: number[]; value?: number }> = []): TensorMap[] {
  const graph = readOnnxGraph(bytes);
  const next = seededRandom(seed);
  return Array.from({ length: FEEDS }, () =>
    Object.fromEntries(graph.inputs.map((input) => {
      const g = given.find((x) => x.name === input.name);
      const dims = g?.dims ?? input.dims.map((d) => (typeof d === 'number' ? d : 1));
      return [input.name, randomTensor(next, input.dtype as TensorDType, dims, g?.value)];
    })),
  );
}

async function repositoryModels(): Promise<BenchModel[]> {
  const source = new FsModelSource(values.root);
  const latest = new Map((await latestVersions(source)).map((m) => [m.name, m.version]));
  const out: BenchModel[] = [];
  for (const { name, versions } of await source.list()) {
    for (const version of [...versions].sort(compareVersions)) {
      if (!wants(name, version, latest.get(name) === version)) continue;
      const { manifest, bytes } = await loadVerifiedModel(source, name, version);
      const feeds = textInputs(manifest).length > 0 ? (await loadModelAndTestFeeds(name, values.root, version)).feeds : randomFeeds(bytes, 7);
      out.push({ name, kind: 'repository', bytes, manifest, feeds });
    }
  }
  return out;
}

function thirdPartyModels(): BenchModel[] {
  return thirdPartyBenchGraphs()
    .filter((g) => wants(g.name, '1', true))
    .map((g) => {
      const bytes = g.bytes();
      return { name: g.name, kind: 'third-party' as const, bytes, manifest: manifestOf(g.name, bytes, g.inputShapes), feeds: randomFeeds(bytes, 11, g.inputs) };
    });
}

const tempDir = mkdtempSync(join(tmpdir(), 'bench-micro-'));
let fileCounter = 0;
function writeModule(source: string): string {
  const file = join(tempDir, `model-${fileCounter++}.mjs`);
  writeFileSync(file, source);
  return file;
}

/** Import → first inference of the module in a fresh plain-node process (feeds parsed before the clock starts), and the first inference alone. */
function coldFreshProcess(moduleSource: string, feed: TensorMap): { total: number; firstRun: number } {
  const file = writeModule(moduleSource);
  const feedFile = join(tempDir, `feed-${fileCounter++}.json`);
  writeFileSync(feedFile, JSON.stringify(Object.fromEntries(Object.entries(feed).map(([k, t]) => [k, { dtype: t.dtype, dims: t.dims, data: Array.from(t.data as ArrayLike<number | bigint>, Number) }]))));
  const ctors: Record<string, string> = { float32: 'Float32Array', int32: 'Int32Array', int64: 'BigInt64Array', int8: 'Int8Array', uint8: 'Uint8Array', bool: 'Uint8Array' };
  const script = `import { readFileSync } from 'node:fs';
const raw = JSON.parse(readFileSync(${JSON.stringify(feedFile)}, 'utf8'));
const C = ${JSON.stringify(ctors)};
const feeds = {};
for (const [k, t] of Object.entries(raw)) feeds[k] = { dtype: t.dtype, dims: t.dims, data: t.dtype === 'int64' ? BigInt64Array.from(t.data, BigInt) : globalThis[C[t.dtype]].from(t.data) };
const t0 = performance.now();
const m = await import(${JSON.stringify(pathToFileURL(file).href)});
const t1 = performance.now();
m.run(feeds);
const t2 = performance.now();
console.log(JSON.stringify([t2 - t0, t2 - t1]));`;
  const [total, firstRun] = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: {} }).trim()) as [number, number];
  return { total, firstRun };
}

function maxDiff(a: TensorMap, b: TensorMap): number {
  let worst = 0;
  for (const [name, e] of Object.entries(b)) {
    const got = a[name];
    if (!got || got.data.length !== e.data.length) return Infinity;
    for (let i = 0; i < e.data.length; i++) {
      const d = Math.abs(Number(got.data[i]) - Number(e.data[i]));
      worst = Math.max(worst, Number.isNaN(d) ? (Number.isNaN(Number(e.data[i])) && Number.isNaN(Number(got.data[i])) ? 0 : Infinity) : d);
    }
  }
  return worst;
}

interface Row {
  model: string;
  kind: BenchModel['kind'];
  onnx_bytes: number;
  micro: 'ok' | string;
  micro_compile_ms?: number;
  micro_module_gzip_bytes?: number;
  micro_p50_us?: number;
  micro_p99_us?: number;
  ort_web_p50_us?: number;
  ort_web_p99_us?: number;
  ort_node_p50_us?: number;
  ort_node_p99_us?: number;
  ratio_micro_over_ort_web?: number;
  ratio_micro_over_ort_node?: number;
  micro_cold_fresh_process_p50_ms?: number;
  micro_cold_fresh_process_p90_ms?: number;
  micro_cold_fresh_process_max_ms?: number;
  /** Of the cold start, the first inference alone (the rest: import, i.e. read, compile, decode the weights). */
  micro_cold_first_run_p50_ms?: number;
  /** The empty module's cold start in the same fresh-process runs, interleaved with this model's. */
  cold_floor_p50_ms?: number;
  /** Per run pair, model cold minus the floor run beside it: what the module itself costs. */
  micro_cold_minus_floor_p50_ms?: number;
  micro_cold_minus_floor_p90_ms?: number;
  micro_cold_runs?: number;
  parity_inputs?: number;
  parity_mismatches?: number;
  parity_max_abs_diff?: number;
  bar_warm?: boolean;
  bar_cold?: boolean | null;
}

/** Node's own cost of a cold import → run: an empty module through the same fresh-process harness. */
const EMPTY_MODULE = 'export function run() { return {}; }\n';
const allFloors: number[] = [];

const webEngine = await createOrtWebEngine({ wasmBinary: new Uint8Array(readFileSync(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'))) });
const nodeEngine = await createOrtNodeEngine();

async function benchModel(m: BenchModel): Promise<Row> {
  const row: Row = { model: `${m.manifest.name}@${m.manifest.version}`, kind: m.kind, onnx_bytes: m.bytes.length, micro: 'ok' };
  const sessions: Record<string, EngineSession> = {};
  let source: string | undefined;
  try {
    const t0 = performance.now();
    // As the model is served: specialised on the input shapes its manifest declares.
    source = compileDeclaredModel(m.bytes, m.manifest).source;
    row.micro_compile_ms = round(performance.now() - t0, 1);
    row.micro_module_gzip_bytes = gzipSync(source, { level: 9 }).length;
    const module = (await import(pathToFileURL(writeModule(source)).href)) as MicroModule;
    sessions.micro = await createMicroEngine({ modules: { [microModuleKey(module.metadata.sourceSha256, m.manifest)]: module } }).load(m.bytes, m.manifest);
  } catch (error) {
    row.micro = (error as Error).message.split('\n')[0]!.slice(0, 300);
  }
  sessions['ort-web'] = await webEngine.load(m.bytes, m.manifest);
  sessions['ort-node'] = await nodeEngine.load(m.bytes, m.manifest);

  if (sessions.micro) {
    let worst = 0;
    let mismatches = 0;
    for (const feed of m.feeds) {
      const d = maxDiff(await sessions.micro.run(feed), await sessions['ort-node']!.run(feed));
      worst = Math.max(worst, d);
      if (!(d <= TOLERANCE)) mismatches++;
    }
    Object.assign(row, { parity_inputs: m.feeds.length, parity_mismatches: mismatches, parity_max_abs_diff: worst });
  }

  // Warm: blocks of about 40 ms per engine, rotating, until the model's time is spent.
  const names = Object.keys(sessions);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  const perRun: Record<string, number> = {};
  for (const name of names) {
    const t0 = performance.now();
    let n = 0;
    while (n < 20 || performance.now() - t0 < 150) await sessions[name]!.run(m.feeds[n++ % m.feeds.length]!);
    perRun[name] = (performance.now() - t0) / n;
  }
  const until = performance.now() + secondsPerModel * 1000;
  let at = 0;
  while (performance.now() < until || samples[names[0]!]!.length < 30) {
    for (const name of names) {
      const block = Math.max(3, Math.min(200, Math.round(40 / perRun[name]!)));
      const list = samples[name]!;
      for (let i = 0; i < block; i++) {
        const feed = m.feeds[(at + i) % m.feeds.length]!;
        const t0 = performance.now();
        await sessions[name]!.run(feed);
        list.push((performance.now() - t0) * 1000);
      }
    }
    at += 7;
  }
  const s = Object.fromEntries(names.map((k) => [k, summarize(samples[k]!, 2)]));
  row.ort_web_p50_us = s['ort-web']!.p50;
  row.ort_web_p99_us = s['ort-web']!.p99;
  row.ort_node_p50_us = s['ort-node']!.p50;
  row.ort_node_p99_us = s['ort-node']!.p99;
  if (s.micro) {
    row.micro_p50_us = s.micro.p50;
    row.micro_p99_us = s.micro.p99;
    row.ratio_micro_over_ort_web = round(s.micro.p50 / s['ort-web']!.p50);
    row.ratio_micro_over_ort_node = round(s.micro.p50 / s['ort-node']!.p50);
    row.bar_warm = row.ratio_micro_over_ort_web <= 0.5;
  }
  for (const session of Object.values(sessions)) await session.release();

  if (source) {
    // Model and empty module alternate (and swap which goes first), so load drifts hit both alike.
    const underBar = row.micro_module_gzip_bytes! < 1024 * 1024;
    const colds: number[] = [];
    const firstRuns: number[] = [];
    const floors: number[] = [];
    const diffs: number[] = [];
    for (let r = 0; r < (underBar ? coldRuns : coldRunsLarge); r++) {
      const emptyFirst = r % 2 === 0;
      const before = emptyFirst ? coldFreshProcess(EMPTY_MODULE, {}) : coldFreshProcess(source, m.feeds[0]!);
      const after = emptyFirst ? coldFreshProcess(source, m.feeds[0]!) : coldFreshProcess(EMPTY_MODULE, {});
      const [empty, cold] = emptyFirst ? [before, after] : [after, before];
      floors.push(empty.total);
      colds.push(cold.total);
      firstRuns.push(cold.firstRun);
      diffs.push(cold.total - empty.total);
    }
    allFloors.push(...floors);
    const c = summarize(colds, 2);
    const d = summarize(diffs, 2);
    row.micro_cold_fresh_process_p50_ms = c.p50;
    row.micro_cold_fresh_process_p90_ms = c.p90;
    row.micro_cold_fresh_process_max_ms = c.max;
    row.micro_cold_first_run_p50_ms = summarize(firstRuns, 2).p50;
    row.cold_floor_p50_ms = summarize(floors, 2).p50;
    row.micro_cold_minus_floor_p50_ms = d.p50;
    row.micro_cold_minus_floor_p90_ms = d.p90;
    row.micro_cold_runs = colds.length;
    // The bar (issue #14: cold import → first inference ≤ 20 ms) is read as the module's own cost, above node's floor.
    row.bar_cold = underBar ? d.p50 <= 20 : null;
  }
  return row;
}

const models = [...(await repositoryModels()), ...thirdPartyModels()];
const unmatched = (wanted ?? []).filter((w) => !matched.has(w.entry)).map((w) => w.entry);
if (models.length === 0 || unmatched.length > 0) {
  console.error(`no model matches --models ${unmatched.join(',') || values.models} (name or name@version; third-party graphs are version 1)`);
  process.exit(1);
}
const load = () => loadavg().map((x) => x.toFixed(2)).join(', ');
const loadAtStart = load();
say(await machineLine());
say(`load average (1, 5, 15 min) at start: ${loadAtStart}`);
say(`${models.length} models, ~${secondsPerModel} s of interleaved warm runs each, ${coldRuns} fresh-process cold starts each (${coldRunsLarge} for modules of 1 MB gzip or more), each beside an empty module's`);
const rows: Row[] = [];
for (const m of models) {
  const row = await benchModel(m);
  rows.push(row);
  say(`  ${row.model}: ${row.micro === 'ok' ? `micro/ort-web ${row.ratio_micro_over_ort_web}, cold p50 ${row.micro_cold_fresh_process_p50_ms} ms (p90 ${row.micro_cold_fresh_process_p90_ms}), first inference ${row.micro_cold_first_run_p50_ms} ms, floor ${row.cold_floor_p50_ms} ms, cold − floor p50 ${row.micro_cold_minus_floor_p50_ms} ms (p90 ${row.micro_cold_minus_floor_p90_ms})` : `micro refused: ${row.micro}`}`);
}
const floor = summarize(allFloors.length > 0 ? allFloors : [Number.NaN], 2).p50;
const loadAtEnd = load();
say(`load average at end: ${loadAtEnd}`);

const kb = (b: number | undefined) => (b === undefined ? '' : `${Math.round(b / 1024)} KB`);
const us = (v: number | undefined) => (v === undefined ? '' : v >= 1000 ? `${round(v / 1000, 2)} ms` : `${round(v, 1)} µs`);
const header = ['model', 'micro p50 / p99', 'ort-web p50 / p99', 'ort-node p50', 'micro / ort-web', 'micro cold − floor p50 / p90 (fresh node)', 'cold p50 (first inference; floor)', 'module gzip', 'parity vs ort-node'];
const cells = rows.map((r) =>
  r.micro === 'ok'
    ? [r.model, `${us(r.micro_p50_us)} / ${us(r.micro_p99_us)}`, `${us(r.ort_web_p50_us)} / ${us(r.ort_web_p99_us)}`, us(r.ort_node_p50_us), `${r.ratio_micro_over_ort_web}${r.bar_warm ? '' : ' ✗'}`, `${r.micro_cold_minus_floor_p50_ms} / ${r.micro_cold_minus_floor_p90_ms} ms${r.bar_cold === false ? ' ✗' : ''}${r.bar_cold === null ? ` (${r.micro_cold_runs} runs)` : ''}`, `${r.micro_cold_fresh_process_p50_ms} ms (${r.micro_cold_first_run_p50_ms}; ${r.cold_floor_p50_ms})`, kb(r.micro_module_gzip_bytes), `${r.parity_mismatches}/${r.parity_inputs} over 1e-4 (max ${r.parity_max_abs_diff!.toExponential(1)})`]
    : [r.model, 'does not compile', `${us(r.ort_web_p50_us)} / ${us(r.ort_web_p99_us)}`, us(r.ort_node_p50_us), '', '', '', '', r.micro.slice(0, 80)],
);
const markdown = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...cells.map((c) => `| ${c.join(' | ')} |`)].join('\n');
say('');
say(markdown);
say('');
const legend = `✗: over the bar (warm micro ≤ 0.5 × ort-web; cold − floor ≤ 20 ms p50 for modules under 1 MB gzip). Cold: import → first inference in a fresh node process; floor: an empty module the same way, run for run beside it (p50 over all runs ${floor} ms); cold − floor per pair. Load average (1, 5, 15 min) ${loadAtStart} at start, ${loadAtEnd} at end.`;
say(legend);

if (values.readme) {
  const readmePath = join(ROOT, 'README.md');
  const start = '<!-- engine-table -->';
  const end = '<!-- /engine-table -->';
  const readme = existsSync(readmePath) ? readFileSync(readmePath, 'utf8') : '';
  if (readme.includes(start) && readme.includes(end)) {
    const note = `\`npm run bench:engine\`, ${new Date().toISOString().slice(0, 10)}, ${(await machineLine()).replace(/^machine: /, '')}:`;
    writeFileSync(readmePath, `${readme.slice(0, readme.indexOf(start))}${start}\n\n${note}\n\n${markdown}\n\n${legend}\n\n${readme.slice(readme.indexOf(end))}`);
    say('wrote the table into README.md');
  } else {
    console.error('README.md has no <!-- engine-table --> markers; not written');
  }
}

// The example edge model's numbers stay at the top level (bench/run-all.ts reads them).
const example = rows.filter((r) => r.model.startsWith('spam-edge@')).at(-1);
console.log(
  JSON.stringify({
    bench: 'engine',
    node: process.version,
    seconds_per_model: secondsPerModel,
    cold_fresh_process_floor_ms: floor,
    load_average_start: loadAtStart,
    load_average_end: loadAtEnd,
    ...(example ? { micro_p50_us: example.micro_p50_us, ort_web_p50_us: example.ort_web_p50_us, ort_node_p50_us: example.ort_node_p50_us, ratio_micro_over_ort_web: example.ratio_micro_over_ort_web, micro_cold_fresh_process_p50_ms: example.micro_cold_fresh_process_p50_ms, micro_cold_minus_floor_p50_ms: example.micro_cold_minus_floor_p50_ms, micro_module_gzip_bytes: example.micro_module_gzip_bytes, parity_mismatches: example.parity_mismatches } : {}),
    models: rows,
  }),
);
