// Preprocessor registry: model.json names a preprocessing id and version; this maps them
// to code, and refuses a pair this build does not serve.
import { EMAIL_HASH_ID, EMAIL_HASH_VERSION, emailToIds, validateEmailHashParams, type EmailHashParams } from './email-hash.ts';

export * from './email-hash.ts';

/** What model.json says about preprocessing. */
export interface PreprocessingSpec {
  id: string;
  version: number;
  params: unknown;
}

/** A ready preprocessor: text in, int32 ids out. */
export interface Preprocessor {
  id: string;
  version: number;
  toIds(text: string): Int32Array;
}

/** Builds the preprocessor a manifest asks for, or throws naming what this build supports. */
export function createPreprocessor(spec: PreprocessingSpec): Preprocessor {
  if (spec.id !== EMAIL_HASH_ID || spec.version !== EMAIL_HASH_VERSION) {
    throw new Error(
      `unsupported preprocessing ${spec.id}@${spec.version}; this build serves ${EMAIL_HASH_ID}@${EMAIL_HASH_VERSION}`,
    );
  }
  const problem = validateEmailHashParams(spec.params);
  if (problem) throw new Error(`preprocessing ${spec.id}@${spec.version}: ${problem}`);
  const params = spec.params as EmailHashParams;
  return { id: spec.id, version: spec.version, toIds: (text) => emailToIds(text, params) };
}
