// Compact constants (#14.3): every layout decodes to the exact bytes (NaN payloads, -0 and
// denormals included), a pruned tensor's module shrinks with its zeros, int8 weights stay one
// byte each, and the generated modules still match onnxruntime-node.
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { BASE64_BYTES, encodeConstant, HUFFMAN, HUFFMAN_MAX_BITS, toHuffman, toPlanes, toSparse, UNPACK, UNPACK_WARM } from '../../../build/micro/constant-codec.ts';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { GraphBuilder } from '../../../build/onnx/builder.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { Random } from './property-harness.ts';

/** y = x · W (W [k, n]) with W in the given dtype (int8 through DequantizeLinear). */
function matmulGraph(w: Float32Array | Int8Array, k: number, n: number): Uint8Array {
  const g = new GraphBuilder('w');
  g.input('x', 'float32', [1, k]);
  if (w instanceof Int8Array) {
    g.initializer('wq', { dtype: 'int8', dims: [k, n], data: w });
    g.initializer('scale', { dtype: 'float32', dims: [], data: [0.02] });
    g.initializer('zero', { dtype: 'int8', dims: [], data: [0] });
    g.node('DequantizeLinear', ['wq', 'scale', 'zero'], ['W']);
  } else {
    g.initializer('W', { dtype: 'float32', dims: [k, n], data: w });
  }
  g.node('MatMul', ['x', 'W'], ['y']);
  g.output('y', 'float32', [1, n]);
  return new Uint8Array(g.encode(17));
}

function weights(r: Random, count: number, sparsity: number): Float32Array {
  const w = new Float32Array(count);
  for (let i = 0; i < count; i++) w[i] = r.next() < sparsity ? 0 : (r.next() * 2 - 1) * 0.5;
  return w;
}

/** A graph returning its constant (Identity), so the module's decoded bytes can be compared exactly. */
function identityGraph(w: Float32Array | Int8Array): Uint8Array {
  const g = new GraphBuilder('c');
  const dtype = w instanceof Int8Array ? 'int8' : 'float32';
  g.input('x', 'float32', [1]);
  g.initializer('W', { dtype, dims: [w.length], data: w });
  g.node('Identity', ['W'], ['y']);
  g.node('Identity', ['x'], ['z']);
  g.output('y', dtype, [w.length]);
  g.output('z', 'float32', [1]);
  return new Uint8Array(g.encode(17));
}

type Decoding = 'atob' | 'fromBase64' | 'Buffer';
/** The module's decoders in a fresh realm, decoding base64 by atob, a native Uint8Array.fromBase64 (Deno has it, Node 20 not) or a global Buffer (Node). */
function moduleDecoders(decoding: Decoding): { unpack(text: string, count: number, width: number, sparse: boolean): ArrayBuffer; base64Bytes(text: string): Uint8Array; huffman(text: string, count: number): ArrayBuffer } {
  const context: Record<string, unknown> = { atob };
  if (decoding === 'fromBase64') context.fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));
  // Node's Buffer pools small results: views at an offset into a shared ArrayBuffer.
  if (decoding === 'Buffer') context.Buffer = Buffer;
  const install = decoding === 'fromBase64' ? 'Uint8Array.fromBase64 = (t) => { const b = fromBase64(t); const u = new Uint8Array(b.length); u.set(b); return u; };' : '';
  return runInNewContext(`${install}\n${BASE64_BYTES}\n${UNPACK}\n${UNPACK_WARM}\n${HUFFMAN}\nif (nativeBase64 !== ${decoding !== 'atob'}) throw new Error('wrong decoder');\n({ unpack, base64Bytes, huffman });`, context);
}

/** The code lengths at the head of a toHuffman stream (changes in signed byte order), read independently of the module's decoder. */
function codeLengths(coded: Uint8Array): number[] {
  let at = 0;
  const bit = () => (coded[at >> 3]! >> (7 - (at++ & 7))) & 1;
  const lengths = new Array<number>(256).fill(0);
  for (let v = -128, l = 0; v < 128; v++) {
    if (bit() === 1) {
      if (bit() === 0) l++;
      else if (bit() === 0) l--;
      else l = (bit() << 3) | (bit() << 2) | (bit() << 1) | bit();
    }
    lengths[v & 255] = l;
  }
  return lengths;
}

