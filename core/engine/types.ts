// The engine contract: load a model from bytes plus its manifest, run named tensors.
// Implementations (ort-web, ort-node, micro) live in folders beside this file; the core
// only ever sees these interfaces.
import type { ModelManifest } from '../model/manifest.ts';

/**
 * Element types the core passes to and from engines (ONNX names, lower-case, as
 * onnxruntime's JS Tensor spells them). Text is not a dtype here: BYTES inputs of the KServe
 * route carry text to a model's preprocessing, never to an engine.
 */
export const TENSOR_DTYPES = ['bool', 'uint8', 'int8', 'int16', 'int32', 'int64', 'float16', 'float32', 'float64'] as const;

/** One of TENSOR_DTYPES. */
export type TensorDType = (typeof TENSOR_DTYPES)[number];

/**
 * Typed array backing each dtype. `bool` is one byte per element (0 or 1), as ONNX Runtime
 * and the KServe binary extension store it; `float16` holds the IEEE half-precision bits,
 * since Float16Array is absent from the runtimes we target (Node 20, edge-runtime, Deno 2.8).
 */
export interface TensorDataByType {
  bool: Uint8Array;
  uint8: Uint8Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  float16: Uint16Array;
  float32: Float32Array;
  float64: Float64Array;
}

/** The typed-array constructor of each dtype. */
export const TENSOR_DATA_CONSTRUCTORS: { readonly [T in TensorDType]: new (length: number) => TensorDataByType[T] } = {
  bool: Uint8Array,
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  float16: Uint16Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** True when `value` names a dtype the core handles. */
export function isTensorDType(value: unknown): value is TensorDType {
  return typeof value === 'string' && (TENSOR_DTYPES as readonly string[]).includes(value);
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
