// Registers hf-tokenizer v1 as a text preprocessing: its tokenizer.json read from beside
// model.json (params.file), products input_ids, attention_mask and token_type_ids as [1, n]
// int32 tensors (the core converts to the dtype an input declares). A target serves it by
// importing this module; one that does not carries none of @huggingface/tokenizers.
import { registerTextPreprocessor } from './index.ts';
import { createHfTokenizer, HF_TOKENIZER_ID, HF_TOKENIZER_PRODUCTS, HF_TOKENIZER_VERSION, resolveHfTokenizerParams, validateHfTokenizerParams } from './hf-tokenizer.ts';

registerTextPreprocessor(HF_TOKENIZER_ID, HF_TOKENIZER_VERSION, async (spec, context) => {
  const problem = validateHfTokenizerParams(spec.params);
  if (problem) throw new Error(`preprocessing ${HF_TOKENIZER_ID}@${HF_TOKENIZER_VERSION}: ${problem}`);
  const { file } = resolveHfTokenizerParams(spec.params);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(await context.readFile(file)));
  } catch (error) {
    throw new Error(`preprocessing ${HF_TOKENIZER_ID}@${HF_TOKENIZER_VERSION}: ${file} could not be read as JSON (${(error as Error).message})`);
  }
  const tokenizer = createHfTokenizer(spec.params, json);
  const tensor = (values: number[]) => ({ dtype: 'int32' as const, dims: [1, values.length], data: Int32Array.from(values) });
  return {
    id: spec.id,
    version: spec.version,
    products: HF_TOKENIZER_PRODUCTS,
    encode(text) {
      const e = tokenizer.encode(text);
      return { input_ids: tensor(e.input_ids), attention_mask: tensor(e.attention_mask), token_type_ids: tensor(e.token_type_ids) };
    },
  };
});
