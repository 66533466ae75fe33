// #17 item 10: the micro compiler checks sizes and work against a budget before it allocates
// or folds, and a crafted model is refused alone: huge folded constants, negative or
// oversized dimensions and truncated tensor data are MicroCompileErrors (never a RangeError
// that stops a build), quickly and without the allocation; build:micro builds the other models.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, test } from 'vitest';
import { buildMicroModules } from '../../../build/micro/build-modules.ts';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { MicroCompileError } from '../../../build/micro/errors.ts';
import { decodeModel, GraphBuilder } from '../../../build/onnx/builder.ts';
import { buildQuantizedBagModel } from '../../core/engine/quantized-bag-graph.ts';

function refusal(bytes: Uint8Array): { error: MicroCompileError; ms: number } {
  const t0 = performance.now();
  try {
    compileOnnxToModule(bytes, { name: 'crafted' });
  } catch (error) {
    if (!(error instanceof MicroCompileError)) throw new Error(`expected a MicroCompileError, got ${String(error)}`);
    return { error, ms: performance.now() - t0 };
  }
  throw new Error('expected the graph to be refused');
}

/** y = x + (A @ B) where A [m, k] and B [k, n] are constants: folded at import. */
function constantMatMul(m: number, k: number, n: number): Uint8Array {
  const g = new GraphBuilder('crafted');
  g.input('x', 'float32', [1, n]);
  g.initializer('A', { dtype: 'float32', dims: [m, k], data: new Float32Array(m * k).fill(0.5) });
  g.initializer('B', { dtype: 'float32', dims: [k, n], data: new Float32Array(k * n).fill(0.25) });
  const [p] = g.node('MatMul', ['A', 'B']);
  g.node('Add', ['x', p!], ['y']);
  g.output('y', 'float32', [m, n]);
  return g.encode(17);
}

function withInitializerDims(bytes: Uint8Array, dims: number[], rawLength?: number): Uint8Array {
  const model = decodeModel(bytes);
  const init = model.graph!.initializer![0]!;
  init.dims = dims;
  if (rawLength !== undefined) init.rawData = init.rawData!.subarray(0, rawLength);
  return onnxProto.onnx.ModelProto.encode(model).finish();
}

describe('micro compile budget (#17.10)', () => {
  test('a constant MatMul whose result would hold 64M elements is refused before allocating', () => {
    const before = process.memoryUsage().rss;
    const { error, ms } = refusal(constantMatMul(8192, 1, 8192));
    expect(error.code).toBe('unsupported_shape');
    expect(error.message).toMatch(/node "MatMul_0".*67108864 elements, over the micro budget of 16777216.*"engine": "ort"/);
    expect(ms).toBeLessThan(2000);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  });

  test('a constant MatMul of 1e9 multiply-adds at import is refused', () => {
    const { error } = refusal(constantMatMul(1000, 1000, 1000));
    expect(error.message).toMatch(/computing constants at import would take 1\.00e\+9 multiply-adds, over the micro budget/);
  });

  test('the budget is an option: a tighter one refuses what the default accepts', () => {
    expect(() => compileOnnxToModule(constantMatMul(16, 16, 16), { name: 'ok' })).not.toThrow();
    expect(() => compileOnnxToModule(constantMatMul(16, 16, 16), { name: 'tight', budget: { maxImportMacs: 1000 } })).toThrow(/over the micro budget of 1\.00e\+3/);
  });

  test('negative, oversized and inconsistent constant dims are invalid_model / unsupported_shape, not RangeErrors', () => {
    const base = constantMatMul(4, 4, 4);
    expect(refusal(withInitializerDims(base, [-1, 4])).error.message).toMatch(/initializer "A" has an invalid dimension -1/);
    expect(refusal(withInitializerDims(base, [4, 2 ** 40])).error.message).toMatch(/initializer "A" declares \d+ elements, over the micro budget/);
    expect(refusal(withInitializerDims(base, [4, 4], 10)).error.message).toMatch(/initializer "A" declares 16 elements \(64 bytes\) but holds 10 bytes/);
  });

  test('a negative graph input dimension is refused', () => {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', [1, -5]);
    g.node('Relu', ['x'], ['y']);
    g.output('y', 'float32', [1, -5]);
    expect(refusal(g.encode(17)).error.message).toMatch(/graph input "x" has an invalid dimension -5/);
  });

  test('build:micro refuses the crafted models alone and compiles the rest', async () => {
    const root = mkdtempSync(join(tmpdir(), 'micro-budget-'));
    const models = join(root, 'models');
    const bag = buildQuantizedBagModel(7);
    const write = (name: string, bytes: Uint8Array, extra: Record<string, unknown> = {}) => {
      const dir = join(models, name, '1');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'model.onnx'), bytes);
      writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...bag.manifest, name, engine: 'auto', sha256: createHash('sha256').update(bytes).digest('hex'), ...extra }));
    };
    write('good', bag.bytes);
    write('huge-fold', constantMatMul(8192, 1, 8192), { outputs: [{ name: 'y', dtype: 'float32', shape: [8192, 8192] }], inputs: [{ name: 'x', dtype: 'float32', shape: [1, 8192], source: 'request' }], probabilitiesOutput: undefined, labels: undefined, preprocessing: undefined, output: { kind: 'raw' } });
    write('negative-dim', withInitializerDims(bag.bytes, [-3, 2]));
    mkdirSync(join(models, 'broken-json', '1'), { recursive: true });
    writeFileSync(join(models, 'broken-json', '1', 'model.json'), '{ not json');
    const result = await buildMicroModules(models, join(root, 'dist'));
    const status = Object.fromEntries(result.entries.map((e) => [e.model, e.status]));
    expect(status).toEqual({ 'good@1': 'compiled', 'huge-fold@1': 'failed', 'negative-dim@1': 'failed', 'broken-json@1': 'failed' });
    expect(result.entries.find((e) => e.model === 'huge-fold@1')!.reason).toMatch(/over the micro budget/);
    expect(result.entries.find((e) => e.model === 'negative-dim@1')!.reason).toMatch(/invalid dimension -3/);
    expect(result.entries.find((e) => e.model === 'broken-json@1')!.reason).toMatch(/^refused: /);
    expect(result.entries.find((e) => e.model === 'broken-json@1')!.reason).not.toMatch(/\n/);
  });
});
