// Which text preprocessings a bundle registers: the ones its models declare, and no more, so a
// bundle of email-hash models carries none of a tokenizer's code. email-hash is built into the
// core's registry; every other preprocessing is a module that registers itself on import.
import type { PreprocessingSpec } from '../core/preprocess/index.ts';

/** Registering module of each preprocessing ("id@version"), repository-relative. */
export const PREPROCESSOR_MODULES: Readonly<Record<string, string>> = {
  'hf-tokenizer@1': 'core/preprocess/hf-tokenizer-preprocessor.ts',
};

/** Preprocessings every bundle serves without an extra module. */
export const BUILT_IN_PREPROCESSINGS: readonly string[] = ['email-hash@1', 'email-hash@2'];

/** A model whose preprocessing no module of this repository serves; the message names the model. */
export class UnservedPreprocessingError extends Error {
  constructor(
    readonly model: string,
    readonly preprocessing: string,
  ) {
    const known = [...BUILT_IN_PREPROCESSINGS, ...Object.keys(PREPROCESSOR_MODULES)].join(', ');
    super(`${model} declares preprocessing ${preprocessing}, which no build serves (known: ${known}); fix its model.json or leave it out with --models`);
    this.name = 'UnservedPreprocessingError';
  }
}

/**
 * The registering modules the given models need (repository-relative, sorted, each once).
 * `models` pairs a model's "name@version" with its manifest's preprocessing, if any.
 */
export function preprocessorModulesFor(models: ReadonlyArray<{ model: string; preprocessing?: PreprocessingSpec | undefined }>): string[] {
  const modules = new Set<string>();
  for (const { model, preprocessing } of models) {
    if (!preprocessing) continue;
    const key = `${preprocessing.id}@${preprocessing.version}`;
    if (BUILT_IN_PREPROCESSINGS.includes(key)) continue;
    const module = PREPROCESSOR_MODULES[key];
    if (!module) throw new UnservedPreprocessingError(model, key);
    modules.add(module);
  }
  return [...modules].sort();
}
