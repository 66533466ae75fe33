// email-hash v2's normalisation (core/preprocess/normalise.ts) and what it does to the ids:
// text that reads the same gives the same tokens; v1 models keep v1's ids (email-hash.test.ts).
import { describe, expect, it } from 'vitest';
import { createPreprocessor, emailToIds, END_TOKEN, fnv1a, type EmailHashParams } from '../../../core/preprocess/index.ts';
import { lazyRegExp, normaliseText } from '../../../core/preprocess/normalise.ts';

const P: EmailHashParams = { buckets: 1 << 30, bodyChars: 1000, wordNgrams: 2, charNgrams: 3, extraHeaders: ['to'], maxIds: 2000 };
const v2 = (text: string, p: EmailHashParams = P) => Array.from(emailToIds(text, p, 2));

/** Mathematical bold (U+1D400 A, U+1D41A a) of ASCII letters. */
const mathBold = (s: string) => s.replace(/[A-Za-z]/g, (c) => String.fromCodePoint((c <= 'Z' ? 0x1d400 - 65 : 0x1d41a - 97) + c.charCodeAt(0)));
/** Fullwidth forms (U+FF01..U+FF5E) of printable ASCII, ideographic space for space. */
const fullwidth = (s: string) => s.replace(/[!-~ ]/g, (c) => (c === ' ' ? '\u3000' : String.fromCharCode(c.charCodeAt(0) + 0xfee0)));

describe('normaliseText', () => {
  it.each([
    ['fullwidth', fullwidth('FREE Viagra! $100'), 'free viagra! $100'],
    ['mathematical bold', mathBold('FREE Viagra'), 'free viagra'],
    ['mathematical italic and double-struck', '\u{1D453}\u{1D45F}\u{1D452}\u{1D452} \u{1D54D}\u{1D55A}\u{1D552}\u{1D558}\u{1D563}\u{1D552}', 'free viagra'],
    ['zero-width space, joiners, word joiner, BOM', 'V\u200Bi\u200Ca\u200Dg\u2060r\uFEFFa', 'viagra'],
    ['soft hyphen', 'fr\u00ADee mon\u00ADey', 'free money'],
    ['bidi controls and variation selectors', 'c\u202Ela\u202Cim\uFE0F \u2066now\u2069', 'claim now'],
    ['Cyrillic lookalikes in a Latin word', 'V\u0456\u0430gr\u0430 \u0421ASH', 'viagra cash'],
    ['Greek lookalikes in a Latin word', '\u039FFFER \u039Dow', 'offer now'],
    ['combining marks on Latin letters (café, Zalgo)', 'cafe\u0301 na\u00EFve v\u0303\u0337i\u0338a\u0335gra', 'cafe naive viagra'],
    ['ligatures and compatibility letters', '\uFB01nance \u2167 \u2460', 'finance viii 1'],
    ['German sharp s (full case folding)', 'Stra\u00DFe STRASSE \u1E9E', 'strasse strasse ss'],
    ['Turkish dotted and dotless i', '\u0130stanbul kaz\u0131k', 'istanbul kazik'],
    ['Greek final sigma', '\u039F\u0394\u03A5\u03A3\u03A3\u0395\u03A5\u03A3', 'οδυσσευσ'],
  ])('%s', (_case, input, expected) => {
    expect(normaliseText(input)).toBe(expected);
  });

  it('leaves words of other scripts alone: all-Cyrillic or Greek words are not folded, marks on other letters stay', () => {
    expect(normaliseText('рау и\u0306 και')).toBe('рау й και');
    expect(normaliseText('हिन्दी 日本語 テスト')).toBe('हिन्दी 日本語 テスト');
    expect(normaliseText('ｶﾀｶﾅ')).toBe('カタカナ');
  });

  it('lower-cases ASCII and changes nothing else in it', () => {
    const ascii = 'Subject: Hello\r\n\r\nA plain message, 100% ASCII; ~`^{}|\\ \t!';
    expect(normaliseText(ascii)).toBe(ascii.toLowerCase());
  });

  it('is idempotent for every code point (between letters) and for mixed text', () => {
    for (let c = 0; c <= 0x10ffff; c += c < 0x3000 ? 1 : 7) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const once = normaliseText(`a${String.fromCodePoint(c)}b`);
      if (normaliseText(once) !== once) expect.fail(`U+${c.toString(16)}: ${JSON.stringify(once)} → ${JSON.stringify(normaliseText(once))}`);
    }
    const mixed = `${fullwidth('Hi')} ${mathBold('Bold')} V\u0456\u0430gr\u0430 e\u0301\u200B ß \u0130 ς`;
    expect(normaliseText(normaliseText(mixed))).toBe(normaliseText(mixed));
  });
});

