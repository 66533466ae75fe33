// Compiles a model version as model.json declares it: the graph specialised on the input
// shapes the manifest fixes (core/model/manifest.ts declaredInputShapes). Every place that
// compiles a served model (build pipeline, build:micro, the Node server's compile-at-load,
// model:check) goes through here, so a model compiles the same way wherever it is served.
import { declaredInputShapes, type ModelManifest } from '../../core/model/manifest.ts';
import { compileOnnxToModule, type CompiledMicroModule, type CompileOptions } from './compile.ts';
import { MicroCompileError } from './errors.ts';

/** Compiles `bytes` for `manifest`; options other than the input shapes pass through. */
export function compileDeclaredModel(
  bytes: Uint8Array,
  manifest: Pick<ModelManifest, 'name' | 'version' | 'inputs'>,
  options: Omit<CompileOptions, 'name' | 'inputShapes'> = {},
): CompiledMicroModule {
  const inputShapes = declaredInputShapes(manifest);
  try {
    return compileOnnxToModule(bytes, { name: `${manifest.name}@${manifest.version}`, ...options, inputShapes });
  } catch (error) {
    // The compiler names the input; say which model.json field declared the shape it refused.
    const input = error instanceof MicroCompileError ? error.input : undefined;
    const index = input === undefined ? -1 : manifest.inputs.findIndex((i) => i.name === input);
    if (index < 0) throw error;
    throw new MicroCompileError('invalid_model', `model.json "inputs[${index}].shape": ${(error as Error).message}; declare the graph's rank and its fixed dims (-1 keeps a dim variable)`, undefined, undefined, input);
  }
}
