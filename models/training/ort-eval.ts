// Runs an exported graph through onnxruntime-node (the reference runtime) so reported
// metrics come from what will be served, not only from the training code's forward pass.
import * as ort from 'onnxruntime-node';
import { IDS_INPUT, PROBABILITIES_OUTPUT } from './onnx-export.ts';

/**
 * Class probabilities for each id list. 'basic' optimization: the default level rewrites
 * DequantizeLinear + MatMul into MatMulNBits and drifts about 3e-3 (DESIGN.md).
 */
export async function probabilitiesWithOrt(modelBytes: Uint8Array, idLists: Int32Array[]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(modelBytes, {
    graphOptimizationLevel: 'basic',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  try {
    const out: Float32Array[] = [];
    for (const ids of idLists) {
      const result = await session.run({ [IDS_INPUT]: new ort.Tensor('int32', ids, [1, ids.length]) }, [PROBABILITIES_OUTPUT]);
      out.push(Float32Array.from(result[PROBABILITIES_OUTPUT]?.data as Float32Array));
    }
    return out;
  } finally {
    await session.release();
  }
}
