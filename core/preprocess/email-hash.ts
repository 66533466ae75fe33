// Text → hashed token ids for fastText-style models. One implementation, shared by
// training, the edge path, the regional path and the browser client, so the same input
// gives the same ids everywhere. Pure web-standard code (TextEncoder only).
// v1 hashes the text as written; v2 first normalises it (normalise.ts: NFKC, ignorables
// removed, Latin lookalikes folded, lower case), so "ＦＲＥＥ" and "fr\u200Bee" are "free".
import { lazyRegExp, normaliseText } from './normalise.ts';

/** Identifier and version that travel in model.json; bump the version on any change to the output. */
export const EMAIL_HASH_ID = 'email-hash';
/** The newest version (what `npm run models` trains new models with). */
export const EMAIL_HASH_VERSION = 2;
/** Every version this code serves: a model declaring v1 keeps getting v1's exact ids. */
export const EMAIL_HASH_VERSIONS: readonly EmailHashVersion[] = [1, 2];
export type EmailHashVersion = 1 | 2;

/** Knobs of the hashing preprocessor, stored per model in model.json. */
export interface EmailHashParams {
  /** Number of hash buckets: ids are in [0, buckets). */
  buckets: number;
  /** Characters of the body read (after the header block). */
  bodyChars: number;
  /** 1 = words only, 2 = words and word bigrams. */
  wordNgrams: 1 | 2;
  /** Character n-gram length over `<word>` (0 = none). */
  charNgrams: number;
  /** Header fields read besides Subject and From (lower-case names), each word prefixed by the field. */
  extraHeaders: string[];
  /** Upper bound on the number of ids emitted (truncation keeps the first ones). */
  maxIds: number;
}

/** Parts of a message the preprocessor reads. */
export interface ParsedMessage {
  subject: string;
  from: string;
  headers: Map<string, string>;
  body: string;
}

const HEADER_LINE = /^[A-Za-z][A-Za-z0-9-]*:/;

/**
 * Splits raw RFC 822 text into headers and body (CRLF read as LF). Text that does not start
 * with a header block (a plain message typed by a user) is all body.
 */
export function parseMessage(text: string): ParsedMessage {
  const scanned = scanHeaders(text);
  if (!scanned) return { subject: '', from: '', headers: new Map(), body: text };
  const { headers, bodyStart } = scanned;
  return {
    subject: headers.get('subject') ?? '',
    from: headers.get('from') ?? '',
    headers,
    body: text.slice(bodyStart).replace(/\r\n/g, '\n'),
  };
}

const WORD = lazyRegExp(String.raw`[\p{L}\p{N}]+(?:['’][\p{L}]+)?|[$€£!]`, 'gu');

/**
 * WORD and WORD_V2 on text of ASCII characters only: there \p{L} is [A-Za-z], \p{N} is [0-9],
 * \p{M} matches nothing, ['’] is ['] and [$€£!] is [$!], so every match is the same (checked
 * over every ASCII code point in the tests). The Unicode patterns cost ~1 ms to compile on
 * their first use (a cold start's warmup); ASCII text, the common case, never compiles them.
 */
