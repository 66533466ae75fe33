// If on a run-time condition: each branch compiles to its own top-level function, so run()
// (compiled on its first call) does not carry the branch it does not take; node blocks are
// top-level functions too. Checked against onnxruntime-node on every condition combination: a nested If
// reading values of the outer scope, branch outputs whose length differs between the branches
// (a dim the taken branch sets), and a node after the If reading that output.
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { decodeModel, GraphBuilder } from '../../../build/onnx/builder.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { Random } from './property-harness.ts';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** A subgraph of `nodes` (op, inputs, outputs[, attributes]) with float outputs of rank 1. */
function branch(name: string, nodes: onnxProto.onnx.INodeProto[], outputs: string[]): onnxProto.onnx.IGraphProto {
  return { name, node: nodes, output: outputs.map((o) => ({ name: o, type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: `${o}_n` }] } } } })) };
}

const node = (opType: string, input: string[], output: string[], attribute: onnxProto.onnx.IAttributeProto[] = []): onnxProto.onnx.INodeProto => ({ opType, name: `${opType}_${output[0]}`, input, output, attribute });
const ifNode = (cond: string, output: string, thenBranch: onnxProto.onnx.IGraphProto, elseBranch: onnxProto.onnx.IGraphProto): onnxProto.onnx.INodeProto =>
  node('If', [cond], [output], [
    { name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: thenBranch },
    { name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: elseBranch },
  ]);

/**
 * y = Sin(x); z = If(c1) { cy = Cos(x) + y; If(c2) { Concat(cy, x) } else { Mul(y, k) } - k } else
 * { Concat(x, y, x) }; out = z + 1. The inner If reads cy from the outer branch and x, y from the
 * top level; z is n, 2n or 3n long.
 */
function graph(): Uint8Array {
  const g = new GraphBuilder('if-branches');
  g.input('x', 'float32', ['n']);
  g.input('c1', 'bool', []);
  g.input('c2', 'bool', []);
  g.initializer('k', { dtype: 'float32', dims: [1], data: [0.5] });
  g.node('Sin', ['x'], ['y']);
  const axis = [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }];
  const inner = ifNode('c2', 'inner', branch('inner_then', [node('Concat', ['cy', 'x'], ['yx'], axis)], ['yx']), branch('inner_else', [node('Mul', ['y', 'k'], ['yk'])], ['yk']));
  const outerThen = branch('outer_then', [node('Cos', ['x'], ['cx']), node('Add', ['cx', 'y'], ['cy']), inner, node('Sub', ['inner', 'k'], ['t_out'])], ['t_out']);
  const outerElse = branch('outer_else', [node('Concat', ['x', 'y', 'x'], ['xyx'], axis)], ['xyx']);
  g.initializer('one', { dtype: 'float32', dims: [1], data: [1] });
  g.output('out', 'float32', ['m']);
  const model = decodeModel(g.encode(17));
  model.graph!.node!.push(ifNode('c1', 'z', outerThen, outerElse), node('Add', ['z', 'one'], ['out']));
  return onnx.ModelProto.encode(model).finish();
}

describe('If with a run-time condition', () => {
  test('branches are top-level functions outside run(); every condition combination matches onnxruntime-node', async () => {
    const bytes = graph();
    const { source } = compileOnnxToModule(bytes, { name: 'if branches' });
    const micro = await importMicroModule(source, 'if-branches');
    // run() holds the calls only: no branch node's code (node names are in the comments).
    const runText = /^export function run\(feeds\) \{$[\s\S]*?^\}$/m.exec(source)![0];
    for (const name of ['Cos_cx', 'Concat_yx', 'Mul_yk', 'Concat_xyx']) {
      expect(runText).not.toContain(name);
      expect(source).toContain(name);
    }
    expect(source.match(/^function if(?:Then|Else)\$\d+\(/gm)).toHaveLength(4);
    // Node blocks are top-level functions as well, called from run() and the branches.
    expect(source).not.toMatch(/^ *\(\(\) => \{$/m);
    expect(source).toMatch(/^function node\$\d+\(/m);
    const reference = await ort.InferenceSession.create(bytes);
    const r = new Random(3);
    // The sizes change between calls, so buffers grow and the hoisted output dims are reassigned.
    for (const n of [3, 8, 1, 5]) {
      for (const [c1, c2] of [[1, 1], [1, 0], [0, 1], [0, 0]] as const) {
        const x = Float32Array.from({ length: n }, () => r.next() * 4 - 2);
        const want = await reference.run({ x: new ort.Tensor('float32', x, [n]), c1: new ort.Tensor('bool', Uint8Array.of(c1), []), c2: new ort.Tensor('bool', Uint8Array.of(c2), []) });
        const got = micro.run({ x: { dtype: 'float32', dims: [n], data: x }, c1: { dtype: 'bool', dims: [], data: Uint8Array.of(c1) }, c2: { dtype: 'bool', dims: [], data: Uint8Array.of(c2) } });
        const e = want.out!;
        expect(got.out!.dims).toEqual(e.dims);
        const gd = got.out!.data as Float32Array;
        const ed = e.data as Float32Array;
        for (let i = 0; i < ed.length; i++) expect(Math.abs(gd[i]! - ed[i]!)).toBeLessThanOrEqual(1e-6);
      }
    }
  });
});
