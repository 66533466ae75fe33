// Test helper: onnxruntime-web (through the project's ort-web engine) as the reference for
// the micro compiler, plus comparison of outputs within an absolute tolerance.
import { createNodeOrtWebEngine } from '../../../adapters/node/ort-wasm-binary.ts';
import type { Engine, Tensor, TensorMap } from '../../../core/engine/types.ts';
import type { ModelManifest, TensorSpec } from '../../../core/model/manifest.ts';

let engine: Promise<Engine> | undefined;

/** A throwaway manifest that satisfies the ORT engines' checks for an arbitrary graph. */
export function manifestFor(inputs: TensorSpec[], outputs: TensorSpec[]): ModelManifest {
  return {
    name: 'property',
    version: '1',
    file: 'model.onnx',
    sha256: '0'.repeat(64),
    inputs: inputs.map((spec) => ({ ...spec, source: 'request' as const, optional: false })),
    outputs,
    output: { kind: 'raw' },
    labels: [],
    engine: 'ort',
    role: 'any',
    batch: { max: 1 },
    warmup: [],
    cascade: { threshold: null },
    cache: { ttlSeconds: 0 },
  };
}

/** Runs a graph once on onnxruntime-web. */
export async function runOnOrtWeb(bytes: Uint8Array, feeds: TensorMap, inputs: TensorSpec[], outputs: TensorSpec[]): Promise<TensorMap> {
  engine ??= createNodeOrtWebEngine();
  const session = await (await engine).load(bytes, manifestFor(inputs, outputs));
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Describes how `actual` differs from `expected` beyond `tolerance`, or null when it does not. */
export function tensorMismatch(expected: Tensor, actual: Tensor, tolerance = 1e-5): string | null {
  if (expected.dtype !== actual.dtype) return `dtype ${actual.dtype} vs ${expected.dtype}`;
  if (expected.dims.join(',') !== actual.dims.join(',')) return `dims [${actual.dims}] vs [${expected.dims}]`;
  if (expected.data.length !== actual.data.length) return `length ${actual.data.length} vs ${expected.data.length}`;
  for (let i = 0; i < expected.data.length; i++) {
    const e = Number(expected.data[i]);
    const a = Number(actual.data[i]);
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!(Math.abs(e - a) <= tolerance) && e !== a) return `element ${i}: ${a} vs ${e} (|diff| ${Math.abs(e - a)})`;
  }
  return null;
}
