// Compile errors of the micro engine compiler: values with a code, the node and op they
// concern, and a message that says what to do about it.

/** Why a graph did not compile to a micro module. */
export type MicroCompileErrorCode = 'unsupported_op' | 'unsupported_dtype' | 'unsupported_shape' | 'invalid_model';

/** Raised by compileOnnxToModule; `node` and `op` are set when one node is the cause, `input` when a declared input shape is. */
export class MicroCompileError extends Error {
  constructor(
    readonly code: MicroCompileErrorCode,
    message: string,
    readonly node?: string,
    readonly op?: string,
    readonly input?: string,
  ) {
    super(message);
    this.name = 'MicroCompileError';
  }
}

/** The advice every "cannot compile" message ends with. */
export const ORT_FALLBACK_HINT = 'set "engine": "ort" in model.json to run this model with ONNX Runtime (or "auto" to fall back to it)';
