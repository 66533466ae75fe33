// LSTM and GRU compiled by the micro engine against onnxruntime-node on random inputs: forward,
// reverse and bidirectional, initial states as graph inputs, final states as outputs,
// sequence_lens, peepholes, clip, input_forget, linear_before_reset, custom activations,
// a variable sequence length, and layout 1 (checked against ORT on the transposed layout-0 graph).
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { decodeModel, GraphBuilder, type AttributeValue } from '../../../build/onnx/builder.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { Random } from './property-harness.ts';

const TOLERANCE = 1e-4;
const INPUTS = 12;

interface Case {
  label: string;
  op: 'LSTM' | 'GRU';
  T: number;
  batch: number;
  I: number;
  H: number;
  direction?: 'forward' | 'reverse' | 'bidirectional';
  bias?: boolean;
  initial?: boolean;
  seqLens?: boolean;
  peepholes?: boolean;
  attrs?: Record<string, AttributeValue>;
  activations?: string[];
  /** Outputs to request, by slot ('' omits one). */
  outputs?: string[];
  /** The sequence dim is symbolic; each input picks T in [1, T]. */
  variableT?: boolean;
  /** W, R and B as graph inputs (fed per call) instead of initializers: the unpacked loops. */
  weightsAsInputs?: boolean;
}

const CASES: Case[] = [
  { label: 'LSTM forward, bias, all outputs', op: 'LSTM', T: 5, batch: 2, I: 3, H: 4, bias: true },
  { label: 'LSTM reverse, initial states', op: 'LSTM', T: 4, batch: 3, I: 5, H: 6, direction: 'reverse', bias: true, initial: true },
  { label: 'LSTM bidirectional, peepholes, sequence_lens, initial states', op: 'LSTM', T: 6, batch: 3, I: 4, H: 5, direction: 'bidirectional', bias: true, initial: true, seqLens: true, peepholes: true },
  { label: 'LSTM clip and input_forget, no bias', op: 'LSTM', T: 7, batch: 1, I: 2, H: 3, attrs: { clip: { float: 0.7 }, input_forget: { int: 1 } } },
  { label: 'LSTM custom activations (HardSigmoid, LeakyRelu, Affine)', op: 'LSTM', T: 4, batch: 2, I: 3, H: 4, bias: true, direction: 'bidirectional', activations: ['HardSigmoid', 'Tanh', 'LeakyRelu', 'Sigmoid', 'Affine', 'Tanh'], attrs: { activation_alpha: { floats: [0.3, 0.2, 0.9] }, activation_beta: { floats: [0.4, 0.1] } } },
  { label: 'LSTM only Y_h (Y omitted), variable sequence length', op: 'LSTM', T: 9, batch: 1, I: 8, H: 16, bias: true, outputs: ['', 'Y_h'], variableT: true },
  { label: 'GRU forward, bias', op: 'GRU', T: 5, batch: 2, I: 3, H: 4, bias: true },
  { label: 'GRU linear_before_reset, bidirectional, initial state', op: 'GRU', T: 5, batch: 2, I: 4, H: 3, bias: true, direction: 'bidirectional', initial: true, attrs: { linear_before_reset: { int: 1 } } },
  { label: 'GRU reverse, sequence_lens, clip', op: 'GRU', T: 6, batch: 3, I: 2, H: 5, bias: true, direction: 'reverse', seqLens: true, initial: true, attrs: { clip: { float: 1.5 } } },
  { label: 'GRU custom activations (Softsign, Relu), no bias', op: 'GRU', T: 3, batch: 2, I: 3, H: 4, activations: ['Softsign', 'Relu'] },
  // H >= 8: constant weights go through the shared lane kernel (blocks of 8 rows per gate, the rest by column).
  { label: 'LSTM H 12 bidirectional, peepholes, initial states', op: 'LSTM', T: 5, batch: 2, I: 9, H: 12, bias: true, direction: 'bidirectional', initial: true, peepholes: true },
  { label: 'LSTM H 16, no bias, clip', op: 'LSTM', T: 4, batch: 1, I: 8, H: 16, attrs: { clip: { float: 2 } } },
  { label: 'GRU H 12 bidirectional, initial state', op: 'GRU', T: 5, batch: 2, I: 7, H: 12, bias: true, direction: 'bidirectional', initial: true },
  { label: 'GRU H 9 linear_before_reset, sequence_lens, no bias', op: 'GRU', T: 6, batch: 3, I: 5, H: 9, seqLens: true, attrs: { linear_before_reset: { int: 1 } } },
  { label: 'LSTM H 12, weights as inputs', op: 'LSTM', T: 4, batch: 2, I: 5, H: 12, bias: true, initial: true, weightsAsInputs: true },
  { label: 'GRU H 8, weights as inputs', op: 'GRU', T: 4, batch: 2, I: 5, H: 8, bias: true, weightsAsInputs: true },
];

