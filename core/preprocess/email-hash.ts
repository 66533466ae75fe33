// Text → hashed token ids for fastText-style models. One implementation, shared by
// training, the edge path, the regional path and the browser client, so the same input
// gives the same ids everywhere. Pure web-standard code (TextEncoder only).

/** Identifier and version that travel in model.json; bump the version on any change to the output. */
export const EMAIL_HASH_ID = 'email-hash';
export const EMAIL_HASH_VERSION = 1;

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
 * Splits raw RFC 822 text into headers and body. Text that does not start with a header
 * block (a plain message typed by a user) is all body.
 */
export function parseMessage(text: string): ParsedMessage {
  const headers = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  let i = 0;
  // An mbox "From " separator line may precede the headers.
  if (lines[0]?.startsWith('From ')) i = 1;
  if (!HEADER_LINE.test(lines[i] ?? '')) {
    return { subject: '', from: '', headers, body: text };
  }
  let current = '';
  for (; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') {
      i++;
      break;
    }
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
  return {
    subject: headers.get('subject') ?? '',
    from: headers.get('from') ?? '',
    headers,
    body: lines.slice(i).join('\n'),
  };
}

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)?|[$€£!]/gu;

/** Lower-cased word tokens; a few symbols that carry signal in spam ($, !) are kept as tokens. */
export function words(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

const encoder = new TextEncoder();

/** FNV-1a 32-bit over the UTF-8 bytes of `token`. */
export function fnv1a(token: string): number {
  let hash = 0x811c9dc5;
  const bytes = encoder.encode(token);
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i] as number;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The token every id list ends with (fastText's end-of-sentence), so no list is empty. */
export const END_TOKEN = '</s>';

/**
 * Turns raw message text into bucket ids: Subject and From words (prefixed by field),
 * extra header words, then body words from the first `bodyChars` characters, optional
 * word bigrams and character n-grams, then the end token. Truncated to `maxIds`.
 */
export function emailToIds(text: string, params: EmailHashParams): Int32Array {
  const message = parseMessage(text);
  const tokens: string[] = [];
  const addField = (prefix: string, fieldWords: string[]) => {
    for (const w of fieldWords) tokens.push(`${prefix}${w}`);
    if (params.wordNgrams === 2) {
      for (let i = 1; i < fieldWords.length; i++) tokens.push(`${prefix}${fieldWords[i - 1]}_${fieldWords[i]}`);
    }
    if (params.charNgrams > 0) {
      const n = params.charNgrams;
      for (const w of fieldWords) {
        const padded = `<${w}>`;
        if (padded.length <= n) continue;
        for (let i = 0; i + n <= padded.length; i++) tokens.push(`#${padded.slice(i, i + n)}`);
      }
    }
  };
  addField('s:', words(message.subject));
  addField('f:', words(message.from));
  for (const name of params.extraHeaders) {
    const value = message.headers.get(name);
    if (value) addField(`${name}:`, words(value));
  }
  addField('', words(message.body.slice(0, params.bodyChars)));

  const count = Math.min(tokens.length, params.maxIds - 1);
  const ids = new Int32Array(count + 1);
  for (let i = 0; i < count; i++) ids[i] = fnv1a(tokens[i] as string) % params.buckets;
  ids[count] = fnv1a(END_TOKEN) % params.buckets;
  return ids;
}

/** Checks params read from a manifest; returns a message naming the bad field, or null. */
export function validateEmailHashParams(params: unknown): string | null {
  if (typeof params !== 'object' || params === null) return 'params must be an object';
  const p = params as Record<string, unknown>;
  const positiveInt = (k: string) => Number.isInteger(p[k]) && (p[k] as number) > 0;
  if (!positiveInt('buckets')) return 'buckets must be a positive integer';
  if (!positiveInt('bodyChars')) return 'bodyChars must be a positive integer';
  if (!positiveInt('maxIds') || (p.maxIds as number) < 2) return 'maxIds must be an integer ≥ 2';
  if (p.wordNgrams !== 1 && p.wordNgrams !== 2) return 'wordNgrams must be 1 or 2';
  if (!Number.isInteger(p.charNgrams) || (p.charNgrams as number) < 0) return 'charNgrams must be an integer ≥ 0';
  if (!Array.isArray(p.extraHeaders) || !p.extraHeaders.every((h) => typeof h === 'string')) {
    return 'extraHeaders must be an array of strings';
  }
  return null;
}
