// Node-only: the micro engine for the local server, compiling each model once when it is
// first loaded (the compiler is build code, so edge bundles never carry it) and importing
// the generated module from a temp file.
import { compileDeclaredModel } from '../../build/micro/compile-model.ts';
import { createMicroEngine, type MicroEngine } from '../../core/engine/micro/micro-engine.ts';
import { importMicroModule } from './micro-module-loader.ts';

/** The micro engine with compile-at-load (on the input shapes model.json declares); compile errors become load errors naming node and op. */
export function createNodeMicroEngine(): MicroEngine {
  return createMicroEngine({
    compile: async (bytes, manifest) => {
      const { source } = compileDeclaredModel(bytes, manifest);
      return importMicroModule(source, `${manifest.name}-${manifest.version}`);
    },
  });
}