const dirsOf = (c: Case) => (c.direction === 'bidirectional' ? 2 : 1);
const gatesOf = (c: Case) => (c.op === 'LSTM' ? 4 : 3);

function randomArray(r: Random, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (r.next() * 2 - 1) * scale);
}

/** The graph (layout 0 or 1), with weights as initializers and X / states / lengths as inputs. */
function graphOf(c: Case, layout: 0 | 1, weights: Record<string, Float32Array>): Uint8Array {
  const D = dirsOf(c);
  const G = gatesOf(c);
  const g = new GraphBuilder('rnn');
  const T: number | string = c.variableT ? 'T' : c.T;
  g.input('X', 'float32', layout === 0 ? [T, c.batch, c.I] : [c.batch, T, c.I]);
  const weight = (name: string, dims: number[], data: Float32Array) => (c.weightsAsInputs ? g.input(name, 'float32', dims) : g.initializer(name, { dtype: 'float32', dims, data }));
  weight('W', [D, G * c.H, c.I], weights.W!);
  weight('R', [D, G * c.H, c.H], weights.R!);
  if (c.bias) weight('B', [D, 2 * G * c.H], weights.B!);
  const stateDims = layout === 0 ? [D, c.batch, c.H] : [c.batch, D, c.H];
  if (c.seqLens) g.input('lens', 'int32', [c.batch]);
  if (c.initial) {
    g.input('h0', 'float32', stateDims);
    if (c.op === 'LSTM') g.input('c0', 'float32', stateDims);
  }
  if (c.peepholes) g.initializer('P', { dtype: 'float32', dims: [D, 3 * c.H], data: weights.P! });
  const inputs = ['X', 'W', 'R', c.bias ? 'B' : '', c.seqLens ? 'lens' : '', c.initial ? 'h0' : ''];
  if (c.op === 'LSTM') inputs.push(c.initial ? 'c0' : '', c.peepholes ? 'P' : '');
  while (inputs[inputs.length - 1] === '') inputs.pop();
  const outputs = c.outputs ?? (c.op === 'LSTM' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h']);
  const attrs: Record<string, AttributeValue> = { hidden_size: { int: c.H }, direction: { string: c.direction ?? 'forward' }, ...c.attrs };
  if (layout === 1) attrs.layout = { int: 1 };
  g.node(c.op, inputs, outputs, attrs);
  for (const o of outputs) {
    if (!o) continue;
    g.output(o, 'float32', o === 'Y' ? (layout === 0 ? [T, D, c.batch, c.H] : [c.batch, T, D, c.H]) : stateDims);
  }
  const bytes = g.encode(14);
  if (!c.activations) return new Uint8Array(bytes);
  // The builder has no string-list attributes: add `activations` to the proto directly.
  const model = decodeModel(new Uint8Array(bytes));
  model.graph!.node![0]!.attribute!.push({ name: 'activations', type: onnxProto.onnx.AttributeProto.AttributeType.STRINGS, strings: c.activations.map((s) => new TextEncoder().encode(s)) });
  return onnxProto.onnx.ModelProto.encode(model).finish();
}

/** Moves axis 0 and 1 of a [a, b, ...rest] tensor (layout 1 ↔ layout 0). */
function swap01(data: Float32Array, a: number, b: number, rest: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out.set(data.subarray((i * b + j) * rest, (i * b + j + 1) * rest), (j * a + i) * rest);
  return out;
}

describe('LSTM and GRU: micro vs onnxruntime-node', () => {
  for (const c of CASES) {
    for (const layout of [0, 1] as const) {
      test(`${c.label}, layout ${layout}: ${INPUTS} random inputs`, async () => {
        const r = new Random(c.label.length * 31 + layout);
        const D = dirsOf(c);
        const G = gatesOf(c);
        const weights = { W: randomArray(r, D * G * c.H * c.I, 0.8), R: randomArray(r, D * G * c.H * c.H, 0.8), B: randomArray(r, D * 2 * G * c.H, 0.5), P: randomArray(r, D * 3 * c.H, 0.5) };
        const reference = await ort.InferenceSession.create(graphOf(c, 0, weights), { graphOptimizationLevel: 'basic' });
        const { source } = compileOnnxToModule(graphOf(c, layout, weights), { name: c.label });
        // Constant weights with a full block of 8 rows per gate run through the shared lane kernel.
        expect(/gemmLanes\(/.test(source)).toBe(!c.weightsAsInputs && c.H >= 8);
        const micro = await importMicroModule(source, c.label);
        let worst = 0;
        for (let n = 0; n < INPUTS; n++) {
          const T = c.variableT ? r.int(1, c.T) : c.T;
          const x = randomArray(r, T * c.batch * c.I, 2);
          const lens = Int32Array.from({ length: c.batch }, () => r.int(1, T));
          const h0 = randomArray(r, D * c.batch * c.H, 1);
          const c0 = randomArray(r, D * c.batch * c.H, 1);
          const feeds: Record<string, ort.Tensor> = { X: new ort.Tensor('float32', x, [T, c.batch, c.I]) };
          const weightFeeds: Record<string, { dtype: 'float32'; dims: number[]; data: Float32Array }> = {};
          if (c.weightsAsInputs) {
            const dims = { W: [D, G * c.H, c.I], R: [D, G * c.H, c.H], B: [D, 2 * G * c.H] };
            for (const name of c.bias ? (['W', 'R', 'B'] as const) : (['W', 'R'] as const)) {
              feeds[name] = new ort.Tensor('float32', weights[name], dims[name]);
              weightFeeds[name] = { dtype: 'float32', dims: dims[name], data: weights[name] };
            }
          }
          if (c.seqLens) feeds.lens = new ort.Tensor('int32', lens, [c.batch]);
          if (c.initial) {
            feeds.h0 = new ort.Tensor('float32', h0, [D, c.batch, c.H]);
            if (c.op === 'LSTM') feeds.c0 = new ort.Tensor('float32', c0, [D, c.batch, c.H]);
          }
          const expected = await reference.run(feeds);
          // Layout 1 feeds are the same tensors with batch first.
          const l1 = (data: Float32Array, a: number, b: number, rest: number) => (layout === 1 ? swap01(data, a, b, rest) : data);
          const mfeeds: Record<string, { dtype: 'float32' | 'int32'; dims: number[]; data: Float32Array | Int32Array }> = {
            X: { dtype: 'float32', dims: layout === 0 ? [T, c.batch, c.I] : [c.batch, T, c.I], data: l1(x, T, c.batch, c.I) },
            ...weightFeeds,
          };
          if (c.seqLens) mfeeds.lens = { dtype: 'int32', dims: [c.batch], data: lens };
          if (c.initial) {
            const dims = layout === 0 ? [D, c.batch, c.H] : [c.batch, D, c.H];
            mfeeds.h0 = { dtype: 'float32', dims, data: l1(h0, D, c.batch, c.H) };
            if (c.op === 'LSTM') mfeeds.c0 = { dtype: 'float32', dims, data: l1(c0, D, c.batch, c.H) };
          }
          const got = micro.run(mfeeds);
          for (const [name, e] of Object.entries(expected)) {
            let want = e.data as Float32Array;
            const dims = e.dims.map(Number);
            // Y is [T, D, B, H] in layout 0 and [B, T, D, H] in layout 1; states [D, B, H] vs [B, D, H].
            if (layout === 1 && name === 'Y') want = layout1Y(want, T, D, c.batch, c.H);
            else if (layout === 1) want = swap01(want, D, c.batch, c.H);
            const a = got[name]!;
            expect(a.data.length).toBe(want.length);
            expect(a.dims.reduce((p, q) => p * q, 1)).toBe(dims.reduce((p, q) => p * q, 1));
            for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - Number(a.data[i])) || (Number.isNaN(Number(a.data[i])) ? Infinity : 0));
          }
        }
        expect(worst).toBeLessThanOrEqual(TOLERANCE);
      });
    }
  }

  test('an unknown activation is refused, naming it', () => {
    const c: Case = { label: 'bad', op: 'LSTM', T: 2, batch: 1, I: 2, H: 2, activations: ['Sigmoid', 'Tanh', 'Gelu'] };
    const r = new Random(1);
    const weights = { W: randomArray(r, 16, 1), R: randomArray(r, 16, 1) };
    expect(() => compileOnnxToModule(graphOf(c, 0, weights), { name: 'bad' })).toThrow(/activation "Gelu" is not implemented/);
  });
});

/** Y [T, D, B, H] → [B, T, D, H]. */
function layout1Y(y: Float32Array, T: number, D: number, B: number, H: number): Float32Array {
  const out = new Float32Array(y.length);
  for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) for (let b = 0; b < B; b++) out.set(y.subarray(((t * D + d) * B + b) * H, ((t * D + d) * B + b + 1) * H), ((b * T + t) * D + d) * H);
  return out;
}