describe('constant layouts', () => {
  for (const decoding of ['atob', 'fromBase64', 'Buffer'] as const) {
    test(`the module's decoders round-trip random bytes in every layout, base64 decoded by ${decoding}`, () => {
      const { unpack, base64Bytes, huffman } = moduleDecoders(decoding);
      const r = new Random(decoding.length);
      const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
      // Lengths 0..40 (every remainder mod 3, 4 and 8), and around the decoders' 4096-element chunks.
      const counts = [...Array.from({ length: 41 }, (_, i) => i), 4095, 4096, 4097, 8191, 9001];
      let cases = 0;
      for (const width of [1, 2, 4, 8]) {
        for (const count of counts) {
          for (const zeros of [0, 0.5, 0.97, 1]) {
            const bytes = new Uint8Array(count * width);
            for (let i = 0; i < count; i++) {
              if (r.next() < zeros) continue;
              // Nonzero elements may still hold zero bytes (only all-zero elements are dropped).
              for (let k = 0; k < width; k++) bytes[i * width + k] = r.next() < 0.3 ? 0 : r.int(0, 255);
            }
            // Results come from the other realm: ArrayBuffer.isView, unlike instanceof, sees through that.
            const same = (got: ArrayBuffer | Uint8Array, layout: string) => {
              const view = ArrayBuffer.isView(got) ? got : new Uint8Array(got);
              expect(Buffer.from(view.buffer, view.byteOffset, view.byteLength).equals(bytes), `${layout}, width ${width}, ${count} elements, ${zeros} zero`).toBe(true);
            };
            same(base64Bytes(b64(bytes)), 'plain');
            same(unpack(b64(toPlanes(bytes, width)), count, width, false), 'planes');
            same(unpack(b64(toSparse(bytes, width).bytes), count, width, true), 'sparse');
            if (width === 1) same(huffman(b64(toHuffman(bytes)), count), 'huffman');
            cases++;
          }
        }
      }
      expect(cases).toBe(4 * counts.length * 4);
    });
  }

  test('huffman round-trips skewed, flat, one-valued and deep-coded bytes, codes at most HUFFMAN_MAX_BITS long', () => {
    const { huffman } = moduleDecoders('atob');
    const r = new Random(14);
    const laplace = (scale: number) => Math.round(Math.log(r.next() + 1e-12) * scale * (r.next() < 0.5 ? -1 : 1));
    // Counts 2^-k of byte k: an unbounded Huffman code would be 40 bits deep.
    const deep = Uint8Array.from(Array.from({ length: 40 }, (_, s) => Array<number>(Math.min(2 ** (40 - s), 200_000)).fill(s)).flat());
    const cases: Array<[string, Uint8Array]> = [
      ['int8-like', Uint8Array.from({ length: 20_000 }, () => laplace(12) & 255)],
      ['flat', Uint8Array.from({ length: 9001 }, () => r.int(0, 255))],
      ['one value', new Uint8Array(5000).fill(7)],
      ['two values', Uint8Array.from({ length: 5000 }, () => (r.next() < 0.999 ? 1 : 200))],
      ['deep', deep],
    ];
    for (const [label, bytes] of cases) {
      const coded = toHuffman(bytes);
      const lengths = codeLengths(coded);
      expect(Math.max(...lengths), label).toBeLessThanOrEqual(HUFFMAN_MAX_BITS);
      expect(Buffer.from(huffman(Buffer.from(coded).toString('base64'), bytes.length)).equals(bytes), label).toBe(true);
    }
    // Skewed bytes take fewer than 8 bits each, within 2 % of their entropy (plus the code table, at most 224 bytes, and padding).
    const skewed = cases[0]![1];
    const counts = new Map<number, number>();
    for (const b of skewed) counts.set(b, (counts.get(b) ?? 0) + 1);
    const entropyBytes = [...counts.values()].reduce((sum, c) => sum - c * Math.log2(c / skewed.length), 0) / 8;
    expect(entropyBytes).toBeLessThan(skewed.length * 0.8);
    expect(toHuffman(skewed).length).toBeLessThan(entropyBytes * 1.02 + 226);
    // Its code table takes well under the 128 bytes of nibbles (lengths change by ±1 between neighbouring int8 values).
    const lengths = codeLengths(toHuffman(skewed));
    const codeBytes = Math.ceil(skewed.reduce((sum, b) => sum + lengths[b]!, 0) / 8);
    expect(toHuffman(skewed).length - codeBytes - 2).toBeLessThan(64);
  });

  test('planes and sparse are permutations/subsets that keep every byte (special floats included)', () => {
    const special = Float32Array.of(0, -0, NaN, Infinity, -Infinity, 1e-45, -3.4e38, 1, 0, 0, 2.5);
    const bytes = new Uint8Array(special.buffer);
    const planes = toPlanes(bytes, 4);
    expect(planes.length).toBe(bytes.length);
    expect([...planes].sort()).toEqual([...bytes].sort());
    const sparse = toSparse(bytes, 4);
    // +0 is zero bytes; -0 (sign bit) is not, so it survives.
    expect(sparse.zeros).toBe(3);
    expect(sparse.bytes.length).toBe(2 + (special.length - 3) * 4);
  });

  test('every layout decodes in the module to the exact bytes', async () => {
    const r = new Random(5);
    const cases: Array<[string, Float32Array | Int8Array]> = [
      ['planes', weights(r, 4096, 0)],
      ['sparse', Float32Array.from(weights(r, 4093, 0.7), (v, i) => (i === 7 ? -0 : i === 9 ? NaN : i === 11 ? 1e-44 : v))],
      ['plain', Int8Array.from({ length: 5000 }, () => r.int(-128, 127))],
      // Quantized weights: small magnitudes common, so their bytes take fewer than 8 bits.
      ['huffman', Int8Array.from({ length: 5000 }, () => Math.round((r.next() + r.next() + r.next() - 1.5) * 40))],
      ['sparse', Int8Array.from({ length: 5001 }, () => (r.next() < 0.8 ? 0 : r.int(-128, 127)))],
    ];
    for (const [layout, w] of cases) {
      const compiled = compileOnnxToModule(identityGraph(w), { name: layout });
      expect(compiled.constantLayouts[layout as 'plain']).toBe(1);
      const micro = await importMicroModule(compiled.source, layout);
      const y = micro.run({ x: { dtype: 'float32', dims: [1], data: Float32Array.of(1) } }).y!.data as Float32Array | Int8Array;
      expect(new Uint8Array(y.buffer, y.byteOffset, y.byteLength)).toEqual(new Uint8Array(w.buffer));
    }
  });

  test('a module with 64 KB or more of fp32 planes warms their word loop at import; a smaller one does not', () => {
    const r = new Random(8);
    const warmed = (count: number) => /Warms the word loop/.test(compileOnnxToModule(matmulGraph(weights(r, count, 0), 64, count / 64), { name: 'w' }).source);
    expect(warmed(64 * 256)).toBe(true); // 64 KB of planes
    expect(warmed(64 * 64)).toBe(false);
  });

  test('a 50 % pruned fp32 tensor travels sparse and its module gzips smaller than the dense one', async () => {
    const r = new Random(3);
    const dense = weights(r, 256 * 64, 0);
    const pruned = weights(r, 256 * 64, 0.5);
    const sizes: Record<string, number> = {};
    for (const [label, w] of [['dense', dense], ['pruned', pruned]] as const) {
      const compiled = compileOnnxToModule(matmulGraph(w, 256, 64), { name: label });
      sizes[label] = gzipSync(compiled.source).length;
      expect(compiled.constantLayouts[label === 'dense' ? 'planes' : 'sparse']).toBe(1);
    }
    expect(sizes.pruned!).toBeLessThan(sizes.dense! * 0.75);
  });

  test('int8 weights stay one byte each: the int8 module is under 0.35 x the fp32 one (gzip)', () => {
    const r = new Random(4);
    const w = weights(r, 256 * 64, 0);
    const q = Int8Array.from(w, (v) => Math.round(v / 0.02));
    const fp32 = gzipSync(compileOnnxToModule(matmulGraph(w, 256, 64), { name: 'f' }).source).length;
    const int8 = gzipSync(compileOnnxToModule(matmulGraph(q, 256, 64), { name: 'q' }).source).length;
    expect(int8).toBeLessThan(fp32 * 0.35);
  });

  for (const [label, sparsity, int8] of [['dense fp32', 0, false], ['pruned fp32', 0.6, false], ['pruned int8', 0.5, true], ['all zero', 1, false]] as const) {
    test(`${label}: the module matches onnxruntime-node on 100 inputs`, async () => {
      const r = new Random(label.length);
      const [k, n] = [96, 33];
      const wf = weights(r, k * n, sparsity);
      const w = int8 ? Int8Array.from(wf, (v) => Math.round(v / 0.02)) : wf;
      // Odd values the codec must keep bit-exact: -0 and a denormal among the weights.
      if (!int8 && sparsity < 1) {
        (w as Float32Array)[1] = -0;
        (w as Float32Array)[2] = 1e-42;
      }
      const bytes = matmulGraph(w, k, n);
      const micro = await importMicroModule(compileOnnxToModule(bytes, { name: label }).source, label);
      // 'basic': with every optimisation ORT may fuse DequantizeLinear → MatMul into a kernel that quantizes x too.
      const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
      let worst = 0;
      for (let i = 0; i < 100; i++) {
        const x = Float32Array.from({ length: k }, () => r.next() * 4 - 2);
        const expected = (await session.run({ x: new ort.Tensor('float32', x, [1, k]) })).y!.data as Float32Array;
        const got = micro.run({ x: { dtype: 'float32', dims: [1, k], data: x } }).y!.data as Float32Array;
        for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(expected[j]! - got[j]!));
      }
      expect(worst).toBeLessThanOrEqual(1e-5);
    });
  }
});
