// Preprocessor registry: model.json names a preprocessing id and version; this maps them
// to code, and refuses a pair this build does not serve. A text preprocessing turns the
// request's text into named tensors (its products), which the model's text inputs name:
// email-hash produces "ids"; a tokenizer input_ids, attention_mask, token_type_ids.
import type { Tensor } from '../engine/types.ts';
import { EMAIL_HASH_ID, EMAIL_HASH_VERSIONS, emailToIds, validateEmailHashParams, type EmailHashParams, type EmailHashVersion } from './email-hash.ts';

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
  const version = spec.version as EmailHashVersion;
  if (spec.id !== EMAIL_HASH_ID || !EMAIL_HASH_VERSIONS.includes(version)) {
    throw new Error(
      `unsupported preprocessing ${spec.id}@${spec.version}; this build serves ${EMAIL_HASH_VERSIONS.map((v) => `${EMAIL_HASH_ID}@${v}`).join(', ')}`,
    );
  }
  const problem = validateEmailHashParams(spec.params);
  if (problem) throw new Error(`preprocessing ${spec.id}@${spec.version}: ${problem}`);
  const params = spec.params as EmailHashParams;
  return { id: spec.id, version, toIds: (text) => emailToIds(text, params, version) };
}

/**
 * A text preprocessing as the serving layer uses it: text in, one tensor per product out,
 * each of dims [1, n] (the model's input decides int32 or int64; the core converts).
 */
export interface TextPreprocessor {
  readonly id: string;
  readonly version: number;
  /** Names of the tensors `encode` produces. */
  readonly products: readonly string[];
  /** The products for one text. Throws an Error for text it cannot encode. */
  encode(text: string): Record<string, Tensor<'int32'> | Tensor<'int64'>>;
  /** Token ids a client may send itself ({ids, preprocessing}); absent when the preprocessing has no such form. */
  toIds?(text: string): Int32Array;
}

/** What a preprocessing factory may read: files beside model.json that its params name. */
export interface PreprocessorContext {
  /** Reads a file of the model's version folder (e.g. params.file = "tokenizer.json"). */
  readFile(name: string): Promise<Uint8Array>;
}

/** Builds a text preprocessor from model.json's spec; throws naming what is wrong. */
export type TextPreprocessorFactory = (spec: PreprocessingSpec, context: PreprocessorContext) => Promise<TextPreprocessor> | TextPreprocessor;

const factories = new Map<string, TextPreprocessorFactory>();

/**
 * Registers a text preprocessing (`id`, `version`). A build includes one by importing the
 * module that registers it, so a target that does not serve it does not carry its code.
 */
export function registerTextPreprocessor(id: string, version: number, factory: TextPreprocessorFactory): void {
  factories.set(`${id}@${version}`, factory);
}

/** The preprocessings this build serves, as "id@version". */
export function servedTextPreprocessings(): string[] {
  return [...factories.keys()];
}

/** Builds the text preprocessor a manifest names, or throws naming what this build serves. */
export async function createTextPreprocessor(spec: PreprocessingSpec, context: PreprocessorContext): Promise<TextPreprocessor> {
  const factory = factories.get(`${spec.id}@${spec.version}`);
  if (!factory) throw new Error(`unsupported preprocessing ${spec.id}@${spec.version}; this build serves ${servedTextPreprocessings().join(', ')}`);
  return factory(spec, context);
}

const emailHashFactory: TextPreprocessorFactory = (spec) => {
  const { toIds } = createPreprocessor(spec);
  return {
    id: spec.id,
    version: spec.version,
    products: ['ids'],
    encode(text) {
      const ids = toIds(text);
      return { ids: { dtype: 'int32', dims: [1, ids.length], data: ids } };
    },
    toIds,
  };
};
for (const version of EMAIL_HASH_VERSIONS) registerTextPreprocessor(EMAIL_HASH_ID, version, emailHashFactory);
