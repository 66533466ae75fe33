// hf-tokenizer v1 against @huggingface/tokenizers' own encoding of a real tokenizer.json
// format (WordPiece, BERT normalizer and template): equal ids where nothing is cut, the
// Rust library's truncation (specials kept), padding to maxLength, and refusals.
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { createHfTokenizer, TextTooLongError, validateHfTokenizerParams } from '../../../core/preprocess/hf-tokenizer.ts';
import { smallTokenizerJson } from '../../helpers/small-tokenizer.ts';

const json = smallTokenizerJson();
const library = new Tokenizer(json, {});
const TEXTS = ['Hello, World!', 'The edge model serves players unknown xyz.', 'FREE prize now!!!', 'token', 'ünknown  edge\tmodel'];

describe('hf-tokenizer v1', () => {
  it('equals the library encoding when the text fits', () => {
    const tokenizer = createHfTokenizer({ file: 'tokenizer.json', maxLength: 128, padding: 'none', truncation: true }, json);
    for (const text of TEXTS) {
      const own = library.encode(text, { return_token_type_ids: true });
      const got = tokenizer.encode(text);
      expect(got.input_ids).toEqual(own.ids);
      expect(got.attention_mask).toEqual(own.attention_mask);
      expect(got.token_type_ids).toEqual(own.token_type_ids);
      expect(got.input_ids[0]).toBe(2);
      expect(got.input_ids.at(-1)).toBe(3);
    }
  });

  it('truncates the text, keeping [CLS] and [SEP], as the library encodes the shorter text', () => {
    const tokenizer = createHfTokenizer({ file: 'tokenizer.json', maxLength: 6, padding: 'none', truncation: true }, json);
    const got = tokenizer.encode('Hello, World! The edge model serves');
    expect(got.input_ids).toEqual(library.encode('Hello, World!').ids);
    expect(got.input_ids).toEqual([2, 4, 21, 5, 23, 3]);
    expect(got.attention_mask).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('pads to maxLength with the [PAD] id and a zero mask', () => {
    const tokenizer = createHfTokenizer({ file: 'tokenizer.json', maxLength: 10, padding: 'max_length', truncation: true }, json);
    const got = tokenizer.encode('hello world');
    expect(got.input_ids).toEqual([2, 4, 5, 3, 0, 0, 0, 0, 0, 0]);
    expect(got.attention_mask).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect(got.token_type_ids).toEqual(new Array(10).fill(0));
    expect(tokenizer.padId).toBe(0);
    const withPadding = createHfTokenizer({ file: 'tokenizer.json', maxLength: 6, padding: 'max_length', truncation: true }, { ...json, padding: { pad_id: 1 } });
    expect(withPadding.encode('hello').input_ids).toEqual([2, 4, 3, 1, 1, 1]);
  });

  it('refuses a long text when truncation is off, and bad params or files', () => {
    const strict = createHfTokenizer({ file: 'tokenizer.json', maxLength: 4, truncation: false }, json);
    expect(() => strict.encode('hello, world!')).toThrow(TextTooLongError);
    expect(() => strict.encode('hello, world!')).toThrow(/6 tokens long; this model accepts at most 4/);
    expect(validateHfTokenizerParams({ file: '../x.json', maxLength: 8 })).toMatch(/params\.file must name the tokenizer\.json/);
    expect(validateHfTokenizerParams({ file: 'tokenizer.json', maxLength: 0 })).toMatch(/params\.maxLength must be an integer/);
    expect(validateHfTokenizerParams({ file: 'tokenizer.json', maxLength: 8, padding: 'longest' })).toMatch(/params\.padding must be "none" or "max_length"/);
    expect(validateHfTokenizerParams({ file: 'tokenizer.json', maxLength: 8, stride: 2 })).toMatch(/params\.stride is not an hf-tokenizer param/);
    expect(() => createHfTokenizer({ file: 'tokenizer.json', maxLength: 8 }, { version: '1.0' })).toThrow(/not a tokenizer\.json \(no "model" object\)/);
  });
});
