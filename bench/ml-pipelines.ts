// Classical-ML pipelines on three engines, warm, same process, interleaved: the micro engine's
// module, onnxruntime-node (1 thread) and onnxruntime-web, on the libsvm-js / ml-random-forest
// pipelines of test/fixtures/ml (Imputer → Scaler → SVC / SVR / forest), batch 1 and 64, with
// rows drawn from the datasets they were trained on (missing values included).
// Usage: npx tsx bench/ml-pipelines.ts [--seconds 4]. Last line: one JSON object.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { createNodeOrtWebEngine } from '../adapters/node/ort-wasm-binary.ts';
import { importMicroModule } from '../adapters/node/micro-module-loader.ts';
import { compileOnnxToModule } from '../build/micro/compile.ts';
import type { TensorMap } from '../core/engine/types.ts';
import { manifestFor } from '../test/build/micro/oracle.ts';
import { machineLine, summarize } from './stats.ts';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 4);
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../test/fixtures/ml/${name}`, import.meta.url)));
const vega = (name: string) => JSON.parse(readFileSync(new URL(`../node_modules/vega-datasets/data/${name}`, import.meta.url), 'utf8')) as Array<Record<string, unknown>>;
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

const penguins = vega('penguins.json').map((p) => ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'].map((k) => num(p[k])));
const carRows = vega('cars.json').map((c) => ['Cylinders', 'Displacement', 'Horsepower', 'Weight_in_lbs', 'Acceleration'].map((k) => num(c[k])).concat(Number(String(c.Year).slice(0, 4))));
const carsWithOrigin = vega('cars.json').map((c, i) => carRows[i]!.concat(['USA', 'Europe', 'Japan'].indexOf(String(c.Origin))));

interface Case { name: string; file: string; data: number[][]; outputs: Array<{ name: string; dtype: 'float32' | 'int64'; width: number }> }
const CASES: Case[] = [
  { name: 'penguins SVC pipeline (61 SVs, RBF, probabilities)', file: 'penguins-svc-pipeline.onnx', data: penguins, outputs: [{ name: 'species_id', dtype: 'int64', width: 0 }, { name: 'probabilities', dtype: 'float32', width: 3 }] },
  { name: 'cars SVR pipeline (320 SVs, RBF)', file: 'cars-mpg-svr-pipeline.onnx', data: carRows, outputs: [{ name: 'variable', dtype: 'float32', width: 1 }] },
  { name: 'cars forest pipeline (16 trees, column selection, Binarizer, Cast)', file: 'cars-pipeline-forest.onnx', data: carsWithOrigin, outputs: [{ name: 'variable', dtype: 'float32', width: 1 }, { name: 'efficient', dtype: 'int64', width: 1 }] },
];

console.log(await machineLine());
const web = await createNodeOrtWebEngine();
const results: Record<string, unknown>[] = [];
for (const c of CASES) {
  const bytes = fixture(c.file);
  const micro = await importMicroModule(compileOnnxToModule(bytes, { name: c.file }).source, 'bench');
  const F = c.data[0]!.length;
  const ortNode = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const io = [{ name: 'input', dtype: 'float32' as const, shape: [-1, F] }];
  const webSession = await web.load(bytes, manifestFor(io, c.outputs.map((o) => ({ name: o.name, dtype: o.dtype, shape: o.width ? [-1, o.width] : [-1] }))));
  for (const batch of [1, 64]) {
    // 256 inputs, each `batch` consecutive dataset rows (wrapping around).
    const inputs = Array.from({ length: 256 }, (_, k) => Float32Array.from(Array.from({ length: batch }, (_, r) => c.data[(k * batch + r) % c.data.length]!).flat()));
    const feeds = (x: Float32Array): TensorMap => ({ input: { dtype: 'float32', dims: [batch, F], data: x } });
    const engines: Record<string, (x: Float32Array) => Promise<unknown> | unknown> = {
      micro: (x) => micro.run(feeds(x)),
      'ort-node': (x) => ortNode.run({ input: new ort.Tensor('float32', x, [batch, F]) }),
      'ort-web': (x) => webSession.run(feeds(x)),
    };
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(engines).map((k) => [k, []]));
    for (let i = 0; i < 200; i++) for (const run of Object.values(engines)) await run(inputs[i % inputs.length]!);
    const end = performance.now() + seconds * 1000;
    let i = 0;
    const names = Object.keys(engines);
    while (performance.now() < end) {
      // Interleaved: each round runs every engine once on the same input, in rotating order.
      for (let k = 0; k < names.length; k++) {
        const name = names[(i + k) % names.length]!;
        const t0 = performance.now();
        await engines[name]!(inputs[i % inputs.length]!);
        samples[name]!.push((performance.now() - t0) * 1000);
      }
      i++;
    }
    const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v, 2)]));
    const p50 = (k: string) => s[k]!.p50;
    console.log(
      `${c.name}, batch ${batch}: p50/p90/p99 µs ` + Object.entries(s).map(([k, v]) => `${k} ${v.p50}/${v.p90}/${v.p99}`).join(', ') +
        `; micro/ort-node ${(p50('micro') / p50('ort-node')).toFixed(2)}, micro/ort-web ${(p50('micro') / p50('ort-web')).toFixed(2)} (${s.micro!.n} rounds)`,
    );
    results.push({ model: c.file, batch, ...Object.fromEntries(Object.entries(s).map(([k, v]) => [k, { p50: v.p50, p90: v.p90, p99: v.p99 }])) });
  }
  await ortNode.release();
  await webSession.release();
}
console.log(JSON.stringify({ bench: 'ml-pipelines', unit: 'µs', results }));
