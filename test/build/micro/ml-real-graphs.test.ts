// Tree ensembles trained on real data by a third-party npm trainer, not written here:
// test/fixtures/ml/*.onnx are ml-random-forest 2.1.0 forests on vega-datasets' penguins
// (species, 3 string labels, ZipMap output as sklearn-onnx writes by default) and cars (miles per
// gallon), exported with the repo's builder in sklearn-onnx's node layout by
// test/fixtures/ml/generate.ts (no npm package ships sklearn-onnx graphs). The micro engine's
// outputs are compared with onnxruntime-node's on every row of both datasets (missing
// measurements as NaN) plus, for every split, a row exactly on the threshold and one float above.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { readOnnxGraph } from '../../../build/micro/model-ir.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { runOnOrtNode } from './ml-graphs.ts';
import { runOnOrtWeb } from './oracle.ts';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../../fixtures/ml/${name}`, import.meta.url)));
const vega = (name: string) => JSON.parse(readFileSync(new URL(`../../../node_modules/vega-datasets/data/${name}`, import.meta.url), 'utf8')) as Array<Record<string, unknown>>;
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
const TOLERANCE = 1e-4;

function nextUp(v: number): number {
  const a = new Float32Array([v]);
  const u = new Uint32Array(a.buffer);
  if (v === 0) return 1.401298464324817e-45;
  u[0]! += v > 0 ? 1 : -1;
  return a[0]!;
}

/** Dataset rows, then for every split a copy of row 0 with the feature exactly on the threshold and one float above. */
function rowsWithEdges(bytes: Uint8Array, data: number[][]): { rows: number[][]; edges: number } {
  const node = readOnnxGraph(bytes).nodes.find((n) => n.opType.startsWith('TreeEnsemble'))!;
  const features = node.attrs.get('nodes_featureids') as number[];
  const values = node.attrs.get('nodes_values') as number[];
  const modes = (node.attrs.get('nodes_modes') as { strings: string[] }).strings;
  const rows = [...data];
  let edges = 0;
  modes.forEach((m, i) => {
    if (m === 'LEAF') return;
    const base = data[i % data.length]!;
    for (const v of [values[i]!, nextUp(values[i]!)]) {
      const row = [...base];
      row[features[i]!] = v;
      rows.push(row);
      edges++;
    }
  });
  return { rows, edges };
}

async function compare(bytes: Uint8Array, rows: number[][], outputs: string[]) {
  const F = rows[0]!.length;
  const feeds = { input: { dtype: 'float32' as const, dims: [rows.length, F], data: Float32Array.from(rows.flat()) } };
  const expected = await runOnOrtNode(bytes, feeds, outputs);
  const module = await importMicroModule(compileOnnxToModule(bytes, { name: 'real' }).source, 'real');
  const actual = module.run(feeds);
  return { expected, actual };
}

describe('real tree ensembles (ml-random-forest on vega-datasets) vs onnxruntime-node', () => {
  test('penguins species: probabilities within 1e-4 and the same label on every row, NaN and split edges included', async () => {
    const SPECIES = ['Adelie', 'Chinstrap', 'Gentoo'];
    const data = vega('penguins.json').map((p) => ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'].map((f) => num(p[f])));
    expect(data.some((r) => r.some(Number.isNaN))).toBe(true);
    const bytes = fixture('penguins-rf.onnx');
    const { rows, edges } = rowsWithEdges(bytes, data);
    expect(edges).toBeGreaterThan(100);
    const { expected, actual } = await compare(bytes, rows, ['label', 'probabilities']);
    const e = expected.probabilities!.data as Float32Array;
    const a = actual.probabilities!.data as Float32Array;
    const labels = expected.label!.data as unknown as string[];
    let worst = 0;
    let labelMismatches = 0;
    for (let i = 0; i < rows.length; i++) {
      for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(e[i * 3 + k]! - a[i * 3 + k]!));
      const row = Array.from(a.subarray(i * 3, i * 3 + 3));
      if (SPECIES[row.indexOf(Math.max(...row))] !== labels[i]) labelMismatches++;
    }
    console.log(`penguins: ${rows.length} rows (${edges} on or next to a split), max |Δ| ${worst.toExponential(2)}, label mismatches ${labelMismatches}`);
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
    expect(labelMismatches).toBe(0);
    // The ZipMap version (sklearn-onnx's default export) compiles to the same probabilities output.
    const zipped = compileOnnxToModule(fixture('penguins-rf-zipmap.onnx'), { name: 'zipmap' });
    expect(zipped.metadata.outputs.map((o) => o.name)).toEqual(['probabilities']);
    const zm = await importMicroModule(zipped.source, 'zipmap');
    const feeds = { input: { dtype: 'float32' as const, dims: [rows.length, 4], data: Float32Array.from(rows.flat()) } };
    expect(Array.from(zm.run(feeds).probabilities!.data as Float32Array)).toEqual(Array.from(a));
  });

  test('cars miles per gallon: within 1e-4 on every car, missing horsepower and split edges included', async () => {
    const data = vega('cars.json').map((c) => ['Cylinders', 'Displacement', 'Horsepower', 'Weight_in_lbs', 'Acceleration'].map((f) => num(c[f])).concat(Number(String(c.Year).slice(0, 4))));
    expect(data.some((r) => r.some(Number.isNaN))).toBe(true);
    const bytes = fixture('cars-mpg-rf.onnx');
    const { rows, edges } = rowsWithEdges(bytes, data);
    const { expected, actual } = await compare(bytes, rows, ['variable']);
    const e = expected.variable!.data as Float32Array;
    const a = actual.variable!.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < rows.length; i++) worst = Math.max(worst, Math.abs(e[i]! - a[i]!));
    console.log(`cars: ${rows.length} rows (${edges} on or next to a split), max |Δ| ${worst.toExponential(2)} (mpg 9-47)`);
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
    // onnxruntime-web's wasm build has the ai.onnx.ml kernels too (the ORT edge builds serve these graphs).
    const feeds = { input: { dtype: 'float32' as const, dims: [rows.length, 6], data: Float32Array.from(rows.flat()) } };
    const viaWeb = await runOnOrtWeb(bytes, feeds, [{ name: 'input', dtype: 'float32', shape: [-1, 6] }], [{ name: 'variable', dtype: 'float32', shape: [-1, 1] }]);
    const w = viaWeb.variable!.data as Float32Array;
    let webWorst = 0;
    for (let i = 0; i < rows.length; i++) webWorst = Math.max(webWorst, Math.abs(w[i]! - a[i]!));
    expect(webWorst).toBeLessThanOrEqual(TOLERANCE);
  });
});

// SVMs (libsvm-js, i.e. libsvm 3.22) and a forest behind sklearn-onnx-style pipelines
// (Imputer → Scaler → model, ArrayFeatureExtractor, LabelEncoder on the string label, Binarizer,
// Cast): test/fixtures/ml/generate-pipelines.ts. Every dataset row, missing values included.
describe('real pipelines (libsvm-js and ml-random-forest on vega-datasets) vs onnxruntime-node', () => {
  const penguinRows = () => vega('penguins.json').map((p) => ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'].map((k) => num(p[k])));
  const carRows = () => vega('cars.json').map((c) => ['Cylinders', 'Displacement', 'Horsepower', 'Weight_in_lbs', 'Acceleration'].map((k) => num(c[k])).concat(Number(String(c.Year).slice(0, 4))));
  const worst = (e: ArrayLike<number>, a: ArrayLike<number>) => Array.from(e).reduce((m, v, i) => Math.max(m, Math.abs(v - a[i]!)), 0);

  test('penguins: Imputer → Scaler → RBF SVC with probabilities → LabelEncoder(species → id): same id on every row, probabilities within 1e-4', async () => {
    const rows = penguinRows();
    expect(rows.some((r) => r.some(Number.isNaN))).toBe(true);
    const { expected, actual } = await compare(fixture('penguins-svc-pipeline.onnx'), rows, ['species_id', 'probabilities']);
    const e = Array.from(expected.species_id!.data as BigInt64Array, Number);
    const a = Array.from(actual.species_id!.data as BigInt64Array, Number);
    const mismatches = e.filter((v, i) => v !== a[i]).length;
    const gap = worst(expected.probabilities!.data as Float32Array, actual.probabilities!.data as Float32Array);
    console.log(`penguins SVC pipeline: ${rows.length} rows, id mismatches ${mismatches}, max |Δ| probabilities ${gap.toExponential(2)}, species seen ${new Set(e).size}`);
    expect(new Set(e).size).toBe(3);
    expect(mismatches).toBe(0);
    expect(gap).toBeLessThanOrEqual(TOLERANCE);
  });

  test('cars: Imputer → Scaler → RBF epsilon-SVR: within 1e-4 on every car, missing horsepower included', async () => {
    const rows = carRows();
    const { expected, actual } = await compare(fixture('cars-mpg-svr-pipeline.onnx'), rows, ['variable']);
    const gap = worst(expected.variable!.data as Float32Array, actual.variable!.data as Float32Array);
    console.log(`cars SVR pipeline: ${rows.length} rows, max |Δ| ${gap.toExponential(2)} (mpg 9-47)`);
    expect(gap).toBeLessThanOrEqual(TOLERANCE);
  });

  test('cars: Imputer → Scaler → ArrayFeatureExtractor → forest → Binarizer → Cast: mpg within 1e-4, the same efficient flag on every car', async () => {
    const ORIGINS = ['USA', 'Europe', 'Japan'];
    const rows = vega('cars.json').map((c, i) => carRows()[i]!.concat(ORIGINS.indexOf(String(c.Origin))));
    const { expected, actual } = await compare(fixture('cars-pipeline-forest.onnx'), rows, ['variable', 'efficient']);
    const gap = worst(expected.variable!.data as Float32Array, actual.variable!.data as Float32Array);
    const e = Array.from(expected.efficient!.data as BigInt64Array, Number);
    const a = Array.from(actual.efficient!.data as BigInt64Array, Number);
    const flips = e.filter((v, i) => v !== a[i]).length;
    console.log(`cars forest pipeline: ${rows.length} rows, max |Δ| ${gap.toExponential(2)}, efficient flag mismatches ${flips} (${e.filter((v) => v === 1).length} efficient)`);
    expect(gap).toBeLessThanOrEqual(TOLERANCE);
    expect(flips).toBe(0);
    expect(new Set(e).size).toBe(2);
  });

  test('cars: a forest with categorical splits (BRANCH_MEMBER on cylinders, year, origin): within 1e-4, values outside the sets included', async () => {
    const ORIGINS = ['USA', 'Europe', 'Japan'];
    const cars = vega('cars.json').map((c, i) => carRows()[i]!.concat(ORIGINS.indexOf(String(c.Origin))));
    // Each car again with codes no set holds or between codes: 7 or 4.5 cylinders, year 1975.5 or 1990, origin 3.
    const odd = cars.map((r, i) => {
      const row = [...r];
      row[[0, 5, 6][i % 3]!] = [[7, 4.5], [1975.5, 1990], [3, 1.5]][i % 3]![(i >> 2) % 2]!;
      return row;
    });
    const rows = [...cars, ...odd];
    const { expected, actual } = await compare(fixture('cars-mpg-rf-categorical.onnx'), rows, ['variable']);
    const gap = worst(expected.variable!.data as Float32Array, actual.variable!.data as Float32Array);
    console.log(`cars categorical forest: ${rows.length} rows (${odd.length} with codes outside the sets), max |Δ| ${gap.toExponential(2)}`);
    expect(gap).toBeLessThanOrEqual(TOLERANCE);
  });
});
