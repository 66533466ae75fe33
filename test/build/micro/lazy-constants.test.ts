// Constants only run() reads are decoded on first read (build/micro/lazy-constants.ts): on
// openwakeword's Silero VAD v4 (an If on the run-time sample rate, one set of weights per
// rate) the import decodes almost nothing, a 16 kHz call decodes the 16 kHz weights only, an
// 8 kHz call then the rest; answers match onnxruntime-node at both rates in either order.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { deferRunOnlyConstants } from '../../../build/micro/lazy-constants.ts';
import { ModuleWriter, resolveBudget } from '../../../build/micro/module-writer.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { openWakeWordModelsDir } from '../../helpers/third-party-models.ts';
import { Random } from './property-harness.ts';

type Counted = typeof globalThis & { __lazyDecodedBytes?: number };

describe('constants decoded on first read', () => {
  test('silero_vad: import decodes < 10 % of the weight bytes, a 16 kHz call about half, an 8 kHz call the rest; outputs vs onnxruntime-node', async () => {
    const bytes = new Uint8Array(readFileSync(`${openWakeWordModelsDir()}/silero_vad.onnx`));
    const { source } = compileOnnxToModule(bytes, { name: 'silero lazy' });
    expect(source).toMatch(/^let (?:c|t)\$\d+ = null;$/m);
    // Counts the bytes every decode produces (the module's own unpack, wrapped).
    const counted = source.replace(/^function unpack\(text, count, width, sparse\) \{$/m, (line) => `${line}\n  globalThis.__lazyDecodedBytes = (globalThis.__lazyDecodedBytes ?? 0) + count * width;`);
    expect(counted).not.toBe(source);
    const g = globalThis as Counted;
    // Every decoded constant's bytes: eager ones once each, lazy ones once per name (read at several sites).
    const sizes = new Map<string, number>();
    for (const m of source.matchAll(/unpack\(("[^"]*"|[\w$]+\$b64), (\d+), (\d+), (?:true|false)\)/g)) sizes.set(m[1]!.startsWith('"') ? `${m.index}` : m[1]!, Number(m[2]) * Number(m[3]));
    const total = [...sizes.values()].reduce((a, b) => a + b, 0);
    g.__lazyDecodedBytes = 0;
    const micro = await importMicroModule(counted, 'silero-lazy');
    const atImport = g.__lazyDecodedBytes;
    expect(atImport).toBeLessThan(0.1 * total);
    const reference = await ort.InferenceSession.create(bytes);
    const r = new Random(5);
    const call = async (rate: number) => {
      const x = Float32Array.from({ length: 512 }, () => r.next() * 2 - 1);
      const h = Float32Array.from({ length: 128 }, () => r.next() - 0.5);
      const c = Float32Array.from({ length: 128 }, () => r.next() - 0.5);
      const want = await reference.run({
        input: new ort.Tensor('float32', x, [1, 512]), sr: new ort.Tensor('int64', BigInt64Array.of(BigInt(rate)), []),
        h: new ort.Tensor('float32', h, [2, 1, 64]), c: new ort.Tensor('float32', c, [2, 1, 64]),
      });
      const got = micro.run({
        input: { dtype: 'float32', dims: [1, 512], data: x }, sr: { dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(rate)) },
        h: { dtype: 'float32', dims: [2, 1, 64], data: h }, c: { dtype: 'float32', dims: [2, 1, 64], data: c },
      });
      let worst = 0;
      for (const name of ['output', 'hn', 'cn']) {
        const e = want[name]!.data as Float32Array;
        for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(e[i]! - Number(got[name]!.data[i])));
      }
      expect(worst).toBeLessThanOrEqual(1e-4);
    };
    await call(16000);
    const after16k = g.__lazyDecodedBytes! - atImport;
    expect(after16k).toBeGreaterThan(0.35 * total);
    expect(after16k).toBeLessThan(0.65 * total);
    await call(16000);
    expect(g.__lazyDecodedBytes! - atImport).toBe(after16k);
    await call(8000);
    expect(g.__lazyDecodedBytes).toBe(total);
    await call(16000);
    await call(8000);
  });

  test('every layout ModuleWriter writes (plain, planes, sparse, Huffman) defers from its record and decodes to the same values on first read', async () => {
    const r = new Random(3);
    const w = new ModuleWriter(resolveBudget(undefined));
    const n = 8192;
    const tensors = [
      Int8Array.from({ length: n }, () => Math.round((r.next() - 0.5) * 255)), // flat bytes
      Int8Array.from({ length: n }, () => Math.round((r.next() + r.next() + r.next() - 1.5) * 6)), // peaked: Huffman
      Float32Array.from({ length: n }, () => (r.next() - 0.5) * 0.1), // repeating exponent bytes: planes
      Float32Array.from({ length: n }, () => (r.next() < 0.1 ? r.next() : 0)), // mostly zeros: sparse
      Float32Array.from({ length: 8 }, () => r.next()), // a literal: nothing to defer
    ];
    const names = tensors.map((t) => w.constant(t));
    const eager = w.constant(Float32Array.from({ length: n }, () => r.next())); // read at import: stays
    const layouts = new Set(names.flatMap((name) => w.layoutOf.get(name) ?? []));
    expect(layouts).toEqual(new Set(['plain', 'huffman', 'planes', 'sparse']));
    const run = [`return [${names.join(', ')}];`];
    const deferred = deferRunOnlyConstants(w, `const firstOfEager = ${eager}[0];`, run);
    expect(deferred.deferred).toBe(4);
    for (const name of names.slice(0, 4)) {
      expect(w.constants).toContain(`let ${name} = null;`);
      expect(w.constants.some((line) => line.startsWith(`const ${name}$b64 = "`))).toBe(true);
    }
    expect(w.constants.some((line) => line.startsWith(`const ${eager} = new Float32Array(`))).toBe(true);
    const source = [...w.helpers.values(), ...w.constants, `const firstOfEager = ${eager}[0];`, `export function run() {`, ...deferred.run, '}', `export const eager = () => firstOfEager;`].join('\n');
    const module = (await importMicroModule(source, 'lazy-layouts')) as unknown as { run(): ArrayLike<number>[]; eager(): number };
    const first = module.run();
    tensors.forEach((t, i) => expect(Array.from(first[i]!)).toEqual(Array.from(t)));
    // A second read returns the same decoded array, not a fresh decode.
    module.run().forEach((t, i) => expect(t).toBe(first[i]));
  });
});