const ASCII_WORD = /[A-Za-z0-9]+(?:'[A-Za-z]+)?|[$!]/g;
const NON_ASCII = /[^\x00-\x7f]/;

/** Lower-cased word tokens; a few symbols that carry signal in spam ($, !) are kept as tokens. */
export function words(text: string): string[] {
  const lower = text.toLowerCase();
  return lower.match(NON_ASCII.test(lower) ? WORD() : ASCII_WORD) ?? [];
}

// v2: combining marks left on non-Latin letters (Devanagari vowel signs, Cyrillic "й" kept
// composed) belong to their word instead of splitting it.
const WORD_V2 = lazyRegExp(String.raw`[\p{L}\p{N}\p{M}]+(?:['’][\p{L}\p{M}]+)?|[$€£!]`, 'gu');

/** v2's word tokens: of the normalised text (normaliseText lower-cases). */
export function normalisedWords(text: string): string[] {
  const normalised = normaliseText(text);
  return normalised.match(NON_ASCII.test(normalised) ? WORD_V2() : ASCII_WORD) ?? [];
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * Continues an FNV-1a 32-bit hash over the UTF-8 bytes of `text`, encoding on the fly
 * (no TextEncoder allocation per token: this runs for every token of every request).
 * Lone surrogates hash as U+FFFD, exactly as TextEncoder would encode them.
 */
function fnvUpdate(hash: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      hash = Math.imul(hash ^ c, FNV_PRIME);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        c = 0xfffd;
      }
    }
    if (c < 0x800) {
      hash = Math.imul(hash ^ (0xc0 | (c >> 6)), FNV_PRIME);
    } else if (c < 0x10000) {
      hash = Math.imul(hash ^ (0xe0 | (c >> 12)), FNV_PRIME);
      hash = Math.imul(hash ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    } else {
      hash = Math.imul(hash ^ (0xf0 | (c >> 18)), FNV_PRIME);
      hash = Math.imul(hash ^ (0x80 | ((c >> 12) & 0x3f)), FNV_PRIME);
      hash = Math.imul(hash ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    }
    hash = Math.imul(hash ^ (0x80 | (c & 0x3f)), FNV_PRIME);
  }
  return hash;
}

/** FNV-1a 32-bit over the UTF-8 bytes of `token`. */
export function fnv1a(token: string): number {
  return fnvUpdate(FNV_OFFSET, token) >>> 0;
}

/** The token every id list ends with (fastText's end-of-sentence), so no list is empty. */
export const END_TOKEN = '</s>';

/** Header fields and where the body starts, read without splitting the whole message. */
function scanHeaders(text: string): { headers: Map<string, string>; bodyStart: number } | null {
  const headers = new Map<string, string>();
  let pos = 0;
  const nextLine = (): string | null => {
    if (pos > text.length) return null;
    const newline = text.indexOf('\n', pos);
    const end = newline === -1 ? text.length : newline;
    let line = text.slice(pos, end);
    if (line.endsWith('\r') && newline !== -1) line = line.slice(0, -1);
    pos = end + 1;
    return line;
  };
  let line = nextLine();
  // An mbox "From " separator line may precede the headers.
  if (line !== null && line.startsWith('From ')) line = nextLine();
  if (!HEADER_LINE.test(line ?? '')) return null;
  let current = '';
  for (; line !== null; line = nextLine()) {
    if (line === '') return { headers, bodyStart: Math.min(pos, text.length) };
    if ((line.startsWith(' ') || line.startsWith('\t')) && current) {
      headers.set(current, `${headers.get(current) ?? ''} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current = line.slice(0, colon).toLowerCase();
    // Keep the first occurrence: later ones are usually relays' Received lines.
    if (!headers.has(current)) headers.set(current, line.slice(colon + 1).trim());
    else current = '';
  }
  return { headers, bodyStart: text.length };
}

/** The first `chars` characters of the body with CRLF read as LF, as parseMessage gives them. */
function bodyPrefix(text: string, bodyStart: number, chars: number): string {
  // Each CRLF shrinks by one, so 2·chars + 2 raw characters always hold `chars` normalised ones.
  return text.slice(bodyStart, bodyStart + 2 * chars + 2).replace(/\r\n/g, '\n').slice(0, chars);
}

/**
 * v2: the first `chars` characters of the *normalised* body. Invisible characters count for
 * nothing, so 1,000 zero-width spaces before the spam do not push it out of the window: the
 * raw window doubles until it holds `chars` normalised characters or the text ends (bounded
 * by the request's body limit).
 */
function normalisedBodyPrefix(text: string, bodyStart: number, chars: number): string {
  for (let window = 2 * chars + 2; ; window *= 2) {
    const raw = text.slice(bodyStart, bodyStart + window);
    const normalised = normaliseText(raw.replace(/\r\n/g, '\n'));
    if (normalised.length >= chars || bodyStart + window >= text.length) return normalised.slice(0, chars);
  }
}

/**
 * Turns raw message text into bucket ids: Subject and From words (prefixed by field),
 * extra header words, then body words from the first `bodyChars` characters, optional
 * word bigrams and character n-grams, then the end token. Truncated to `maxIds`.
 * `version` 2 reads each field and the body window normalised (normaliseText).
 * Hashes are computed as tokens are formed and stop at the limit: no token strings are
 * built, and a long message costs no more than its first `maxIds` tokens.
 */
export function emailToIds(text: string, params: EmailHashParams, version: EmailHashVersion = 1): Int32Array {
  const tokens = version === 1 ? words : normalisedWords;
  const limit = params.maxIds - 1;
  const hashes = new Uint32Array(Math.max(0, limit));
  let count = 0;
  const push = (hash: number): boolean => {
    hashes[count++] = hash >>> 0;
    return count < limit;
  };
  const addField = (prefix: string, fieldWords: string[]): boolean => {
    const base = fnvUpdate(FNV_OFFSET, prefix);
    for (const w of fieldWords) if (!push(fnvUpdate(base, w))) return false;
    if (params.wordNgrams === 2) {
      for (let i = 1; i < fieldWords.length; i++) {
        if (!push(fnvUpdate(fnvUpdate(fnvUpdate(base, fieldWords[i - 1] as string), '_'), fieldWords[i] as string))) return false;
      }
    }
    if (params.charNgrams > 0) {
      const n = params.charNgrams;
      const hashOpen = fnvUpdate(FNV_OFFSET, '#');
      for (const w of fieldWords) {
        const padded = `<${w}>`;
        if (padded.length <= n) continue;
        for (let i = 0; i + n <= padded.length; i++) if (!push(fnvUpdate(hashOpen, padded.slice(i, i + n)))) return false;
      }
    }
    return true;
  };

  if (limit > 0) {
    const scanned = scanHeaders(text);
    const headers = scanned?.headers;
    const start = scanned ? scanned.bodyStart : 0;
    const body =
      version === 1 ? (scanned ? bodyPrefix(text, start, params.bodyChars) : text.slice(0, params.bodyChars)) : normalisedBodyPrefix(text, start, params.bodyChars);
    const fill = () => {
      if (!addField('s:', tokens(headers?.get('subject') ?? ''))) return;
      if (!addField('f:', tokens(headers?.get('from') ?? ''))) return;
      for (const name of params.extraHeaders) {
        const value = headers?.get(name);
        if (value && !addField(`${name}:`, tokens(value))) return;
      }
      addField('', tokens(body));
    };
    fill();
  }

  const ids = new Int32Array(count + 1);
  for (let i = 0; i < count; i++) ids[i] = (hashes[i] as number) % params.buckets;
  ids[count] = fnv1a(END_TOKEN) % params.buckets;
  return ids;
}

/**
 * Upper bounds of the params a model.json may set: far above any sensible model (the example
 * models use 8,192–65,536 buckets, 1,000–2,000 body characters, 512–8,192 ids) and low enough that one request
 * allocates at most a few hundred KB.
 */
export const EMAIL_HASH_LIMITS = { buckets: 2 ** 30, bodyChars: 1_000_000, maxIds: 65_536, charNgrams: 16, extraHeaders: 32 } as const;

/** Checks params read from a manifest; returns a message naming the bad field, or null. */
export function validateEmailHashParams(params: unknown): string | null {
  if (typeof params !== 'object' || params === null) return 'params must be an object';
  const p = params as Record<string, unknown>;
  // Every size is bounded: a model file is input too, and maxIds = 2e8 once made every request allocate 800 MB.
  const intIn = (k: string, min: number, max: number) => Number.isInteger(p[k]) && (p[k] as number) >= min && (p[k] as number) <= max;
  if (!intIn('buckets', 1, EMAIL_HASH_LIMITS.buckets)) return `buckets must be an integer 1–${EMAIL_HASH_LIMITS.buckets}`;
  if (!intIn('bodyChars', 1, EMAIL_HASH_LIMITS.bodyChars)) return `bodyChars must be an integer 1–${EMAIL_HASH_LIMITS.bodyChars}`;
  if (!intIn('maxIds', 2, EMAIL_HASH_LIMITS.maxIds)) return `maxIds must be an integer 2–${EMAIL_HASH_LIMITS.maxIds}`;
  if (p.wordNgrams !== 1 && p.wordNgrams !== 2) return 'wordNgrams must be 1 or 2';
  if (!intIn('charNgrams', 0, EMAIL_HASH_LIMITS.charNgrams)) return `charNgrams must be an integer 0–${EMAIL_HASH_LIMITS.charNgrams}`;
  if (!Array.isArray(p.extraHeaders) || p.extraHeaders.length > EMAIL_HASH_LIMITS.extraHeaders || !p.extraHeaders.every((h) => typeof h === 'string' && h.length <= 64)) {
    return `extraHeaders must be an array of at most ${EMAIL_HASH_LIMITS.extraHeaders} header names (≤ 64 characters each)`;
  }
  return null;
}
