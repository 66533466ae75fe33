// hf-tokenizer v1: a Hugging Face tokenizer.json beside the model (named in params.file), run
// with @huggingface/tokenizers (pure JS, no WASM, so it runs in every edge runtime). Its
// products are input_ids, attention_mask and token_type_ids; truncation and padding follow
// model.json's params, not the tokenizer.json's own "truncation"/"padding" blocks (which the
// library does not apply), so the served length is declared where the graph is described.
import { Tokenizer } from '@huggingface/tokenizers';

export const HF_TOKENIZER_ID = 'hf-tokenizer';
export const HF_TOKENIZER_VERSION = 1;

/** The products an input with source "text" may name. */
export const HF_TOKENIZER_PRODUCTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
export type HfTokenizerProduct = (typeof HF_TOKENIZER_PRODUCTS)[number];

/** model.json `preprocessing.params` of hf-tokenizer v1. */
export interface HfTokenizerParams {
  /** tokenizer.json beside model.json. */
  file: string;
  /** Longest sequence fed to the graph, special tokens included. */
  maxLength: number;
  /** "max_length": pad every sequence to maxLength; "none": the text's own length. */
  padding: 'none' | 'max_length';
  /** Cut longer texts to maxLength (special tokens kept); false: refuse them. */
  truncation: boolean;
  /** Add the post-processor's special tokens ([CLS] … [SEP]); default true. */
  addSpecialTokens?: boolean;
  /** Id used for padding; default the tokenizer.json's padding.pad_id, else its [PAD]/<pad> token, else 0. */
  padId?: number;
}

/** One encoded text: the three products, equal lengths. */
export interface HfEncoding {
  input_ids: number[];
  attention_mask: number[];
  token_type_ids: number[];
}

/** A text longer than maxLength where truncation is off. */
export class TextTooLongError extends Error {
  constructor(
    readonly tokens: number,
    readonly maxLength: number,
  ) {
    super(`the text is ${tokens} tokens long; this model accepts at most ${maxLength} (its preprocessing has truncation off)`);
    this.name = 'TextTooLongError';
  }
}

const MAX_LENGTH_LIMIT = 1 << 16;

/** Why `params` are not valid hf-tokenizer v1 params, or null. */
export function validateHfTokenizerParams(params: unknown): string | null {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return 'params must be an object';
  const p = params as Record<string, unknown>;
  const known = new Set(['file', 'maxLength', 'padding', 'truncation', 'addSpecialTokens', 'padId']);
  const extra = Object.keys(p).find((k) => !known.has(k));
  if (extra) return `params.${extra} is not an hf-tokenizer param (known: ${[...known].join(', ')})`;
  if (typeof p.file !== 'string' || !/^[A-Za-z0-9._-][A-Za-z0-9._/-]*$/.test(p.file) || p.file.split('/').includes('..')) {
    return 'params.file must name the tokenizer.json beside model.json (a relative path, no "..")';
  }
  if (!Number.isInteger(p.maxLength) || (p.maxLength as number) < 1 || (p.maxLength as number) > MAX_LENGTH_LIMIT) {
    return `params.maxLength must be an integer in [1, ${MAX_LENGTH_LIMIT}]`;
  }
  if (p.padding !== undefined && p.padding !== 'none' && p.padding !== 'max_length') return 'params.padding must be "none" or "max_length"';
  if (p.truncation !== undefined && typeof p.truncation !== 'boolean') return 'params.truncation must be a boolean';
  if (p.addSpecialTokens !== undefined && typeof p.addSpecialTokens !== 'boolean') return 'params.addSpecialTokens must be a boolean';
  if (p.padId !== undefined && (!Number.isInteger(p.padId) || (p.padId as number) < 0)) return 'params.padId must be an integer ≥ 0';
  return null;
}

/** Params with their defaults filled (call after {@link validateHfTokenizerParams}). */
export function resolveHfTokenizerParams(params: unknown): Required<Omit<HfTokenizerParams, 'padId'>> & { padId?: number } {
  const p = params as HfTokenizerParams;
  return {
    file: p.file,
    maxLength: p.maxLength,
    padding: p.padding ?? 'none',
    truncation: p.truncation ?? true,
    addSpecialTokens: p.addSpecialTokens ?? true,
    ...(p.padId !== undefined ? { padId: p.padId } : {}),
  };
}

