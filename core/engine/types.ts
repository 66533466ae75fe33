// The engine contract: load a model from bytes plus its manifest, run named tensors.
// Implementations (ort-web, ort-node, micro) live in folders beside this file; the core
// only ever sees these interfaces.
import type { ModelManifest } from '../model/manifest.ts';

/** Element types the core passes to and from engines (ONNX names, lower-case). */
export type TensorDType = 'float32' | 'int32' | 'int64' | 'int8' | 'uint8';

/** Typed array backing each dtype. */
export interface TensorDataByType {
  float32: Float32Array;
  int32: Int32Array;
  int64: BigInt64Array;
  int8: Int8Array;
  uint8: Uint8Array;
}

/** A dense tensor in row-major order. */
export interface Tensor<T extends TensorDType = TensorDType> {
  dtype: T;
  dims: readonly number[];
  data: TensorDataByType[T];
}

/** Named tensors, as fed to and returned by a session. */
export type TensorMap = Record<string, Tensor>;

/** A loaded model, ready to run. */
export interface EngineSession {
  /** Runs the model; `outputNames` defaults to every declared output. */
  run(feeds: TensorMap, outputNames?: readonly string[]): Promise<TensorMap>;
  /** Frees native or WASM memory held by the session. */
  release(): Promise<void>;
}

/** An inference engine: creates sessions from model bytes. */
export interface Engine {
  readonly name: EngineName;
  load(modelBytes: Uint8Array, manifest: ModelManifest): Promise<EngineSession>;
}

/** Engines known to the registry. */
export type EngineName = 'ort-web' | 'ort-node' | 'micro';
