// A graph whose answer shows the input shape its micro module was compiled for (x float32
// [1, n] → sq = x·x, dims = Shape(x)), and model.json manifests declaring n: for the tests of
// modules keyed by graph sha256 and declared input shapes (microModuleKey).
import { GraphBuilder } from '../../build/onnx/builder.ts';
import { normaliseManifest, type ModelManifest } from '../../core/model/manifest.ts';

/** x float32 [1, n] → sq = x·x and dims = Shape(x) as floats: what the module was specialised on shows in its answer. */
export function shapeEchoBytes(): Uint8Array {
  const g = new GraphBuilder('shape-echo');
  g.input('x', 'float32', [1, 'n']);
  const [s] = g.node('Shape', ['x']);
  g.node('Cast', [s!], ['dims'], { to: { int: 1 } });
  g.node('Mul', ['x', 'x'], ['sq']);
  g.output('sq', 'float32', [1, 'n']);
  g.output('dims', 'float32', [2]);
  return new Uint8Array(g.encode(17));
}

/** shape-echo@version declaring x as [1, n] (sha256: the graph's, or filled in by the caller). */
export function shapeEchoManifest(version: string, n: number, sha256 = '0'.repeat(64)): ModelManifest {
  return normaliseManifest(
    { name: 'shape-echo', version, file: 'model.onnx', sha256, engine: 'micro', inputs: [{ name: 'x', dtype: 'float32', shape: [1, n], source: 'request' }], outputs: [{ name: 'sq', dtype: 'float32', shape: [1, n] }, { name: 'dims', dtype: 'float32', shape: [2] }], output: { kind: 'raw' } },
    `shape-echo/${version}/model.json`,
  );
}
