// email-hash v1 is a contract: training, the edge, the regional function and clients must
// turn the same text into the same ids. These tests pin its output (digests over the whole
// corpus for both example models' parameters, recorded from the first implementation) and
// its edge cases, so any change to the ids shows up as a failure and a version bump.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createPreprocessor, emailToIds, END_TOKEN, fnv1a, parseMessage, type EmailHashParams } from '../../../core/preprocess/index.ts';
import { normalisedWords, words } from '../../../core/preprocess/email-hash.ts';
import { normaliseText } from '../../../core/preprocess/normalise.ts';
import { loadSplits } from '../../../models/training/dataset.ts';

const params = (model: string): EmailHashParams =>
  JSON.parse(readFileSync(new URL(`../../../models/${model}/1/model.json`, import.meta.url), 'utf8')).preprocessing.params;

const SMALL: EmailHashParams = { buckets: 97, bodyChars: 50, wordNgrams: 2, charNgrams: 3, extraHeaders: ['a'], maxIds: 40 };
const WIDE: EmailHashParams = { buckets: 1 << 20, bodyChars: 100000, wordNgrams: 1, charNgrams: 0, extraHeaders: [], maxIds: 100000 };

function digest(idLists: Int32Array[]): string {
  const hash = createHash('sha256');
  for (const ids of idLists) hash.update(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength));
  return hash.digest('hex');
}

describe('email-hash v1', () => {
  const splits = loadSplits();
  const corpus = [...splits.train, ...splits.calibration, ...splits.test].map((m) => m.text);

  it.each([
    ['spam-edge', '504836c795f8dd027bc0e918de1d2abe6e3c6e9ac3fa345daf28ee2b84a7610c'],
    ['spam-regional', 'cff6dccc45fc4675d7de2ebf860269017b2b70bf565b340259a843d154f84a74'],
  ])('gives the recorded ids for all 6,046 messages with %s parameters', (model, expected) => {
    expect(corpus).toHaveLength(6046);
    expect(digest(corpus.map((text) => emailToIds(text, params(model))))).toBe(expected);
  });

  it('gives the recorded ids on edge cases (CRLF, mbox line, unicode, no headers, continuation lines)', () => {
    const texts = [
      '',
      'From x\nSubject: hi\r\n\r\nbody\r\nline',
      'Subject: ünïcödé 😀 naïve\n\nÄrger über Öl 日本語 テスト',
      'plain text no headers',
      `A: b\n c\nA: d\n\n${'x '.repeat(3000)}`,
    ];
    const lists = texts.flatMap((text) => [emailToIds(text, SMALL), emailToIds(text, WIDE)]);
    expect(digest(lists)).toBe('4e1570b6bbe28a3745fdf2dd86c6248c024f81faaccbbdf2fbb44dbc7f4c9e97');
  });

  it('is deterministic and ends every list with the end token, within maxIds and the bucket range', () => {
    const p = params('spam-edge');
    for (const text of corpus.slice(0, 300)) {
      const a = emailToIds(text, p);
      expect(emailToIds(text, p)).toEqual(a);
      expect(a.length).toBeGreaterThanOrEqual(1);
      expect(a.length).toBeLessThanOrEqual(p.maxIds);
      expect(a[a.length - 1]).toBe(fnv1a(END_TOKEN) % p.buckets);
      for (const id of a) expect(id >= 0 && id < p.buckets).toBe(true);
    }
  });

  it('hashes UTF-8 bytes as FNV-1a does, lone surrogates as U+FFFD', () => {
    // Reference values: FNV-1a 32 of the UTF-8 bytes, computed with TextEncoder.
    const reference = (s: string) => {
      let h = 0x811c9dc5;
      for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193);
      return h >>> 0;
    };
    for (const s of ['', 'a', 'spam', 'é', '€', '😀', '\ud800', 'a\udc00b', '日本語']) expect(fnv1a(s)).toBe(reference(s));
    expect(fnv1a('')).toBe(0x811c9dc5);
  });

  it('prefixes header words by field and reads only the first bodyChars of the body', () => {
    const p: EmailHashParams = { buckets: 1 << 30, bodyChars: 11, wordNgrams: 1, charNgrams: 0, extraHeaders: [], maxIds: 100 };
    const ids = emailToIds('Subject: Win\nFrom: bob\n\nhello world and more', p);
    expect(Array.from(ids)).toEqual(['s:win', 'f:bob', 'hello', 'world', END_TOKEN].map((t) => fnv1a(t) % p.buckets));
  });

  it('v1 reads the text as written: disguised copies of a word are other tokens (what v2 fixes)', () => {
    const p: EmailHashParams = { buckets: 1 << 30, bodyChars: 1000, wordNgrams: 1, charNgrams: 0, extraHeaders: [], maxIds: 100 };
    expect(emailToIds('ＦＲＥＥ', p)).not.toEqual(emailToIds('free', p));
    expect(createPreprocessor({ id: 'email-hash', version: 1, params: p }).toIds('fr\u200Bee')).toEqual(emailToIds('fr\u200Bee', p));
  });

  it('keeps parseMessage, used by feature jobs, as it was', () => {
    const parsed = parseMessage('From a\nSubject: x\r\nX-A: 1\n  2\n\r\nline1\r\nline2');
    expect(parsed.subject).toBe('x');
    expect(parsed.headers.get('x-a')).toBe('1 2');
    expect(parsed.body).toBe('line1\nline2');
  });

  it('refuses a preprocessing id or version this build does not serve', () => {
    expect(() => createPreprocessor({ id: 'email-hash', version: 3, params: SMALL })).toThrow(/serves email-hash@1, email-hash@2/);
    expect(() => createPreprocessor({ id: 'email-hash', version: 1, params: { ...SMALL, buckets: 0 } })).toThrow(/buckets/);
  });
});

describe('ASCII tokenising without the Unicode patterns', () => {
  // The patterns words() and normalisedWords() used before the ASCII path, as written there.
  const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)?|[$€£!]/gu;
  const WORD_V2 = /[\p{L}\p{N}\p{M}]+(?:['’][\p{L}\p{M}]+)?|[$€£!]/gu;
  const ascii = Array.from({ length: 0x80 }, (_, c) => String.fromCharCode(c));

  it('gives what the Unicode patterns give, for every ASCII string of up to two characters', () => {
    const strings = [...ascii, ...ascii.flatMap((a) => ascii.map((b) => a + b))];
    for (const s of strings) {
      expect(words(s), JSON.stringify(s)).toEqual(s.toLowerCase().match(WORD) ?? []);
      expect(normalisedWords(s), JSON.stringify(s)).toEqual(normaliseText(s).match(WORD_V2) ?? []);
    }
  });

  it('gives what the Unicode patterns give on random ASCII text and on the test messages', () => {
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const alphabet = "aZ09'’$!.- \n\t_é".split('');
    const texts: string[] = [];
    for (let i = 0; i < 3000; i++) {
      let s = '';
      const n = next() % 24;
      // Mostly ASCII (full range), now and then a character from the small alphabet (non-ASCII included: the Unicode path).
      for (let j = 0; j < n; j++) s += next() % 4 === 0 ? alphabet[next() % alphabet.length] : String.fromCharCode(next() % 0x80);
      texts.push(s);
    }
    for (const s of texts) {
      expect(words(s), JSON.stringify(s)).toEqual(s.toLowerCase().match(WORD) ?? []);
      expect(normalisedWords(s), JSON.stringify(s)).toEqual(normaliseText(s).match(WORD_V2) ?? []);
    }
  });
});