/** A ready tokenizer: text in, the three products out. */
export interface HfTokenizer {
  encode(text: string): HfEncoding;
  /** The id padding uses. */
  readonly padId: number;
}

interface TokenizerInternals {
  post_processor: ((tokens: string[], pair: string[] | null, addSpecial: boolean) => { tokens: string[]; token_type_ids?: number[] }) | null;
  model: { unk_token_id?: number } | null;
}

function padIdOf(json: Record<string, unknown>, vocab: Map<string, number>): number {
  const padding = json.padding as { pad_id?: unknown } | null | undefined;
  if (padding && Number.isInteger(padding.pad_id)) return padding.pad_id as number;
  for (const token of ['[PAD]', '<pad>', '<|padding|>']) {
    const id = vocab.get(token);
    if (id !== undefined) return id;
  }
  return 0;
}

/**
 * Builds the tokenizer from a parsed tokenizer.json. Throws when the library cannot run it
 * (unknown model type, bad regex), so a broken file fails the model's load, not a request.
 */
export function createHfTokenizer(paramsIn: unknown, tokenizerJson: unknown, tokenizerConfig: object = {}): HfTokenizer {
  const problem = validateHfTokenizerParams(paramsIn);
  if (problem) throw new Error(`preprocessing ${HF_TOKENIZER_ID}@${HF_TOKENIZER_VERSION}: ${problem}`);
  const params = resolveHfTokenizerParams(paramsIn);
  if (typeof tokenizerJson !== 'object' || tokenizerJson === null || typeof (tokenizerJson as { model?: unknown }).model !== 'object') {
    throw new Error(`${params.file} is not a tokenizer.json (no "model" object)`);
  }
  const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  const internals = tokenizer as unknown as TokenizerInternals;
  const vocab = tokenizer.get_vocab(true);
  const padId = params.padId ?? padIdOf(tokenizerJson as Record<string, unknown>, vocab);
  const unknownId = internals.model?.unk_token_id ?? 0;
  const idOf = (token: string) => vocab.get(token) ?? unknownId;

  function encode(text: string): HfEncoding {
    const full = tokenizer.encode(text, { add_special_tokens: params.addSpecialTokens, return_token_type_ids: true });
    let ids = full.ids;
    let types = full.token_type_ids ?? new Array<number>(ids.length).fill(0);
    if (ids.length > params.maxLength) {
      if (!params.truncation) throw new TextTooLongError(ids.length, params.maxLength);
      // As the Rust tokenizers do: cut the text's own tokens, then add the special tokens,
      // so [SEP] (or </s>) still ends the sequence.
      const plain = tokenizer.tokenize(text, { add_special_tokens: false });
      const specials = ids.length - plain.length;
      const kept = plain.slice(0, Math.max(0, params.maxLength - specials));
      if (params.addSpecialTokens && internals.post_processor) {
        const processed = internals.post_processor(kept, null, true);
        ids = processed.tokens.map(idOf);
        types = processed.token_type_ids ?? new Array<number>(ids.length).fill(0);
      } else {
        ids = kept.map(idOf);
        types = new Array<number>(ids.length).fill(0);
      }
      // A post-processor adding more than maxLength specials still may not exceed it.
      ids = ids.slice(0, params.maxLength);
      types = types.slice(0, params.maxLength);
    }
    const mask = new Array<number>(ids.length).fill(1);
    if (params.padding === 'max_length' && ids.length < params.maxLength) {
      const pad = params.maxLength - ids.length;
      ids = [...ids, ...new Array<number>(pad).fill(padId)];
      types = [...types, ...new Array<number>(pad).fill(0)];
      mask.push(...new Array<number>(pad).fill(0));
    }
    return { input_ids: ids, attention_mask: mask, token_type_ids: types };
  }
  return { encode, padId };
}
