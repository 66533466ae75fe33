// What the two ONNX Runtime engines (ort-web, ort-node) share: Tensor ↔ ORT tensor
// conversion, checking a graph against its model.json, and an EngineSession whose errors
// name the model. Written against structural types so each engine passes in its own
// package (onnxruntime-web's bundle and onnxruntime-node carry separate Tensor classes).
import type { ModelManifest } from '../model/manifest.ts';
import { isTensorDType, TENSOR_DATA_CONSTRUCTORS, TENSOR_DTYPES, type EngineName, type EngineSession, type Tensor, type TensorDType, type TensorMap } from './types.ts';

/** The part of an ORT tensor both packages share. */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** ORT's Tensor constructor, narrowed to the dtypes the core uses. */
export type OrtTensorConstructor = new (type: TensorDType, data: Tensor['data'], dims: readonly number[]) => OrtTensorLike;

/** The part of an ORT InferenceSession the engines use. */
export interface OrtInferenceSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensorLike>, fetches: readonly string[]): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

/** What went wrong in an engine, for callers that branch on it. */
export type EngineErrorCode = 'engine_init_failed' | 'model_load_failed' | 'model_mismatch' | 'run_failed' | 'session_released';

/** An engine failure; the message names the engine, the model (name@version) and what failed. */
export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EngineError';
  }
}

/** `name@version` of a manifest, as used in error messages. */
export function modelLabel(manifest: Pick<ModelManifest, 'name' | 'version'>): string {
  return `${manifest.name}@${manifest.version}`;
}

/** The message of anything thrown (ORT sometimes throws strings). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Wraps a core Tensor as an ORT tensor over the same typed array (no copy). */
export function toOrtTensor(Ctor: OrtTensorConstructor, tensor: Tensor): OrtTensorLike {
  // ORT takes 'bool' over a Uint8Array and 'float16' over the Uint16Array of half bits, as
  // the core stores them (onnxruntime-common tensor-impl.js).
  return new Ctor(tensor.dtype, tensor.data, tensor.dims);
}

/**
 * Turns an ORT output into a core Tensor without copying. Both packages hand back
 * JS-owned arrays that ORT never touches again: onnxruntime-web copies each CPU output
 * out of the WASM heap (wasm-core-impl.ts), onnxruntime-node allocates a fresh
 * ArrayBuffer per output. The engine tests assert that a result survives the next run.
 * An output type the core has no dtype for (string, uint16/32/64, 4-bit) is refused with
 * a message naming it.
 */
export function fromOrtTensor(value: OrtTensorLike, outputName: string, model: string, engine: EngineName): Tensor {
  const refuse = () =>
    new EngineError(
      'run_failed',
      `${model}: ${engine} returned output "${outputName}" as ${value.type}, which the core does not handle ` +
        `(supported: ${TENSOR_DTYPES.join(', ')})`,
    );
  if (!isTensorDType(value.type)) throw refuse();
  const dtype = value.type;
  let data = value.data;
  // Where the runtime has Float16Array (ORT then returns one), keep the bits: the core's
  // float16 is a Uint16Array everywhere.
  if (dtype === 'float16' && ArrayBuffer.isView(data) && !(data instanceof Uint16Array) && (data as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT === 2) {
    const view = data as unknown as { buffer: ArrayBuffer; byteOffset: number; length: number };
    data = new Uint16Array(view.buffer, view.byteOffset, view.length);
  }
  if (!(data instanceof TENSOR_DATA_CONSTRUCTORS[dtype])) throw refuse();
  return { dtype, dims: [...value.dims], data } as Tensor;
}

/**
 * Checks that every input and output model.json declares exists in the graph, so a stale
 * manifest fails at load with the names side by side instead of at the first request.
 */
export function checkGraphAgainstManifest(session: OrtInferenceSessionLike, manifest: ModelManifest, engine: EngineName): void {
  const model = modelLabel(manifest);
  for (const [kind, declared, actual] of [
    ['input', manifest.inputs, session.inputNames],
    ['output', manifest.outputs, session.outputNames],
  ] as const) {
    const missing = declared.map((spec) => spec.name).filter((name) => !actual.includes(name));
    if (missing.length > 0) {
      throw new EngineError(
        'model_mismatch',
        `${model}: model.json declares ${kind}(s) ${missing.map((n) => `"${n}"`).join(', ')} that the ONNX graph lacks ` +
          `(graph ${kind}s: ${actual.map((n) => `"${n}"`).join(', ') || 'none'}) [${engine}]`,
      );
    }
  }
}

/**
 * An EngineSession over a freshly loaded ORT session: the graph is first checked against
 * model.json (the session is released when it does not match); afterwards all ORT errors
 * are rethrown naming the model.
 */
export async function createOrtEngineSession(
  session: OrtInferenceSessionLike,
  manifest: ModelManifest,
  engine: EngineName,
  OrtTensor: OrtTensorConstructor,
): Promise<EngineSession> {
  try {
    checkGraphAgainstManifest(session, manifest, engine);
  } catch (error) {
    await session.release();
    throw error;
  }
  const model = modelLabel(manifest);
  const declaredOutputs = manifest.outputs.map((spec) => spec.name);
  let released = false;
  return {
    async run(feeds: TensorMap, outputNames: readonly string[] = declaredOutputs): Promise<TensorMap> {
      if (released) throw new EngineError('session_released', `${model}: ${engine} session was released; load the model again`);
      let results: Record<string, OrtTensorLike>;
      try {
        // Null prototypes: tensor names are free text (a graph may name one "__proto__").
        const ortFeeds: Record<string, OrtTensorLike> = Object.create(null);
        for (const [name, tensor] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(OrtTensor, tensor);
        results = await session.run(ortFeeds, outputNames);
      } catch (error) {
        throw new EngineError('run_failed', `${model}: ${engine} run failed: ${errorMessage(error)}`, { cause: error });
      }
      const out: TensorMap = Object.create(null);
      for (const name of outputNames) {
        const value = results[name];
        if (!value) throw new EngineError('run_failed', `${model}: ${engine} run returned no output "${name}"`);
        out[name] = fromOrtTensor(value, name, model, engine);
      }
      return out;
    },
    async release(): Promise<void> {
      if (released) return;
      released = true;
      try {
        await session.release();
      } catch (error) {
        throw new EngineError('run_failed', `${model}: ${engine} could not release the session: ${errorMessage(error)}`, {
          cause: error,
        });
      }
    },
  };
}
