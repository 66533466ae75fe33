// What the micro compiler refuses, and how it says so: unsupported ops, types and shapes are
// MicroCompileErrors naming the node, the op and the fix; odd node names stay harmless.
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { MicroCompileError } from '../../../build/micro/errors.ts';
import { GraphBuilder } from '../../../build/onnx/builder.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';

function compileError(bytes: Uint8Array): MicroCompileError {
  try {
    compileOnnxToModule(bytes, { name: 'refused' });
  } catch (error) {
    if (error instanceof MicroCompileError) return error;
    throw error;
  }
  throw new Error('expected a MicroCompileError');
}

describe('micro compile errors', () => {
  test('an unsupported op names the op, the node, what is supported and the fix', () => {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', [1, 4]);
    const [h] = g.node('Relu', ['x']);
    g.node('Det', [h!], ['y']);
    g.output('y', 'float32', [1, 4]);
    const error = compileError(g.encode(17));
    expect(error.code).toBe('unsupported_op');
    expect(error.op).toBe('Det');
    expect(error.node).toBe('Det_1');
    expect(error.message).toMatch(/node "Det_1" uses op Det, which the micro engine does not implement/);
    expect(error.message).toMatch(/Gather, Gelu, Gemm/);
    expect(error.message).toMatch(/set "engine": "ort" in model.json/);
  });

  test('inputShapes specialises symbolic dims (other shapes are bad input) and refuses one contradicting the graph', async () => {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', [1, 'n']);
    g.node('Relu', ['x'], ['y']);
    g.output('y', 'float32', [1, 'n']);
    const bytes = g.encode(17);
    const compiled = compileOnnxToModule(bytes, { name: 'specialised', inputShapes: { x: [1, 3] } });
    expect(compiled.metadata.inputs[0]!.shape).toEqual([1, 3]);
    const m = await importMicroModule(compiled.source, 'specialised');
    expect(Array.from(m.run({ x: { dtype: 'float32', dims: [1, 3], data: Float32Array.of(-1, 2, -3) } }).y!.data as Float32Array)).toEqual([0, 2, 0]);
    expect(() => m.run({ x: { dtype: 'float32', dims: [1, 4], data: new Float32Array(4) } })).toThrow(/expected \[1, 3\]/);
    for (const shape of [[2, 3], [3]]) {
      try {
        compileOnnxToModule(bytes, { name: 'contradicted', inputShapes: { x: shape } });
        throw new Error('expected a MicroCompileError');
      } catch (error) {
        expect((error as MicroCompileError).code).toBe('invalid_model');
        expect((error as Error).message).toMatch(/input "x" is declared with shape/);
      }
    }
  });

  test('a Cast to a type the engine does not compute with is unsupported_dtype', () => {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', [2]);
    g.node('Cast', ['x'], ['y'], { to: { int: 11 } }); // double
    g.output('y', 'float32', [2]);
    const error = compileError(g.encode(17));
    expect(error.code).toBe('unsupported_dtype');
    expect(error.message).toMatch(/element type double/);
  });

  test('a Reshape whose shape is computed at run time is unsupported_shape', () => {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', [2, 3]);
    g.input('shape', 'int64', [2]);
    g.node('Reshape', ['x', 'shape'], ['y']);
    g.output('y', 'float32', ['a', 'b']);
    const error = compileError(g.encode(17));
    expect(error.code).toBe('unsupported_shape');
    expect(error.node).toBe('Reshape_0');
    expect(error.message).toMatch(/the target shape \(input 1\) is computed at run time/);
  });

  test('shapes that cannot broadcast are refused at compile time', () => {
    const g = new GraphBuilder('g');
    g.input('a', 'float32', [2, 3]);
    g.input('b', 'float32', [4]);
    g.node('Add', ['a', 'b'], ['y']);
    g.output('y', 'float32', [2, 3]);
    expect(compileError(g.encode(17)).message).toMatch(/do not broadcast/);
  });

  test('bytes that are not ONNX are invalid_model', () => {
    expect(compileError(new Uint8Array([1, 2, 3, 4, 5])).code).toBe('invalid_model');
  });

  test('node names with quotes, newlines and generated-looking names stay inert', async () => {
    const g = new GraphBuilder('g');
    g.input('ids', 'int32', ['n']);
    g.initializer('table', { dtype: 'float32', dims: [3, 2], data: [1, 2, 3, 4, 5, 6] });
    const [rows] = g.node('Gather', ['table', 'ids']);
    g.node('Relu', [rows!], ['y']);
    g.output('y', 'float32', ['n', 2]);
    const bytes = g.encode(17);
    // Rename the nodes through the decoded proto: the builder names them itself.
    const { decodeModel } = await import('../../../build/onnx/builder.ts');
    const onnxProto = (await import('onnx-proto')).default;
    const model = decodeModel(bytes);
    model.graph!.node![0]!.name = 'node "t$1"\n// c$0 \\';
    const renamed = onnxProto.onnx.ModelProto.encode(model).finish();
    const module = await importMicroModule(compileOnnxToModule(renamed, { name: 'odd "names"' }).source);
    expect(Array.from(module.run({ ids: { dtype: 'int32', dims: [2], data: Int32Array.of(2, 0) } }).y!.data as Float32Array)).toEqual([5, 6, 1, 2]);
    expect(() => module.run({ ids: { dtype: 'int32', dims: [1], data: Int32Array.of(7) } })).toThrow('node node "t$1"\n// c$0 \\: index 7 is out of range');
  });
});