describe('email-hash v2', () => {
  const spam = 'Subject: FREE Viagra offer\nTo: you@example.com\n\nClaim your FREE prize now! Click here to win $1000 cash.';

  it.each([
    ['fullwidth', (s: string) => fullwidth(s)],
    ['mathematical bold', mathBold],
    ['zero-width splits', (s: string) => s.replace(/(\w)(?=\w)/g, '$1\u200B')],
    ['soft hyphens', (s: string) => s.replace(/(\w\w)(?=\w)/g, '$1\u00AD')],
    ['Cyrillic lookalikes', (s: string) => s.replace(/a/g, '\u0430').replace(/e/g, '\u0435').replace(/o/g, '\u043E')],
  ])('gives a %s copy of a message the ids of the message (body and headers)', (_case, disguise) => {
    // Header names stay readable (a disguised "Subject:" is no header, in any version).
    const [head, body] = spam.split('\n\n') as [string, string];
    const disguised = `${head.replace(/: (.*)/g, (_m, v: string) => `: ${disguise(v)}`)}\n\n${disguise(body)}`;
    expect(disguised).not.toBe(spam);
    expect(v2(disguised)).toEqual(v2(spam));
    expect(Array.from(emailToIds(disguised, P, 1))).not.toEqual(Array.from(emailToIds(spam, P, 1)));
  });

  it('counts bodyChars in normalised characters: invisible padding does not push the text out of the window', () => {
    const p: EmailHashParams = { ...P, bodyChars: 20, wordNgrams: 1, charNgrams: 0 };
    const padded = `Subject: hi\n\n${'\u200B'.repeat(5000)}claim your prize`;
    expect(v2(padded, p)).toEqual(v2('Subject: hi\n\nclaim your prize', p));
    expect(v2(padded, p)).toContain(fnv1a('prize') % p.buckets);
  });

  it('is v1 on plain lower-case ASCII words (only normalisation differs)', () => {
    const text = 'Subject: lunch\nTo: bob\n\nsee you at noon, 12 sharp!';
    expect(v2(text)).toEqual(Array.from(emailToIds(text, P, 1)));
    expect(v2('')).toEqual([fnv1a(END_TOKEN) % P.buckets]);
  });

  it('keeps a word with combining marks of a non-Latin script in one token', () => {
    const p: EmailHashParams = { ...P, wordNgrams: 1, charNgrams: 0 };
    expect(v2('हिन्दी', p)).toEqual([fnv1a('हिन्दी') % p.buckets, fnv1a(END_TOKEN) % p.buckets]);
  });

  it('is what createPreprocessor serves for version 2', () => {
    expect(createPreprocessor({ id: 'email-hash', version: 2, params: P }).toIds(fullwidth('FREE'))).toEqual(emailToIds('free', P, 2));
  });
});

describe('lazyRegExp', () => {
  it('builds the pattern on the first call and hands back that one instance', () => {
    const pattern = lazyRegExp(String.raw`\p{Script=Latin}+`, 'gu');
    const first = pattern();
    expect(first).toBe(pattern());
    expect(first.flags).toBe('gu');
    expect('héllo мир'.match(first)).toEqual(['héllo']);
  });
});
