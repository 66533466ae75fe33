// A small BERT-style WordPiece tokenizer.json written in the test (normalizer, pre-tokenizer,
// [CLS] … [SEP] template, ## continuations, [UNK]): the format Hugging Face models ship,
// small enough to read. @huggingface/tokenizers runs it as it runs a hub tokenizer.

const WORDS = ['hello', 'world', 'the', 'edge', 'model', 'serves', 'any', 'text', 'token', 'is', 'a', 'play', '##ing', '##s', '##er', 'un', '##known', ',', '.', '!', '?', 'free', 'prize', 'now'];

/** The tokenizer.json (as parsed JSON). */
export function smallTokenizerJson(): Record<string, unknown> {
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'];
  const vocab: Record<string, number> = {};
  [...specials, ...WORDS].forEach((token, id) => (vocab[token] = id));
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((t, i) => special(i, t)),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}
