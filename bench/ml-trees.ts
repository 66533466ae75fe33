// Tree ensembles on three engines, warm, same process, interleaved: the micro engine's module
// (flat typed arrays + one loop per tree), onnxruntime-node and onnxruntime-web, on the
// ml-random-forest graphs of test/fixtures/ml (penguins classifier, cars regressor), batch 1
// and batch 64. Also measures the alternative code shape, nested if/else per tree (m2cgen's
// style), generated here from the same graph: module gzip size and warm time, to justify the
// compiler's choice. Usage: npx tsx bench/ml-trees.ts [--seconds 4]. Last line: one JSON object.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import { createNodeOrtWebEngine } from '../adapters/node/ort-wasm-binary.ts';
import { importMicroModule } from '../adapters/node/micro-module-loader.ts';
import { compileOnnxToModule } from '../build/micro/compile.ts';
import { readOnnxGraph, type IrNode } from '../build/micro/model-ir.ts';
import type { TensorMap } from '../core/engine/types.ts';
import { manifestFor } from '../test/build/micro/oracle.ts';
import { machineLine, summarize } from './stats.ts';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 4);
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../test/fixtures/ml/${name}`, import.meta.url)));

/** Nested if/else source of one ensemble (sum of leaf weights per target), for the size/speed comparison. */
function nestedIfModule(node: IrNode, targets: number, prefix: 'class' | 'target'): string {
  const a = (k: string) => node.attrs.get(k) as number[];
  const tree = a('nodes_treeids'), id = a('nodes_nodeids'), feat = a('nodes_featureids'), val = a('nodes_values');
  const modes = (node.attrs.get('nodes_modes') as { strings: string[] }).strings;
  const t = a('nodes_truenodeids'), f = a('nodes_falsenodeids');
  const wt = a(`${prefix}_treeids`), wn = a(`${prefix}_nodeids`), wk = a(`${prefix}_ids`), ww = a(`${prefix}_weights`);
  const at = new Map<string, number>();
  tree.forEach((tr, i) => at.set(`${tr}:${id[i]}`, i));
  const leafW = new Map<string, string[]>();
  wt.forEach((tr, k) => {
    const key = `${tr}:${wn[k]}`;
    leafW.set(key, [...(leafW.get(key) ?? []), `s[${wk[k]}] += ${Math.fround(ww[k]!)};`]);
  });
  const code = (i: number): string => (modes[i] === 'LEAF' ? (leafW.get(`${tree[i]}:${id[i]}`) ?? []).join(' ') : `if (x[o + ${feat[i]}] <= ${Math.fround(val[i]!)}) { ${code(at.get(`${tree[i]}:${t[i]}`)!)} } else { ${code(at.get(`${tree[i]}:${f[i]}`)!)} }`);
  const roots = [...new Set(tree)].map((tr) => at.get(`${tr}:0`)!);
  return `export function run(x, rows, features, out) {\n  const s = new Float64Array(${targets});\n  for (let n = 0; n < rows; n++) {\n    const o = n * features;\n    s.fill(0);\n${roots.map((r) => `    ${code(r)}`).join('\n')}\n    for (let j = 0; j < ${targets}; j++) out[n * ${targets} + j] = s[j];\n  }\n}\n`;
}

interface Case { name: string; file: string; features: number; output: string; targets: number; prefix: 'class' | 'target' }
const CASES: Case[] = [
  { name: 'penguins-rf (15 trees, 3 classes)', file: 'penguins-rf.onnx', features: 4, output: 'probabilities', targets: 3, prefix: 'class' },
  { name: 'cars-mpg-rf (20 trees, regression)', file: 'cars-mpg-rf.onnx', features: 6, output: 'variable', targets: 1, prefix: 'target' },
];

console.log(await machineLine());
const web = await createNodeOrtWebEngine();
const results: Record<string, unknown>[] = [];
const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-ml-bench-'));
for (const c of CASES) {
  const bytes = fixture(c.file);
  const compiled = compileOnnxToModule(bytes, { name: c.name });
  const micro = await importMicroModule(compiled.source, 'bench');
  const node = readOnnxGraph(bytes).nodes.find((n) => n.opType.startsWith('TreeEnsemble'))!;
  const ifSource = nestedIfModule(node, c.targets, c.prefix);
  const ifFile = join(dir, `${c.file}.if.mjs`);
  writeFileSync(ifFile, ifSource);
  const nested = (await import(pathToFileURL(ifFile).href)) as { run(x: Float32Array, rows: number, f: number, out: Float32Array): void };
  const ortNode = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const io = [{ name: 'input', dtype: 'float32' as const, shape: [-1, c.features] }];
  const webSession = await web.load(bytes, manifestFor(io, [{ name: c.output, dtype: 'float32', shape: [-1, c.targets] }]));
  for (const batch of [1, 64]) {
    const rows = Array.from({ length: 256 }, () => Float32Array.from({ length: batch * c.features }, (_, k) => [40 + Math.random() * 15, 14 + Math.random() * 7, 175 + Math.random() * 50, 3000 + Math.random() * 3000, 4 + Math.random() * 2, 1975 + Math.random() * 8][k % c.features]! * (c.features === 6 ? 1 : 1)));
    if (c.features === 6) for (const r of rows) for (let i = 0; i < r.length; i += 6) { r[i] = [4, 6, 8][i % 3]!; r[i + 1] = 70 + Math.random() * 300; r[i + 2] = 50 + Math.random() * 170; r[i + 3] = 1800 + Math.random() * 3000; r[i + 4] = 9 + Math.random() * 15; r[i + 5] = 1970 + Math.floor(Math.random() * 13); }
    const out = new Float32Array(batch * c.targets);
    const feeds = (r: Float32Array): TensorMap => ({ input: { dtype: 'float32', dims: [batch, c.features], data: r } });
    const engines: Record<string, (r: Float32Array) => Promise<unknown> | unknown> = {
      micro: (r) => micro.run(feeds(r)),
      'nested-if': (r) => nested.run(r, batch, c.features, out),
      'ort-node': (r) => ortNode.run({ input: new ort.Tensor('float32', r, [batch, c.features]) }),
      'ort-web': (r) => webSession.run(feeds(r)),
    };
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(engines).map((k) => [k, []]));
    for (let i = 0; i < 200; i++) for (const run of Object.values(engines)) await run(rows[i % rows.length]!);
    const end = performance.now() + seconds * 1000;
    let i = 0;
    while (performance.now() < end) {
      // Interleaved: each round runs every engine once on the same input, in rotating order.
      const names = Object.keys(engines);
      for (let k = 0; k < names.length; k++) {
        const name = names[(i + k) % names.length]!;
        const t0 = performance.now();
        await engines[name]!(rows[i % rows.length]!);
        samples[name]!.push((performance.now() - t0) * 1000);
      }
      i++;
    }
    const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v, 2)]));
    const p50 = (k: string) => (s[k] as { p50: number }).p50;
    console.log(`${c.name}, batch ${batch}: p50/p99 µs ` + Object.entries(s).map(([k, v]) => `${k} ${v.p50}/${v.p99}`).join(', ') + `; micro/ort-node ${(p50('micro') / p50('ort-node')).toFixed(2)}, micro/ort-web ${(p50('micro') / p50('ort-web')).toFixed(2)}, nested-if/micro ${(p50('nested-if') / p50('micro')).toFixed(2)}`);
    results.push({ model: c.file, batch, ...Object.fromEntries(Object.entries(s).map(([k, v]) => [k, { p50: v.p50, p99: v.p99 }])) });
  }
  const flatGzip = gzipSync(compiled.source).length;
  const ifGzip = gzipSync(ifSource).length;
  console.log(`${c.name}: module gzip flat arrays ${flatGzip} B (whole module), nested if ${ifGzip} B (trees only); .onnx gzip ${gzipSync(bytes).length} B`);
  results.push({ model: c.file, gzip: { flat: flatGzip, nestedIf: ifGzip, onnx: gzipSync(bytes).length } });
  await ortNode.release();
  await webSession.release();
}
console.log(JSON.stringify({ bench: 'ml-trees', unit: 'µs', results }));
